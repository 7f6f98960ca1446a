"""RTP depacketizers for the recorder: forwarded packets back into codec frames.

Nothing is decoded: an Opus RTP payload is one Opus packet (RFC 7587 section 4.2);
a VP8 frame is the concatenation of the payloads (after their payload descriptor) of
the packets sharing one RTP timestamp, from the packet that starts partition 0 (S=1,
PID=0) to the one carrying the marker bit (RFC 7741 sections 4.1-4.2). Pure functions
and small classes, unit-tested without a network (``tests/recording``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .rtp_rewrite import rtp_layout, seq_newer, ts_newer, vp8_descriptor, vp8_descriptor_fits


@dataclass(frozen=True)
class RtpPacket:
    seq: int
    ts: int
    marker: bool
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket | None:
    """Sequence number, timestamp, marker and payload (padding removed), or None."""
    layout = rtp_layout(data)
    if layout is None:
        return None
    p, end = layout
    return RtpPacket(
        seq=(data[2] << 8) | data[3],
        ts=int.from_bytes(data[4:8], "big"),
        marker=bool(data[1] & 0x80),
        payload=bytes(data[p:end]),
    )


# --- Opus -----------------------------------------------------------------------------

#: frame duration in 48 kHz samples per TOC configuration (RFC 6716 section 3.1)
_OPUS_FRAME = (
    [480, 960, 1920, 2880] * 3  # SILK NB, MB, WB: 10, 20, 40, 60 ms
    + [480, 960] * 2  # hybrid SWB, FB: 10, 20 ms
    + [120, 240, 480, 960] * 4  # CELT NB, WB, SWB, FB: 2.5, 5, 10, 20 ms
)


def opus_samples(packet: bytes) -> int:
    """Duration of an Opus packet in 48 kHz samples, from its TOC byte (0 if malformed)."""
    if not packet:
        return 0
    toc = packet[0]
    frame = _OPUS_FRAME[toc >> 3]
    code = toc & 0x03
    if code == 0:
        count = 1
    elif code in (1, 2):
        count = 2
    else:
        if len(packet) < 2:
            return 0
        count = packet[1] & 0x3F
    return min(frame * count, 5760)  # at most 120 ms (RFC 6716 section 3.2.5)


# --- VP8 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vp8Frame:
    ts: int  # RTP timestamp (90 kHz)
    data: bytes  # the VP8 frame as a decoder (or a WebM muxer) takes it
    keyframe: bool
    width: int = 0  # from a key frame's header, else 0
    height: int = 0


def vp8_keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) of a VP8 key frame (RFC 6386 section 9.1), or None."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    return (frame[6] | (frame[7] << 8)) & 0x3FFF, (frame[8] | (frame[9] << 8)) & 0x3FFF


class _Partial:
    __slots__ = ("first", "last", "packets")

    def __init__(self) -> None:
        self.packets: dict[int, bytes] = {}
        self.first: int | None = None  # sequence number of the S=1, PID=0 packet
        self.last: int | None = None  # sequence number of the packet with the marker


class Vp8Depacketizer:
    """Reassembles VP8 frames from RTP packets, in any arrival order.

    A frame is complete when the packets from its first one (S=1, PID=0) to its last
    one (marker bit) are all there. When a later frame completes first, the earlier
    incomplete ones are dropped (counted in ``dropped_frames``) and, since the frames
    after them may reference what was lost, nothing is emitted again before the next
    key frame (``need_keyframe``; the caller asks the source for one). Output starts
    at a key frame too.
    """

    def __init__(self, max_pending: int = 16) -> None:
        self.max_pending = max_pending
        self.pending: dict[int, _Partial] = {}
        self.need_keyframe = True
        self.last_ts: int | None = None  # timestamp of the last frame emitted or dropped
        self.frames = 0
        self.keyframes = 0
        self.dropped_frames = 0  # incomplete, or waiting for a key frame

    def reset(self) -> None:
        """A new source: forget everything and wait for a key frame."""
        self.pending.clear()
        self.need_keyframe = True
        self.last_ts = None

    def push(self, seq: int, ts: int, marker: bool, payload: bytes) -> list[Vp8Frame]:
        """Add one packet; returns the frames it completes (usually zero or one)."""
        if not payload or not vp8_descriptor_fits(payload, 0, len(payload)):
            return []
        if self.last_ts is not None and not ts_newer(ts, self.last_ts):
            return []  # late: its frame was already emitted or given up
        h, _, _, _ = vp8_descriptor(payload, 0)
        partial = self.pending.get(ts)
        if partial is None:
            partial = self.pending[ts] = _Partial()
        partial.packets[seq] = payload[h:]
        b0 = payload[0]
        if b0 & 0x10 and (b0 & 0x07) == 0:
            partial.first = seq
        if marker:
            partial.last = seq
        out: list[Vp8Frame] = []
        frame = self._complete(ts, partial)
        if frame is not None:
            # earlier frames still incomplete are lost
            for older in sorted((t for t in self.pending if ts_newer(ts, t)), key=lambda t: (t - ts) & 0xFFFFFFFF):
                del self.pending[older]
                self.dropped_frames += 1
                self.need_keyframe = True
            del self.pending[ts]
            self.last_ts = ts
            if frame.keyframe:
                self.need_keyframe = False
            if self.need_keyframe:
                self.dropped_frames += 1
            else:
                self.frames += 1
                self.keyframes += frame.keyframe
                out.append(frame)
        elif len(self.pending) > self.max_pending:
            oldest = min(self.pending, key=lambda t: (t - ts) & 0xFFFFFFFF)
            del self.pending[oldest]
            self.dropped_frames += 1
            self.need_keyframe = True
        return out

    @staticmethod
    def _complete(ts: int, partial: _Partial) -> Vp8Frame | None:
        first, last = partial.first, partial.last
        if first is None or last is None or seq_newer(first, last):
            return None
        count = ((last - first) & 0xFFFF) + 1
        if count > len(partial.packets):
            return None
        parts = []
        for i in range(count):
            part = partial.packets.get((first + i) & 0xFFFF)
            if part is None:
                return None
            parts.append(part)
        data = b"".join(parts)
        if not data:
            return None
        size = vp8_keyframe_size(data)
        if size is None:
            return Vp8Frame(ts, data, False)
        return Vp8Frame(ts, data, True, size[0], size[1])
