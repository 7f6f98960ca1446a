"""Cascading for the public across two nodes (issue 5; web/relay.py, sfu/cascade.py).

Two ``seance serve`` nodes on a real redis-server, ``public_viewers_per_node = 2``. The
sitting lives on node a; an aiortc kiosk publishes there. Three aiortc viewers open a's
``/ws``: the first two are served by a, the third gets ``redirect`` to b, whose edge
Router links ONCE to a (a's Router has exactly one ``relay:`` peer) and forwards the
programme and the voices to it; a journaled command on a reaches the viewer on b
through Redis. The relay endpoint refuses anyone without a node token. Every wait is
bounded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import aiohttp
import aioice.ice
import pytest

from signaling import datadir
from signaling.auth import TokenSigner
from signaling.council_store import Annex, CouncilStore
from signaling.roles import Role
from tests.multinode.multinode_support import Node, wait_for
from tests.sfu.sfu_clients import Client
from web.relay import issue_node_token

pytestmark = [pytest.mark.redis, pytest.mark.timeout(90)]

TIMEOUT = 15.0


@pytest.fixture
def loopback_clients(monkeypatch):
    """aioice leaves 127.0.0.1 out; the test's aiortc clients gather on loopback only."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def start(cluster, name: str) -> Node:
    node = Node(name, cluster.data_dir.parent, cluster.data_dir, cluster.redis.url)
    text = node.config.read_text()
    node.config.write_text(
        text.replace("lease_ttl_s = 2\n", "lease_ttl_s = 2\npublic_viewers_per_node = 2\nedge_linger_s = 2\n", 1)
    )
    cluster.nodes.append(node)
    node.start()
    return node


def holder_and_edge(cluster) -> tuple[Node, Node]:
    """Node a holding the demo sitting, then node b, both announcing their public viewers."""
    a = start(cluster, "a")
    wait_for(lambda: a.cluster()["sittings"]["demo"]["here"], 15, "node a to hold the sitting")
    b = start(cluster, "b")
    a_id, b_id = a.cluster()["node"], b.cluster()["node"]
    redis = cluster.redis.client()
    wait_for(
        lambda: {f"seance:public:{a_id}", f"seance:public:{b_id}"} <= set(redis.keys("seance:public:*")),
        10,
        "both nodes to announce their public viewers",
    )
    return a, b


