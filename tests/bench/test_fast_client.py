"""The benchmark's fast client path sends what aiortc would send.

A synthetic salle with the fast path (``bench.synthetic_salle.fast_client``) publishes to
a stock aiortc peer connection over loopback (real ICE, DTLS, SRTP). The stock receiver
parses every packet, reassembles and **decodes** the VP8 and Opus the fast path sent
(a decoder accepts only well-formed RTP and payloads), and sees the mid and RFC 6464
audio-level extensions aiortc itself would write. The publisher's probe counts what it
sent; the stock side counts what it got.
"""

from __future__ import annotations

import asyncio
import itertools

import aioice.ice

from bench.samples import ensure_samples
from bench.synthetic_salle import KIND_AUDIO, KIND_VIDEO, Probe, _add_media, new_peer_connection


async def test_a_stock_receiver_decodes_what_the_fast_path_sends(bench_samples, monkeypatch) -> None:
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    audio, video = ensure_samples(bench_samples)
    seen: dict[str, list] = {"audio": [], "video": []}
    original = RTCRtpReceiver._handle_rtp_packet

    async def watch(self, packet, arrival_time_ms):  # the stock receiver, after aiortc parsed it
        seen[self._RTCRtpReceiver__kind].append(packet)
        return await original(self, packet, arrival_time_ms)

    monkeypatch.setattr(RTCRtpReceiver, "_handle_rtp_packet", watch)

    pub, sub = new_peer_connection(), new_peer_connection()
    tracks: dict[str, object] = {}
    sub.on("track", lambda track: tracks.__setitem__(track.kind, track))
    try:
        _add_media(pub, audio, video, salle=0)
        # no delay trailer: the stock receiver decodes, and appended bytes are not VP8/Opus
        probe = Probe(0, window=(0, 2**62), trailer=False, fast=True)
        probe.attach(pub)
        await pub.setLocalDescription(await pub.createOffer())
        await sub.setRemoteDescription(pub.localDescription)
        await sub.setLocalDescription(await sub.createAnswer())
        await pub.setRemoteDescription(sub.localDescription)

        async def frames(kind: str, n: int) -> list:
            while kind not in tracks:
                await asyncio.sleep(0.02)
            return [await tracks[kind].recv() for _ in range(n)]

        got_video, got_audio = await asyncio.wait_for(asyncio.gather(frames("video", 20), frames("audio", 20)), 30)
    finally:
        await pub.close()
        await sub.close()
        for task in probe.tasks:
            task.cancel()

    assert {(f.width, f.height) for f in got_video} == {(640, 360)}  # bench/samples.py
    assert all(f.sample_rate == 48000 and f.samples > 0 for f in got_audio)
    mids = {t.kind: t.mid for t in pub.getTransceivers()}
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
    assert probe.sent >= len(seen["audio"]) + len(seen["video"]) and probe.send_dropped == 0
    assert set(probe.kinds.values()) == {KIND_AUDIO, KIND_VIDEO}
