"""The sitting as every screen sees it: one pure function from a :class:`Seance` to JSON.

``sitting_view(seance)`` returns the dict documented in docs/interfaces.md (issue 4,
"the sitting view") and docs/protocol.md. It is public by design: everything in it may be
shown on the public display of every salle (R2). In particular, while a vote is open it
says who has cast a ballot, never the choice: choices appear only in the item's
``result``, once the president has closed the vote and the result is proclaimed (R13).

The ``journal`` fields (lines, head, signed checkpoints) are known only to the shell
that holds the journal; it passes them in, else they are ``None``. The media state
(muted, measured transmission, slots) is merged in by signaling under ``media``.
"""

from __future__ import annotations

from typing import Any

from . import presentation
from .agenda import AMENDABLE_KINDS
from .ballot import may_change
from .council import Agent, Seat
from .minutes import appointments, round_votes, vote_subject
from .records import Attendance, Item, Vote
from .seance import Seance
from .state import motion_vote

#: agenda item status shown to people (the core's ``voted`` becomes adopted or rejected, or
#: appointed for a nomination whose seats are all settled)
ITEM_STATUSES = ("pending", "current", "voting", "adopted", "rejected", "appointed", "postponed", "withdrawn")


def _person(seance: Seance, member_id: str | None) -> dict[str, str] | None:
    if member_id is None:
        return None
    return {"id": member_id, "name": seance.name(member_id)}


def _salle_of(seance: Seance, member_id: str) -> dict[str, str | None]:
    """``{salle, salle_name}``: where a member present is checked in (R1), else both None."""
    salle_id = seance.state.presence.get(member_id)
    salle = seance.council.salle(salle_id) if salle_id else None
    return {"salle": salle_id, "salle_name": salle.name if salle else None}


def _name(seance: Seance, member_id: str | None) -> str | None:
    return None if member_id is None else seance.name(member_id)


def _item_status(seance: Seance, item: Item) -> str:
    status = item["status"]
    if status == "voted":
        if item["body"]:
            return "appointed"
        vote = motion_vote(item)
        return "adopted" if vote is not None and vote["result"] and vote["result"]["adopted"] else "rejected"
    if status == "pending" and seance.state.current_item == item["id"]:
        return "current"
    return str(status)


def _slot(seance: Seance, voter: str, on_behalf_of: str | None) -> dict[str, Any]:
    """Who votes, and under whose proxy, with both names (« X pour Y (pouvoir) » on every screen)."""
    return {
        "voter": voter,
        "voter_name": _name(seance, voter),
        "on_behalf_of": on_behalf_of,
        "on_behalf_of_name": _name(seance, on_behalf_of),
    }


def _ballots(seance: Seance, vote: Vote) -> list[dict[str, Any]]:
    return [
        {
            **_slot(seance, b["voter"], b["on_behalf_of"]),
            "choice": b["choice"],
            "candidate": b.get("candidate"),
            "candidate_name": _name(seance, b.get("candidate")),
        }
        for b in vote["ballots"]
    ]


def _not_voting(seance: Seance, vote: Vote) -> list[dict[str, Any]]:
    return [{**_slot(seance, n["voter"], n["on_behalf_of"]), "reason": n["reason"]} for n in vote["not_voting"] or []]


def _closed_vote(seance: Seance, item: Item, vote: Vote) -> dict[str, Any]:
    """One proclaimed vote of an item (R13): its subject, counts, verdict, names and non-voters."""
    counts, res = vote["counts"], vote["result"]
    assert counts is not None and res is not None, "a proclaimed vote has its counts and result"
    out: dict[str, Any] = {
        "subject": vote["subject"],
        "subject_label": vote_subject(seance, item, vote),
        "amendment_id": vote["amendment_id"],
        "seat": vote["seat"],
        "round": vote["round"],
        "method": vote["method"],
        "pour": counts["pour"],
        "contre": counts["contre"],
        "abstention": counts["abstention"],
        "nppv": counts["nppv"],
        "exprimes": counts["exprimes"],
        "ballots": _ballots(seance, vote),
        "not_voting": _not_voting(seance, vote),
    }
    if vote["subject"] == "round":
        out["candidates"] = [{"id": c, "name": seance.name(c), "votes": n} for c, n in round_votes(item, vote)]
        out["appointed"] = _person(seance, res["appointed"])
        out["majority"] = res["majority"]
        out["tie_broken_by_age"] = res["tie_broken_by_age"]
    else:
        out["adopted"] = res["adopted"]
        out["casting_vote"] = res["casting_vote"]
    return out


