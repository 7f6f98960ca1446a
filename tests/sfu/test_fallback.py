"""Health by quality and the automatic audio fallback on the real Router with real
aiortc peers (issue 11, points 5 and 6; R3, R7, R17).

The salle's receiver reports are driven by the test through its real RTCP path (as a
kiosk on a poor link sends them); the Router decides. Thresholds are shortened by
configuration; every wait is bounded.
"""

import asyncio
import itertools

import aioice.ice
import pytest
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket
from prometheus_client import CollectorRegistry

from sfu.bandwidth import AllocatorSettings, EstimatorSettings, FallbackSettings
from sfu.config import HealthSettings, IceSettings, RouterConfig
from sfu.reception import ReceptionSettings
from sfu.router import Router
from tests.sfu.sfu_clients import Client, wait_for

SALLES = ["belcourt", "vaux", "saint-ferreol"]


class Sitting:
    def __init__(self, router, clients):
        self.router, self.clients = router, clients
        self.health: list[tuple[str, bool]] = []
        self.fallbacks: list[tuple[str, bool, str, dict]] = []

    def transmitting(self, salle):
        return [t for s, t in self.health if s == salle][-1:] == [True]


@pytest.fixture
async def sitting(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    router = Router(
        RouterConfig(
            ice=IceSettings(listen_addresses=("127.0.0.1",)),
            # tolerant of a busy machine's stalls: what is tested is the judgement by quality
            health=HealthSettings(uplink_timeout=5.0, downlink_timeout=10.0, recover_after=0.5),
            adapt_interval=0.25,
            estimator=EstimatorSettings(initial_bps=200_000, min_bps=1_000),
            # probes come after the fallback's decision (as with the defaults: 5 s and 4 s)
            allocator=AllocatorSettings(up_all_at_once=True, probe_interval_s=3.0, up_interval_s=0.5),
            reception=ReceptionSettings(bad_for_s=1.5, good_for_s=0.5),
            fallback=FallbackSettings(
                enter_after_s=1.0, retry_after_s=2.0, max_retry_after_s=4.0, calm_s=1.0, confirm_s=1.0
            ),
        ),
        registry=CollectorRegistry(),
    )
    router.set_president_salle("belcourt")
    s = Sitting(router, {})
    router.on_health = lambda salle, up: s.health.append((salle, up))

    def fallback(salle, audio_only, reason, figures):  # what signaling does: journal, then apply
        s.fallbacks.append((salle, audio_only, reason, figures))
        router.set_audio_only(salle, audio_only)

    router.on_fallback = fallback
    try:
        for salle in SALLES:
            c = Client(salle, router.slot_layout("salle"))
            await c.answer(await router.connect_salle(salle, await c.offer()))
            s.clients[salle] = c
            router.peers[salle].downlink.on_remb = lambda now, bps: None  # aiortc's REMB left out
        assert await wait_for(lambda: all(s.transmitting(x) for x in SALLES), 20)
        assert await wait_for(lambda: all(c.count("video-0") > 20 for c in s.clients.values()), 20)
        yield s
    finally:
        for c in s.clients.values():
            await c.close()
        await asyncio.wait_for(router.close(), 20)


def extended_last(packets):
    seqs = [p[0] for p in packets]
    wraps = sum(1 for a, b in itertools.pairwise(seqs) if b < a and a - b > 0x8000)
    return seqs[-1] + 0x10000 * wraps


async def report_loss(s, salle, kind, fraction, times, every=0.2):
    """Receiver reports of ``salle``'s kiosk: ``fraction`` lost on each of its ``kind`` slots."""
    for _ in range(times):
        for slot, consumer in list(s.router.peers[salle].consumers.items()):
            packets = s.clients[salle].packets[slot]
            if consumer.kind != kind or not packets:
                continue
            block = RtcpReceiverInfo(
                ssrc=consumer.ssrc,
                fraction_lost=int(fraction * 256),
                packets_lost=0,
                highest_sequence=extended_last(packets),
                jitter=0,
                lsr=0,
                dlsr=0,
            )
            consumer.on_rtcp(RtcpRrPacket(ssrc=4242, reports=[block]))  # as its transport hands it over
        await asyncio.sleep(every)


async def test_a_salle_that_cannot_hear_the_sitting_is_not_transmitting_R7_R17(sitting):
    s = sitting
    deaf = asyncio.get_running_loop().create_task(report_loss(s, "vaux", "audio", 0.5, 120))
    try:
        assert await wait_for(lambda: not s.transmitting("vaux"), 20)
        assert s.transmitting("belcourt") and s.transmitting("saint-ferreol")
        assert s.router.health("vaux").transmitting is False
    finally:
        deaf.cancel()
    # it hears again: transmitting again (hysteresis)
    assert await wait_for(lambda: s.transmitting("vaux"), 20)


async def test_a_salle_whose_link_cannot_carry_the_picture_goes_audio_only_then_back_R3(sitting):
    s = sitting
    router = s.router
    lossy = asyncio.get_running_loop().create_task(report_loss(s, "vaux", "video", 0.9, 60))
    try:
        assert await wait_for(lambda: "vaux" in router.audio_only, 25)
    finally:
        lossy.cancel()
    salle, audio_only, reason, figures = s.fallbacks[0]
    assert (salle, audio_only) == ("vaux", True) and "down" in reason
    assert figures["down_loss_pct"] >= 50 and figures["seconds"] >= 1.0
    # audio-only: it receives no picture and sends none; it still transmits (R17: the
    # sitting is not suspended by an audio-only salle that hears and is heard)
    assert router.peers["vaux"].assignments["video-0"] is None
    assert all(router.peers[x].assignments.get("video-0") != "vaux" for x in ("belcourt", "saint-ferreol"))
    assert s.transmitting("vaux") and ("vaux", False) not in s.health
    # the link is good again: a trial sends it its picture again, and video comes back by itself
    assert await wait_for(lambda: "vaux" not in router.audio_only, 30)
    # back by a trial, or by an estimate that proved the link by itself for long enough
    assert [(f[0], f[1]) for f in s.fallbacks] == [("vaux", True), ("vaux", False)]
    assert s.fallbacks[1][2] in ("trial", "recovered")
    assert await wait_for(lambda: router.peers["vaux"].assignments["video-0"] == "belcourt", 10)
    assert ("vaux", False) not in s.health


async def test_an_agents_audio_only_is_not_undone_by_the_fallback(sitting):
    s = sitting
    s.router.set_audio_only("vaux", True)  # the agent's switch, not the system's
    await asyncio.sleep(4.0)  # a good link, longer than a trial's wait
    assert "vaux" in s.router.audio_only and s.fallbacks == []
