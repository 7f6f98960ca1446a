"""Sobriety counters over a real Router: three aiortc kiosks and a viewer for a few seconds,
one salle switched to audio only midway (sfu.traffic, signaling.sobriety)."""

import asyncio
import os
import time

import aioice.ice
import pytest

from sfu.config import HealthSettings, IceSettings, RouterConfig
from sfu.router import Router
from signaling.sobriety import compute, french_size
from tests.sfu.sfu_clients import Client, PatternTrack, wait_for

SALLES = ["belcourt", "vaux", "saint-ferreol"]


@pytest.fixture
def loopback_clients(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


class NoiseTrack(PatternTrack):
    """Noise does not compress: a camera-like bitrate from a 160x120 picture."""

    async def recv(self):
        frame = await super().recv()
        plane = frame.planes[0]
        plane.update(os.urandom(plane.line_size * self.height))
        return frame


def same_totals(router):
    """traffic() and stats() read in the same loop turn: their sums are equal."""
    traffic, stats = router.traffic(), router.stats()
    salles = traffic["salles"].values()
    assert sum(s["in_bytes"] for s in salles) == stats["bytes_in"] == traffic["totals"]["in_bytes"]
    out = sum(s["out_bytes"] for s in salles) + traffic["viewers"]["out_bytes"]
    assert out == stats["bytes_out"] == traffic["totals"]["out_bytes"]
    assert sum(s["in_packets"] for s in salles) == stats["packets_in"]
    return traffic


async def test_traffic_per_salle_matches_the_routers_totals(loopback_clients):
    # one video slot a salle: each receives one of the two other cameras, so the slots save
    router = Router(
        RouterConfig(
            ice=IceSettings(listen_addresses=("127.0.0.1",)),
            video_slots=1,
            health=HealthSettings(uplink_timeout=2.0, downlink_timeout=8.0, recover_after=0.5),
        )
    )
    router.set_president_salle("belcourt")
    clients = []
    try:
        for salle in SALLES:
            c = Client(salle, router.slot_layout("salle"), amplitude=0.05)
            c.video = NoiseTrack()
            await c.answer(await router.connect_salle(salle, await c.offer()))
            clients.append(c)
        viewer = Client("public-1", router.slot_layout("viewer"), publish=False)
        await viewer.answer(await router.connect_viewer("public-1", await viewer.offer()))
        clients.append(viewer)
        assert await wait_for(lambda: all(c.count("video-0") > 10 and c.count("audio-0") > 10 for c in clients[:3]), 20)
        await asyncio.sleep(2.0)
        before = same_totals(router)
        for salle in SALLES:
            s = before["salles"][salle]
            assert s["in_audio_bytes"] > 0 and s["in_video_bytes"] > 0 and s["out_bytes"] > 0
        assert before["viewers"]["out_bytes"] > 0

        router.set_audio_only("vaux", True)
        switched_at = time.monotonic()
        await asyncio.sleep(0.5)
        switched = same_totals(router)
        await asyncio.sleep(2.5)
        after = same_totals(router)
        elapsed = time.monotonic() - switched_at
        vaux = after["salles"]["vaux"]
        # nothing of video reaches the audio-only salle after the switch; audio still does
        assert vaux["out_video_bytes"] - switched["salles"]["vaux"]["out_video_bytes"] == 0
        assert vaux["out_audio_bytes"] > switched["salles"]["vaux"]["out_audio_bytes"]
        # time-weighted at the 1 s sampling: the sample before the switch may count as audio only
        assert elapsed - 0.1 <= vaux["audio_only_seconds"] <= elapsed + 1.1
        assert after["salles"]["belcourt"]["audio_only_seconds"] == 0
        # the others keep receiving video
        assert after["salles"]["belcourt"]["out_video_bytes"] > switched["salles"]["belcourt"]["out_video_bytes"]
    finally:
        for c in clients:
            await c.close()
        await asyncio.wait_for(router.close(), 20)
    final = same_totals(router)  # retired producers and consumers still counted
    figures = compute(final)
    t = figures["totals"]
    assert t["mesh_bytes"] >= t["moved_bytes"] > 0
    assert t["slots_saved_bytes"] > 0
    assert figures["salles"]["vaux"]["audio_only_saved_bytes"] > 0
    assert figures["salles"]["belcourt"]["audio_only_saved_bytes"] == 0
    print("\nsobriety:", {k: french_size(v) for k, v in t.items()}, dict(t.items()))
    for salle in SALLES:
        print(salle, figures["salles"][salle], final["salles"][salle])


# --------------------------------------------------------------------------- the meter alone


class _Config:
    video_slots = 1


class _Peer:
    def __init__(self, peer_id, kind="salle"):
        self.peer_id = peer_id
        self.kind = kind
        self.salle_id = peer_id if kind == "salle" else None
        self.producers = {}
        self.closed = False


class _Producer:
    def __init__(self, peer, kind):
        self.salle_id, self.kind, self.octets_in, self.closed = peer.salle_id, kind, 0, False
        peer.producers[kind] = self


class _Consumer:
    def __init__(self, peer, kind):
        self.peer, self.kind, self.octets_sent, self.closed = peer, kind, 0, False


class _Router:
    def __init__(self, *peers):
        self.peers = {p.peer_id: p for p in peers}
        self.audio_only, self.muted, self.monitors, self.config = set(), set(), {}, _Config()


def test_meter_by_hand():
    from sfu.traffic import TrafficMeter

    a, b, c, v = _Peer("a"), _Peer("b"), _Peer("c"), _Peer("v", "viewer")
    router = _Router(a, b, c, v)
    meter = TrafficMeter()
    pa, pav, pb, pbv, pc, pcv = (_Producer(p, k) for p in (a, b, c) for k in ("audio", "video"))
    for p in (pa, pav, pb, pbv, pc, pcv):
        meter.producer_added(p)
    to_c, to_v = _Consumer(c, "video"), _Consumer(v, "audio")
    meter.consumer_added(to_c)
    meter.consumer_added(to_v)
    meter.sample(router, 0.0)
    # second 1: everybody sends 100 audio, 1000 video; c receives a's video
    for p in (pa, pb, pc):
        p.octets_in += 100
    for p in (pav, pbv, pcv):
        p.octets_in += 1000
    to_c.octets_sent += 1000
    to_v.octets_sent += 300
    meter.sample(router, 1.0)
    # second 2: c audio only (its video still uploaded), b muted; c's consumer retired
    router.audio_only.add("c")
    router.muted.add("b")
    for p in (pa, pb, pc):
        p.octets_in += 100
    for p in (pav, pbv, pcv):
        p.octets_in += 1000
    to_c.octets_sent += 50
    to_c.closed = True
    meter.sample(router, 2.0)
    t = meter.snapshot(router, 2.0)  # nothing new: same totals
    sa, sb, sc = t["salles"]["a"], t["salles"]["b"], t["salles"]["c"]
    assert sc["in_bytes"] == 2200 and sc["in_video_bytes"] == 2000 and sc["video_uplink_audio_only_bytes"] == 1000
    assert sc["out_bytes"] == 1050 and sc["out_video_bytes"] == 1050 and t["viewers"]["out_bytes"] == 300
    assert t["totals"]["in_bytes"] == 6600 and t["totals"]["out_bytes"] == 1350
    # mesh, second 1: each receives the two others' 1100 = 2200.
    # second 2: a gets b's video 1000 (b's audio is muted) + c's audio 100 = 1100;
    # b gets a's 1100 + c's audio 100 = 1200; c (audio only) gets a's audio 100 only
    assert (sa["mesh_in_bytes"], sb["mesh_in_bytes"], sc["mesh_in_bytes"]) == (3300, 3400, 2300)
    assert sc["audio_only_seconds"] == 1 and sa["audio_only_seconds"] == 0
    # c would have received min(1 slot, 2 salles with video) = 1 stream for 1 s
    assert sc["forgone_video_stream_seconds"] == 1
    assert (sa["video_seconds"], sc["video_seconds"]) == (2, 1)
    assert (sa["connected_seconds"], sc["video_active_bytes"]) == (2, 1000)
    # the retired consumer is let go, its octets kept
    assert [e[0] for e in meter._consumers.values()] == [to_v]
