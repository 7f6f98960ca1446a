"""The synthetic salle sends what a WebRTC endpoint decodes.

A synthetic salle on the transport Séance owns (``bench.salle_transport``, its frames
protected and sent in batches by ``sfu._forward``) publishes to a stock aiortc peer
connection over loopback (real ICE, DTLS, SRTP). The stock receiver parses every packet,
reassembles and **decodes** the VP8 and Opus the salle sent (a decoder accepts only
well-formed RTP and payloads), and sees the mid and RFC 6464 audio-level extensions a
browser would write. The salle's probe counts what it sent; the stock side counts what
it got. A PLI about its video asks the video sample for its next keyframe.
"""

from __future__ import annotations

import asyncio
import itertools

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket

from bench.samples import ensure_samples
from bench.synthetic_salle import (
    KIND_AUDIO,
    KIND_VIDEO,
    Probe,
    Salle,
    _wait_connected,
    new_connection,
    publishing_offer,
    start_publishing,
)
from sfu import forwarding


async def test_a_stock_receiver_decodes_what_the_salle_sends(bench_samples, monkeypatch) -> None:
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    audio, video = ensure_samples(bench_samples)
    seen: dict[str, list] = {"audio": [], "video": []}
    original = RTCRtpReceiver._handle_rtp_packet

    async def watch(self, packet, arrival_time_ms):  # the stock receiver, after aiortc parsed it
        seen[self._RTCRtpReceiver__kind].append(packet)
        return await original(self, packet, arrival_time_ms)

    monkeypatch.setattr(RTCRtpReceiver, "_handle_rtp_packet", watch)

    # no delay trailer: the stock receiver decodes, and appended bytes are not VP8/Opus
    salle = Salle(0, Probe(0, window=(0, 2**62), trailer=False))
    sub = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    tracks: dict[str, object] = {}
    sub.on("track", lambda track: tracks.__setitem__(track.kind, track))
    try:
        pub = new_connection(salle, {}, offerer=True)
        offer, sending = await publishing_offer(salle, pub, ["audio", "video"], [0, 1])
        await sub.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await sub.setLocalDescription(await sub.createAnswer())
        answer = sub.localDescription.sdp
        await pub.accept_answer(answer)
        await _wait_connected(pub, 20)
        start_publishing(salle, pub, answer, sending, {0: audio, 1: video})

        async def frames(kind: str, n: int) -> list:
            while kind not in tracks:
                await asyncio.sleep(0.02)
            return [await tracks[kind].recv() for _ in range(n)]

        got_video, got_audio = await asyncio.wait_for(asyncio.gather(frames("video", 20), frames("audio", 20)), 30)
        # a PLI (RFC 4585 6.3.1) about the video stream asks its sample for a keyframe;
        # one about an SSRC the salle does not send asks nothing
        video_stream = pub.streams[sending[1]]
        asked: list[int] = []
        ask = video_stream.request_keyframe
        video_stream.request_keyframe = lambda: (asked.append(1), ask())
        for media_ssrc in (sending[1], 12345):
            pub.rtcp_received(bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=media_ssrc)))
    finally:
        await sub.close()
        for task in salle.probe.tasks:
            task.cancel()
        for c in salle.closables:
            await c.close()

    assert {(f.width, f.height) for f in got_video} == {(640, 360)}  # bench/samples.py
    assert all(f.sample_rate == 48000 and f.samples > 0 for f in got_audio)
    mids = {t.kind: t.mid for t in sub.getTransceivers()}
    for kind in ("audio", "video"):
        packets = seen[kind]
        assert packets, kind
        assert {p.extensions.mid for p in packets} == {mids[kind]}
        seqs = [p.sequence_number for p in packets]
        assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs)), kind  # loopback: in order, none lost
    # speech-like levels from the sample (RFC 6464), not a constant
    levels = {p.extensions.audio_level[1] for p in seen["audio"] if p.extensions.audio_level}
    assert len(levels) > 3 and len(seen["audio"]) == sum(1 for p in seen["audio"] if p.extensions.audio_level)
    assert all(p.extensions.audio_level is None for p in seen["video"])
    # a marker bit on the last packet of every video frame: frames decoded = frames marked
    assert sum(p.marker for p in seen["video"]) >= len(got_video)
    assert salle.probe.sent >= len(seen["audio"]) + len(seen["video"]) and salle.probe.send_dropped == 0
    assert {s.kind for s in pub.streams.values()} == {KIND_AUDIO, KIND_VIDEO}
    assert asked == [1] and video_stream.packets > 0
    # the native step sent it when built (sfu._forward), else pylibsrtp
    assert (pub.native_tx is not None) == forwarding.native_available()


def test_the_owned_offer_publishes_on_the_sections_asked_only() -> None:
    """``write_offer``'s ``sending`` (the one seam the salles need in sfu/transport):
    those sections ``sendonly`` with their SSRC and CNAME, the others ``recvonly`` and
    without ``a=ssrc``, as a cascade's edge offers when it asks for none."""
    from aiortc import sdp
    from aiortc.rtcicetransport import RTCIceParameters

    from sfu.transport.sdp import LocalTransport, write_offer

    local = LocalTransport(RTCIceParameters("ufrag", "password-password"), [], "AB:CD", "the-cname")
    offer = sdp.SessionDescription.parse(write_offer(["audio", "video", "video"], local, 1, sending={0: 111, 1: 222}))
    assert [m.direction for m in offer.media] == ["sendonly", "sendonly", "recvonly"]
    assert [[(s.ssrc, s.cname) for s in m.ssrc] for m in offer.media] == [
        [(111, "the-cname")],
        [(222, "the-cname")],
        [],
    ]
    assert offer.media[0].msid.startswith("the-cname ")
    plain = sdp.SessionDescription.parse(write_offer(["audio", "video"], local, 1))
    assert [m.direction for m in plain.media] == ["recvonly", "recvonly"] and not any(m.ssrc for m in plain.media)
