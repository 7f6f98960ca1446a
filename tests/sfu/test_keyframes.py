"""Key-frame requests on the real Router with real aiortc peers (issue 11, point 2).

A subscriber's PLI no longer reaches the publisher each time: one weak salle asking
again and again must not make the other salles' cameras emit a key-frame storm. Every
wait is bounded; the counts are compared with what the elapsed time allows, never with
a wall-clock duration.
"""

import asyncio
import time

import aioice.ice
import pytest
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket
from prometheus_client import CollectorRegistry

from sfu.config import IceSettings, RouterConfig
from sfu.router import Router
from tests.sfu.sfu_clients import Client, wait_for

SALLES = ["belcourt", "vaux", "saint-ferreol"]


@pytest.fixture
async def sitting(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    router = Router(
        RouterConfig(
            ice=IceSettings(listen_addresses=("127.0.0.1",)),
            keyframe_request_interval=0.1,  # the server's own requests (switches) stay quick
            keyframe_relay_interval=0.5,
            subscriber_keyframe_interval=1.5,
            adaptation=False,  # no slot paused and resumed (its own key frame requests) here
        ),
        registry=CollectorRegistry(),
    )
    router.set_president_salle("belcourt")
    clients = []
    try:
        for salle in SALLES:
            c = Client(salle, router.slot_layout("salle"))
            await c.answer(await router.connect_salle(salle, await c.offer()))
            clients.append(c)
        assert await wait_for(
            lambda: all(
                router.peers[s].consumers.get(slot) is not None and router.peers[s].consumers[slot].source is not None
                for s in SALLES
                for slot in ("video-0", "video-1")
            ),
            20,
        )
        yield router
    finally:
        for c in clients:
            await c.close()
        await asyncio.wait_for(router.close(), 20)


async def pli_to(consumer, fmt=RTCP_PSFB_PLI):
    """A subscriber's PLI (or FIR), handed to its Consumer as its transport does."""
    consumer.on_rtcp(RtcpPsfbPacket(fmt=fmt, ssrc=1, media_ssrc=consumer.ssrc))


async def test_one_weak_subscriber_cannot_make_a_keyframe_storm(sitting):
    router = sitting
    weak = router.peers["vaux"].consumers["video-0"]  # shows belcourt (the president's salle)
    publisher = weak.source
    assert publisher is router.peers["belcourt"].producers["video"]
    await asyncio.sleep(0.6)  # past the switches' own requests
    before = router.stats()["keyframe_requests_sent"]
    absorbed = router.counters.plis_absorbed
    start = time.monotonic()
    sent = 0
    while sent < 40:  # a PLI every 75 ms for 3 s: what a salle drowning in loss sends
        await pli_to(weak, RTCP_PSFB_FIR if sent % 2 else RTCP_PSFB_PLI)
        sent += 1
        await asyncio.sleep(0.075)
    elapsed = time.monotonic() - start
    relayed = sent - (router.counters.plis_absorbed - absorbed)
    # at most one per subscriber interval (the old code relayed one per 0.1 s: ~30)
    assert 1 <= relayed <= elapsed / 1.5 + 1, (relayed, elapsed)
    assert router.stats()["keyframe_requests_sent"] - before >= relayed
    # the publisher answered with real key frames, seen by the producer
    assert publisher.keyframe_at is not None and publisher.keyframe_at > start


async def test_requests_of_several_subscribers_share_one_key_frame(sitting):
    router = sitting
    publisher = router.peers["belcourt"].producers["video"]
    a = router.peers["vaux"].consumers["video-0"]
    b = router.peers["saint-ferreol"].consumers["video-0"]
    assert a.source is publisher and b.source is publisher
    await asyncio.sleep(0.6)
    before = router.stats()["keyframe_requests_sent"]
    asked = time.monotonic()
    await pli_to(a)
    await asyncio.sleep(0.2)  # past the server's own interval (0.1 s), within the relay's
    await pli_to(b)  # the key frame asked for by a answers b too
    assert router.stats()["keyframe_requests_sent"] == before + 1
    # once that key frame has come and the relay interval has passed, b is heard
    assert await wait_for(lambda: publisher.keyframe_at is not None and publisher.keyframe_at > asked, 5)
    await asyncio.sleep(0.55)
    await pli_to(b)
    assert router.stats()["keyframe_requests_sent"] == before + 2
