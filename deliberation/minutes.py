"""The procès-verbal and the liste des délibérations (R22, L.2121-15 and L.2121-25 CGCT).

Rendered from a sitting's state with jinja2 (templates in ``deliberation/templates``).
The minutes hold the date and time, the president, the members present per salle and
those represented, the absents, the secretary, the quorum, the agenda, each vote with
the voters' names and the proxies they voted under, those present who took no part in
each vote (at a roll call, those who did not answer), the requests for a secret ballot,
the postponed and withdrawn items, the amendments voted before their motion, the
candidates and rounds of each nomination and the persons appointed (L.2121-21), a lack of
quorum (L.2121-17), the suspensions and sensitive passages. The substance of the
discussions is the secretary's to write (``substance``, per item, saved in the council
store by the admin's « Procès-verbal » page); the speakers of each item and their
measured speaking time come from the journaled floor events (:mod:`.speaking`). Where no
text is written yet, the template leaves a marked place for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from .actes import ACTES_MATIERES
from .agenda import BODY_LABELS, KIND_LABELS, Body, ItemKind
from .convocation_date import sent_on
from .deadlines import publication_deadline
from .french import de
from .labels import AMENDMENT_STATUS_LABELS, CHOICE_LABELS, METHOD_LABELS
from .records import Item, Vote, VoteResult
from .seance import Seance
from .speaking import SpeakingTime

_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def french_date(value: str) -> str:
    d = datetime.fromisoformat(value)
    return f"{d.day}{'er' if d.day == 1 else ''} {_MONTHS[d.month - 1]} {d.year}"


def french_time(value: str | None) -> str:
    if not value:
        return ""
    d = datetime.fromisoformat(value)
    return f"{d.hour} h {d.minute:02d}"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("deliberation", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["date_fr"] = french_date
    env.filters["time_fr"] = french_time
    return env


HOW_LABELS = {
    "candidature_unique": "candidature unique : nomination immédiate, L.2121-21 al. 5",
    "majorite_absolue": "à la majorité absolue des suffrages exprimés",
    "majorite_relative": "à la majorité relative des suffrages exprimés",
    "age": "à égalité de voix, au bénéfice de l'âge, L.2121-21",
}


def _ordinal(n: int) -> str:
    return "1er" if n == 1 else f"{n}e"


def appointments(seance: Seance, item: Item) -> list[dict[str, Any]]:
    """R24: the persons a nomination appointed, seat by seat, and how (the vacant seats too)."""
    out = []
    for x in item["seats"]:
        how = HOW_LABELS.get(x["how"] or "", "")
        if x["appointed"] and x["rounds"]:
            how = f"au {_ordinal(x['rounds'])} tour, {how}"
        out.append(
            {
                "seat": x["seat"],
                "member": x["appointed"],
                "name": seance.name(x["appointed"]) if x["appointed"] else None,
                "how": how,
                "candidates": [seance.name(m) for m in x["candidates"]],
                "vacant": x["appointed"] is None and x["rounds"] >= 3,
            }
        )
    return out


def vote_subject(seance: Seance, item: Item, vote: Vote) -> str:
    """What a vote was on, in French: the motion, an amendment, or a round for a seat."""
    if vote["subject"] == "amendment":
        a = next((a for a in item["amendments"] if a["id"] == vote["amendment_id"]), None)
        return f"Amendement « {vote['amendment_id']} »" + (f" {de(seance.name(a['author']))}" if a else "")
    if vote["subject"] == "round" and vote["round"] is not None:
        return f"Siège {vote['seat']} — {_ordinal(vote['round'])} tour"
    return "Délibération" + (" amendée" if any(a["status"] == "adopted" for a in item["amendments"]) else "")


def round_votes(item: Item, vote: Vote) -> list[tuple[str, int]]:
    """A closed round's votes per candidate, in the order candidacies were registered (the
    journal's canonical JSON sorts the keys of ``counts.candidates``)."""
    counts = vote["counts"].get("candidates") if vote["counts"] else None
    if not counts:
        return []
    seat = next((x for x in item["seats"] if x["seat"] == vote["seat"]), None)
    order = seat["candidates"] if seat else sorted(counts)
    return [(c, counts[c]) for c in order if c in counts]


def _not_voting(seance: Seance, vote: Vote) -> list[str]:
    label = {"sans_vote": "", "arrive_apres_ouverture": " (arrivé·e après l'ouverture du vote)"}
    return [
        seance.name(n["voter"])
        + (f" pour {seance.name(n['on_behalf_of'])} (pouvoir)" if n["on_behalf_of"] else "")
        + label.get(n["reason"], "")
        for n in vote["not_voting"] or []
    ]


