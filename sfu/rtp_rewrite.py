"""RTP header rewriting in place, on bytes, for packet forwarding.

Only the fields a forwarder must change are touched (RFC 3550 section 5.1): payload
type, sequence number, timestamp and SSRC; header extensions (RFC 8285) are renumbered
for the consumer's negotiated ids or overwritten with padding bytes (value 0, which
RFC 8285 section 4.2 and 4.3 allow between elements) so that the packet keeps its
length: the publisher's ``mid`` is stripped that way. No full RTP parse on the hot
path: a few byte reads at fixed offsets.

:class:`SequenceMapper` keeps the output stream of a consumer continuous (sequence
number and timestamp) across a switch from one source to another, with wrap-around
at 2^16 and 2^32 handled by modular arithmetic.
"""

from __future__ import annotations

import random
import struct
from collections import deque

RTP_VERSION_BITS = 0x80
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE_MASK = 0xFFF0
TWO_BYTE_PROFILE = 0x1000

URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

_HEADER = struct.Struct("!HII")  # sequence number, timestamp, ssrc at offset 2


def seq_newer(a: int, b: int) -> bool:
    """True when 16-bit sequence number ``a`` is after ``b`` (RFC 3550 appendix A.1)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


def ts_newer(a: int, b: int) -> bool:
    """True when 32-bit timestamp ``a`` is after ``b``."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


def read_header(data: bytes) -> tuple[int, int, int, int]:
    """Return (payload type, sequence number, timestamp, ssrc) of an RTP packet."""
    seq, ts, ssrc = _HEADER.unpack_from(data, 2)
    return data[1] & 0x7F, seq, ts, ssrc


def rtp_layout(data: bytes | bytearray) -> tuple[int, int] | None:
    """(payload start, payload end) of a well-formed RTP packet, or None.

    Well-formed (RFC 3550 section 5.1, RFC 8285 section 4): at least 12 bytes, version
    2, the CSRC list and the extension block inside the packet, every extension element
    inside the block (one-byte: processing stops at id 15; two-byte: an element needs
    its length byte), and with the P bit a padding count from 1 to what follows the
    header. The forwarding path drops anything else (reason ``malformed``) before
    touching its state: the walkers below then never read or write out of bounds.
    """
    n = len(data)
    if n < 12:
        return None
    b0 = data[0]
    if b0 & 0xC0 != 0x80:
        return None
    off = 12 + 4 * (b0 & 0x0F)
    if off > n:
        return None
    if b0 & 0x10:
        if off + 4 > n:
            return None
        i = off + 4
        off = i + 4 * ((data[off + 2] << 8) | data[off + 3])
        if off > n:
            return None
        profile = (data[i - 4] << 8) | data[i - 3]
        if profile == ONE_BYTE_PROFILE:
            while i < off:
                b = data[i]
                if b == 0:
                    i += 1
                elif b >= 0xF0:
                    break  # id 15: stop processing the block (RFC 8285 section 4.2)
                else:
                    i += 2 + (b & 0x0F)
            if i > off:
                return None
        elif profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
            while i < off:
                if data[i] == 0:
                    i += 1
                elif i + 1 >= off:
                    return None
                else:
                    i += 2 + data[i + 1]
            if i > off:
                return None
    if b0 & 0x20:
        pad = data[n - 1]
        if off == n or pad == 0 or off + pad > n:
            return None
        return off, n - pad
    return off, n


def payload_offset(data: bytes | bytearray) -> int:
    """Offset of the payload: fixed header, CSRCs and the extension block (the length
    of the packet when the header runs past it)."""
    n = len(data)
    if n < 12:
        return n
    off = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        if off + 4 > n:
            return n
        off += 4 + 4 * ((data[off + 2] << 8) | data[off + 3])
    return min(off, n)


def payload_end(data: bytes | bytearray) -> int:
    """End of the payload, before RTP padding (RFC 3550 section 5.1, P bit)."""
    if data and data[0] & 0x20:
        return max(0, len(data) - data[-1])
    return len(data)


