"""A kiosk that publishes simulcast, for the SFU tests (aiortc cannot send simulcast).

The kiosk is an aiortc :class:`sfu_clients.Client` whose video ``sendonly`` m-line is
offered as Chromium offers simulcast: ``a=rid:<rid> send`` per layer, ``a=simulcast:send
q;h;f``, the ``rtp-stream-id``/``repaired-rtp-stream-id`` extensions and no SSRC. Once
connected, :class:`SimulcastPublisher` sends the three VP8 streams itself, each on its
own SSRC and encoder (aiortc's ``Vp8Encoder``, a noisy picture so that the rates differ
as a camera's layers do), every packet carrying its rid as Chromium's first packets do,
through the client's own DTLS transport (SRTP with the negotiated keys). It answers the
server's PLIs per SSRC with a key frame on that layer, records the REMBs it gets, and
sends a layer only while ``active[rid]`` (the kiosk's ``encodings[i].active``).
``uplink_bps`` puts a token bucket (200 ms deep) in front of the three: what does not fit
is dropped, layers in a random order at each frame, as a congested ADSL uplink drops
from every encoding.

With ``temporal_layers`` each encoding has three VP8 temporal layers as Chromium's
``L1T3`` (:class:`TemporalVp8Encoder`: libvpx's own 0-2-1-2 pattern, through FFmpeg's
``ts-parameters``), its packets carrying TID, Y and TL0PICIDX (RFC 7741 section 4.2),
and a NACK is answered from its last 512 packets (sent again as they were, as a
publisher without RTX does): a packet lost upstream on a busy machine would otherwise
leave a hole that blocks aiortc's jitter buffer for seconds at the smallest layer's few
packets a second.
"""

from __future__ import annotations

import asyncio
import fractions
import multiprocessing
import os
import random
import re
import struct

import av
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    unpack_remb_fci,
)
from av import VideoFrame

from sfu.simulcast import URI_REPAIRED_RID, URI_RID

RIDS = ("q", "h", "f")
SIZES = {"q": (80, 60), "h": (160, 120), "f": (320, 240)}
BITRATES = {"q": 250_000, "h": 600_000, "f": 1_200_000}
RID_EXT, REPAIRED_EXT = 13, 14
FPS = 10


def simulcast_offer(sdp: str, rids: tuple[str, ...] = RIDS) -> str:
    """``sdp`` (aiortc's offer) with its first ``sendonly`` video m-line offered as
    Chromium offers simulcast."""
    eol = "\r\n" if "\r\n" in sdp else "\n"
    sections = re.split(r"(?=^m=)", sdp, flags=re.M)
    for i, section in enumerate(sections):
        if section.startswith("m=video") and "a=sendonly" in section:
            lines = [line for line in section.split(eol) if not line.startswith(("a=ssrc:", "a=ssrc-group:")) and line]
            lines += [f"a=extmap:{RID_EXT} {URI_RID}", f"a=extmap:{REPAIRED_EXT} {URI_REPAIRED_RID}"]
            lines += [f"a=rid:{rid} send" for rid in rids]
            lines.append("a=simulcast:send " + ";".join(rids))
            sections[i] = eol.join(lines) + eol
            break
    return "".join(sections)


class TemporalVp8Encoder:
    """A VP8 encoder with three temporal layers (libvpx's "0-2-1-2" pattern, FFmpeg's
    ``ts_layering_mode=3``: TL0 frames refer to the last TL0 frame, TL1 frames to it
    too, the first TL2 frame of a period to it, the second to the TL1 frame) and the
    RFC 7741 descriptor that says so: TID, Y (the frame refers to TL0 frames only) and
    TL0PICIDX. A key frame starts the pattern again (a new encoder), as Chromium's key
    frames are TL0 frames."""

    PATTERN = (0, 2, 1, 2)
    SYNC = (False, True, True, False)

    def __init__(self, bitrate: int) -> None:
        self.bitrate = bitrate
        self.codec = None
        self.index = 0
        self.picture_id = random.getrandbits(15)
        self.tl0 = random.getrandbits(8)
        self.frames_by_tid = [0, 0, 0]

    def _open(self, width: int, height: int):
        kbps = self.bitrate // 1000
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height = width, height
        codec.bit_rate = self.bitrate
        codec.pix_fmt = "yuv420p"
        codec.gop_size = 3000
        codec.thread_count = min(2, multiprocessing.cpu_count())
        codec.options = {
            "deadline": "realtime",
            "lag-in-frames": "0",
            "cpu-used": "-6",
            "ts-parameters": (
                f"ts_number_layers=3:ts_target_bitrate={kbps * 2 // 5},{kbps * 3 // 5},{kbps}"
                ":ts_rate_decimator=4,2,1:ts_periodicity=4:ts_layer_id=0,2,1,2:ts_layering_mode=3"
            ),
        }
        return codec

    def encode(self, frame: VideoFrame, force_keyframe: bool) -> tuple[list[bytes], int]:
        if self.codec is None or force_keyframe:
            self.codec = self._open(frame.width, frame.height)  # its first frame is a key frame
            self.index = 0
        data = b"".join(bytes(p) for p in self.codec.encode(frame))
        tid = self.PATTERN[self.index % 4]
        sync = self.SYNC[self.index % 4]
        self.index += 1
        if tid == 0:
            self.tl0 = (self.tl0 + 1) & 0xFF
        self.frames_by_tid[tid] += 1
        tk = (tid << 6) | (0x20 if sync else 0)
        payloads = []
        for i in range(0, len(data), 1100):
            head = bytes([0x90 if i == 0 else 0x80, 0xE0]) + struct.pack("!H", 0x8000 | self.picture_id)
            payloads.append(head + bytes([self.tl0, tk]) + data[i : i + 1100])
        self.picture_id = (self.picture_id + 1) & 0x7FFF
        return payloads, int(frame.pts * 90000 * frame.time_base)