def _result(seance: Seance, item: Item) -> dict[str, Any] | None:
    """The proclaimed result of the item's motion (as before nominations and amendments)."""
    vote = motion_vote(item)
    if item["status"] != "voted" or vote is None or vote["counts"] is None or vote["result"] is None:
        return None
    counts, result = vote["counts"], vote["result"]
    return {
        "pour": counts["pour"],
        "contre": counts["contre"],
        "abstention": counts["abstention"],
        "nppv": counts["nppv"],
        "exprimes": counts["exprimes"],
        "adopted": result["adopted"],
        "casting_vote": result["casting_vote"],
        "ballots": _ballots(seance, vote),
        "not_voting": _not_voting(seance, vote),
    }


def _seats(seance: Seance, item: Item) -> list[dict[str, Any]]:
    """R24: each seat of a nomination: its candidates, rounds held, who was appointed and how."""
    return [
        {
            "seat": x["seat"],
            "candidates": [{"id": c, "name": seance.name(c)} for c in x["candidates"]],
            "rounds": x["rounds"],
            "appointed": _person(seance, x["appointed"]),
            "how": a["how"] if x["appointed"] else "",
            "settled": x["appointed"] is not None or x["rounds"] >= 3,
        }
        for x, a in zip(item["seats"], appointments(seance, item), strict=True)
    ]


def _agenda_item(seance: Seance, item: Item) -> dict[str, Any]:
    body = item["body"]
    return {
        "id": item["id"],
        "title": item["title"],
        "kind": item["kind"],
        "status": _item_status(seance, item),
        "secret_requests": [r["member"] for r in item["secret_requests"]],
        "result": _result(seance, item),
        "amendable": item["kind"] in AMENDABLE_KINDS,  # R25: its motion may be amended
        "public_appointment": item["public_appointment"],
        "body": {"type": body["type"], "name": body["name"], "seats": body["seats"]} if body else None,
        "candidacies_closed": item["candidacies_closed"],
        "seats": _seats(seance, item),
        "amendments": [
            {"id": a["id"], "text": a["text"], "author": _person(seance, a["author"]), "status": a["status"]}
            for a in item["amendments"]
        ],
        # every proclaimed vote of the item, in order (amendments before the motion, rounds)
        "votes": [_closed_vote(seance, item, v) for v in item["votes"] if v["closed_at"] is not None],
        "withdrawn": item["withdrawn"],
    }


def _vote(seance: Seance) -> dict[str, Any] | None:
    found = seance.state.open_vote()
    if found is None:
        return None
    item, vote = found
    cast = {(b["voter"], b["on_behalf_of"]) for b in vote["ballots"]}
    electorate = [
        {**_slot(seance, e["voter"], e["on_behalf_of"]), "cast": (e["voter"], e["on_behalf_of"]) in cast}
        for e in vote["electorate"]
    ]
    seat = next((x for x in item["seats"] if x["seat"] == vote["seat"]), None)
    return {
        "item_id": item["id"],
        "method": vote["method"],
        "subject": vote["subject"],  # motion | amendment | round
        "subject_label": vote_subject(seance, item, vote),
        "amendment_id": vote["amendment_id"],
        "seat": vote["seat"],
        "round": vote["round"],
        "candidates": [{"id": c, "name": seance.name(c)} for c in seat["candidates"]] if seat else [],
        "frozen": seance.state.status == "suspended" and vote["override"] is None,  # R17
        # R13: whether a ballot cast may still be changed until the close (règlement intérieur)
        "changeable": may_change(vote["method"], seance.council.reglement.ballot_change),
        "electorate": electorate,
        "cast_count": sum(1 for e in electorate if e["cast"]),
        "electorate_count": len(electorate),
    }


def _opening(seance: Seance) -> dict[str, Any]:
    if seance.state.status != "convened":
        return {"ready": False, "blockers": []}
    blockers = [{"rule": r.rule, "message": r.message} for r in seance.opening_blockers()]
    return {"ready": not blockers, "blockers": blockers}