def _extension_block(data: bytes | bytearray) -> tuple[int, int, int]:
    """(profile, first element offset, block end) or (0, 0, 0) when absent or cut."""
    n = len(data)
    if n < 12 or not data[0] & 0x10:
        return 0, 0, 0
    off = 12 + 4 * (data[0] & 0x0F)
    if off + 4 > n:
        return 0, 0, 0
    end = off + 4 + 4 * ((data[off + 2] << 8) | data[off + 3])
    if end > n:
        return 0, 0, 0
    return (data[off] << 8) | data[off + 1], off + 4, end


def find_extension(data: bytes | bytearray, ext_id: int) -> int:
    """Offset of the value of header extension ``ext_id``, or -1 when absent (or when
    its element does not fit in the extension block)."""
    if not ext_id:
        return -1
    profile, i, end = _extension_block(data)
    if profile == ONE_BYTE_PROFILE:
        while i < end:
            b = data[i]
            if b == 0:
                i += 1
                continue
            xid = b >> 4
            if xid == 15:
                return -1
            if i + 2 + (b & 0x0F) > end:
                return -1
            if xid == ext_id:
                return i + 1
            i += 2 + (b & 0x0F)
    elif profile and profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
        while i + 1 < end:
            xid = data[i]
            if xid == 0:
                i += 1
                continue
            if i + 2 + data[i + 1] > end:
                return -1
            if xid == ext_id:
                return i + 2 if data[i + 1] else -1
            i += 2 + data[i + 1]
    return -1


def extension_value(data: bytes | bytearray, ext_id: int) -> bytes | None:
    """The value of header extension ``ext_id`` (RFC 8285: one-byte elements carry
    1..16 bytes, two-byte elements 0..255), or None when absent."""
    at = find_extension(data, ext_id)
    if at < 0:
        return None
    profile = _extension_block(data)[0]
    length = (data[at - 1] & 0x0F) + 1 if profile == ONE_BYTE_PROFILE else data[at - 1]
    return bytes(data[at : at + length])


def audio_level(data: bytes, ext_id: int) -> int | None:
    """RFC 6464 level (0 = 0 dBov loudest ... 127 = silence), or None when absent."""
    at = find_extension(data, ext_id)
    if at < 0 or at >= len(data):
        return None
    return data[at] & 0x7F


def extension_table(source: dict[int, str], target: dict[str, int]) -> bytes:
    """Translation table from a producer's extension ids to a consumer's.

    ``table[id]`` is the consumer's id for the same URI, or 0 to strip the element.
    The ``mid`` extension is always stripped: the publisher's mid means nothing to
    the consumer, which routes by the SSRC announced in our SDP answer.
    """
    table = bytearray(256)
    for xid, uri in source.items():
        if uri == URI_MID:
            continue
        new = target.get(uri, 0)
        if 0 < xid < 256:
            table[xid] = new
    return bytes(table)


_EXTENSION_KEYS: dict[tuple, int] = {}


def extension_key(target: dict[str, int]) -> int:
    """A small integer naming a consumer's negotiated extension ids (equal ids, equal
    key), so that a producer translates each packet once per distinct set of ids."""
    items = tuple(sorted(target.items()))
    key = _EXTENSION_KEYS.get(items)
    if key is None:
        key = _EXTENSION_KEYS[items] = len(_EXTENSION_KEYS) + 1
    return key


def translate_extensions(buf: bytearray, table: bytes) -> None:
    """Renumber or pad out header extension elements in place (RFC 8285).

    Never writes outside the extension block: an element that does not fit in it
    (a malformed packet, which the forwarding path drops before) ends the walk."""
    profile, i, end = _extension_block(buf)
    if profile == ONE_BYTE_PROFILE:
        while i < end:
            b = buf[i]
            if b == 0:
                i += 1
                continue
            xid = b >> 4
            if xid == 15:
                return
            length = (b & 0x0F) + 1
            if i + 1 + length > end:
                return
            new = table[xid]
            if new == 0 or new > 14:
                buf[i : i + 1 + length] = bytes(1 + length)
            elif new != xid:
                buf[i] = (new << 4) | (b & 0x0F)
            i += 1 + length
    elif profile and profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
        while i + 1 < end:
            xid = buf[i]
            if xid == 0:
                i += 1
                continue
            length = buf[i + 1]
            if i + 2 + length > end:
                return
            new = table[xid]
            if new == 0:
                buf[i : i + 2 + length] = bytes(2 + length)
            elif new != xid:
                buf[i] = new
            i += 2 + length


