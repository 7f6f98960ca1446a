"""What a salle's room display shows of the sitting: the ``board`` message (issue 15).

A kiosk does not get the whole sitting view (:func:`signaling.room.shows_view`: at 158
salles it is 100 KB a socket); the public of a salle still must see the sitting's state,
the item discussed, the vote open or its result and who has the floor (R2, R.5211-2
al. 2: what is said and voted anywhere is seen in every salle). This module takes those
few facts out of the view, as plain data the kiosk words in French.
"""

from __future__ import annotations

from typing import Any


def _item_ref(view: dict[str, Any], item_id: str | None) -> dict[str, Any] | None:
    agenda = view.get("agenda") or []
    for n, item in enumerate(agenda, start=1):
        if item["id"] == item_id:
            return {"id": item["id"], "number": n, "of": len(agenda), "title": item["title"]}
    return None


def _last_result(view: dict[str, Any], prefer: str | None) -> dict[str, Any] | None:
    """The last vote proclaimed: on the item discussed if it has one, else the latest item voted."""
    voted = [i for i in view.get("agenda") or [] if i.get("votes")]
    chosen = next((i for i in voted if i["id"] == prefer), None) or (voted[-1] if voted else None)
    if chosen is None:
        return None
    vote = chosen["votes"][-1]
    out: dict[str, Any] = {
        "item": _item_ref(view, chosen["id"]),
        "subject": vote.get("subject"),
        "subject_label": vote.get("subject_label"),
        **{k: vote.get(k) for k in ("pour", "contre", "abstention", "nppv", "exprimes")},
    }
    if vote.get("subject") == "round":
        appointed = vote.get("appointed")
        out["appointed"] = appointed.get("name") if isinstance(appointed, dict) else None
    else:
        out["adopted"] = vote.get("adopted")
        out["casting_vote"] = vote.get("casting_vote")
    return out


def board_message(view: dict[str, Any]) -> dict[str, Any]:
    """``{"type": "board", ...}`` from the sitting view (docs/protocol.md, « board »)."""
    vote = view.get("vote")
    current = view.get("current_item") or (vote or {}).get("item_id")
    speaker = (view.get("floor") or {}).get("speaker")
    speaker_out = None
    if speaker:
        salle = next(
            (s for s in view.get("salles") or [] if any(p["id"] == speaker["id"] for p in s.get("present") or [])),
            None,
        )
        speaker_out = {
            "id": speaker["id"],
            "name": speaker["name"],
            "salle": salle["id"] if salle else None,
            "salle_name": salle["name"] if salle else None,
        }
    return {
        "type": "board",
        "status": view.get("status"),
        "sensitive": bool(view.get("sensitive")),
        "item": _item_ref(view, current),
        "vote": None
        if vote is None
        else {
            "item": _item_ref(view, vote["item_id"]),
            "subject": vote.get("subject"),
            "subject_label": vote.get("subject_label"),
            "frozen": bool(vote.get("frozen")),
            "cast_count": vote.get("cast_count", 0),
            "electorate_count": vote.get("electorate_count", 0),
        },
        "result": None if vote is not None else _last_result(view, current),
        "speaker": speaker_out,
        # the annex on the displays and its page (issue 15 point 8), drawn by the kiosk from the PDF
        "presentation": view.get("presentation"),
    }