def sitting_view(seance: Seance, journal: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole sitting, as plain JSON, for every screen (docs/protocol.md, « sitting »)."""
    council, config, st = seance.council, seance.config, seance.state
    since = {a["member"]: a["in"] for a in st.attendance if a["out"] is None}
    holder_of = {giver: p["holder"] for giver, p in st.proxies.items()}
    giver_for = {p["holder"]: giver for giver, p in sorted(st.proxies.items())}
    q = seance.quorum()
    # grouped once by salle: the view is pushed to every screen on each change, and a
    # large sitting (158 salles, 300 councillors) must not cost salles × members per push
    # (the council's own look-ups are indexed: deliberation.council)
    agents: dict[str, Agent] = {}
    for agent_of in council.agents:
        agents.setdefault(agent_of.salle_id, agent_of)
    present_in: dict[str, list[str]] = {}
    for member_id, where in st.presence.items():
        present_in.setdefault(where, []).append(member_id)
    left_from: dict[str, list[Attendance]] = {}
    for line in st.attendance:
        if line["out"] is not None:
            left_from.setdefault(line["salle"], []).append(line)
    name = seance.name

    salles = []
    for salle in council.salles:
        agent = agents.get(salle.id)
        salles.append(
            {
                "id": salle.id,
                "name": salle.name,
                "agent": agent.name if agent else None,
                "transmitting": st.transmitting.get(salle.id, False),
                "audio_only": st.audio_only.get(salle.id, False),
                "present": [
                    {"id": m, "name": name(m), "since": since.get(m)} for m in sorted(present_in.get(salle.id, ()))
                ],
                # R4: the departures the agent recorded, with both times (the register's lines)
                "left": [
                    {"id": a["member"], "name": name(a["member"]), "in": a["in"], "out": a["out"]}
                    for a in left_from.get(salle.id, ())
                ],
            }
        )
    members = []
    for m in council.members:
        commune = council.commune(m.commune_id)
        suppleant = council.suppleant_of(m.id) if m.seat == Seat.TITULAIRE else None
        members.append(
            {
                "id": m.id,
                "name": m.name,
                "civility": m.civility,  # « Mme », « M. » or « »: the screens' words agree with it
                "commune": commune.name if commune else m.commune_id,
                "function": m.function,
                "present": m.id in st.presence,
                "salle": st.presence.get(m.id),
                "proxy_to": holder_of.get(m.id),
                "proxy_from": giver_for.get(m.id),
                # L.5211-6 (R9): a suppléant sits for their titulaire once the titulaire's
                # information of the president is recorded (its reference in ``suppleance``)
                "suppleant_of": m.replaces if m.seat == Seat.SUPPLEANT else None,
                "suppleant": suppleant.id if suppleant else None,
                "suppleance": st.suppleances.get(m.id),
            }
        )
    agenda = [_agenda_item(seance, item) for item in st.agenda]
    journal = journal or {}
    return {
        "id": config.id,
        "title": config.title,
        "council": council.name,
        "scheduled_at": config.scheduled_at,
        "status": st.status,
        "teleconference": st.teleconference,
        "sensitive": st.sensitive,
        "public_stream_up": st.public_stream_up,
        "president": _person(seance, council.president_id),
        "secretary": _person(seance, st.secretary),
        "salles": salles,
        "members": members,
        "quorum": {
            "present": q.present,
            "in_office": q.in_office,
            "required": q.required,
            "reached": q.reached,
            "waived": q.waived,
        },
        "opening": _opening(seance),
        "agenda": agenda,
        # R9 (L.2121-20): proxies that ended during the sitting (the giver arrived, or revoked):
        # the holder's and the agents' screens say so, the holder then votes for themself only
        "proxies_ended": [
            {
                "giver": p["giver"],
                "giver_name": name(p["giver"]),
                "holder": p["holder"],
                "holder_name": name(p["holder"]),
                "at": p["ended_at"],
                "reason": p["ended_reason"],
                "giver_salle": st.presence.get(p["giver"]),
                "holder_salle": st.presence.get(p["holder"]),
            }
            for p in st.proxy_log
            if p["ended_at"] is not None
        ],
        "current_item": st.current_item,
        "vote": _vote(seance),
        "floor": {
            # each with the salle they speak from: the chair sees where the request comes from,
            # and the speaker's salle goes on the public picture (issue 15, point 2)
            "speaker": {
                "id": st.speaker["member"],
                "name": seance.name(st.speaker["member"]),
                **_salle_of(seance, st.speaker["member"]),
                "since": st.speaker["since"],
            }
            if st.speaker
            else None,
            "queue": [
                {
                    "id": r["member"],
                    "name": seance.name(r["member"]),
                    "since": r["since"],
                    **_salle_of(seance, r["member"]),
                }
                for r in st.floor_queue
            ],
        },
        # the annex on the displays (issue 15 point 8); the shell adds the page shown
        "presentation": presentation.view(st),
        "journal": {
            "lines": journal.get("lines"),
            "head": journal.get("head"),
            "signed_checkpoints": journal.get("signed_checkpoints"),
            # the last signed checkpoint (seq, hash, signature…): anyone may keep it as a witness (R21)
            "signed_head": journal.get("signed_head"),
        },
    }
