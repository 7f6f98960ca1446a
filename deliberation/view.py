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

from .council import Seat
from .seance import Seance

#: agenda item status shown to people (the core's ``voted`` becomes adopted or rejected)
ITEM_STATUSES = ("pending", "current", "voting", "adopted", "rejected", "postponed", "withdrawn")


def _person(seance: Seance, member_id: str | None) -> dict[str, str] | None:
    if member_id is None:
        return None
    return {"id": member_id, "name": seance.name(member_id)}


def _name(seance: Seance, member_id: str | None) -> str | None:
    return None if member_id is None else seance.name(member_id)


def _item_status(seance: Seance, item: dict[str, Any]) -> str:
    status = item["status"]
    if status == "voted":
        return "adopted" if item["vote"]["result"]["adopted"] else "rejected"
    if status == "pending" and seance.state.current_item == item["id"]:
        return "current"
    return status


def _result(seance: Seance, item: dict[str, Any]) -> dict[str, Any] | None:
    vote = item["vote"]
    if item["status"] != "voted" or vote is None or vote["counts"] is None:
        return None
    counts = vote["counts"]
    return {
        "pour": counts["pour"],
        "contre": counts["contre"],
        "abstention": counts["abstention"],
        "nppv": counts["nppv"],
        "exprimes": counts["exprimes"],
        "adopted": vote["result"]["adopted"],
        "casting_vote": vote["result"]["casting_vote"],
        "ballots": [
            {
                "voter": b["voter"],
                "voter_name": _name(seance, b["voter"]),
                "on_behalf_of": b["on_behalf_of"],
                "on_behalf_of_name": _name(seance, b["on_behalf_of"]),
                "choice": b["choice"],
            }
            for b in vote["ballots"]
        ],
    }


def _vote(seance: Seance) -> dict[str, Any] | None:
    item_id = seance.state.current_vote
    item = seance.state.item(item_id) if item_id else None
    if item is None or item["vote"] is None:
        return None
    vote = item["vote"]
    cast = {(b["voter"], b["on_behalf_of"]) for b in vote["ballots"]}
    electorate = [
        {
            "voter": e["voter"],
            "voter_name": _name(seance, e["voter"]),
            "on_behalf_of": e["on_behalf_of"],
            "on_behalf_of_name": _name(seance, e["on_behalf_of"]),
            "cast": (e["voter"], e["on_behalf_of"]) in cast,
        }
        for e in vote["electorate"]
    ]
    return {
        "item_id": item_id,
        "method": vote["method"],
        "frozen": seance.state.status == "suspended" and vote["override"] is None,  # R17
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
    agents: dict[str, Any] = {}
    for a in council.agents:
        agents.setdefault(a.salle_id, a)
    present_in: dict[str, list[str]] = {}
    for m, x in st.presence.items():
        present_in.setdefault(x, []).append(m)
    left_from: dict[str, list[dict[str, Any]]] = {}
    for a in st.attendance:
        if a["out"] is not None:
            left_from.setdefault(a["salle"], []).append(a)
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
    agenda = [
        {
            "id": item["id"],
            "title": item["title"],
            "kind": item["kind"],
            "status": _item_status(seance, item),
            "secret_requests": [r["member"] for r in item["secret_requests"]],
            "result": _result(seance, item),
        }
        for item in st.agenda
    ]
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
        "current_item": st.current_item,
        "vote": _vote(seance),
        "floor": {
            "speaker": _person(seance, st.speaker["member"]) if st.speaker else None,
            "queue": [
                {"id": r["member"], "name": seance.name(r["member"]), "since": r["since"]} for r in st.floor_queue
            ],
        },
        "journal": {
            "lines": journal.get("lines"),
            "head": journal.get("head"),
            "signed_checkpoints": journal.get("signed_checkpoints"),
        },
    }
