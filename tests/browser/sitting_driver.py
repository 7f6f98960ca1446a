"""The demo sitting driven over its WebSocket as the screens do: authenticated sockets that
send commands and await their ack, the quorum checked in at Belcourt, the sitting opened."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from signaling.roles import Role
from tests.browser.kiosk_helpers import until
from web.app import ROOMS, SIGNER

#: Checked in at Belcourt (the one salle whose kiosk transmits): 9 of 17, the quorum.
PRESENT = ["m01", "m02", "m03", "m04", "m06", "m07", "m08", "m10", "m11"]
ITEM = "pv-precedent"


class Socket:
    """An authenticated WebSocket speaking the screens' protocol (as test_sitting_e2e does)."""

    def __init__(self, ws) -> None:
        self.ws, self.n, self.pending = ws, 0, {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, session, server, role: Role, **claims) -> Socket:
        ws = await session.ws_connect(server.base_url + "/ws")
        token = server.app[SIGNER].issue(role, **claims)
        await ws.send_json({"type": "hello", "sitting": "demo", "token": token, "id": "hello"})
        return cls(ws)

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                fut = self.pending.pop(data.get("re"), None) if data.get("type") in ("ack", "error") else None
                if fut is not None and not fut.done():
                    fut.set_result(data)

    async def do(self, command: dict) -> None:
        self.n += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[f"c{self.n}"] = fut
        await self.ws.send_json({"type": "command", "id": f"c{self.n}", "command": command})
        reply = await asyncio.wait_for(fut, 10)
        assert reply["type"] == "ack", (command, reply)

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


async def convene_with_quorum(server, session) -> list[Socket]:
    """Belcourt's agent checks in nine members (the quorum) and records a proxy m09 → m07;
    the president appoints the secretary. Returns the sockets (closed by the caller)."""
    agent = await Socket.connect(session, server, Role.AGENT, member="a-belcourt", salle="belcourt", agent="a-belcourt")
    president = await Socket.connect(session, server, Role.PRESIDENT, member="m01", salle="belcourt")
    for member in PRESENT:
        await agent.do({"type": "CheckIn", "member_id": member, "salle_id": "belcourt"})
    await agent.do(
        {"type": "RecordProxy", "giver_id": "m09", "holder_id": "m07", "document_ref": "Pouvoir écrit n° PV-2026-031"}
    )
    await president.do({"type": "AppointSecretary", "member_id": "m03"})
    return [agent, president]


async def open_with_belcourt_transmitting(server, also: tuple[str, ...] = ()) -> None:
    """Once belcourt's kiosk transmits: the quorum checked in there, the secretary
    appointed and the sitting opened (the public is fed only while it is open). ``also``:
    the other salles whose kiosks are open, awaited too — until another salle's voices
    reach belcourt and a report says they are usable, belcourt does not transmit (R7)."""
    room = server.app[ROOMS]["demo"]
    await until(lambda: all(room.transmitting.get(s) for s in ("belcourt", *also)), 25, what="belcourt transmitting")
    async with aiohttp.ClientSession() as session:
        sockets = await convene_with_quorum(server, session)
        try:
            await sockets[1].do({"type": "OpenSitting"})
        finally:
            for s in sockets:
                await s.close()


async def request(socket, message: dict) -> dict:
    """A message answered by ``ack`` on a :class:`Socket` (``present``, ``page``)."""
    socket.n += 1
    fut = asyncio.get_running_loop().create_future()
    socket.pending[f"c{socket.n}"] = fut
    await socket.ws.send_json({**message, "id": f"c{socket.n}"})
    reply = await asyncio.wait_for(fut, 10)
    assert reply["type"] == "ack", (message, reply)
    return reply
