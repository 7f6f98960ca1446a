"""aiortc clients for the SFU integration tests (they play the kiosks' browsers).

Client-side encoding with aiortc's own encoders is fine: the server never decodes.
Tracks are small (160x120 at 10 fps) so three clients stay cheap on two cores.
Received RTP is recorded per slot by wrapping the stock client receiver's
``_handle_rtp_packet`` on the instance (the client is not owned by the SFU hooks); an
RTX retransmission (RFC 4588) is recorded as the packet it repairs (its OSN, the media
stream's SSRC) and counted in ``rtx``.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import time
from collections import defaultdict

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame, VideoFrame

AUDIO_RATE = 48000
AUDIO_PTIME = 0.02


def _tone(frequency: float, amplitude: float, samples: int) -> bytes:
    key = (frequency, amplitude, samples)
    cached = _TONES.get(key)
    if cached is None:
        cached = array.array(
            "h", (int(amplitude * 32767 * math.sin(2 * math.pi * frequency * n / AUDIO_RATE)) for n in range(samples))
        ).tobytes()
        _TONES[key] = cached
    return cached


_TONES: dict = {}


class ToneTrack(MediaStreamTrack):
    """A sine tone whose amplitude can be changed (0 = silence), paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float = 400.0, amplitude: float = 0.0) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        samples = int(AUDIO_RATE * AUDIO_PTIME)
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._pts / AUDIO_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(_tone(self.frequency, self.amplitude, samples))
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._pts += samples
        return frame


class PatternTrack(MediaStreamTrack):
    """A tiny moving test pattern, paced in real time."""

    kind = "video"

    def __init__(self, fps: int = 10, width: int = 160, height: int = 120, shade: int = 0) -> None:
        super().__init__()
        self.fps = fps
        self.width = width
        self.height = height
        self.shade = shade
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._n / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        x = (self._n * 4) % self.width
        for i, plane in enumerate(frame.planes):
            w = plane.line_size
            h = self.height if i == 0 else self.height // 2
            if i == 0:
                row = bytearray([self.shade]) * w
                bx = min(x, w - 8)
                row[bx : bx + 8] = b"\xff" * 8
                plane.update(bytes(row) * h)
            else:
                plane.update(bytes([128]) * (w * h))
        frame.pts = self._n * (90000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._n += 1
        return frame


class Client:
    """One kiosk (or viewer): builds its offer from the router's slot layout."""

    def __init__(
        self, name: str, layout: list[dict], publish: bool = True, amplitude: float = 0.0, video: bool = True
    ) -> None:
        self.name = name
        self.layout = layout
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.audio = ToneTrack(amplitude=amplitude) if publish else None
        self.video = PatternTrack(shade=hash(name) % 200) if publish and video else None
        self.slot_of_mid: dict[str, str] = {}
        self.packets: dict[str, list[tuple[int, int, int, float]]] = defaultdict(list)
        self.drop_once: set[tuple[int, int]] = set()  # (ssrc, seq) lost on the wire
        self.receivers: dict[str, object] = {}
        self.rtx: dict[str, int] = defaultdict(int)  # RTX retransmissions received, per slot
        self._transceivers = []

    async def offer(self) -> str:
        for entry in self.layout:
            if entry["direction"] == "sendonly":
                track = self.audio if entry["kind"] == "audio" else self.video
                if track is None:
                    t = self.pc.addTransceiver(entry["kind"], direction="sendonly")
                else:
                    t = self.pc.addTransceiver(track, direction="sendonly")
            else:
                t = self.pc.addTransceiver(entry["kind"], direction="recvonly")
                self._record(t.receiver, entry["slot"])
            self._transceivers.append((t, entry["slot"]))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        # aiortc 1.16 registers only the media SSRCs of a receiver: with several video
        # receivers on one transport, a retransmission stream's packets (RFC 4588, the
        # answer's a=ssrc-group:FID) match no receiver and are dropped. Chromium routes
        # them by the FID group: so does this client.
        by_mid = {t.mid: t for t in self.pc.getTransceivers()}
        for media in aiortc_sdp.SessionDescription.parse(sdp).media:
            t = by_mid.get(media.rtp.muxId)
            for group in media.ssrc_group:
                if t is not None and group.semantic == "FID" and len(group.items) == 2:
                    t.receiver.transport._rtp_router.ssrc_table[group.items[1]] = t.receiver
        # simulate loss on the wire, before SRTP (the RTP header is in clear text)
        ice = self.pc.getTransceivers()[0].receiver.transport.transport
        recv = ice._recv
        drop = self.drop_once

        async def lossy_recv() -> bytes:
            while True:
                data = await recv()
                if drop and 127 < data[0] < 192 and not 192 <= data[1] <= 208:
                    key = (int.from_bytes(data[8:12], "big"), int.from_bytes(data[2:4], "big"))
                    if key in drop:
                        drop.discard(key)
                        continue
                return data

        ice._recv = lossy_recv

    def _record(self, receiver, slot: str) -> None:
        original = receiver._handle_rtp_packet
        packets = self.packets[slot]
        self.receivers[slot] = receiver
        rtx = self.rtx
        media_ssrc: list[int] = []

        async def handle(packet, arrival_time_ms):
            if media_ssrc and packet.ssrc != media_ssrc[0] and len(packet.payload) >= 2:
                rtx[slot] += 1  # the retransmission stream: the OSN is in front of the payload
                osn = int.from_bytes(packet.payload[:2], "big")
                packets.append((osn, packet.timestamp, media_ssrc[0], time.monotonic()))
            else:
                media_ssrc[:] = [packet.ssrc]
                packets.append((packet.sequence_number, packet.timestamp, packet.ssrc, time.monotonic()))
            await original(packet, arrival_time_ms=arrival_time_ms)

        receiver._handle_rtp_packet = handle

    def count(self, slot: str) -> int:
        return len(self.packets[slot])

    async def close(self) -> None:
        await self.pc.close()


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (bounded: every test wait uses this)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())
