"""End to end over loopback: aiortc clients play three salle kiosks and a viewer.

Every wait is bounded (``wait_for``); nothing asserts wall-clock performance.
"""

import asyncio
import itertools

import aioice.ice
import pytest
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket
from prometheus_client import CollectorRegistry, generate_latest

from sfu.config import HealthSettings, IceSettings, RouterConfig, SpeakerSettings
from sfu.router import Router
from tests.sfu.sfu_clients import Client, wait_for

SALLES = ["belcourt", "vaux", "saint-ferreol"]


@pytest.fixture
def loopback_clients(monkeypatch):
    """aioice leaves 127.0.0.1 out; the test clients gather on loopback only."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


class Sitting:
    def __init__(self, forwarding="python"):
        self.health_events = []
        self.slot_events = []
        self.registry = CollectorRegistry()
        self.router = Router(
            RouterConfig(
                forwarding=forwarding,  # how the consumers protect and send (sfu.forwarding)
                ice=IceSettings(listen_addresses=("127.0.0.1",)),
                health=HealthSettings(uplink_timeout=2.0, downlink_timeout=8.0, recover_after=0.5),
                speaker=SpeakerSettings(hold=0.3, smoothing=0.2),
                keyframe_request_interval=0.2,
                keyframe_relay_interval=0.2,
                subscriber_keyframe_interval=0.2,
                # aiortc's REMB stays below what it receives: these tests are about forwarding
                # (tests/sfu/test_adaptation.py drives the adaptation with chosen feedback)
                adaptation=False,
            ),
            on_health=lambda s, t: self.health_events.append((s, t)),
            on_slots=lambda p, a: self.slot_events.append((p, a)),
            registry=self.registry,
        )
        self.router.set_president_salle("belcourt")
        self.clients: dict[str, Client] = {}

    async def join(self, salle, amplitude=0.0):
        c = Client(salle, self.router.slot_layout("salle"), amplitude=amplitude)
        await c.answer(await self.router.connect_salle(salle, await c.offer()))
        self.clients[salle] = c
        return c

    async def viewer(self, name="public-1"):
        c = Client(name, self.router.slot_layout("viewer"), publish=False)
        await c.answer(await self.router.connect_viewer(name, await c.offer()))
        self.clients[name] = c
        return c

    def transmitting(self, salle):
        return [t for s, t in self.health_events if s == salle][-1:] == [True]

    def lost(self, salle):
        return [t for s, t in self.health_events if s == salle][-1:] == [False]

    async def close(self):
        for c in self.clients.values():
            await c.close()
        await self.router.close()


def server_ice(router, peer_id):
    """The server's aioice connection of a peer (where datagrams are handed over)."""
    return router.peers[peer_id].connection.ice


#: each forwarding path of the consumers (sfu.forwarding: Python, and native), for the tests that
#: check what is forwarded (sequence, retransmission, sender reports, a switch of source)
@pytest.fixture(params=["python", "native"])
async def sitting(loopback_clients, request):
    s = Sitting(request.param)
    try:
        yield s
    finally:
        await asyncio.wait_for(s.close(), 20)


#: where the forwarding path changes nothing this test checks (slot assignments, the voice
#: activity): the default path only (``auto`` is native where built); the tests that check
#: what is forwarded run on both, and tests/sfu/test_native_forwarding.py proves both paths
#: put the same bytes on the wire
DEFAULT_PATH_ONLY = pytest.mark.parametrize("sitting", ["native"], indirect=True)


def slot_of(router, subscriber, salle, kind):
    for slot, source in router.peers[subscriber].assignments.items():
        if source == salle and slot.startswith(kind):
            return slot
    return None


async def grows(client, slot, within=3.0, by=5):
    start = client.count(slot)
    return await wait_for(lambda: client.count(slot) >= start + by, within)


