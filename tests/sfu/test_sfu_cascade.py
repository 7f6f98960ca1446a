"""Cascading over loopback, in one process: an origin Router with two aiortc kiosks,
an edge Router linked to it once (sfu.cascade), three aiortc viewers on the edge.

Every wait is bounded (``wait_for``); nothing asserts wall-clock performance.
"""

import asyncio
import itertools

import aioice.ice
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from sfu import cascade
from sfu.config import HealthSettings, IceSettings, RouterConfig, SpeakerSettings
from sfu.router import Router
from tests.sfu.sfu_clients import Client, wait_for

SALLES = ["belcourt", "vaux"]
RELAY = "relay:edge-1"


def config(forwarding="python"):
    """``forwarding``: how the consumers protect and send (sfu.forwarding)."""
    return RouterConfig(
        forwarding=forwarding,
        ice=IceSettings(listen_addresses=("127.0.0.1",)),
        health=HealthSettings(uplink_timeout=2.0, downlink_timeout=8.0, recover_after=0.5),
        speaker=SpeakerSettings(hold=0.3, smoothing=0.2),
        keyframe_request_interval=0.2,
        # aiortc's REMB stays below what it receives: these tests are about forwarding
        # (tests/sfu/test_adaptation.py drives the adaptation with chosen feedback)
        adaptation=False,
    )


