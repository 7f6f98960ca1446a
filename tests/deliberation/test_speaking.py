"""Speaking time from the journaled floor events (issue 15, point 2; R22: the PV's discussions)."""

from __future__ import annotations

from deliberation.commands import (
    CheckOut,
    CloseSitting,
    EndFloor,
    GrantFloor,
    RequestFloor,
    Resume,
    Suspend,
    TakeUpItem,
)
from deliberation.demo import demo_seance
from deliberation.events import Event
from deliberation.seance import Seance
from deliberation.speaking import SpeakingTime, speaker_totals, speaking_times
from tests.deliberation.delib_support import PRESIDENT, Clock, agent, councillor, ok, opened


def recording() -> tuple[Seance, list[Event]]:
    """The demo sitting, every event it applies kept in order (what the journal holds)."""
    s = demo_seance()
    events: list[Event] = []
    apply = s.apply

    def keep(event: Event) -> None:
        events.append(event)
        apply(event)

    s.apply = keep  # type: ignore[method-assign]
    return s, events


class Ticking(Clock):
    """A clock whose steps are chosen by the test: ``clock.wait(s)`` before the next command."""

    def wait(self, seconds: int) -> None:
        self.n += seconds - 1


def test_a_turn_counts_from_grant_to_end_on_the_item_discussed():
    clock = Ticking()
    s, events = recording()
    opened(clock, seance=s)
    item = s.state.agenda[0]["id"]
    ok(s, TakeUpItem(clock(), item), PRESIDENT)
    ok(s, RequestFloor(clock(), "m07"), councillor("m07"))
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    clock.wait(95)
    ok(s, EndFloor(clock()), councillor("m07"))  # the speaker ends their own turn
    assert speaking_times(events) == [SpeakingTime(item, "m07", 95.0, 1)]


def test_a_new_grant_ends_the_previous_turn_and_turns_add_up_per_item():
    clock = Ticking()
    s, events = recording()
    opened(clock, seance=s)
    first, second = s.state.agenda[0]["id"], s.state.agenda[1]["id"]
    ok(s, TakeUpItem(clock(), first), PRESIDENT)
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    clock.wait(30)
    ok(s, GrantFloor(clock(), "m10"), PRESIDENT)  # m07's turn ends here
    clock.wait(20)
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    clock.wait(10)
    ok(s, EndFloor(clock()), PRESIDENT)
    ok(s, TakeUpItem(clock(), second), PRESIDENT)
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    clock.wait(7)
    ok(s, EndFloor(clock()), PRESIDENT)
    assert speaking_times(events) == [
        SpeakingTime(first, "m07", 40.0, 2),
        SpeakingTime(first, "m10", 20.0, 1),
        SpeakingTime(second, "m07", 7.0, 1),
    ]
    assert speaker_totals(events) == {"m07": 47.0, "m10": 20.0}


def test_a_suspension_pauses_the_turn_R17():
    clock = Ticking()
    s, events = recording()
    opened(clock, seance=s)
    ok(s, GrantFloor(clock(), "m10"), PRESIDENT)
    clock.wait(12)
    ok(s, Suspend(clock(), "pause"), PRESIDENT)
    clock.wait(600)  # ten minutes of suspension are not speaking time
    ok(s, Resume(clock()), PRESIDENT)
    clock.wait(8)
    ok(s, EndFloor(clock()), PRESIDENT)
    assert speaking_times(events) == [SpeakingTime(None, "m10", 20.0, 1)]


def test_leaving_the_salle_or_closing_ends_the_turn():
    clock = Ticking()
    s, events = recording()
    opened(clock, seance=s)
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    clock.wait(5)
    ok(s, CheckOut(clock(), "m07", "vaux"), agent("vaux"))
    clock.wait(50)
    ok(s, GrantFloor(clock(), "m10"), PRESIDENT)
    clock.wait(3)
    ok(s, CloseSitting(clock()), PRESIDENT)
    clock.wait(100)
    assert speaking_times(events, until=clock()) == [
        SpeakingTime(None, "m07", 5.0, 1),
        SpeakingTime(None, "m10", 3.0, 1),
    ]


def test_a_turn_still_going_on_counts_until_the_time_asked():
    clock = Ticking()
    s, events = recording()
    opened(clock, seance=s)
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    clock.wait(42)
    now = clock()
    assert speaking_times(events, until=now) == [SpeakingTime(None, "m07", 42.0, 1)]
    assert speaking_times(events) == [SpeakingTime(None, "m07", 0.0, 1)]  # up to the last event


def test_no_floor_no_speaking_time():
    clock = Ticking()
    s, events = recording()
    opened(clock, seance=s)
    ok(s, RequestFloor(clock(), "m07"), councillor("m07"))
    assert speaking_times(events) == []