def write_header(buf: bytearray, payload_type: int, seq: int, ts: int, ssrc: int) -> None:
    """Set payload type (keeping the marker bit), sequence number, timestamp, SSRC."""
    buf[1] = (buf[1] & 0x80) | payload_type
    _HEADER.pack_into(buf, 2, seq, ts, ssrc)


# --- codec payloads ---------------------------------------------------------------


def vp8_descriptor(data: bytes | bytearray, p: int) -> tuple[int, int, int, int]:
    """Parse a VP8 payload descriptor (RFC 7741 section 4.2) at offset ``p``.

    Returns (offset of the VP8 payload header, offset of the PictureID or -1,
    PictureID width in bits (7 or 15, 0 if absent), offset of TL0PICIDX or -1).
    """
    b0 = data[p]
    i = p + 1
    pid_at = -1
    pid_bits = 0
    tl0_at = -1
    if b0 & 0x80:  # X
        b1 = data[i]
        i += 1
        if b1 & 0x80:  # I
            pid_at = i
            if data[i] & 0x80:  # M: 15-bit PictureID
                pid_bits = 15
                i += 2
            else:
                pid_bits = 7
                i += 1
        if b1 & 0x40:  # L
            tl0_at = i
            i += 1
        if b1 & 0x30:  # T or K
            i += 1
    return i, pid_at, pid_bits, tl0_at


#: :func:`vp8_temporal`'s flags beside the TID (its two low bits)
TEMPORAL_SYNC = 0x04  # Y: the frame depends only on TL0 frames (a switch-up point)
TEMPORAL_START = 0x08  # the packet begins a frame (S=1 and partition index 0)
TID_MASK = 0x03


def vp8_temporal(data: bytes | bytearray, p: int, h: int) -> int:
    """The temporal layer of a VP8 packet whose descriptor (RFC 7741 section 4.2) runs
    from ``p`` to ``h`` (:func:`vp8_descriptor`'s first value): its TID (T bit set) in
    the two low bits, :data:`TEMPORAL_SYNC` when its layer-sync bit Y is set and
    :data:`TEMPORAL_START` when it begins a frame; -1 when the descriptor has no TID."""
    b0 = data[p]
    if not b0 & 0x80 or not data[p + 1] & 0x20:  # no X, or no T
        return -1
    tk = data[h - 1]
    out = tk >> 6
    if tk & 0x20:
        out |= TEMPORAL_SYNC
    if b0 & 0x10 and not b0 & 0x07:
        out |= TEMPORAL_START
    return out


def vp8_picture_id(data: bytes | bytearray, pid_at: int, bits: int) -> int:
    """The PictureID at ``pid_at`` (7 or 15 bits), -1 when absent."""
    if pid_at < 0:
        return -1
    if bits == 15:
        return ((data[pid_at] & 0x7F) << 8) | data[pid_at + 1]
    return data[pid_at] & 0x7F


def vp8_descriptor_fits(data: bytes | bytearray, p: int, end: int) -> bool:
    """The VP8 payload descriptor at ``p`` ends within the payload (RFC 7741 section
    4.2); an empty payload (padding only) has none and fits. A packet whose descriptor
    is cut is malformed: :func:`vp8_descriptor` would read past its payload."""
    if p >= end:
        return True
    i = p + 1
    if data[p] & 0x80:  # X
        if i >= end:
            return False
        b1 = data[i]
        i += 1
        if b1 & 0x80:  # I
            if i >= end:
                return False
            i += 2 if data[i] & 0x80 else 1
        if b1 & 0x40:  # L
            i += 1
        if b1 & 0x30:  # T or K
            i += 1
    return i <= end


