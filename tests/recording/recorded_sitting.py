"""The demo sitting served by a SittingService over a real Router, opened with the quorum
checked in and every salle transmitting: the recording tests' shared setup."""

from __future__ import annotations

from deliberation.actors import SYSTEM, Actor, Role
from deliberation.demo import SITTING_ID, start_demo_journal
from sfu.config import IceSettings, RouterConfig
from sfu.router import Router
from signaling.room import SalleInfo, SittingRoom
from signaling.sitting import SittingService

PRESENT = {
    "belcourt": ["m01", "m02", "m03", "m04", "m05"],
    "vaux": ["m06", "m07", "m08"],
    "saint-ferreol": ["m10", "m11"],
}


PRESIDENT = Actor(Role.PRESIDENT, member_id="m01", salle_id="belcourt")


def service(tmp_path) -> SittingService:
    room = SittingRoom(
        SITTING_ID,
        "demo",
        [SalleInfo(s, s) for s in PRESENT],
        "belcourt",
        lambda on_health, on_slots: Router(
            RouterConfig(ice=IceSettings(listen_addresses=("127.0.0.1",))), on_health=on_health, on_slots=on_slots
        ),
    )
    return SittingService.open(tmp_path, SITTING_ID, room, create=start_demo_journal, reconcile_after_s=None)


async def ok(svc, actor, **command):
    result = await svc.command(actor, command)
    assert isinstance(result, list) and result, result
    return result


async def open_sitting(svc):
    for salle, members in PRESENT.items():
        for m in members:
            await ok(
                svc,
                Actor(Role.AGENT, salle_id=salle, agent_id=f"a-{salle}"),
                type="CheckIn",
                member_id=m,
                salle_id=salle,
            )
        await ok(svc, SYSTEM, type="ReportTransmission", salle_id=salle, transmitting=True)
    await ok(svc, SYSTEM, type="ReportPublicStream", up=True)
    await ok(svc, PRESIDENT, type="AppointSecretary", member_id="m03")
    await ok(svc, PRESIDENT, type="OpenSitting")
