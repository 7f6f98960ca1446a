"""Floods against the real server process: it stays responsive for everyone else (T9, T15).

``seance demo --http`` runs as a real process (one for the module). A *probe* socket (the
agent of Vaux) measures, while the server is under each load, the round trip of ``ping``
and of a journaled command (``CheckIn``/``CheckOut``: fsync, then the view pushed to every
socket of the sitting). Latencies are printed and written to ``test-output/floods.json``;
the tests assert only a generous bound (``BOUND_S``), never a tight timing.

- oversized frames: a frame above aiohttp's limit closes that socket (1009), one just above
  the protocol's 64 KiB limit gets ``too_large``; the server keeps serving;
- a flood from one socket: excess messages get ``rate_limited`` with a French message; a
  flooder that does not read its errors is disconnected (bounded send queue, 1013);
- many idle sockets (``SEANCE_IDLE_SOCKETS``, default 800: half never say hello, half are
  public viewers that receive every view) plus raw TCP connections that never finish
  their HTTP request: the probe still gets answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import time

import aiohttp
import pytest

from signaling.protocol import MAX_MESSAGE_BYTES
from signaling.roles import Role
from tests.reliability.reliability_support import Server, percentile, signer, wait_ready_sync, write_json, ws_connect

BOUND_S = 5.0
IDLE = int(os.environ.get("SEANCE_IDLE_SOCKETS", "800"))
RAW_IDLE = 100
FIGURES: dict = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * IDLE + 2 * RAW_IDLE + 512  # client and server ends live on this machine
    if soft < need and hard >= need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))  # inherited by the server process
    srv = Server(tmp_path_factory.mktemp("floods") / "data")
    srv.start()
    try:
        wait_ready_sync(srv)
        yield srv
    finally:
        srv.kill9()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        FIGURES["server_log_errors"] = [line for line in srv.log().splitlines() if " ERROR " in line][:20]
        write_json("floods.json", FIGURES)
        print("\nfloods:", json.dumps(FIGURES, indent=1, ensure_ascii=False))


async def probe(http, srv, rounds: int = 10) -> dict:
    """Round trips of the probe socket: ``ping`` and a journaled command, each bounded."""
    agent = await ws_connect(http, srv.ws_url, signer(srv.data_dir), "probe", Role.AGENT, salle="vaux", agent="a-vaux")
    pings, commands = [], []
    try:
        for n in range(rounds):
            t = time.monotonic()
            await agent.ws.send_json({"type": "ping", "id": f"p{n}"})
            while (await agent.next("pong", timeout=BOUND_S))["re"] != f"p{n}":
                pass
            pings.append(time.monotonic() - t)
            for ctype in ("CheckIn", "CheckOut"):
                t = time.monotonic()
                reply = await asyncio.wait_for(agent.command(type=ctype, member_id="m08", salle_id="vaux"), BOUND_S)
                assert reply["type"] == "ack", reply
                commands.append(time.monotonic() - t)
            await asyncio.sleep(0.05)
    finally:
        await agent.close()
    return {
        "ping_ms": {"p50": round(1000 * percentile(pings, 0.5), 1), "max": round(1000 * max(pings), 1)},
        "command_ms": {"p50": round(1000 * percentile(commands, 0.5), 1), "max": round(1000 * max(commands), 1)},
    }


async def test_oversized_frames_close_or_refuse_that_socket_only(server):
    async with aiohttp.ClientSession() as http:
        FIGURES["baseline"] = await probe(http, server, rounds=5)
        for size in (256 * 1024, 4 * 1024 * 1024):  # above the socket's limit
            big = await ws_connect(http, server.ws_url, None, "big")
            try:
                await big.ws.send_str("x" * size)
            except ConnectionError:  # the server closed while the client was still sending
                FIGURES.setdefault("oversized", {})[size] = "connection closed by the server while sending"
                continue
            with pytest.raises(ConnectionError):  # the server closes that socket
                await big.next("never", timeout=BOUND_S)
            assert big.ws.close_code == 1009, big.ws.close_code  # message too big
            FIGURES.setdefault("oversized", {})[size] = f"closed {big.ws.close_code}"
        over = await ws_connect(http, server.ws_url, None, "over")
        payload = json.dumps({"type": "ping", "id": "o", "pad": "y" * (MAX_MESSAGE_BYTES + 100)})
        await over.ws.send_str(payload)
        err = await over.next("error", timeout=BOUND_S)
        assert err["code"] == "too_large" and err["message"]
        await over.ws.send_json({"type": "ping", "id": "after"})
        assert (await over.next("pong", timeout=BOUND_S))["re"] == "after"  # the socket still works
        FIGURES["after_oversized"] = await probe(http, server, rounds=5)
        await over.close()


async def test_a_flood_from_one_socket_is_rate_limited_and_others_still_answered(server):
    async with aiohttp.ClientSession() as http:
        reader = await ws_connect(http, server.ws_url, None, "reader")  # reads what it is sent
        deaf = await http.ws_connect(server.ws_url)  # never reads
        await deaf.send_json({"type": "hello", "sitting": "demo"})

        async def flood(send, n: int) -> None:
            for i in range(n):
                try:
                    await send(json.dumps({"type": "ping", "id": f"f{i}"}))
                except (ConnectionError, RuntimeError):
                    return
                if i % 200 == 0:
                    await asyncio.sleep(0)

        t = time.monotonic()
        flooding = asyncio.gather(flood(reader.ws.send_str, 5000), flood(deaf.send_str, 5000))
        FIGURES["during_flood"] = await probe(http, server, rounds=6)
        await asyncio.wait_for(flooding, 30)
        await asyncio.sleep(2.0)
        codes = dict(reader.counts)
        message = next((e["message"] for e in reader.errors if e.get("code") == "rate_limited"), None)
        FIGURES["flood"] = {
            "messages_per_flooder": 5000,
            "seconds": round(time.monotonic() - t, 1),
            "reader_saw": codes,
            "message": message,
        }
        # excess messages are refused with the documented error; a flooder that cannot read
        # its errors as fast as it floods is disconnected (bounded send queue, 1013)
        assert codes.get("rate_limited", 0) > 100 and codes.get("pong", 0) <= 40 + 20 * 10, codes
        assert message and "ralentissez" in message
        FIGURES["flood"]["reader_close_code"] = reader.ws.close_code
        # the flooder that never read: disconnected once its send queue was full
        deadline = time.monotonic() + BOUND_S
        frame = await asyncio.wait_for(deaf.receive(), BOUND_S)
        while frame.type == aiohttp.WSMsgType.TEXT and time.monotonic() < deadline:
            frame = await asyncio.wait_for(deaf.receive(), BOUND_S)
        FIGURES["flood"]["deaf_flooder_close_code"] = deaf.close_code
        # 1013 when the close frame gets through, 1006 when the flooder's own backlog holds it
        assert deaf.close_code in (1013, 1006), deaf.close_code
        assert "too slow (send queue full)" in server.log()
        await reader.close()


async def test_hundreds_of_idle_sockets_and_the_server_still_answers_promptly(server):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    idle = min(IDLE, (soft - 512) // 2 - RAW_IDLE)
    assert idle >= 200, f"file descriptor limit too low ({soft})"
    connector = aiohttp.TCPConnector(limit=0)
    raw: list[socket.socket] = []
    async with aiohttp.ClientSession(connector=connector) as http:
        socks: list = []
        received = [0]

        async def reader(ws) -> None:  # a browser that reads (and answers the server's heartbeats)
            async for _ in ws:
                received[0] += 1

        t = time.monotonic()
        readers = []
        try:
            for start in range(0, idle, 50):
                batch = await asyncio.gather(*(http.ws_connect(server.ws_url) for _ in range(min(50, idle - start))))
                socks += batch
            public = socks[: idle // 2]  # half: public viewers that get every view pushed
            await asyncio.gather(*(ws.send_json({"type": "hello", "sitting": "demo"}) for ws in public))
            readers = [asyncio.create_task(reader(ws)) for ws in socks]
            for _ in range(RAW_IDLE):  # half-sent HTTP requests, never finished
                s = socket.create_connection(("127.0.0.1", server.port), timeout=2)
                s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                raw.append(s)
            opened = time.monotonic() - t
            await asyncio.sleep(1.0)
            with open(f"/proc/{server.proc.pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{server.proc.pid}/fd"))
            FIGURES["idle"] = {
                "websockets": len(socks),
                "public_viewers": len(public),
                "raw_half_requests": RAW_IDLE,
                "open_seconds": round(opened, 1),
                "server_fds": fds,
                "server_rss_mib": rss // 1024,
            }
            FIGURES["with_idle_sockets"] = result = await probe(http, server, rounds=10)
            FIGURES["idle"]["views_received_by_idle_viewers"] = received[0]
            assert result["ping_ms"]["max"] < 1000 * BOUND_S and result["command_ms"]["max"] < 1000 * BOUND_S
            assert all(not ws.closed for ws in socks[:10]), "idle readers were dropped"
            assert received[0] >= len(public), "public viewers got the views pushed"
        finally:
            for s in raw:
                s.close()
            for task in readers:
                task.cancel()
            await asyncio.gather(*(asyncio.wait_for(ws.close(), 2) for ws in socks), return_exceptions=True)
    async with aiohttp.ClientSession() as http:
        FIGURES["after_idle"] = await probe(http, server, rounds=3)