def _vote_context(seance: Seance, item: Item, vote: Vote) -> dict[str, Any]:
    name = seance.name
    still_open = vote["closed_at"] is None and vote["cancelled_at"] is None
    ballots = sorted(
        (
            {
                "voter": name(b["voter"]),
                "on_behalf_of": name(b["on_behalf_of"]) if b["on_behalf_of"] else None,
                "choice": f"pour {name(b['candidate'])}"
                if b.get("candidate")
                else (
                    "blanc"
                    if vote["subject"] == "round" and b["choice"] == "abstention"
                    else CHOICE_LABELS[b["choice"]]
                ),
            }
            for b in vote["ballots"]
            if not still_open  # R13: no choice is read before the vote closes
        ),
        key=lambda b: (b["voter"], b["on_behalf_of"] or ""),
    )
    result: VoteResult = vote["result"] or {}  # set when the vote closes
    if vote["closed_at"] is None:
        verdict = (
            "Vote annulé (point reporté)."
            if vote["cancelled_at"]
            else f"Vote en cours : {len(vote['ballots'])} vote(s) enregistré(s), lisibles à sa clôture."
        )
    elif vote["subject"] == "round":
        who = result["appointed"]
        verdict = (
            f"Est nommé·e : {name(who)}"
            + (" (égalité de voix : au bénéfice de l'âge, L.2121-21)" if result["tie_broken_by_age"] else "")
            + "."
            if who
            else f"Aucun candidat n'obtient la majorité {result['majority']} des suffrages exprimés."
        )
    else:
        verdict = (
            ("Adopté" if result["adopted"] else "Rejeté")
            + (
                ", la voix du président étant prépondérante en cas de partage (L.2121-20)"
                if result["casting_vote"]
                else ""
            )
            + "."
        )
    counts = vote["counts"]
    return {
        "subject": vote_subject(seance, item, vote),
        "kind": vote["subject"],
        "method": METHOD_LABELS.get(vote["method"], vote["method"]),
        "roll_call": vote["method"] == "appel_nominal",
        "vote": vote,
        "ballots": ballots,
        "counts": counts,
        "candidates": [{"name": name(c), "votes": n} for c, n in round_votes(item, vote)],
        "verdict": verdict,
        "closed": vote["closed_at"] is not None,
        "not_voting": _not_voting(seance, vote),
    }


def _kind_label(kind: str) -> str:
    try:
        return KIND_LABELS.get(ItemKind(kind), kind)
    except ValueError:
        return kind


def speakers_by_item(times: Iterable[SpeakingTime]) -> dict[str | None, list[tuple[str, int | None]]]:
    """Per item, each speaker in the order they first spoke, with whole seconds."""
    out: dict[str | None, list[tuple[str, int | None]]] = {}
    for t in times:
        out.setdefault(t.item_id, []).append((t.member_id, round(t.seconds)))
    return out


def duration_fr(seconds: int | None) -> str:
    """« 2 min 05 s », « 45 s »; empty when not measured."""
    if seconds is None:
        return ""
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def item_number(seance: Seance, item_id: str) -> int:
    return next(i for i, item in enumerate(seance.state.agenda, start=1) if item["id"] == item_id)


