"""Who spoke on each item, and for how long (R22: the procès-verbal's « substance des
débats », L.2121-15 CGCT).

Read from the journaled events alone: a turn starts when the president gives the floor
(``FloorGranted``) and ends when the state says the member no longer speaks (the floor
given to another, ``FloorEnded``, the member's exit, the closing). Its item is the one
under discussion when the floor was given. The duration is measured between those two
journaled timestamps; a turn not ended in the events (a sitting still running) has none.
Pure: events in, turns out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .council import Council, SittingConfig
from .events import Event
from .seance import Seance


@dataclass(frozen=True)
class Turn:
    """One speaking turn: the member, the item under discussion (None: outside any item),
    when the floor was given, and the measured seconds (None while the turn goes on)."""

    member_id: str
    item_id: str | None
    since: str
    seconds: int | None


def speaking_turns(council: Council, config: SittingConfig, events: Iterable[Event]) -> list[Turn]:
    """Every speaking turn of the sitting, in the order the floor was given."""
    seance = Seance(council, config)
    turns: list[Turn] = []
    current: tuple[str, str, str | None] | None = None  # (member, since, item)
    for event in events:
        seance.apply(event)
        speaker = seance.state.speaker
        key = (speaker["member"], speaker["since"]) if speaker else None
        if current is not None and key != current[:2]:
            seconds = int((datetime.fromisoformat(event.at) - datetime.fromisoformat(current[1])).total_seconds())
            turns.append(Turn(current[0], current[2], current[1], max(seconds, 0)))
            current = None
        if speaker is not None and current is None:
            current = (speaker["member"], speaker["since"], seance.state.current_item)
    if current is not None:
        turns.append(Turn(current[0], current[2], current[1], None))
    return turns


def speakers_by_item(turns: list[Turn]) -> dict[str | None, list[tuple[str, int | None]]]:
    """Per item, each speaker once in the order they first spoke, with their total measured
    seconds (None when one of their turns is not measured)."""
    out: dict[str | None, dict[str, int | None]] = {}
    for t in turns:
        per = out.setdefault(t.item_id, {})
        before = per.get(t.member_id, 0)
        per[t.member_id] = None if before is None or t.seconds is None else before + t.seconds
    return {item: list(per.items()) for item, per in out.items()}