def is_vp8_keyframe(data: bytes | bytearray, p: int, end: int) -> bool:
    """First packet of a VP8 key frame: S=1, PID=0 and P=0 in the payload header
    (RFC 7741 sections 4.2 and 4.3)."""
    if end - p < 2:
        return False
    b0 = data[p]
    if not (b0 & 0x10) or (b0 & 0x07) or not vp8_descriptor_fits(data, p, end):
        return False
    h, _, _, _ = vp8_descriptor(data, p)
    return h < end and not (data[h] & 0x01)


def is_h264_keyframe(data: bytes | bytearray, p: int, end: int) -> bool:
    """Packet that starts an IDR picture or carries an SPS (RFC 6184 section 5)."""
    if end - p < 2:
        return False
    nal = data[p] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A
        i = p + 1
        while i + 2 < end:
            size = (data[i] << 8) | data[i + 1]
            if size == 0:
                break
            if data[i + 2] & 0x1F in (5, 7):
                return True
            i += 2 + size
        return False
    if nal == 28:  # FU-A
        return bool(data[p + 1] & 0x80) and (data[p + 1] & 0x1F) == 5
    return False


def is_keyframe(codec: str, data: bytes | bytearray) -> bool:
    """Whether this packet starts a key frame, a point where a slot may switch."""
    layout = rtp_layout(data)
    if layout is None:
        return False
    return is_keyframe_at(codec, data, *layout)


def is_keyframe_at(codec: str, data: bytes | bytearray, p: int, end: int) -> bool:
    """:func:`is_keyframe` for a packet whose payload is ``data[p:end]``."""
    if p >= end:
        return False
    if codec == "vp8":
        return is_vp8_keyframe(data, p, end)
    if codec == "h264":
        return is_h264_keyframe(data, p, end)
    return False


# --- continuity across source switches -----------------------------------------