def _rid_extension(rid: str) -> bytes:
    """An RFC 8285 one-byte extension block carrying ``rid`` (RFC 8852)."""
    element = bytes([(RID_EXT << 4) | (len(rid) - 1)]) + rid.encode()
    element += b"\x00" * (-len(element) % 4)
    return struct.pack("!HH", 0xBEDE, len(element) // 4) + element


class _Layer:
    def __init__(self, rid: str) -> None:
        self.rid = rid
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.encoder = Vp8Encoder()
        self.encoder.target_bitrate = BITRATES[rid]
        self.temporal = TemporalVp8Encoder(BITRATES[rid])
        self.extension = _rid_extension(rid)
        self.keyframe = True
        self.frames = 0
        self.packets = 0
        self.keyframes = 0
        self.sent: dict[int, bytes] = {}  # the last packets sent, by sequence number (NACKs)


class SimulcastPublisher:
    def __init__(self, client, rids: tuple[str, ...] = RIDS) -> None:
        self.client = client
        self.layers = {rid: _Layer(rid) for rid in rids}
        self.active = dict.fromkeys(rids, True)
        self.rembs: list[int] = []
        self.resent = 0  # packets sent again on a NACK (with temporal_layers only)
        self.plis: dict[str, int] = dict.fromkeys(rids, 0)
        self._task: asyncio.Task | None = None
        self._pt = 0
        self.uplink_bps: float | None = None  #: None: the uplink carries everything
        self.temporal_layers = False  #: three VP8 temporal layers per encoding (L1T3)
        self.dropped = 0
        self._tokens = 0.0
        self._filled_at: float | None = None

    def offer(self, sdp: str) -> str:
        m = re.search(r"^m=video[^\n]*\n(?:(?!m=)[^\n]*\n)*?a=rtpmap:(\d+) VP8/90000", sdp, re.M)
        assert m is not None, "no VP8 in the client's offer"
        self._pt = int(m.group(1))
        return simulcast_offer(sdp, tuple(self.layers))

    def start(self) -> None:
        transceiver = next(
            t for t in self.client.pc.getTransceivers() if t.kind == "video" and t.direction == "sendonly"
        )
        self._dtls = transceiver.sender.transport
        original = self._dtls._handle_rtcp_data

        async def handle_rtcp(data: bytes) -> None:
            try:
                packets = RtcpPacket.parse(data)
            except ValueError:
                packets = []
            for packet in packets:
                if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
                    for layer in self.layers.values():
                        if layer.ssrc == packet.media_ssrc:
                            layer.keyframe = True
                            self.plis[layer.rid] += 1
                elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK and self.temporal_layers:
                    for layer in self.layers.values():
                        if layer.ssrc == packet.media_ssrc:
                            for seq in packet.lost:
                                again = layer.sent.get(seq)
                                if again is not None:
                                    self.resent += 1
                                    asyncio.get_running_loop().create_task(self._dtls._send_rtp(again))
                elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                    try:
                        self.rembs.append(unpack_remb_fci(packet.fci)[0])
                    except ValueError:
                        pass
            await original(data)

        self._dtls._handle_rtcp_data = handle_rtcp
        self._task = asyncio.get_running_loop().create_task(self._run())

    def ssrc_of(self, rid: str) -> int:
        return self.layers[rid].ssrc

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while True:
            n += 1
            order = list(self.layers.items())
            if self.uplink_bps is not None:
                random.shuffle(order)
            for rid, layer in order:
                if self.active[rid] and self._dtls.state == "connected":
                    await self._send_frame(layer, n)
            await asyncio.sleep(max(0.0, start + n / FPS - loop.time()))

    async def _send_frame(self, layer: _Layer, n: int) -> None:
        width, height = SIZES[layer.rid]
        frame = VideoFrame(width=width, height=height, format="yuv420p")
        for i, plane in enumerate(frame.planes):
            rows = height if i == 0 else height // 2
            plane.update(os.urandom(plane.line_size * rows) if i == 0 else bytes([128]) * (plane.line_size * rows))
        frame.pts = n * (90000 // FPS)
        frame.time_base = fractions.Fraction(1, 90000)
        keyframe, layer.keyframe = layer.keyframe, False
        encoder = layer.temporal if self.temporal_layers else layer.encoder
        payloads, timestamp = encoder.encode(frame, force_keyframe=keyframe)
        layer.frames += 1
        layer.keyframes += keyframe
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == len(payloads) - 1 else 0
            header = struct.pack("!BBHII", 0x90, marker | self._pt, layer.seq, timestamp & 0xFFFFFFFF, layer.ssrc)
            layer.seq = (layer.seq + 1) & 0xFFFF
            layer.packets += 1
            if not self._fits(len(header) + len(layer.extension) + len(payload)):
                self.dropped += 1
                continue
            packet = header + layer.extension + payload
            if self.temporal_layers:
                layer.sent[layer.seq - 1 & 0xFFFF] = packet
                layer.sent.pop(layer.seq - 513 & 0xFFFF, None)
            try:
                await self._dtls._send_rtp(packet)
            except ConnectionError:
                return

    def _fits(self, size: int) -> bool:
        """Whether a packet of ``size`` bytes goes through the uplink's bucket now."""
        if self.uplink_bps is None:
            self._filled_at = None
            return True
        now = asyncio.get_running_loop().time()
        depth = self.uplink_bps / 8 * 0.2
        if self._filled_at is None:
            self._tokens = depth
        else:
            self._tokens = min(depth, self._tokens + (now - self._filled_at) * self.uplink_bps / 8)
        self._filled_at = now
        if self._tokens < size:
            return False
        self._tokens -= size
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
