"""A synthetic salle joining Séance through /ws as a kiosk (docs/protocol.md).

``hello`` with the salle's kiosk token, ``join as salle``, then one m-section per entry of
the ``layout`` the server sends, in its order (``audio-out``, ``video-out`` sendonly with
our pre-encoded media, then the receive slots recvonly), in one complete offer of the
salle's own connection (:class:`bench.salle_transport.SalleConnection`), the ``answer``. A reader task drains the
pushed messages (``state``, ``health``, ``slots``) for as long as the salle runs, so the
server's bounded send queue never fills, and keeps the latest slot assignments.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from bench.seance_server import salle_id
from bench.simulcast import answered_rids


class SeanceSocket:
    def __init__(self, url: str) -> None:
        self.url = url
        self._ids = itertools.count(1)
        self._waiters: dict[str, asyncio.Future] = {}
        self.assignments: dict[str, str | None] = {}
        #: ``layers`` (docs/protocol.md): called with the encodings to keep on, smallest first
        self.on_layers: Any = None

    async def open(self) -> None:
        import aiohttp

        self._http = aiohttp.ClientSession()
        origin = self.url.replace("ws://", "http://").rsplit("/ws", 1)[0]
        # compress=15: permessage-deflate offered, as Chromium does (RFC 7692); the kiosk
        # page asks /ws?deflate=0 and so does a synthetic salle (web/static/kiosk.js)
        self._ws = await self._http.ws_connect(
            self.url + "?deflate=0", headers={"Origin": origin}, max_msg_size=1 << 20, compress=15
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != 1:  # aiohttp.WSMsgType.TEXT
                continue
            data = json.loads(msg.data)
            if data.get("type") == "slots" and isinstance(data.get("assignments"), dict):
                self.assignments.update(data["assignments"])
            if data.get("type") == "layers" and isinstance(data.get("active"), list) and self.on_layers:
                self.on_layers([bool(a) for a in data["active"]])
            fut = self._waiters.pop(data.get("re") or "", None)
            if fut is not None and not fut.done():
                fut.set_result(data)
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionError("/ws closed"))

    async def request(self, msg: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        rid = str(next(self._ids))
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters[rid] = fut
        await self._ws.send_str(json.dumps({**msg, "id": rid}))
        reply = await asyncio.wait_for(fut, timeout)
        if reply.get("type") == "error":
            raise RuntimeError(f"/ws {msg['type']}: {reply.get('code')}: {reply.get('message')}")
        return reply

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        await self._ws.close()
        await self._http.close()


async def join_salle(s, cfg: dict, audio, video) -> None:
    from bench.synthetic_salle import (
        _await_streams,
        _wait_connected,
        new_connection,
        now_ns,
        publishing_offer,
        start_publishing,
    )

    timeout = cfg.get("join_timeout", 20)
    sid = salle_id(s.index)
    sock = SeanceSocket(cfg.get("urls", {}).get(sid, cfg["url"]))  # --workers W: the salle's own worker
    if cfg.get("dynacast"):  # as the kiosk's setActiveLayers: an encoding switched off is not sent
        sock.on_layers = s.probe.set_active_layers
    await sock.open()
    s.closables.append(sock)
    sitting = cfg.get("sittings", {}).get(sid, cfg["sitting"])  # --sittings K: each salle's own
    await sock.request({"type": "hello", "sitting": sitting, "token": cfg["tokens"][sid]})
    slots = await sock.request({"type": "join", "as": "salle"})
    samples = {"audio": audio, "video": video}
    kinds = [entry["kind"] for entry in slots["layout"]]
    send = [i for i, entry in enumerate(slots["layout"]) if entry["direction"] == "sendonly"]
    recv_slots = [entry["slot"] for entry in slots["layout"] if entry["direction"] != "sendonly"]
    conn = new_connection(s, cfg, offerer=True)
    sdp, sending = await publishing_offer(s, conn, kinds, send)  # three layers with --simulcast
    answer = await sock.request({"type": "offer", "sdp": sdp}, timeout=timeout)
    if s.probe.simulcast:
        s.probe.answered_rids = answered_rids(answer["sdp"], s.probe.simulcast_mid)
    await conn.accept_answer(answer["sdp"])
    await _wait_connected(conn, timeout)
    start_publishing(s, conn, answer["sdp"], sending, {i: samples[kinds[i]] for i in send})
    s.t_published = now_ns()
    # a slot carries media once a source is behind it (some may stay empty: e.g. fewer
    # other salles than voice slots); wait for those assigned, bounded
    await asyncio.sleep(0.3)
    # in a sitting of 2+ salles some slot always gets a source (the president's video or
    # another salle's voice): wait for that first assignment (the Router's tick, 250 ms,
    # can come after the 0.3 s on a loaded machine), bounded
    deadline = time.monotonic() + timeout
    while not any(sock.assignments.get(k) for k in recv_slots) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    s.expected_streams = sum(1 for k in recv_slots if sock.assignments.get(k))
    await _await_streams(s, timeout)