def get_json(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as r:
        return json.loads(r.read())


class Socket:
    """One signaling socket; follows ``redirect`` like rtc.js; keeps every message."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.ws = None
        self.url = None
        self.messages: list[dict] = []
        self.redirects: list[str] = []
        self._reader: asyncio.Task | None = None
        self._new = asyncio.Event()
        self.n = 0

    async def _read(self, ws) -> None:
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(frame.data))
                self._new.set()

    async def wait(self, predicate, timeout: float = TIMEOUT, start: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for msg in self.messages[start:]:
                if predicate(msg):
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such message within {timeout}s; got {[m['type'] for m in self.messages]}")
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), min(left, 0.5))
            except TimeoutError:
                pass

    async def connect(self, entry: str, token: str | None = None) -> str:
        url = entry
        for _ in range(4):
            await self.close()
            self.messages = []
            self.ws = await self.session.ws_connect(url + "/ws")
            self._reader = asyncio.get_running_loop().create_task(self._read(self.ws))
            await self.send(type="hello", sitting="demo", id="h", **({"token": token} if token else {}))
            first = await self.wait(lambda m: m["type"] in ("redirect", "welcome", "error"))
            if first["type"] == "redirect":
                assert first["re"] == "h" and first["sitting"] == "demo"
                self.redirects.append(first["url"])
                url = first["url"]
                continue
            assert first["type"] == "welcome", first
            self.url = url
            return url
        raise AssertionError(f"redirect loop: {self.redirects}")

    async def send(self, **msg) -> None:
        await self.ws.send_json(msg)

    async def request(self, reply: str, **msg) -> dict:
        self.n += 1
        rid = f"r{self.n}"
        await self.send(id=rid, **msg)
        got = await self.wait(lambda m: m.get("re") == rid and m["type"] in (reply, "error"))
        assert got["type"] == reply, got
        return got

    async def media(self, as_: str, name: str, **client_options) -> Client:
        slots = await self.request("slots", type="join", **{"as": as_})
        client = Client(name, slots["layout"], **client_options)
        answer = await self.request("answer", type="offer", sdp=await client.offer())
        await client.answer(answer["sdp"])
        return client

    def latest_view(self) -> dict | None:
        views = [m["view"] for m in self.messages if m["type"] == "sitting"]
        return views[-1] if views else None

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        self.ws = self._reader = None


def audio_packets(client: Client) -> int:
    return sum(len(p) for slot, p in client.packets.items() if slot != "programme")


#: checked in at belcourt before the opening: 9 of 17, the quorum (m05 arrives later)
PRESENT = ["m01", "m02", "m03", "m04", "m06", "m07", "m08", "m10", "m11"]


async def open_when_transmitting(president: Socket, timeout: float = 20.0) -> None:
    """OpenSitting, retried while R7 refuses it (the server measures belcourt's transmission
    a few seconds after ICE connects); bounded."""
    deadline = time.monotonic() + timeout
    while True:
        president.n += 1
        rid = f"open{president.n}"
        await president.send(id=rid, type="command", command={"type": "OpenSitting"})
        got = await president.wait(lambda m, rid=rid: m.get("re") == rid and m["type"] in ("ack", "error"))
        if got["type"] == "ack":
            return
        assert got.get("code") == "R7" and time.monotonic() < deadline, got
        await asyncio.sleep(0.5)


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def test_third_viewer_is_served_by_an_edge_linked_once(cluster, loopback_clients):
    started = time.monotonic()
    a, b = holder_and_edge(cluster)
    b_id = b.cluster()["node"]
    signer = TokenSigner.from_data_dir(cluster.data_dir)
    clients: list[Client] = []
    sockets: list[Socket] = []

    async with aiohttp.ClientSession() as session:
        try:
            # The relay endpoint: refused without a node token, with a person's token, for another sitting.
            offer_url = a.url + "/cluster/relay/demo"
            async with session.post(offer_url, json={"sdp": "v=0"}) as r:
                assert r.status == 401
            agent = signer.issue(Role.AGENT, salle="belcourt", agent="a-belcourt", sitting="demo")
            async with session.post(
                offer_url, json={"sdp": "v=0"}, headers={"Authorization": f"SeanceNode {agent}"}
            ) as r:
                assert r.status == 403
            other = issue_node_token(signer, b_id, "autre")
            async with session.post(
                offer_url, json={"sdp": "v=0"}, headers={"Authorization": f"SeanceNode {other}"}
            ) as r:
                assert r.status == 403
            forged = issue_node_token(TokenSigner(b"x" * 32), b_id, "demo")
            async with session.post(
                offer_url, json={"sdp": "v=0"}, headers={"Authorization": f"SeanceNode {forged}"}
            ) as r:
                assert r.status == 403

            # The kiosk of belcourt publishes on a.
            kiosk = Socket(session)
            sockets.append(kiosk)
            assert await kiosk.connect(a.url, signer.issue(Role.KIOSK, salle="belcourt", sitting="demo")) == a.url
            clients.append(await kiosk.media("salle", "belcourt", amplitude=0.3))

            # The public gets the salles only while the sitting is open (R2, R11, issue 15):
            # quorum checked in at belcourt, the secretary, then the opening once belcourt transmits.
            agent_socket = Socket(session)
            sockets.append(agent_socket)
            await agent_socket.connect(a.url, agent)
            for member in PRESENT:
                await agent_socket.request(
                    "ack", type="command", command={"type": "CheckIn", "member_id": member, "salle_id": "belcourt"}
                )
            president = Socket(session)
            sockets.append(president)
            await president.connect(a.url, signer.issue(Role.PRESIDENT, member="m01", salle="belcourt", sitting="demo"))
            await president.request("ack", type="command", command={"type": "AppointSecretary", "member_id": "m03"})
            await open_when_transmitting(president)

            # Three viewers enter through a: two are served there, the third is sent to b.
            viewers = []
            for i in range(3):
                v = Socket(session)
                sockets.append(v)
                served = await v.connect(a.url)
                viewers.append(v)
                clients.append(await v.media("viewer", f"viewer-{i}", publish=False))
                assert served == (a.url if i < 2 else b.url), (i, served, v.redirects)
            assert viewers[2].redirects == [b.url]
            # The public page too: 307 from the full holder to the edge, which serves it.
            async with session.get(a.url + "/public/demo", allow_redirects=False) as r:
                assert r.status == 307 and r.headers["Location"] == b.url + "/public/demo"
            async with session.get(b.url + "/public/demo", allow_redirects=False) as r:
                assert r.status == 200 and 'data-sitting="demo"' in await r.text()
            v_b = clients[-1]

            # b serves the third viewer's video and audio, from ONE link to a.
            await until(
                lambda: v_b.count("programme") > 30 and audio_packets(v_b) > 30,
                20,
                "the viewer on b to receive video and audio",
            )
            await until(lambda: clients[1].count("programme") > 30, 10, "a viewer on a to receive video")
            held = get_json(a.url + "/cluster/cascade")["held"]["demo"]
            assert held == {"public": 2, "relays": [f"relay:{b_id}"]}, held
            edge = get_json(b.url + "/cluster/cascade")["edges"]["demo"]
            assert edge["viewers"] == 1 and edge["link"]["state"] == "up" and edge["link"]["connections"] == 1, edge

            # A journaled command on a reaches the viewer on b (Redis pub/sub).
            mark = len(viewers[2].messages)
            ack = await agent_socket.request(
                "ack", type="command", command={"type": "CheckIn", "member_id": "m05", "salle_id": "belcourt"}
            )
            assert ack["events"]
            lines = (
                await agent_socket.wait(
                    lambda m: (
                        m["type"] == "sitting" and any(p["id"] == "m05" for p in m["view"]["salles"][0]["present"])
                    )
                )
            )["view"]["journal"]["lines"]
            got = await viewers[2].wait(
                lambda m: m["type"] == "sitting" and m["view"]["journal"]["lines"] >= lines, timeout=10, start=mark
            )
            assert any(p["id"] == "m05" for p in got["view"]["salles"][0]["present"])

            # Still one relay; the viewer's departure closes the edge after edge_linger_s.
            assert get_json(a.url + "/cluster/cascade")["held"]["demo"]["relays"] == [f"relay:{b_id}"]
            await viewers[2].close()
            wait_for(lambda: "demo" not in get_json(b.url + "/cluster/cascade")["edges"], 10, "b to close its edge")
            wait_for(
                lambda: get_json(a.url + "/cluster/cascade")["held"]["demo"]["relays"] == [], 15, "a to drop the relay"
            )
        finally:
            for s in sockets:
                await s.close()
            for c in clients:
                await c.close()
    print(f"whole scenario: {time.monotonic() - started:.1f} s")


PLAN = b"%PDF-1.4\n% plan de zonage, montre en seance\n" + b"0" * 4096


def join_annex(data_dir: Path, content: bytes) -> Annex:
    """An annex of the demo's first item, as /admin joins it to the convocation."""
    with CouncilStore.in_data_dir(data_dir) as store:
        cid = store.current().id
        item = store.agenda(cid, "demo")[0]
        sha = hashlib.sha256(content).hexdigest()
        annex = Annex("a1b2c3d4e5f60718", item.item_id, "plan", "Plan de zonage.pdf", sha, len(content), "")
        path = datadir.DataDir.of(data_dir).annex("demo", annex.id)
        datadir.private_dir(path.parent)
        path.write_bytes(content)
        store.add_annex(cid, "demo", annex)
    return annex


async def test_an_edge_serves_the_annex_shown_from_the_holder_digest_checked(cluster, loopback_clients):
    """Issue 15 point 8 on a cascade: the public page redirected to b asks b for the annex shown;
    b gets it once from a's public route, checks its SHA-256 before serving it, keeps it by
    digest, and refuses what a's public view refuses (not shown: R2, sensitive passage: R19)."""
    a, b = holder_and_edge(cluster)
    annex = join_annex(cluster.data_dir, PLAN)
    signer = TokenSigner.from_data_dir(cluster.data_dir)
    clients: list[Client] = []
    sockets: list[Socket] = []
    async with aiohttp.ClientSession() as session:

        async def get(node: Node, sha256: str = annex.sha256) -> tuple[int, bytes]:
            url = f"{node.url}/public/demo/documents/{annex.id}?sha256={sha256}"
            async with session.get(url, allow_redirects=False) as r:
                return r.status, await r.read()

        def refused(got: tuple[int, bytes], status: int, rule: str | None) -> None:
            body = json.loads(got[1])
            assert got[0] == status and set(body) == {"ok", "rule", "field", "message"}, got
            assert body["ok"] is False and body["rule"] == rule and body["message"], body

        try:
            kiosk = Socket(session)
            sockets.append(kiosk)
            await kiosk.connect(a.url, signer.issue(Role.KIOSK, salle="belcourt", sitting="demo"))
            clients.append(await kiosk.media("salle", "belcourt", amplitude=0.3))
            agent_socket = Socket(session)
            sockets.append(agent_socket)
            await agent_socket.connect(a.url, signer.issue(Role.AGENT, salle="belcourt", agent="a-belcourt"))
            for member in PRESENT:
                await agent_socket.request(
                    "ack", type="command", command={"type": "CheckIn", "member_id": member, "salle_id": "belcourt"}
                )
            president = Socket(session)
            sockets.append(president)
            await president.connect(a.url, signer.issue(Role.PRESIDENT, member="m01", salle="belcourt", sitting="demo"))
            await president.request("ack", type="command", command={"type": "AppointSecretary", "member_id": "m03"})
            await open_when_transmitting(president)
            await president.request("ack", type="command", command={"type": "TakeUpItem", "item_id": annex.item_id})
            await president.request("ack", type="present", annex=annex.id, pages=1)

            viewers = []
            for _ in range(3):  # the third is sent to b, which becomes an edge of the sitting
                v = Socket(session)
                sockets.append(v)
                await v.connect(a.url)
                viewers.append(v)
            assert viewers[2].url == b.url, viewers[2].redirects
            edge_viewer = viewers[2]

            def edge_view(predicate, start: int = 0):
                """The edge viewer's first ``sitting`` view from message ``start`` that satisfies ``predicate``."""
                return edge_viewer.wait(lambda m: m["type"] == "sitting" and predicate(m["view"]), start=start)

            await edge_view(lambda v: (v.get("presentation") or {}).get("annex_id") == annex.id)

            # a file altered on the shared disk after it was shown: b checks the digest, serves nothing
            path = datadir.DataDir.of(cluster.data_dir).annex("demo", annex.id)
            path.write_bytes(PLAN + b"% altered\n")
            refused(await get(b), 503, None)
            path.write_bytes(PLAN)
            assert await get(b) == (200, PLAN)
            async with session.get(f"{b.url}/public/demo/documents/{annex.id}?sha256={annex.sha256}") as r:
                assert r.headers["Content-Type"] == "application/pdf" and "no-store" in r.headers["Cache-Control"]
                assert await r.read() == PLAN  # from b's memory: a was asked once more, not twice
            assert get_json(b.url + "/cluster/cascade")["documents"] == {"fetches": 2, "cached": 1}
            refused(await get(b, "0" * 64), 403, "R2")  # not the digest shown

            # R19: b refuses it to its public during a sensitive passage, as a does
            mark = len(edge_viewer.messages)
            await president.request("ack", type="command", command={"type": "MarkSensitive", "on": True, "reason": ""})
            await edge_view(lambda v: v.get("sensitive"), mark)
            refused(await get(b), 403, "R19")
            refused(await get(a), 403, "R19")
            mark = len(edge_viewer.messages)
            await president.request("ack", type="command", command={"type": "MarkSensitive", "on": False, "reason": ""})
            await edge_view(lambda v: not v.get("sensitive"), mark)
            assert await get(b) == (200, PLAN)

            # taken off the displays: b gives it no more
            mark = len(edge_viewer.messages)
            await president.request("ack", type="command", command={"type": "StopPresentation"})
            await edge_view(lambda v: v.get("presentation") is None, mark)
            refused(await get(b), 403, "R2")
            assert get_json(b.url + "/cluster/cascade")["documents"]["fetches"] == 2
        finally:
            for s in sockets:
                await s.close()
            for c in clients:
                await c.close()