def minutes_context(
    seance: Seance,
    substance: Mapping[str, str] | None = None,
    speakers: Mapping[str | None, list[tuple[str, int | None]]] | None = None,
) -> dict[str, Any]:
    """Everything the procès-verbal shows, names resolved (pure). ``substance``: the
    secretary's text per item id; ``speakers``: per item id, ``(member, seconds)``
    (:func:`speakers_by_item`)."""
    substance = substance or {}
    speakers = speakers or {}
    council, st = seance.council, seance.state
    name = seance.name
    salles = []
    for salle in council.salles:
        spans = [a for a in st.attendance if a["salle"] == salle.id]
        members = []
        for member_id in dict.fromkeys(a["member"] for a in spans):
            m = council.member(member_id)
            member_spans = [a for a in spans if a["member"] == member_id]
            members.append(
                {
                    "name": name(member_id),
                    "suppleant_of": name(m.replaces) if m and m.replaces else None,
                    "spans": [{"in": a["in"], "out": a["out"]} for a in member_spans],
                }
            )
        agent = next((a.name for a in council.agents if a.salle_id == salle.id), "")
        salles.append(
            {
                "name": salle.name,
                "designation": salle.designation,
                "agent": agent,
                "members": members,
                "audio_only": st.audio_only.get(salle.id, False),
            }
        )
    came = {council.seat_of(a["member"]) for a in st.attendance}
    proxies = [
        {
            "giver": name(p["giver"]),
            "holder": name(p["holder"]),
            "document_ref": p["document_ref"],
            "recorded_at": p["recorded_at"],
            "ended_at": p["ended_at"],
            "ended_reason": p["ended_reason"],
        }
        for p in st.proxy_log
    ]
    represented = {p["giver"] for p in st.proxy_log}
    absents = [m.name for m in council.in_office if m.id not in came and m.id not in represented]
    items = []
    for n, item in enumerate(st.agenda, start=1):
        body = item["body"]
        votes = [_vote_context(seance, item, v) for v in item["votes"]]
        motion = next((v for v in votes if v["kind"] == "motion" and v["closed"]), None)
        items.append(
            {
                "number": n,
                "id": item["id"],
                "title": item["title"],
                "kind": item["kind"],
                "kind_label": _kind_label(item["kind"]),
                "body": {**body, "label": BODY_LABELS.get(Body(body["type"]), body["type"])} if body else None,
                "status": item["status"],
                "withdrawals": [name(m) for m in item["withdrawals"]],
                "secret_requests": [{"name": name(r["member"]), "at": r["at"]} for r in item["secret_requests"]],
                "postponed": item["postponed"],
                "withdrawn": item["withdrawn"],
                "votes": votes,
                "motion": motion,
                "amendments": [
                    {
                        "id": a["id"],
                        "text": a["text"],
                        "author": name(a["author"]),
                        "status": AMENDMENT_STATUS_LABELS[a["status"]]
                        if a["status"] in ("adopted", "rejected", "withdrawn")
                        else "non voté",
                    }
                    for a in item["amendments"]
                ],
                "appointments": appointments(seance, item) if body else [],
                "substance": substance.get(item["id"], "").strip(),
                "speakers": [
                    {"name": name(m), "duration": duration_fr(sec)} for m, sec in speakers.get(item["id"], [])
                ],
                "public_appointment": item["public_appointment"],
            }
        )
    return {
        "council": council,
        "config": seance.config,
        "convocation_sent": sent.isoformat() if (sent := sent_on(seance)) else None,  # R6, as journaled
        "state": st,
        "president": name(council.president_id),
        "secretary": name(st.secretary) if st.secretary else None,
        "salles": salles,
        "proxies": proxies,
        "absents": absents,
        "items": items,
        "opening": st.opening,
        "quorum": st.opening["quorum"] if st.opening else None,
        "quorum_failure": st.quorum_failure,
        "reconvened_from": seance.config.reconvened_from,
        "suspensions": st.suspensions,
        "decisions": st.decisions,
        "sensitive_spans": st.sensitive_spans,
        "media_log": st.media_log,
        "recordings": st.recordings,
        "objections": st.broadcast_objections,
        "publication_deadline": publication_deadline(seance.config.scheduled_at).isoformat(),
        "salle_name": lambda sid: salle.name if (salle := council.salle(sid)) is not None else sid,
    }


def proces_verbal_html(
    seance: Seance,
    substance: Mapping[str, str] | None = None,
    speakers: Mapping[str | None, list[tuple[str, int | None]]] | None = None,
) -> str:
    """R22: the procès-verbal of the sitting, HTML, French."""
    return _environment().get_template("proces-verbal.html").render(**minutes_context(seance, substance, speakers))


def liste_deliberations_html(seance: Seance) -> str:
    """R22 (L.2121-25): the list of deliberations examined, published within a week."""
    return _environment().get_template("liste-deliberations.html").render(**minutes_context(seance))


def deliberation_html(
    seance: Seance, item_id: str, ident: str, published_at: str, head: Mapping[str, Any] | None, fingerprint: str
) -> str:
    """L.2131-1: one délibération as published (its own page and PDF), with the signed head
    of the journal it was drawn from (R21)."""
    ctx = minutes_context(seance)
    item = next(i for i in ctx["items"] if i["id"] == item_id)
    code = seance.state.item(item_id)["matiere_code"]  # type: ignore[index]
    return (
        _environment()
        .get_template("deliberation.html")
        .render(
            **ctx,
            item=item,
            ident=ident,
            matiere=f"{code} — {ACTES_MATIERES.get(code, '')}",
            published_at=published_at,
            head=head,
            fingerprint=fingerprint,
        )
    )