@pytest.fixture
def loopback_clients(monkeypatch):
    """aioice leaves 127.0.0.1 out; the test clients gather on loopback only."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


class Cascade:
    def __init__(self, forwarding="python"):
        self.origin = Router(config(forwarding))
        self.origin.set_president_salle("belcourt")
        self.registry = CollectorRegistry()
        self.edge = Router(config(forwarding), registry=self.registry)
        self.clients: dict[str, Client] = {}
        self.link = None
        self.offers = 0

    async def offer_fn(self, sdp):
        self.offers += 1
        return await self.origin.connect_viewer(RELAY, sdp)

    async def join(self, salle, amplitude):
        c = Client(salle, self.origin.slot_layout("salle"), amplitude=amplitude)
        await c.answer(await self.origin.connect_salle(salle, await c.offer()))
        self.clients[salle] = c
        return c

    async def viewer(self, name):
        c = Client(name, self.edge.slot_layout("viewer"), publish=False)
        await c.answer(await self.edge.connect_viewer(name, await c.offer()))
        self.clients[name] = c
        return c

    async def close(self):
        for c in self.clients.values():
            await c.close()
        await self.edge.close()
        await self.origin.close()


#: the link on the transport Séance owns (the edge offers, controls ICE, is the DTLS
#: server), with each forwarding path of the consumers
@pytest.fixture(params=["python", "native"])
async def sitting(loopback_clients, request):
    s = Cascade(request.param)
    try:
        yield s
    finally:
        await asyncio.wait_for(s.close(), 20)


def continuous(packets):
    """One SSRC and no hole in the sequence numbers (retransmissions arrive late)."""
    first = packets[0][0]
    seqs = sorted({(p[0] - first) & 0xFFFF for p in packets})
    return len({p[2] for p in packets}) == 1 and seqs == list(range(seqs[0], seqs[-1] + 1))


async def grows(client, slot, within=5.0, by=5):
    start = client.count(slot)
    return await wait_for(lambda: client.count(slot) >= start + by, within)


async def test_edge_fans_out_the_origin_programme_once(sitting):
    origin, edge = sitting.origin, sitting.edge
    {"belcourt": await sitting.join("belcourt", 0.05), "vaux": await sitting.join("vaux", 0.0)}
    link = await cascade.connect(
        edge,
        sitting.offer_fn,
        relay_id=RELAY,
        retry=cascade.RetryPolicy(initial=0.2, maximum=1.0),
        registry=sitting.registry,
    )
    viewers = [await sitting.viewer(f"public-{i}") for i in range(3)]

    # every edge viewer receives the programme and the voices
    assert await wait_for(
        lambda: all(v.count("programme") > 10 and v.count("audio-0") > 10 and v.count("audio-1") > 10 for v in viewers),
        20,
    ), [{k: len(p) for k, p in v.packets.items()} for v in viewers]
    # ... which the client decodes: VP8 frames at the kiosks' size, Opus audio
    for v in viewers:
        frame = await asyncio.wait_for(v.receivers["programme"].track.recv(), 5)
        assert (frame.width, frame.height) == (160, 120)
        audio = await asyncio.wait_for(v.receivers["audio-0"].track.recv(), 5)
        assert audio.sample_rate == 48000

    # the origin serves the edge as ONE viewer-like peer, whatever the edge's audience
    assert origin.stats()["peers_by_kind"] == {"salle": 2, "viewer": 1}
    assert set(origin.peers) == {*SALLES, RELAY}
    assert sitting.offers == 1
    assert edge.stats()["peers_by_kind"]["viewer"] == 3
    assert origin.peers[RELAY].assignments["programme"] == "belcourt"
    for v in ("public-0", "public-1", "public-2"):
        assert edge.peers[v].assignments["programme"] == "upstream/programme"
    st = edge.stats()
    assert st["upstream"]["state"] == "up" and st["upstream"]["losses"] == 0
    assert st["hook_errors"] == {} and origin.stats()["hook_errors"] == {}

    # a programme switch at the origin (pin) reaches the edge viewers as one stream
    before = [v.count("programme") for v in viewers]
    origin.pin("vaux")
    assert await wait_for(
        lambda: origin.peers[RELAY].consumers["programme"].source is origin.peers["vaux"].producers["video"], 10
    )
    assert await wait_for(lambda: all(v.count("programme") > b + 20 for v, b in zip(viewers, before)), 10)
    assert origin.stats()["source_switches"] >= 1
    for v in viewers:
        assert continuous(v.packets["programme"]), "hole or new SSRC at the edge viewer"
        frame = await asyncio.wait_for(v.receivers["programme"].track.recv(), 5)
        assert frame.width == 160
    # PLIs from the edge reached the kiosks through the origin (the edge never decodes)
    assert edge.stats()["keyframe_requests_sent"] > 0

    # an edge viewer's lost packet is NACKed and retransmitted from the edge's cache
    watch = viewers[0]
    last, _, ssrc, _ = watch.packets["programme"][-1]
    lost = {(last + 3) & 0xFFFF, (last + 4) & 0xFFFF}
    watch.drop_once.update((ssrc, seq) for seq in lost)
    assert await wait_for(lambda: lost <= {p[0] for p in watch.packets["programme"]}, 10)
    assert edge.stats()["retransmitted"] >= 2

    # a packet lost on the link itself is NACKed upstream by the edge, retransmitted
    # from the origin's cache and forwarded: the edge viewers' streams have no hole
    conn = link.connection.ice  # the edge's aioice connection, where datagrams are handed over
    received, upstream_lost = conn.data_received, set()
    programme = edge.peers["upstream/programme"].producers["video"]

    def lossy_data_received(data, component):
        if (
            127 < data[0] < 192
            and not 191 < data[1] < 209
            and len(upstream_lost) < 2
            and int.from_bytes(data[8:12], "big") == programme.ssrc
        ):
            upstream_lost.add(int.from_bytes(data[2:4], "big"))
            return
        received(data, component)

    origin_retransmitted = origin.stats()["retransmitted"]
    start = viewers[2].count("programme")
    conn.data_received = lossy_data_received
    assert await wait_for(lambda: len(upstream_lost) == 2 and viewers[2].count("programme") > start + 30, 10)
    conn.data_received = received
    assert edge.stats()["nacks_sent"] > 0
    assert origin.stats()["retransmitted"] >= origin_retransmitted + 2
    # (a packet repaired twice, by RTX and by its late original, is no hole)
    got = sorted({p[0] for p in viewers[2].packets["programme"][start:]})
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(got)), "hole in the stream"

    # R19 at the origin: the edge viewers get nothing while it holds
    origin.set_public_silenced(True)
    assert all(s is None for s in origin.peers[RELAY].assignments.values())
    await asyncio.sleep(0.5)
    frozen = [{slot: v.count(slot) for slot in ("programme", "audio-0", "audio-1")} for v in viewers]
    await asyncio.sleep(1.5)
    assert [{slot: v.count(slot) for slot in ("programme", "audio-0", "audio-1")} for v in viewers] == frozen
    assert edge.stats()["upstream"]["state"] == "up"  # silence is not a loss
    origin.set_public_silenced(False)
    assert await wait_for(
        lambda: all(
            v.count("programme") > f["programme"] + 10 and v.count("audio-0") > f["audio-0"] + 10
            for v, f in zip(viewers, frozen)
        ),
        10,
    )

    # the upstream link is lost (the origin drops it): retried, visible, restored;
    # the edge viewers stay connected and their streams stay continuous
    await origin.disconnect(RELAY)
    assert await wait_for(lambda: edge.stats()["upstream"]["losses"] == 1, 10)
    assert await wait_for(lambda: link.up and RELAY in origin.peers, 15), link.stats()
    text = generate_latest(sitting.registry).decode()
    assert 'seance_sfu_upstream_losses_total{relay="relay:edge-1"} 1.0' in text
    assert 'seance_sfu_upstream_up{relay="relay:edge-1"} 1.0' in text
    assert await grows(viewers[1], "programme", within=10, by=20)
    assert await grows(viewers[1], "audio-0", within=5, by=10)
    assert continuous(viewers[1].packets["programme"])
    assert sitting.offers == 2 and origin.stats()["peers_by_kind"]["viewer"] == 1

    assert edge.stats()["hook_errors"] == {} and origin.stats()["hook_errors"] == {}

    # closing the link leaves the edge viewers' slots empty, the origin's relay gone
    await link.close()
    assert edge.stats()["upstream"] is None
    assert all(s is None for s in edge.peers["public-0"].assignments.values())
    assert await wait_for(lambda: RELAY not in origin.peers, 10)


def test_retry_delays_are_bounded():
    policy = cascade.RetryPolicy(initial=0.5, maximum=10.0, jitter=0.2)
    delays = [policy.delay(a) for a in range(1, 40)]
    assert 0.4 <= delays[0] <= 0.6
    assert all(d <= 12.0 for d in delays) and max(delays) >= 8.0


async def test_unreachable_origin_is_retried_then_failed(loopback_clients):
    edge = Router(config())
    calls = []

    def offer_fn(sdp):
        calls.append(sdp)
        raise ConnectionRefusedError("origin unreachable")

    try:
        link = await cascade.connect(
            edge,
            offer_fn,
            relay_id=RELAY,
            wait=False,
            retry=cascade.RetryPolicy(initial=0.05, maximum=0.1, max_attempts=3),
        )
        assert await wait_for(lambda: link.state == "failed", 10), link.stats()
        st = edge.stats()["upstream"]
        assert st["failed_attempts"] == 4 and st["connections"] == 0 and not st["up"]
        assert "origin unreachable" in st["last_error"]
        assert len(calls) == 4 and all("m=video" in sdp for sdp in calls)
        assert edge.stats()["peers"] == 0  # no pseudo-salle without a link
    finally:
        await asyncio.wait_for(edge.close(), 10)
    assert edge.upstream is None


async def test_connect_raises_when_the_origin_stays_unreachable(loopback_clients):
    edge = Router(config())

    async def offer_fn(sdp):
        raise ConnectionRefusedError("no origin")

    try:
        with pytest.raises(TimeoutError, match="no origin"):
            await cascade.connect(
                edge,
                offer_fn,
                retry=cascade.RetryPolicy(initial=0.05, maximum=0.1, max_attempts=1, connect_timeout=2.0),
            )
        assert edge.upstream is None  # closed: another link may be tried
    finally:
        await asyncio.wait_for(edge.close(), 10)
