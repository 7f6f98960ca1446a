"""Two nodes, one Redis, one shared data dir: redirect, failover by lease expiry, Redis restart.

Each node is a real ``seance serve --config`` process; the lease TTL is 2 s. The WebSocket
client is the protocol's (docs/protocol.md): it follows ``redirect`` like rtc.js and
sitting.js do.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from deliberation.audit import audit_file
from deliberation.journal import load_public_pem
from signaling.auth import TokenSigner
from signaling.roles import Role
from signaling.sitting import KEY_DIR, PUBLIC_KEY_FILE, journal_path
from tests.multinode.multinode_support import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

TIMEOUT = 5.0


def agent_token(data_dir, salle="belcourt"):
    return TokenSigner.from_data_dir(data_dir).issue(Role.AGENT, salle=salle, agent=f"a-{salle}", sitting="demo")


class Client:
    """A browser's socket, connecting through ``entry`` and following ``redirect``."""

    def __init__(self, session: aiohttp.ClientSession, token: str) -> None:
        self.session, self.token = session, token
        self.ws = None
        self.view = None
        self.redirects: list[str] = []
        self.n = 0

    async def next(self, *types):
        async def loop():
            while True:
                frame = await self.ws.receive()
                if frame.type != aiohttp.WSMsgType.TEXT:
                    raise ConnectionError(f"socket closed ({frame.type}, {frame.data!r})")
                msg = json.loads(frame.data)
                if msg["type"] == "sitting":
                    self.view = msg["view"]
                if msg["type"] in types:
                    return msg

        return await asyncio.wait_for(loop(), TIMEOUT)

    async def connect(self, entry: str, patience: float = 15.0):
        """Like rtc.js: follow `redirect`; on `sitting_moving` (between two nodes) retry."""
        url = entry
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            self.ws = await self.session.ws_connect(url + "/ws")
            await self.ws.send_json({"type": "hello", "sitting": "demo", "token": self.token, "id": "h"})
            first = await self.next("redirect", "welcome", "error")
            if first["type"] == "redirect":
                assert first["re"] == "h" and first["sitting"] == "demo"
                assert len(self.redirects) < 5, f"redirect loop: {self.redirects}"
                self.redirects.append(first["url"])
                await self.ws.close()
                url = first["url"]
                continue
            if first["type"] == "error" and first["code"] == "sitting_moving":
                await self.ws.close()
                await asyncio.sleep(0.5)
                url = entry
                continue
            assert first["type"] == "welcome", first
            await self.next("sitting")
            return url
        raise AssertionError(f"no node served the sitting within {patience}s")

    async def command(self, **command):
        self.n += 1
        cid = f"c{self.n}"
        await self.ws.send_json({"type": "command", "id": cid, "command": command})
        while True:
            msg = await self.next("ack", "error")
            if msg.get("re") == cid:
                return msg

    async def latest_view(self):
        while True:
            try:
                await asyncio.wait_for(self.next("sitting"), 0.2)
            except TimeoutError:
                return self.view


def holder(node) -> str | None:
    info = node.cluster()["sittings"]["demo"]
    return info["url"] if info["node"] else None


async def test_redirect_then_failover_from_the_journal(cluster):
    started = time.monotonic()
    a = cluster.add("a")
    wait_for(lambda: a.cluster()["sittings"]["demo"]["here"], 15, "node a to hold the sitting")
    b = cluster.add("b")
    assert not b.cluster()["sittings"]["demo"]["here"]
    assert holder(b) == a.url

    async with aiohttp.ClientSession() as session:
        # A page asked of the wrong node: 307 to the holder, same path.
        async with session.get(b.url + "/public/demo", allow_redirects=False) as r:
            assert r.status == 307 and r.headers["Location"] == a.url + "/public/demo"

        # A socket opened on the wrong node: `redirect` before `welcome`, then it works.
        client = Client(session, agent_token(cluster.data_dir))
        assert await client.connect(b.url) == a.url and client.redirects == [a.url]
        for member in ("m01", "m02", "m03"):
            reply = await client.command(type="CheckIn", member_id=member, salle_id="belcourt")
            assert reply["type"] == "ack", reply
        view = await client.latest_view()
        acked_lines = view["journal"]["lines"]
        assert {p["id"] for p in view["salles"][0]["present"]} == {"m01", "m02", "m03"}

        # The other node's dashboard saw the journaled change through Redis pub/sub.
        wait_for(
            lambda: (b.cluster()["sittings"]["demo"]["last_event"] or {}).get("lines") == acked_lines,
            5,
            "node b to see the journal event",
        )

        # SIGKILL the holder: its lease expires, b takes the sitting and resumes it from the journal.
        a.kill()
        killed = time.monotonic()
        wait_for(lambda: b.cluster()["sittings"]["demo"]["here"], 15, "node b to take the sitting over")
        took = time.monotonic() - killed
        assert took >= 1.0, "b must not take the sitting before a's lease expired"

        # The browser reconnects through the installation's entry and gets the view, nothing lost.
        again = Client(session, agent_token(cluster.data_dir))
        assert await again.connect(b.url) == b.url
        assert again.view["journal"]["lines"] == acked_lines
        assert {p["id"] for p in again.view["salles"][0]["present"]} == {"m01", "m02", "m03"}
        reply = await again.command(type="CheckIn", member_id="m04", salle_id="belcourt")
        assert reply["type"] == "ack", reply
        view = await again.latest_view()
        assert view["journal"]["lines"] > acked_lines

    # Both nodes wrote one chain: the journal verifies offline.
    key = load_public_pem((cluster.data_dir / KEY_DIR / PUBLIC_KEY_FILE).read_bytes())
    report = audit_file(str(journal_path(cluster.data_dir, "demo")), key, allow_open=True)
    assert report.ok, report
    print(f"whole scenario: {time.monotonic() - started:.1f} s")