async def test_three_salles_forward_mute_and_health(sitting):
    router = sitting.router
    for salle in SALLES:
        await sitting.join(salle, amplitude=0.05)
    clients = [sitting.clients[s] for s in SALLES]

    # each kiosk receives the two others' audio and video
    assert await wait_for(
        lambda: all(c.count(slot) > 10 for c in clients for slot in ("video-0", "video-1", "audio-0", "audio-1")), 20
    )
    for salle in SALLES:
        a = router.peers[salle].assignments
        assert {a["video-0"], a["video-1"]} == set(SALLES) - {salle}
        assert {a["audio-0"], a["audio-1"]} == set(SALLES) - {salle}
    assert router.peers["vaux"].assignments["video-0"] == "belcourt"  # the president
    stats = router.stats()
    assert stats["producers"] == 6 and stats["consumers"] == 15
    assert stats["hook_errors"] == {}
    assert await wait_for(lambda: all(sitting.transmitting(s) for s in SALLES), 10)
    assert router.health("vaux").transmitting and router.health("vaux").packets_out_acked > 0

    # each output stream is one continuous sequence (one SSRC, +1 steps)
    seqs = [p[0] for p in sitting.clients["vaux"].packets["video-0"]]
    assert len({p[2] for p in sitting.clients["vaux"].packets["video-0"]}) == 1
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))

    # a lost packet is NACKed by the client and retransmitted from the packet cache
    client = sitting.clients["saint-ferreol"]
    last, _, ssrc, _ = client.packets["video-0"][-1]
    lost = {(last + 3) & 0xFFFF, (last + 4) & 0xFFFF}
    client.drop_once.update((ssrc, seq) for seq in lost)
    assert await wait_for(lambda: lost <= {p[0] for p in client.packets["video-0"]}, 10), (
        lost,
        dict(client.rtx),
        router.stats()["retransmitted"],
        client.packets["video-0"][-3:],
    )
    assert not client.drop_once  # they were really dropped once
    assert router.stats()["nacks_received"] > 0 and router.stats()["retransmitted"] >= 2
    assert client.rtx["video-0"] >= 2  # as RTX packets (RFC 4588) on the stream the answer announced

    # a packet lost on a publisher's uplink is NACKed upstream, recovered from its RTX
    # and forwarded: the subscriber's stream has no hole
    vaux_video = router.peers["vaux"].producers["video"]
    # (lost where aioice hands the datagram over: the SRTP fast path starts there)
    server_conn = server_ice(router, "vaux")
    received, upstream_lost = server_conn.data_received, set()

    def lossy_data_received(data, component):
        if (
            127 < data[0] < 192
            and data[1] & 0x7F == vaux_video.ssrc_pt
            and int.from_bytes(data[8:12], "big") == vaux_video.ssrc
            and len(upstream_lost) < 2
        ):
            upstream_lost.add(int.from_bytes(data[2:4], "big"))
            return
        received(data, component)

    vaux_video.ssrc_pt = next(iter(vaux_video.codecs))
    server_conn.data_received = lossy_data_received
    watch = sitting.clients["belcourt"]
    vslot = slot_of(router, "belcourt", "vaux", "video")
    start = watch.count(vslot)
    assert await wait_for(lambda: len(upstream_lost) == 2 and watch.count(vslot) > start + 30, 10)
    server_conn.data_received = received
    st = router.stats()
    assert st["nacks_sent"] > 0 and st["rtx_recovered"] >= 2, (
        upstream_lost,
        {k: st[k] for k in ("nacks_sent", "rtx_recovered", "dropped")},
    )
    # (a packet repaired twice, by RTX and by its late original, is no hole)
    got = sorted({p[0] for p in watch.packets[vslot][start:]})
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(got)), "hole in the stream"

    # a PLI from a consumer reaches the producer, rate-limited
    consumer = router.peers["vaux"].consumers["video-0"]
    before = router.stats()["keyframe_requests_sent"]
    await asyncio.sleep(0.25)
    pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=consumer.ssrc)
    consumer.on_rtcp(pli)  # as the transport hands it over
    consumer.on_rtcp(pli)  # as the transport hands it over
    assert router.stats()["keyframe_requests_sent"] == before + 1
    assert router.stats()["plis_received"] >= 2

    # consumers send sender reports mapped from the publishers' ones
    recv = sitting.clients["vaux"].receivers["audio-0"]
    assert await wait_for(lambda: recv._RTCRtpReceiver__lsr, 5)

    # server-side mute: vaux's audio no longer reaches the others
    slot = slot_of(router, "belcourt", "vaux", "audio")
    router.set_muted("vaux", True)
    assert all(slot_of(router, s, "vaux", "audio") is None for s in ("belcourt", "saint-ferreol"))
    await asyncio.sleep(0.3)
    frozen = sitting.clients["belcourt"].count(slot)
    await asyncio.sleep(1.0)
    assert sitting.clients["belcourt"].count(slot) == frozen
    assert router.stats()["dropped"].get("muted", 0) > 0
    assert await grows(sitting.clients["belcourt"], "video-0")  # video still flows
    router.set_muted("vaux", False)
    assert await wait_for(lambda: slot_of(router, "belcourt", "vaux", "audio") is not None, 2)
    assert await grows(sitting.clients["belcourt"], slot_of(router, "belcourt", "vaux", "audio"))

    # audio-only (R3): vaux's video is not forwarded, its audio still is
    router.set_audio_only("vaux", True)
    assert slot_of(router, "belcourt", "vaux", "video") is None
    assert await grows(sitting.clients["belcourt"], slot_of(router, "belcourt", "vaux", "audio"))
    router.set_audio_only("vaux", False)

    # disconnecting a salle turns its health to lost; reconnecting restores it
    await sitting.clients.pop("vaux").close()
    assert await wait_for(lambda: sitting.lost("vaux"), 8)
    assert not router.health("vaux").transmitting
    await sitting.join("vaux", amplitude=0.05)
    assert await wait_for(lambda: sitting.transmitting("vaux"), 10)
    assert await wait_for(lambda: slot_of(router, "belcourt", "vaux", "video") is not None, 5)
    assert await grows(sitting.clients["belcourt"], slot_of(router, "belcourt", "vaux", "video"))
    assert await grows(sitting.clients["vaux"], "video-0")
    assert router.stats()["hook_errors"] == {}

    text = generate_latest(sitting.registry).decode()
    assert "seance_sfu_rtp_packets_in_total" in text
    assert 'seance_sfu_salle_transmitting{salle="vaux"} 1.0' in text
    assert 'seance_sfu_packets_dropped_total{reason="muted"}' in text


