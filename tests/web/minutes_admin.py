"""The secretariat's side of the procès-verbal on the demo council served for real: its
session, forms posted from a page, the next sitting convened with the approval item, and
that item adopted by the council's vote."""

from __future__ import annotations

import re
from datetime import date, timedelta

from deliberation.actors import Actor, Role
from web.app import ACCOUNTS, create_app
from web.commands import demo
from web.config import WebConfig

PV = "/admin/seances/demo/proces-verbal"


PRESENT = {"belcourt": ["m01", "m02", "m03", "m04", "m05"], "vaux": ["m06", "m07", "m08"], "saint-ferreol": ["m10"]}


PRESIDENT = Actor(Role.PRESIDENT, member_id="m01", salle_id="belcourt")


async def admin_client(aiohttp_client, tmp_path):
    config = WebConfig(tls=False, data_dir=tmp_path, sittings=(demo.demo_sitting(),), ice_addresses=("127.0.0.1",))
    client = await aiohttp_client(create_app(config))
    client.app[ACCOUNTS].set_account("secretariat", "pw-secret-1", Role.ADMIN)
    r = await client.post("/login", data={"login": "secretariat", "password": "pw-secret-1"}, allow_redirects=False)
    assert r.status == 303
    return client


async def post(client, path: str, page: str, **data):
    """A form posted from ``page`` (or, when it has no form left, with the session's token from /admin)."""
    body = await (await client.get(page)).text()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', body) or re.search(
        r'name="csrf" value="([0-9a-f]+)"', await (await client.get("/admin")).text()
    )
    return await client.post(path, data={"csrf": token.group(1), **data}, allow_redirects=False)


async def next_sitting(admin) -> str:
    """The following sitting, created and convened in /admin with the approval item first."""
    day = date.today() + timedelta(days=30)
    form = {"id": "cc-suivant", "title": "Conseil communautaire suivant", "date": day.isoformat(), "time": "18:30"}
    r = await post(admin, "/admin/seances", "/admin", mode="visio", **form)
    assert r.status == 303
    page = "/admin/seances/cc-suivant"
    title = "Approbation du procès-verbal de la séance du 26 novembre 2026"
    assert (await post(admin, page + "/points", page, title=title, kind="deliberation")).status == 303
    assert (await post(admin, page + "/points", page, title="Programme de voirie", kind="deliberation")).status == 303
    assert (await post(admin, page + "/convoquer", page, confirm="on")).status == 303
    return page


async def run(service, actor: Actor, command: dict) -> None:
    result = await service.command(actor, command)
    assert isinstance(result, list), result


async def adopt(service, item_id: str) -> None:
    """The next sitting opened and its approval item voted, as the salles and the president do."""
    system = Actor(Role.SYSTEM)
    for salle, members in PRESENT.items():
        for m in members:
            await run(
                service,
                Actor(Role.AGENT, salle_id=salle, agent_id=f"a-{salle}"),
                {"type": "CheckIn", "member_id": m, "salle_id": salle},
            )
        await run(service, system, {"type": "ReportTransmission", "salle_id": salle, "transmitting": True})
    await run(service, system, {"type": "ReportPublicStream", "up": True})
    await run(service, PRESIDENT, {"type": "AppointSecretary", "member_id": "m03"})
    await run(service, PRESIDENT, {"type": "OpenSitting"})
    await run(service, PRESIDENT, {"type": "TakeUpItem", "item_id": item_id})
    await run(service, PRESIDENT, {"type": "OpenVote", "item_id": item_id})
    for members in PRESENT.values():
        for m in members:
            actor = PRESIDENT if m == "m01" else Actor(Role.COUNCILLOR, member_id=m)
            await run(service, actor, {"type": "CastBallot", "item_id": item_id, "voter_id": m, "choice": "pour"})
    await run(service, PRESIDENT, {"type": "CloseVote", "item_id": item_id})
