"""Speaking time, measured from the journaled floor events (issue 15, point 2).

The procès-verbal holds « la substance des discussions » (L.2121-15, R22): who spoke on
which item, and for how long, is part of it. Nothing is measured by a clock of ours: a
turn is the span between the events that give the floor (``FloorGranted``) and the events
that take it back (``FloorEnded``, the next ``FloorGranted``, the speaker's ``CheckedOut``,
``SittingClosed``), read from the journal, so the figures are the same on every replay
and the auditor can recompute them.

A turn counts only while the sitting is open: a suspension (R17) pauses it, and a turn
that goes on across a change of item is split between the items. The state is evolved by
the same pure :func:`deliberation.state.apply` as the sitting itself, so this module
never re-decides what an event means.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .events import Event, FloorGranted
from .state import SeanceState, apply


@dataclass(frozen=True)
class SpeakingTime:
    """One speaker's total on one item (``item_id`` None: outside any item)."""

    item_id: str | None
    member_id: str
    seconds: float
    #: the turns given (a turn split by a suspension or a change of item counts once)
    turns: int


def _seconds(start: str, end: str) -> float:
    return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())


def speaking_times(events: Iterable[Event], until: str | None = None) -> list[SpeakingTime]:
    """Each (item, speaker)'s speaking time, in the order they first spoke.

    ``until``: the time a turn still going on is counted to (e.g. now, for a screen); by
    default such a turn counts up to the last event. Events of the journal are applied
    in order from the empty state, as :meth:`deliberation.seance.Seance.replay` does."""
    state = SeanceState()
    seconds: dict[tuple[str | None, str], float] = {}  # (item, member) -> seconds
    turns: dict[tuple[str | None, str], int] = {}
    running: tuple[str | None, str, str] | None = None  # (item, member, since) while counted
    last_at: str | None = None

    def counted(s: SeanceState) -> tuple[str | None, str] | None:
        if s.speaker is None or s.status != "opened":
            return None
        return s.current_item, s.speaker["member"]

    for event in events:
        before = counted(state)
        apply(state, event)
        last_at = event.at
        after = counted(state)
        new_turn = isinstance(event, FloorGranted) and after is not None
        if before == after and not new_turn:
            continue
        if running is not None:
            item, member, since = running
            seconds[(item, member)] = seconds.get((item, member), 0.0) + _seconds(since, event.at)
            running = None
        if after is not None:
            running = (after[0], after[1], event.at)
            seconds.setdefault(after, 0.0)
            turns[after] = turns.get(after, 0) + (1 if new_turn else 0)
    if running is not None:
        item, member, since = running
        end = until or last_at or since
        seconds[(item, member)] = seconds.get((item, member), 0.0) + _seconds(since, end)
    return [
        SpeakingTime(item, member, round(sec, 3), turns.get((item, member), 0))
        for (item, member), sec in seconds.items()
    ]


def speaker_totals(events: Iterable[Event], until: str | None = None) -> dict[str, float]:
    """Each speaker's total speaking time over the sitting, in seconds."""
    out: dict[str, float] = {}
    for t in speaking_times(events, until):
        out[t.member_id] = round(out.get(t.member_id, 0.0) + t.seconds, 3)
    return out