class SequenceMapper:
    """Maps packets of successive sources onto one continuous output stream.

    ``switch(seq, ts, now)`` is called with the first packet of a new source (for
    video, the first packet of a key frame): its output sequence number is the
    highest one sent plus one, and its output timestamp the highest one sent plus the
    wall-clock time elapsed since, in clock-rate units (at least 1). Later packets of
    the same source keep their spacing through fixed offsets. Packets older than the
    switch point return ``None`` (they belong to a picture the consumer never began).

    For VP8, the PictureID and TL0PICIDX are made continuous the same way, so that
    the receiver's frame reference finder does not see a jump back at the switch.

    A packet of the current source that the consumer leaves out (a VP8 temporal layer
    above the one it forwards, RFC 7741 section 4.2) is *skipped*: the packets after it
    take its output sequence number and the pictures after it its PictureID, as
    mediasoup's ``SeqManager`` and VP8 ``pictureIdManager`` do, so that the receiver
    sees no loss to report or repair and no missing picture. A packet arriving late,
    older than some skipped ones, gets back the numbers it had before them
    (:meth:`late`). TL0PICIDX needs nothing: only TL0 frames advance it, and they are
    never left out.
    """

    #: skipped packets (and pictures) remembered to number late packets (about 4 s of
    #: a 30 frames/s stream at one packet a frame: far beyond any reordering)
    SKIPPED = 128

    __slots__ = (
        "clock_rate",
        "floor",
        "max_at",
        "max_pid",
        "max_seq",
        "max_tl0",
        "max_ts",
        "pid_offset",
        "seq_offset",
        "skipped_pids",
        "skipped_seqs",
        "src_max",
        "started",
        "tl0_offset",
        "ts_offset",
    )

    def __init__(self, clock_rate: int, rng: random.Random | None = None) -> None:
        rng = rng or random.Random()
        self.clock_rate = clock_rate
        self.seq_offset = 0
        self.ts_offset = 0
        # start in the lower half, like aiortc and Chromium, to limit early wraps
        self.max_seq = rng.randrange(0, 0x8000)
        self.max_ts = rng.randrange(0, 1 << 32)
        self.max_at = 0.0
        self.floor = 0
        self.src_max = 0
        self.started = False
        self.pid_offset = 0
        self.max_pid = rng.randrange(0, 0x7FFF)
        self.tl0_offset = 0
        self.max_tl0 = rng.randrange(0, 0xFF)
        self.skipped_seqs: deque[int] = deque(maxlen=self.SKIPPED)
        self.skipped_pids: deque[int] = deque(maxlen=self.SKIPPED)

    def switch(self, seq: int, ts: int, now: float) -> None:
        """Make ``(seq, ts)`` of a new source follow the last packet sent."""
        if self.started:
            out_seq = (self.max_seq + 1) & 0xFFFF
            gap = int((now - self.max_at) * self.clock_rate)
            out_ts = (self.max_ts + max(1, gap)) & 0xFFFFFFFF
        else:
            out_seq = (self.max_seq + 1) & 0xFFFF
            out_ts = self.max_ts
        self.seq_offset = (out_seq - seq) & 0xFFFF
        self.ts_offset = (out_ts - ts) & 0xFFFFFFFF
        self.floor = seq
        self.src_max = seq
        self.pid_offset = None  # type: ignore[assignment]  # set by the first PictureID
        self.tl0_offset = None  # type: ignore[assignment]
        self.skipped_seqs.clear()
        self.skipped_pids.clear()
        if not self.started:
            self.started = True
            self.max_seq = (out_seq - 1) & 0xFFFF
            self.max_ts = out_ts
            self.max_at = now

    def map(self, seq: int, ts: int, now: float) -> tuple[int, int] | None:
        """Output (sequence number, timestamp) of a packet of the current source."""
        since_floor = (seq - self.floor) & 0xFFFF
        if since_floor >= 0x8000:
            return None  # before the switch point
        if 0 < ((seq - self.src_max) & 0xFFFF) < 0x8000:  # seq_newer(seq, src_max)
            self.src_max = seq
            if since_floor > 0x4000:
                self.floor = (seq - 0x2000) & 0xFFFF
        out_seq = (seq + self.seq_offset) & 0xFFFF
        out_ts = (ts + self.ts_offset) & 0xFFFFFFFF
        if 0 < ((out_seq - self.max_seq) & 0xFFFF) < 0x8000:  # seq_newer(out_seq, max_seq)
            self.max_seq = out_seq
            self.max_ts = out_ts
            self.max_at = now
        return out_seq, out_ts

    def skip(self, seq: int, pid: int) -> None:
        """Leave out packet ``seq`` of the current source (``pid``: its PictureID, -1
        when absent): when it is the newest so far, the next packets and pictures take
        its numbers. A late packet of a left-out picture leaves a hole (rare: the
        packets after it were already numbered)."""
        since_floor = (seq - self.floor) & 0xFFFF
        if since_floor >= 0x8000:
            return  # before the switch point: map() drops its picture anyway
        if 0 < ((seq - self.src_max) & 0xFFFF) < 0x8000:
            self.src_max = seq
            if since_floor > 0x4000:
                self.floor = (seq - 0x2000) & 0xFFFF
            self.seq_offset = (self.seq_offset - 1) & 0xFFFF
            self.skipped_seqs.append(seq)
        pid_off = self.pid_offset
        if pid >= 0 and pid_off is not None:
            out = (pid + pid_off) & 0x7FFF
            if 0 < ((out - self.max_pid) & 0x7FFF) < 0x4000:  # the next picture: its id is given on
                self.pid_offset = (pid_off - 1) & 0x7FFF
                self.skipped_pids.append(pid)

    def late(self, seq: int, pid: int) -> tuple[int, int]:
        """How many skipped packets and pictures are newer than packet ``seq`` of
        picture ``pid``: what to add back to the offsets to number it as it would have
        been before them. (0, 0) for a packet newer than every one skipped."""
        seqs, pids = self.skipped_seqs, self.skipped_pids
        dseq = dpid = 0
        if seqs and ((seqs[-1] - seq) & 0xFFFF) - 1 < 0x7FFF:  # seq_newer(last skipped, seq)
            dseq = sum(1 for s in seqs if 0 < ((s - seq) & 0xFFFF) < 0x8000)
        if pid >= 0 and pids and ((pids[-1] - pid) & 0x7FFF) - 1 < 0x3FFF:
            dpid = sum(1 for q in pids if 0 < ((q - pid) & 0x7FFF) < 0x4000)
        return dseq, dpid

    def unmap_seq(self, out_seq: int) -> int:
        """Source sequence number of an output one (to answer NACKs)."""
        return (out_seq - self.seq_offset) & 0xFFFF

    def out_ts(self, ts: int) -> int:
        """Output timestamp of a source timestamp (to map sender reports)."""
        return (ts + self.ts_offset) & 0xFFFFFFFF

    def rewrite_vp8(self, buf: bytearray, p: int) -> tuple[int, int]:
        """Make the VP8 PictureID and TL0PICIDX continuous, in place.

        Returns the (PictureID, TL0PICIDX) offsets used, to redo it on a
        retransmission with :func:`vp8_apply`."""
        _, pid_at, bits, tl0_at = vp8_descriptor(buf, p)
        if pid_at >= 0:
            if bits == 15:
                pid = ((buf[pid_at] & 0x7F) << 8) | buf[pid_at + 1]
            else:
                pid = buf[pid_at] & 0x7F
            if self.pid_offset is None:
                self.pid_offset = (self.max_pid + 1 - pid) & 0x7FFF
            out = (pid + self.pid_offset) & 0x7FFF
            if ((out - self.max_pid) & 0x7FFF) < 0x4000:
                self.max_pid = out
        if tl0_at >= 0:
            tl0 = buf[tl0_at]
            if self.tl0_offset is None:
                self.tl0_offset = (self.max_tl0 + 1 - tl0) & 0xFF
            out = (tl0 + self.tl0_offset) & 0xFF
            if ((out - self.max_tl0) & 0xFF) < 0x80:
                self.max_tl0 = out
        pid_off = self.pid_offset or 0
        tl0_off = self.tl0_offset or 0
        vp8_apply(buf, p, pid_off, tl0_off)
        return pid_off, tl0_off

    def rewrite_vp8_at(self, buf: bytearray, pid_at: int, bits: int, tl0_at: int) -> tuple[int, int]:
        """:meth:`rewrite_vp8` for a descriptor already parsed (offsets from
        :func:`vp8_descriptor`), in place; returns the offsets applied."""
        if pid_at >= 0:
            if bits == 15:
                pid = ((buf[pid_at] & 0x7F) << 8) | buf[pid_at + 1]
            else:
                pid = buf[pid_at] & 0x7F
            pid_off = self.pid_offset
            if pid_off is None:
                pid_off = self.pid_offset = (self.max_pid + 1 - pid) & 0x7FFF
            out = (pid + pid_off) & 0x7FFF
            if ((out - self.max_pid) & 0x7FFF) < 0x4000:
                self.max_pid = out
            if bits == 15:
                buf[pid_at] = 0x80 | (out >> 8)
                buf[pid_at + 1] = out & 0xFF
            else:
                buf[pid_at] = out & 0x7F
        else:
            pid_off = self.pid_offset or 0
        if tl0_at >= 0:
            tl0 = buf[tl0_at]
            tl0_off = self.tl0_offset
            if tl0_off is None:
                tl0_off = self.tl0_offset = (self.max_tl0 + 1 - tl0) & 0xFF
            out = (tl0 + tl0_off) & 0xFF
            if ((out - self.max_tl0) & 0xFF) < 0x80:
                self.max_tl0 = out
            buf[tl0_at] = out
        else:
            tl0_off = self.tl0_offset or 0
        return pid_off, tl0_off


def vp8_apply(buf: bytearray, p: int, pid_offset: int, tl0_offset: int) -> None:
    """Add fixed offsets to the VP8 PictureID and TL0PICIDX, in place."""
    _, pid_at, bits, tl0_at = vp8_descriptor(buf, p)
    if pid_at >= 0:
        if bits == 15:
            out = ((((buf[pid_at] & 0x7F) << 8) | buf[pid_at + 1]) + pid_offset) & 0x7FFF
            buf[pid_at] = 0x80 | (out >> 8)
            buf[pid_at + 1] = out & 0xFF
        else:
            buf[pid_at] = ((buf[pid_at] & 0x7F) + pid_offset) & 0x7F
    if tl0_at >= 0:
        buf[tl0_at] = (buf[tl0_at] + tl0_offset) & 0xFF
