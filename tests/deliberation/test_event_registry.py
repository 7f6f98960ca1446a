"""Events are typed (issue 14 point 4): one frozen dataclass per type, registered and
checked at registration as the signaling handlers are, each with its handler in ``apply``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from deliberation import events, state
from deliberation.events import EVENT_TYPES, OMITTED, CheckedIn, Event, Omitted, VoteOpened, event


def test_every_event_type_is_its_own_class_with_a_handler() -> None:
    assert len(EVENT_TYPES) >= 43
    for name, cls in EVENT_TYPES.items():
        assert cls.__name__ == name and issubclass(cls, Event) and cls is not Event
        assert cls in state._HANDLERS, name


def test_a_second_class_of_the_same_name_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @event
        @dataclass(frozen=True, kw_only=True)
        class CheckedIn(Event):
            member_id: str


def test_a_foreign_or_positional_or_wrongly_defaulted_event_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="frozen dataclass"):

        @event  # type: ignore[type-var]
        @dataclass(frozen=True, kw_only=True)
        class NotAnEvent:
            at: str

    with pytest.raises(ValueError, match="keyword-only"):

        @event
        @dataclass(frozen=True)
        class Positional(Event):
            member_id: str

    with pytest.raises(ValueError, match="OMITTED"):

        @event
        @dataclass(frozen=True, kw_only=True)
        class NoneDefault(Event):
            member_id: str | None = None

    with pytest.raises(ValueError, match="OMITTED"):

        @event
        @dataclass(frozen=True, kw_only=True)
        class OmittedNotAllowed(Event):
            member_id: str = OMITTED  # type: ignore[assignment]

    assert not {"NotAnEvent", "Positional", "NoneDefault", "OmittedNotAllowed"} & set(EVENT_TYPES)


def test_a_handler_for_an_unregistered_event_is_refused() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Unregistered(Event):
        member_id: str

    with pytest.raises(ValueError, match="not registered"):
        state._on(Unregistered)(lambda s, e: None)
    with pytest.raises(ValueError, match="already registered"):
        state._on(CheckedIn)(lambda s, e: None)


def test_an_omitted_field_is_left_out_of_the_journal_and_an_unknown_one_refused() -> None:
    opened = VoteOpened("2026-11-26T18:00:00+01:00", item_id="i", method="electronique", electorate=[], quorum={})  # type: ignore[typeddict-item]
    assert opened.amendment_id is OMITTED and isinstance(opened.seat, Omitted)
    assert set(opened.to_dict()["data"]) == {"item_id", "method", "electorate", "quorum"}
    assert Event.from_dict(opened.to_dict()) == opened
    with pytest.raises(TypeError):
        Event.from_dict({"type": "CheckedIn", "at": "x", "data": {"member_id": "m01", "salle_id": "s", "extra": 1}})
    with pytest.raises(ValueError, match="unknown event type"):
        Event.from_dict({"type": "Nothing", "at": "x", "data": {}})
    assert events.CHECKPOINT_EVENTS == {"VoteClosed", "SittingClosed"}
