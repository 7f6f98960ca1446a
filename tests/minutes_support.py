"""The demo sitting played to its close with speakers on the floor, journaled as the
server keeps it: shared by the procès-verbal tests (R22, issue 16 point 2) of the core,
the pages and the browser."""

from __future__ import annotations

from datetime import datetime, timedelta

from deliberation.actors import Actor, Role
from deliberation.commands import EndFloor, GrantFloor, TakeUpItem
from deliberation.journal import Journal
from deliberation.rehearsal import Step, play, script
from deliberation.seance import Seance
from signaling.council_store import CouncilStore
from signaling.sitting import council_key, journal_path
from web.commands.demo import seed_demo

PRESIDENT = Actor(Role.PRESIDENT, member_id="m01", salle_id="belcourt")


def _plus(at: str, seconds: int) -> str:
    return (datetime.fromisoformat(at) + timedelta(seconds=seconds)).isoformat()


def rehearsal_with_floor() -> list[Step]:
    """The rehearsal's script, with Mme Garnier given the floor for 7 s on item 2, then Mme
    Morel for 10 s."""
    steps = script()
    n = next(
        i for i, s in enumerate(steps) if isinstance(s.command, TakeUpItem) and s.command.item_id == "marche-collecte"
    )
    t = steps[n].command.at
    steps[n + 1 : n + 1] = [
        Step(GrantFloor(_plus(t, 2), "m03"), PRESIDENT),
        Step(GrantFloor(_plus(t, 9), "m11"), PRESIDENT),
        Step(EndFloor(_plus(t, 19)), PRESIDENT),
    ]
    return steps


def closed_demo_sitting(data_dir) -> None:
    """The demo sitting played to its close (the rehearsal, with two speakers on item 2),
    journaled where the server keeps it, signed with the installation's council key."""
    seed_demo(data_dir)
    with CouncilStore.in_data_dir(data_dir) as store:
        council = store.current()
        config = store.sitting(council.id, "demo")
    path = journal_path(data_dir, "demo")
    path.parent.mkdir(parents=True, exist_ok=True)
    seance = Seance(council, config)
    with Journal.create(path, seance, council_key(data_dir)) as journal:
        play(seance, journal, rehearsal_with_floor())