async def test_viewer_programme_follows_speaker_with_continuous_stream(sitting):
    router = sitting.router
    loud = {}
    for salle in SALLES:
        loud[salle] = await sitting.join(salle, amplitude=0.0)
    viewer = await sitting.viewer()
    assert await wait_for(lambda: viewer.count("programme") > 10, 20)
    assert router.peers["public-1"].assignments["programme"] == "belcourt"  # nobody speaks

    # vaux speaks: the programme switches to vaux on a key frame
    loud["vaux"].audio.amplitude = 0.5
    assert await wait_for(lambda: router.speaker.active == "vaux", 10)
    assert await wait_for(
        lambda: router.peers["public-1"].consumers["programme"].source is router.peers["vaux"].producers["video"], 10
    )
    assert await grows(viewer, "programme")
    # then saint-ferreol speaks and vaux stops
    loud["vaux"].audio.amplitude = 0.0
    loud["saint-ferreol"].audio.amplitude = 0.5
    assert await wait_for(lambda: router.speaker.active == "saint-ferreol", 10)
    assert await wait_for(
        lambda: (
            router.peers["public-1"].consumers["programme"].source is router.peers["saint-ferreol"].producers["video"]
        ),
        10,
    )
    assert await grows(viewer, "programme")
    assert router.stats()["source_switches"] >= 2

    # across both switches the viewer saw one stream: one SSRC, sequence +1, time forward
    packets = viewer.packets["programme"]
    assert len({p[2] for p in packets}) == 1
    seqs = [p[0] for p in packets]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
    stamps = [p[1] for p in packets]
    assert all((b - a) & 0xFFFFFFFF < 0x80000000 for a, b in itertools.pairwise(stamps))
    # voices: the viewer hears all three salles
    a = router.peers["public-1"].assignments
    assert {a["audio-0"], a["audio-1"], a["audio-2"]} == set(SALLES)
    assert await grows(viewer, "audio-0")
    assert router.stats()["hook_errors"] == {}


