"""The demo sitting's app with the Router test double, and authenticated browser sockets
speaking the screens' protocol to it (the signaling tests' shared driver)."""

from __future__ import annotations

import asyncio
import json

from signaling.roles import Role
from signaling.throttle import BROADCAST_INTERVAL_S
from tests.signaling.fake_router import fake_router_factory
from web.app import SIGNER, SITTINGS, create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig

TIMEOUT = 3.0


def make_app(data_dir):
    config = WebConfig(tls=False, data_dir=data_dir, sittings=(demo_sitting(),), reconcile_after_s=None)
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    return create_app(config, router_factory=fake_router_factory)


class Socket:
    """One authenticated browser socket: sends commands, reads acks, errors and views."""

    def __init__(self, ws, name):
        self.ws, self.name, self.n = ws, name, 0
        self.view = None

    async def next(self, *types):
        async def loop():
            while True:
                frame = await self.ws.receive()
                msg = json.loads(frame.data)
                if msg["type"] == "sitting":
                    self.view = msg["view"]
                if msg["type"] in types:
                    return msg

        return await asyncio.wait_for(loop(), TIMEOUT)

    async def command(self, **command):
        self.n += 1
        cid = f"{self.name}-{self.n}"
        await self.ws.send_json({"type": "command", "id": cid, "command": command})
        while True:
            msg = await self.next("ack", "error")
            if msg.get("re") == cid:
                return msg

    async def ok(self, **command):
        reply = await self.command(**command)
        assert reply["type"] == "ack", f"{self.name} {command}: {reply}"
        return reply["events"]

    async def refused(self, code, **command):
        reply = await self.command(**command)
        assert reply["type"] == "error" and reply["code"] == code, f"{self.name} {command}: {reply}"
        assert reply["message"], "a refusal says why, in French"
        return reply

    async def latest_view(self):
        """Drain what has arrived (bounded) and return the newest view. Past a burst, the
        view goes out at most every BROADCAST_INTERVAL_S (signaling.throttle): wait that
        long for the newest."""
        while True:
            try:
                await asyncio.wait_for(self.next("sitting"), BROADCAST_INTERVAL_S + 0.15)
            except TimeoutError:
                return self.view


async def connect(client, name, role=None, **claims):
    ws = await client.ws_connect("/ws")
    hello = {"type": "hello", "sitting": "demo", "id": "h"}
    if role is not None:
        hello["token"] = client.app[SIGNER].issue(role, sitting="demo", **claims)
    await ws.send_json(hello)
    sock = Socket(ws, name)
    welcome = await sock.next("welcome")
    assert welcome["role"] == (role.value if role else "public")
    if role is not Role.KIOSK:
        await sock.next("sitting")  # the view comes on connect (not to kiosks: they show none)
    return sock


def service(client):
    return client.app[SITTINGS]["demo"]


async def transmission(client, salle, up):
    """The media plane measures a salle: the Router calls the room's on_health."""
    service(client).room.router.on_health(salle, up)
    await service(client).idle()
