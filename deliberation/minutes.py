"""The procès-verbal and the liste des délibérations (R22, L.2121-15 and L.2121-25 CGCT).

Rendered from a sitting's state with jinja2 (templates in ``deliberation/templates``).
The minutes hold the date and time, the president, the members present per salle and
those represented, the absents, the secretary, the quorum, the agenda, each vote with
the voters' names and the proxies they voted under, the requests for a secret ballot,
the postponed items, the suspensions and sensitive passages. The substance of the
discussions is the secretary's to write: the template leaves a marked place for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from .commands import CHOICE_LABELS
from .deadlines import publication_deadline
from .seance import Seance

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


def item_number(seance: Seance, item_id: str) -> int:
    return next(i for i, item in enumerate(seance.state.agenda, start=1) if item["id"] == item_id)


def minutes_context(seance: Seance) -> dict[str, Any]:
    """Everything the procès-verbal shows, names resolved (pure)."""
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
        vote = item["vote"]
        ballots = []
        if vote:
            for b in vote["ballots"]:
                ballots.append(
                    {
                        "voter": name(b["voter"]),
                        "on_behalf_of": name(b["on_behalf_of"]) if b["on_behalf_of"] else None,
                        "choice": CHOICE_LABELS[b["choice"]],
                    }
                )
            ballots.sort(key=lambda b: (b["voter"], b["on_behalf_of"] or ""))
        items.append(
            {
                "number": n,
                "id": item["id"],
                "title": item["title"],
                "kind": item["kind"],
                "status": item["status"],
                "withdrawals": [name(m) for m in item["withdrawals"]],
                "secret_requests": [{"name": name(r["member"]), "at": r["at"]} for r in item["secret_requests"]],
                "postponed": item["postponed"],
                "vote": vote,
                "ballots": ballots,
                "method": {"electronique": "vote électronique", "appel_nominal": "appel nominal"}.get(
                    vote["method"], ""
                )
                if vote
                else "",
                "public_appointment": item["public_appointment"],
            }
        )
    return {
        "council": council,
        "config": seance.config,
        "state": st,
        "president": name(council.president_id),
        "secretary": name(st.secretary) if st.secretary else None,
        "salles": salles,
        "proxies": proxies,
        "absents": absents,
        "items": items,
        "opening": st.opening,
        "quorum": st.opening["quorum"] if st.opening else None,
        "suspensions": st.suspensions,
        "decisions": st.decisions,
        "sensitive_spans": st.sensitive_spans,
        "media_log": st.media_log,
        "recordings": st.recordings,
        "objections": st.broadcast_objections,
        "publication_deadline": publication_deadline(seance.config.scheduled_at).isoformat(),
        "salle_name": lambda sid: council.salle(sid).name if council.salle(sid) else sid,
    }


def proces_verbal_html(seance: Seance) -> str:
    """R22: the procès-verbal of the sitting, HTML, French."""
    return _environment().get_template("proces-verbal.html").render(**minutes_context(seance))


def liste_deliberations_html(seance: Seance) -> str:
    """R22 (L.2121-25): the list of deliberations examined, published within a week."""
    return _environment().get_template("liste-deliberations.html").render(**minutes_context(seance))