@DEFAULT_PATH_ONLY
async def test_R2_R11_public_viewers_are_fed_only_while_the_sitting_is_open(sitting):
    """``set_public_fed(False)`` (before the opening, suspended, closed): a viewer's slots
    empty and no packet reaches it, while the salles keep hearing and seeing each other."""
    router = sitting.router
    for salle in ("belcourt", "vaux"):
        await sitting.join(salle, amplitude=0.05)
    viewer = await sitting.viewer()
    assert await wait_for(lambda: viewer.count("programme") > 10 and viewer.count("audio-0") > 10, 20)

    router.set_public_fed(False)
    assert set(router.peers["public-1"].assignments.values()) == {None}
    await asyncio.sleep(0.5)  # what was in flight lands
    frozen = {slot: viewer.count(slot) for slot in ("programme", "audio-0", "audio-1")}
    vaux_sees = sitting.clients["vaux"].count(slot_of(router, "vaux", "belcourt", "video"))
    await asyncio.sleep(1.5)
    assert {slot: viewer.count(slot) for slot in frozen} == frozen
    assert sitting.clients["vaux"].count(slot_of(router, "vaux", "belcourt", "video")) > vaux_sees + 5

    router.set_public_fed(True)
    assert await grows(viewer, "programme") and await grows(viewer, "audio-0")


@DEFAULT_PATH_ONLY
async def test_a_monitor_receives_every_salle_picture_and_the_voice_activity(sitting):
    """The president's mosaic: one video slot per salle with a picture, none with audio,
    not emptied when the public is not fed; ``voice_activity`` names who speaks."""
    router = sitting.router
    loud = {salle: await sitting.join(salle, amplitude=0.0) for salle in SALLES}
    router.set_public_fed(False)
    monitor = Client("monitor-1", router.slot_layout("monitor"), publish=False)
    await monitor.answer(await router.connect_monitor("monitor-1", await monitor.offer()))
    sitting.clients["monitor-1"] = monitor
    # a salle's video producer may still be on its way in a loaded run: wait, bounded
    await wait_for(lambda: None not in {slot_of(router, "monitor-1", s, "video") for s in SALLES}, 10)
    shown = {s: slot_of(router, "monitor-1", s, "video") for s in SALLES}
    assert None not in shown.values() and len(set(shown.values())) == len(SALLES)
    assert not any(slot.startswith("audio") for slot in router.peers["monitor-1"].assignments)
    for slot in shown.values():
        assert await grows(monitor, slot, within=10)
    assert router.voice_activity()["speaking"] == []

    loud["vaux"].audio.amplitude = 0.5
    assert await wait_for(lambda: router.voice_activity() == {"active": "vaux", "speaking": ["vaux"]}, 10)
    router.set_muted("vaux", True)
    assert "vaux" not in router.voice_activity()["speaking"]
    # R3: an audio-only salle's tile has no picture, the others keep theirs
    router.set_audio_only("belcourt", True)
    assert slot_of(router, "monitor-1", "belcourt", "video") is None
    assert slot_of(router, "monitor-1", "vaux", "video") == shown["vaux"]
