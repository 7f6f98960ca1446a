"""The WebSocket hub with the Router test double (a demo sitting of three salles) and an
authenticated socket on it: shared by the protocol's tests."""

from __future__ import annotations

import asyncio
import json

from tests.signaling.fake_router import fake_router_factory
from web.app import ROOMS, SIGNER, create_app
from web.commands.demo import seed_demo
from web.config import SalleSpec, SittingSpec, WebConfig

SITTING = SittingSpec(
    "demo",
    "CC des Trois Rivières",
    (SalleSpec("belcourt", "Belcourt"), SalleSpec("vaux", "Vaux"), SalleSpec("saint-ferreol", "Saint-Ferréol")),
    president_salle="belcourt",
)


def token(client, role, **kw):
    return client.app[SIGNER].issue(role, **kw)


def router(client):
    return client.app[ROOMS]["demo"].router


async def recv(ws, mtype, timeout=2.0):
    """Next message of ``mtype`` (others skipped), bounded."""

    async def loop():
        while True:
            msg = json.loads((await ws.receive()).data)
            if msg["type"] == mtype:
                return msg

    return await asyncio.wait_for(loop(), timeout)


async def hello(client, role=None, **kw):
    ws = await client.ws_connect("/ws")
    msg = {"type": "hello", "sitting": "demo", "id": "h"}
    if role is not None:
        msg["token"] = token(client, role, **kw)
    await ws.send_json(msg)
    welcome = await recv(ws, "welcome")
    await recv(ws, "state")
    return ws, welcome


def hub_app(data_dir):
    """The app serving the three-salle demo sitting over the Router test double."""
    seed_demo(data_dir)  # the demo council, entered and convened as in /admin
    return create_app(WebConfig(tls=False, data_dir=data_dir, sittings=(SITTING,)), router_factory=fake_router_factory)
