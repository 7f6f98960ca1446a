"""Sobriety counters over a real Router: three aiortc kiosks and a viewer for a few seconds,
one salle switched to audio only midway (sfu.traffic, signaling.sobriety)."""

import asyncio
import os
import time

import aioice.ice
import pytest
from sfu_clients import Client, PatternTrack, wait_for

from sfu.config import HealthSettings, IceSettings, RouterConfig
from sfu.router import Router
from signaling.sobriety import compute, french_size

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
    router = Router(RouterConfig(ice=IceSettings(listen_addresses=("127.0.0.1",)), video_slots=1,
                                 health=HealthSettings(uplink_timeout=2.0, downlink_timeout=8.0,
                                                       recover_after=0.5)))
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
        assert await wait_for(lambda: all(c.count("video-0") > 10 and c.count("audio-0") > 10
                                          for c in clients[:3]), 20)
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
    print("\nsobriety:", {k: french_size(v) for k, v in t.items()},
          {k: v for k, v in t.items()})
    for salle in SALLES:
        print(salle, figures["salles"][salle], final["salles"][salle])