async def test_nodes_reconnect_and_renew_after_redis_restarts(cluster):
    a = cluster.add("a")
    wait_for(lambda: a.cluster()["sittings"]["demo"]["here"], 15, "node a to hold the sitting")
    r = cluster.redis.client()
    node_id = r.get("seance:lease:demo")
    assert node_id and r.pttl("seance:lease:demo") > 0

    cluster.redis.stop()
    time.sleep(0.5)
    cluster.redis.start()  # same port, empty (no persistence)
    r = cluster.redis.client()
    wait_for(lambda: r.get("seance:lease:demo") == node_id, 10, "node a to take its lease back")
    wait_for(lambda: r.get(f"seance:node:{node_id}") == a.url, 10, "node a to announce itself again")

    async with aiohttp.ClientSession() as session:
        client = Client(session, agent_token(cluster.data_dir))
        await client.connect(a.url)

        async def acked():
            reply = await client.command(type="CheckIn", member_id="m02", salle_id="belcourt")
            return reply["type"] == "ack"

        deadline = time.monotonic() + 10
        while not await acked():  # the fence reopens within one heartbeat of the lease coming back
            assert time.monotonic() < deadline, "commands still refused after Redis came back"
            await asyncio.sleep(0.3)
        # Pub/sub is fire and forget: an event published while a resubscribes is lost for its
        # dashboard; the next one gets through.
        for member in ("m03", "m04", "m05", "m01"):
            assert (await client.command(type="CheckIn", member_id=member, salle_id="belcourt"))["type"] == "ack"
            lines = (await client.latest_view())["journal"]["lines"]
            try:
                wait_for(
                    lambda lines=lines: (a.cluster()["sittings"]["demo"]["last_event"] or {}).get("lines") == lines,
                    1,
                    "events to flow again through pub/sub",
                )
                break
            except AssertionError:
                continue
        else:
            raise AssertionError("no event came through pub/sub after Redis restarted")


async def test_a_paused_holder_keeps_the_journal_to_itself(cluster):
    """SIGSTOP the holder past its lease: the other node wins the lease but not the journal
    lock, so it never opens the journal while the holder lives; once the holder is resumed
    exactly one of them serves the sitting, and the journal is one chain."""
    import os
    import signal

    a = cluster.add("a")
    wait_for(lambda: a.cluster()["sittings"]["demo"]["here"], 15, "node a to hold the sitting")
    b = cluster.add("b")
    r = cluster.redis.client()
    async with aiohttp.ClientSession() as session:
        client = Client(session, agent_token(cluster.data_dir))
        await client.connect(a.url)
        assert (await client.command(type="CheckIn", member_id="m01", salle_id="belcourt"))["type"] == "ack"

        os.kill(a.proc.pid, signal.SIGSTOP)
        try:
            wait_for(
                lambda: "journal is still locked" in b.log.read_text(),
                15,
                "node b to win the lease but find the journal locked",
            )
            time.sleep(1.0)
            assert not b.cluster()["sittings"]["demo"]["here"], "b opened a journal that a still holds"
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)

        def one_holder():
            here = [n for n in (a, b) if n.cluster()["sittings"]["demo"]["here"]]
            return here[0] if len(here) == 1 and r.get("seance:lease:demo") else None

        wait_for(one_holder, 15, "exactly one node to serve the sitting")

        # The holder may still change once (b, holding the lease, gets the lock when a closes);
        # a browser rides it out: refused while the fence is closed, reconnect when dropped.
        again = Client(session, agent_token(cluster.data_dir))
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline, "no node accepted the command"
            try:
                if again.ws is None or again.ws.closed:
                    await again.connect(a.url)
                reply = await again.command(type="CheckIn", member_id="m02", salle_id="belcourt")
            except (TimeoutError, ConnectionError):
                again.ws = None
                continue
            if reply["type"] == "ack":
                break
            assert reply["code"] == "JOURNAL", reply
            await asyncio.sleep(0.3)
        assert {p["id"] for p in (await again.latest_view())["salles"][0]["present"]} == {"m01", "m02"}
        wait_for(one_holder, 15, "exactly one node to serve the sitting")

    key = load_public_pem((cluster.data_dir / KEY_DIR / PUBLIC_KEY_FILE).read_bytes())
    assert audit_file(str(journal_path(cluster.data_dir, "demo")), key, allow_open=True).ok


def test_a_stopped_node_hands_its_sittings_over_at_once(cluster):
    """SIGTERM (systemctl stop, a rolling upgrade): leases given back, no wait for the TTL."""
    a = cluster.add("a")
    wait_for(lambda: a.cluster()["sittings"]["demo"]["here"], 15, "node a to hold the sitting")
    b = cluster.add("b")
    r = cluster.redis.client()
    a_id = r.get("seance:lease:demo")
    a.stop()
    assert a.proc.returncode == 0
    assert r.get("seance:lease:demo") != a_id, "the lease is given back, not left to expire"
    assert r.get(f"seance:node:{a_id}") is None
    wait_for(lambda: b.cluster()["sittings"]["demo"]["here"], 10, "node b to take the sitting")
