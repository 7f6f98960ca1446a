"""Helpers for the deliberation tests: a clock, actors of the demo council, a ready sitting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from deliberation.actors import Actor, Role
from deliberation.commands import (
    AppointSecretary,
    CheckIn,
    Command,
    OpenSitting,
    ReportPublicStream,
    ReportTransmission,
)
from deliberation.demo import demo_seance
from deliberation.events import Event
from deliberation.refusal import Refusal
from deliberation.seance import Seance

T0 = datetime(2026, 11, 26, 18, 0, tzinfo=timezone(timedelta(hours=1)))

#: 10 of 17 members in office present: quorum (9) holds with one to spare.
DEFAULT_PRESENT = {
    "belcourt": ["m01", "m02", "m03", "m04", "m05"],
    "vaux": ["m06", "m07", "m08"],
    "saint-ferreol": ["m10", "m11"],
}

SYSTEM = Actor(Role.SYSTEM)


class Clock:
    """Monotonic caller-supplied timestamps (the core never reads the clock)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return (T0 + timedelta(seconds=self.n)).isoformat()


def agent(salle_id: str) -> Actor:
    return Actor(Role.AGENT, salle_id=salle_id, agent_id=f"a-{salle_id}")


PRESIDENT = Actor(Role.PRESIDENT, member_id="m01", salle_id="belcourt")


def councillor(member_id: str) -> Actor:
    return Actor(Role.COUNCILLOR, member_id=member_id)


def ok(seance: Seance, command: Command, actor: Actor) -> list[Event]:
    result = seance.handle(command, actor)
    assert not isinstance(result, Refusal), f"unexpected refusal: {result}"
    return result


def refused(seance: Seance, command: Command, actor: Actor, rule: str) -> Refusal:
    """Assert ``command`` is refused under ``rule`` and the state is byte-identical."""
    before = seance.canonical()
    result = seance.handle(command, actor)
    assert isinstance(result, Refusal), f"expected a refusal {rule}, got {result}"
    assert result.rule == rule, f"expected {rule}, got {result.rule}: {result.message}"
    assert result.message.startswith(rule) or rule in ("SCHEMA", "ROLE", "UNKNOWN"), result.message
    assert seance.canonical() == before
    return result


def checked_in(
    clock: Clock, present: dict[str, list[str]] | None = None, transmit: bool = True, seance: Seance | None = None
) -> Seance:
    """The demo sitting, convened, with members checked in and salles transmitting."""
    s = seance if seance is not None else demo_seance()
    for salle, members in (present or DEFAULT_PRESENT).items():
        for m in members:
            ok(s, CheckIn(clock(), m, salle), agent(salle))
        if transmit:
            ok(s, ReportTransmission(clock(), salle, True), SYSTEM)
    return s


def opened(clock: Clock, present: dict[str, list[str]] | None = None, seance: Seance | None = None) -> Seance:
    s = checked_in(clock, present, seance=seance)
    ok(s, ReportPublicStream(clock(), True), SYSTEM)
    ok(s, AppointSecretary(clock(), "m03"), PRESIDENT)
    ok(s, OpenSitting(clock()), PRESIDENT)
    return s
