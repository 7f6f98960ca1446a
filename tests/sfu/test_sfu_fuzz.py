"""Fuzzing the RTP and RTCP paths at the forwarding code (issue 6, "Bad input").

Packets enter where the transport Séance owns has unprotected them: RTP into
``Connection.rtp_received``, RTCP into ``Connection.rtcp_received`` (the harness of
:mod:`bench.forwarding`: the real Router, Producers and Consumers, no network); and as
SRTP datagrams through aioice's socket protocol. And the pure functions of
:mod:`sfu.rtp_rewrite` directly.

Properties:

- no exception escapes, and none is even caught by the transport's safety net
  (``hook_errors`` stays empty: an exception there is a bug found);
- a malformed RTP packet (judged by :func:`reference_layout`, written here from RFC 3550
  and RFC 8285 independently of ``sfu/``) is dropped and counted as ``malformed``,
  nothing of it reaches a subscriber, and it changes no state (a well-formed packet
  after it is forwarded as if it had never come);
- a malformed RTCP compound is dropped and counted as ``malformed_rtcp``, and triggers
  neither a retransmission nor a key frame request;
- a well-formed packet is forwarded to every subscriber of its slot, and parses back
  (with aiortc's own ``RtpPacket.parse``) to the consumer's SSRC and payload type, the
  next sequence number, the source timestamp plus a fixed offset, the same payload,
  and no ``mid`` extension.
"""

from __future__ import annotations

import asyncio
import struct

import pytest
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpByePacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.forwarding import (
    PT_OPUS,
    PT_RTX,
    PT_VP8,
    PUB_AUDIO_SSRC,
    PUB_VIDEO_SSRC,
    SUB_EXT,
    SUB_PT_OPUS,
    SUB_PT_VP8,
    Harness,
    opus_payload,
    rtp_packet,
    vp8_payload,
)
from sfu import rtp_rewrite as rw
from sfu.rtp_rewrite import URI_MID

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


# -- an independent reference of what is well-formed (RFC 3550 5.1, RFC 8285 4) ------------


def reference_layout(data: bytes) -> tuple[int, int] | None:
    """(payload start, payload end) of a well-formed RTP packet, or None if malformed."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    off = 12 + 4 * (data[0] & 0x0F)
    if off > len(data):
        return None
    if data[0] & 0x10:
        if off + 4 > len(data):
            return None
        profile, words = struct.unpack_from("!HH", data, off)
        i, off = off + 4, off + 4 + 4 * words
        if off > len(data):
            return None
        if profile == 0xBEDE:
            while i < off:
                b = data[i]
                if b == 0:
                    i += 1
                    continue
                if b >> 4 == 15:
                    break  # RFC 8285 4.2: stop processing at id 15
                i += 2 + (b & 0x0F)
                if i > off:
                    return None
        elif profile & 0xFFF0 == 0x1000:
            while i < off:
                if data[i] == 0:
                    i += 1
                    continue
                if i + 1 >= off:
                    return None
                i += 2 + data[i + 1]
                if i > off:
                    return None
    end = len(data)
    if data[0] & 0x20:
        if end == off or data[-1] == 0 or off + data[-1] > end:
            return None
        end -= data[-1]
    return off, end


def reference_vp8_ok(data: bytes, p: int, end: int) -> bool:
    """The VP8 payload descriptor (RFC 7741 4.2) fits in the payload (an empty payload,
    e.g. padding only, is not a descriptor and is fine)."""
    if p == end:
        return True
    b0, i = data[p], p + 1
    if b0 & 0x80:
        if i >= end:
            return False
        b1 = data[i]
        i += 1
        if b1 & 0x80:
            if i >= end:
                return False
            i += 2 if data[i] & 0x80 else 1
        if b1 & 0x40:
            i += 1
        if b1 & 0x30:
            i += 1
    return i <= end


def malformed(data: bytes) -> bool:
    lay = reference_layout(data)
    if lay is None:
        return True
    if data[1] & 0x7F == PT_VP8:
        return not reference_vp8_ok(data, *lay)
    if data[1] & 0x7F == PT_RTX and lay[1] - lay[0] >= 2:  # RTX of VP8: after the OSN
        return not reference_vp8_ok(data, lay[0] + 2, lay[1])
    return False


# -- the harness, one per test (state across examples is part of what is checked) -----------


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def harness(loop):
    h = loop.run_until_complete(Harness(subscribers=2).start())
    state = {"seq": 1000, "aseq": 5000, "ts": 90000, "ats": 48000, "pid": 10}
    h.state = state
    # start both streams: a key frame switches the video slots to the publisher
    loop.run_until_complete(_good_video(h, keyframe=True))
    loop.run_until_complete(_good_audio(h))
    loop.run_until_complete(h.settle())
    h.clear()
    yield h
    loop.run_until_complete(h.close())


def _next_video(h: Harness, keyframe: bool = False, **kw) -> bytes:
    s = h.state
    s["seq"] += 1
    s["ts"] += 3000
    s["pid"] += 1
    return rtp_packet(
        s["seq"],
        s["ts"],
        PUB_VIDEO_SSRC,
        PT_VP8,
        vp8_payload(keyframe, s["pid"], size=200),
        extensions=kw.pop("extensions", [(3, b"\x01\x02\x03"), (4, b"1")]),
        **kw,
    )


def _next_audio(h: Harness, **kw) -> bytes:
    s = h.state
    s["aseq"] += 1
    s["ats"] += 960
    return rtp_packet(
        s["aseq"],
        s["ats"],
        PUB_AUDIO_SSRC,
        PT_OPUS,
        opus_payload(),
        extensions=kw.pop("extensions", [(1, b"\x05"), (4, b"0")]),
        **kw,
    )


async def _good_video(h: Harness, keyframe: bool = False) -> bytes:
    pkt = _next_video(h, keyframe)
    await h.rtp(pkt)
    return pkt


async def _good_audio(h: Harness) -> bytes:
    pkt = _next_audio(h)
    await h.rtp(pkt)
    return pkt


def _subscriber_rtp(h: Harness) -> list[bytes]:
    return [p for side in h.subscribers for p in side.rtp_sent()]


def _no_hook_errors(h: Harness) -> None:
    assert dict(h.counters.hook_errors) == {}, h.counters.hook_errors


# -- strategies -----------------------------------------------------------------------------

ext_element = st.tuples(st.integers(1, 14), st.binary(min_size=1, max_size=16))


@st.composite
def well_formed_video(draw):
    two_byte = draw(st.booleans())
    exts = draw(st.lists(st.one_of(st.just((3, b"\x01\x02\x03")), st.just((4, b"1")), ext_element), max_size=4))
    if two_byte:
        exts = [(i, v) for i, v in exts]
    csrcs = tuple(draw(st.lists(st.integers(0, 2**32 - 1), max_size=15)))
    padding = draw(st.sampled_from([0, 0, 1, 4, 17]))
    pid = draw(st.one_of(st.none(), st.integers(0, 0x7FFF)))
    size = draw(st.integers(5, 300))
    return {
        "extensions": exts,
        "csrcs": csrcs,
        "padding": padding,
        "two_byte": two_byte,
        "pid": pid,
        "size": size,
        "marker": draw(st.integers(0, 1)),
    }


MUTATIONS = (
    "version",
    "truncate",
    "csrc_count",
    "ext_length",
    "ext_header_cut",
    "padding_zero",
    "padding_too_big",
    "one_byte_overrun",
    "two_byte_overrun",
    "vp8_descriptor_cut",
)


@st.composite
def mutated_packet(draw):
    """A packet of the publisher (audio, video or RTX) broken in one of MUTATIONS."""
    kind = draw(st.sampled_from(["video", "audio", "rtx"]))
    how = draw(st.sampled_from(MUTATIONS))
    if kind == "audio" and how == "vp8_descriptor_cut":
        how = "version"
    seq = draw(st.integers(0, 0xFFFF))
    ssrc = PUB_AUDIO_SSRC if kind == "audio" else PUB_VIDEO_SSRC
    pt = {"video": PT_VP8, "audio": PT_OPUS, "rtx": PT_RTX}[kind]
    payload = opus_payload() if kind == "audio" else vp8_payload(draw(st.booleans()), 7, size=50)
    if kind == "rtx":
        payload = struct.pack("!H", seq) + payload
    exts = [(4, b"1"), (3, b"\x01\x02\x03")]
    if how == "one_byte_overrun":
        pkt = bytearray(rtp_packet(seq, 1, ssrc, pt, payload, extensions=exts))
        pkt[12 + 4] = (3 << 4) | 15  # element says 16 bytes: past the 8-byte block
        return bytes(pkt)
    if how == "two_byte_overrun":
        pkt = bytearray(rtp_packet(seq, 1, ssrc, pt, payload, extensions=exts, two_byte=True))
        pkt[12 + 4 + 1] = draw(st.integers(9, 255))
        return bytes(pkt)
    pkt = bytearray(rtp_packet(seq, 1, ssrc, pt, payload, extensions=exts, csrcs=(1, 2) if draw(st.booleans()) else ()))
    if how == "version":
        pkt[0] = (pkt[0] & 0x3F) | (draw(st.sampled_from([0, 1, 3])) << 6)
    elif how == "truncate":
        pkt = pkt[: draw(st.integers(0, 12 + 4 * (pkt[0] & 0x0F) + 4 + 7))]
    elif how == "csrc_count":
        pkt[0] = (pkt[0] & 0xF0) | 15
        pkt = pkt[: 12 + draw(st.integers(0, 59))]
    elif how == "ext_length":
        off = 12 + 4 * (pkt[0] & 0x0F)
        struct.pack_into("!H", pkt, off + 2, draw(st.integers(len(pkt) // 4, 0xFFFF)))
    elif how == "ext_header_cut":
        pkt = pkt[: 12 + 4 * (pkt[0] & 0x0F) + draw(st.integers(0, 3))]
    elif how == "padding_zero":
        pkt[0] |= 0x20
        pkt[-1] = 0
    elif how == "padding_too_big":
        pkt[0] |= 0x20
        pkt[-1] = draw(st.integers(len(pkt) - 12 - 4 * (pkt[0] & 0x0F) - 12 + 1, 255))
    elif how == "vp8_descriptor_cut":
        lay = reference_layout(bytes(pkt))
        assert lay is not None
        p = lay[0] + (2 if kind == "rtx" else 0)
        pkt = pkt[:p] + bytes([0x90, 0x80, 0x80])  # X, I, 15-bit PictureID cut short
    return bytes(pkt)


@st.composite
def random_datagram(draw):
    """Arbitrary bytes, with the RTP version and the publisher's SSRC/PT often right, so
    they reach the producer rather than stop at routing."""
    data = bytearray(draw(st.binary(min_size=0, max_size=120)))
    if len(data) >= 12 and draw(st.booleans()):
        data[0] = 0x80 | (data[0] & 0x3F)
        kind = draw(st.sampled_from([(PT_VP8, PUB_VIDEO_SSRC), (PT_OPUS, PUB_AUDIO_SSRC), (PT_RTX, PUB_VIDEO_SSRC)]))
        data[1] = (data[1] & 0x80) | kind[0]
        struct.pack_into("!I", data, 8, kind[1])
    return bytes(data)


# -- RTP ---------------------------------------------------------------------------------


def _feed_bad(loop, h: Harness, pkt: bytes) -> None:
    before_drop = h.counters.dropped["malformed"]
    before_in = sum(h.counters.packets_in.values())
    loop.run_until_complete(h.rtp(pkt))
    loop.run_until_complete(h.settle())
    _no_hook_errors(h)
    if malformed(pkt):
        assert h.counters.dropped["malformed"] == before_drop + 1, pkt.hex()
        assert sum(h.counters.packets_in.values()) == before_in
        assert _subscriber_rtp(h) == [], pkt.hex()
    h.clear()
    if not malformed(pkt):
        # a well-formed datagram of the publisher (random seq, ts) may legitimately move
        # the stream (a jump ahead makes later packets "before the switch point")
        h.disturbed = True
    if getattr(h, "disturbed", False):
        return
    # the stream goes on as if nothing had come: the next good packets follow on
    for make in (_good_video, _good_audio):
        good = loop.run_until_complete(make(h))
        out = _subscriber_rtp(h)
        assert len(out) >= 1, good.hex()
        h.clear()


@FUZZ
@given(pkt=mutated_packet())
def test_malformed_rtp_is_dropped_counted_and_changes_nothing(loop, harness, pkt):
    assert malformed(pkt)
    _feed_bad(loop, harness, pkt)


@FUZZ
@given(pkt=random_datagram())
def test_random_datagrams_never_raise(loop, harness, pkt):
    _feed_bad(loop, harness, pkt)


def _check_forwarded(h: Harness, src: bytes, out: bytes, slot_kind: str, prev: dict) -> None:
    parsed = RtpPacket.parse(out)  # aiortc's parser: an independent reading
    lay = reference_layout(src)
    assert lay is not None
    consumer_ssrc = parsed.ssrc
    assert parsed.payload_type == (SUB_PT_VP8 if slot_kind == "video" else SUB_PT_OPUS)
    assert parsed.marker == src[1] >> 7
    assert len(out) == len(src)
    seq, ts = struct.unpack_from("!HI", src, 2)
    if consumer_ssrc in prev:
        pseq, pts, psrc_seq, psrc_ts = prev[consumer_ssrc]
        assert parsed.sequence_number == (pseq + ((seq - psrc_seq) & 0xFFFF)) & 0xFFFF
        assert parsed.timestamp == (pts + ((ts - psrc_ts) & 0xFFFFFFFF)) & 0xFFFFFFFF
    prev[consumer_ssrc] = (parsed.sequence_number, parsed.timestamp, seq, ts)
    assert parsed.extensions.mid is None
    # the payload is the source's, but for the VP8 PictureID (made continuous)
    p_out = rw.payload_offset(out)
    assert p_out == lay[0]
    if slot_kind == "audio":
        assert out[p_out:] == src[lay[0] :]
    else:
        assert out[rw.payload_end(out) - 1 :] == src[lay[1] - 1 :] or lay[0] == lay[1]


@FUZZ
@given(shapes=st.lists(well_formed_video(), min_size=1, max_size=6))
def test_well_formed_packets_forward_and_parse_back(loop, harness, shapes):
    h = harness
    prev: dict = {}
    consumers = [h.consumer(i, "video-0").ssrc for i in range(len(h.subscribers))]
    for shape in shapes:
        s = h.state
        s["seq"] += 1
        s["ts"] += 3000
        pid = shape.pop("pid")
        size = shape.pop("size")
        ext_ids = {i for i, _ in shape["extensions"]}
        # an element id the publisher negotiated must carry that extension's length
        shape["extensions"] = [
            (i, v) for i, v in shape["extensions"] if i not in (1, 3) or (i, v) == (3, b"\x01\x02\x03")
        ]
        del ext_ids
        pkt = rtp_packet(s["seq"], s["ts"], PUB_VIDEO_SSRC, PT_VP8, vp8_payload(False, pid, size=size), **shape)
        assert not malformed(pkt)
        loop.run_until_complete(h.rtp(pkt))
        _no_hook_errors(h)
        for side, cssrc in zip(h.subscribers, consumers):
            mine = [o for o in side.rtp_sent() if struct.unpack_from("!I", o, 8)[0] == cssrc]
            assert len(mine) == 1, (pkt.hex(), side.rtp_sent())
            _check_forwarded(h, pkt, mine[0], "video", prev)
            # the publisher's mid is gone, the other negotiated ids are the subscriber's
            assert rw.find_extension(mine[0], SUB_EXT[URI_MID]) == -1
        h.clear()


def test_audio_forwards_with_level_renumbered(loop, harness):
    h = harness
    pkt = _next_audio(h)
    loop.run_until_complete(h.rtp(pkt))
    outs = _subscriber_rtp(h)
    assert outs
    for out in outs:
        parsed = RtpPacket.parse(out)
        assert parsed.payload_type == SUB_PT_OPUS
        assert rw.audio_level(out, 10) == 5
        assert rw.find_extension(out, 9) == -1  # no mid under the subscriber's mid id
    _no_hook_errors(h)


# -- RTCP --------------------------------------------------------------------------------


def _rtcp_parts(h: Harness, draw) -> list[bytes]:
    c = h.consumer(0, "video-0")
    media = draw(st.sampled_from([c.ssrc, 0, 12345]))
    rr = RtcpReceiverInfo(
        ssrc=media,
        fraction_lost=draw(st.integers(0, 255)),
        packets_lost=draw(st.integers(0, (1 << 23) - 1)),
        highest_sequence=draw(st.integers(0, 2**32 - 1)),
        jitter=0,
        lsr=0,
        dlsr=0,
    )
    parts = {
        "sr": bytes(
            RtcpSrPacket(
                ssrc=77,
                sender_info=RtcpSenderInfo(
                    ntp_timestamp=draw(st.integers(0, 2**64 - 1)), rtp_timestamp=1, packet_count=1, octet_count=1
                ),
                reports=[rr],
            )
        ),
        "rr": bytes(RtcpRrPacket(ssrc=77, reports=[rr] * draw(st.integers(0, 3)))),
        "pli": bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=77, media_ssrc=media)),
        "fir": bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_FIR, ssrc=77, media_ssrc=media, fci=b"\x00" * 8)),
        "nack": bytes(
            RtcpRtpfbPacket(
                fmt=RTCP_RTPFB_NACK,
                ssrc=77,
                media_ssrc=media,
                lost=sorted(set(draw(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=40)))),
            )
        ),
        "remb": bytes(
            RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP, ssrc=77, media_ssrc=0, fci=pack_remb_fci(draw(st.integers(0, 2**20)), [media])
            )
        ),
        "bye": bytes(RtcpByePacket(sources=[media])),
        "sdes": bytes(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=77, items=[(1, b"cname")])])),
    }
    names = draw(st.lists(st.sampled_from(sorted(parts)), min_size=1, max_size=5))
    return [parts[n] for n in names]


RTCP_MUTATIONS = (
    "none",
    "length_up",
    "length_down",
    "count_up",
    "count_down",
    "truncate",
    "padding",
    "remb_count",
    "version",
    "garbage_tail",
)


@st.composite
def rtcp_case(draw, h_box):
    h = h_box[0]
    parts = [bytearray(p) for p in _rtcp_parts(h, draw)]
    how = draw(st.sampled_from(RTCP_MUTATIONS))
    k = draw(st.integers(0, len(parts) - 1))
    p = parts[k]
    if how == "length_up":
        struct.pack_into("!H", p, 2, struct.unpack_from("!H", p, 2)[0] + draw(st.integers(1, 300)))
    elif how == "length_down":
        struct.pack_into("!H", p, 2, max(0, struct.unpack_from("!H", p, 2)[0] - draw(st.integers(1, 8))))
    elif how == "count_up":
        p[0] = (p[0] & 0xE0) | min(31, (p[0] & 0x1F) + draw(st.integers(1, 31)))
    elif how == "count_down":
        p[0] = (p[0] & 0xE0) | max(0, (p[0] & 0x1F) - 1)
    elif how == "truncate":
        parts[k] = p[: draw(st.integers(0, max(0, len(p) - 1)))]
    elif how == "padding":
        p[0] |= 0x20
        p[-1] = draw(st.integers(0, 255))
    elif how == "remb_count" and p[1] == 206 and (p[0] & 0x1F) == RTCP_PSFB_APP:
        p[16] = draw(st.integers(2, 255))  # REMB: more SSRCs announced than present
    elif how == "version":
        p[0] = (p[0] & 0x3F) | (draw(st.sampled_from([0, 1, 3])) << 6)
    elif how == "garbage_tail":
        parts.append(bytearray(draw(st.binary(min_size=1, max_size=40))))
    return b"".join(bytes(x) for x in parts)


def _rtcp_malformed(data: bytes) -> bool:
    """aiortc's parser refuses it, or a REMB in it announces more SSRCs than it has."""
    try:
        packets = RtcpPacket.parse(data)
    except Exception:
        return True
    for p in packets:
        if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_APP and p.fci[:4] == b"REMB":
            if len(p.fci) >= 8 and len(p.fci) < 8 + 4 * p.fci[4]:
                return True
    return False


def test_rtcp_fuzz(loop, harness):
    h = harness
    box = [h]
    # cache some packets so that NACKs have something to answer
    for _ in range(5):
        loop.run_until_complete(_good_video(h))
    h.clear()

    @FUZZ
    @given(data=rtcp_case(box), from_publisher=st.booleans())
    def run(data, from_publisher):
        before = h.counters.dropped["malformed_rtcp"]
        before_rtx = h.counters.retransmitted
        before_kf = h.counters.keyframe_requests_sent
        if from_publisher:
            loop.run_until_complete(h.rtcp_from_publisher(data))
        else:
            loop.run_until_complete(h.rtcp_from_subscriber(0, data))
        loop.run_until_complete(h.settle())
        _no_hook_errors(h)
        if _rtcp_malformed(data):
            assert h.counters.dropped["malformed_rtcp"] == before + 1
            assert h.counters.retransmitted == before_rtx
            assert h.counters.keyframe_requests_sent == before_kf
            assert _subscriber_rtp(h) == []
        h.clear()

    run()


def test_random_rtcp_bytes(loop, harness):
    h = harness

    @FUZZ
    @given(data=st.binary(max_size=200))
    def run(data):
        loop.run_until_complete(h.rtcp_from_subscriber(1, data))
        loop.run_until_complete(h.rtcp_from_publisher(data))
        loop.run_until_complete(h.settle())
        _no_hook_errors(h)
        h.clear()

    run()


def test_nack_and_pli_still_work(loop, harness):
    h = harness
    sent = [loop.run_until_complete(_good_video(h)) for _ in range(3)]
    del sent
    outs = [
        o for o in h.subscribers[0].rtp_sent() if struct.unpack_from("!I", o, 8)[0] == h.consumer(0, "video-0").ssrc
    ]
    assert len(outs) == 3
    c = h.consumer(0, "video-0")
    lost = [struct.unpack_from("!H", outs[1], 2)[0]]
    h.clear()
    nack = bytes(RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=77, media_ssrc=c.ssrc, lost=lost))
    loop.run_until_complete(h.rtcp_from_subscriber(0, nack))
    loop.run_until_complete(h.settle())
    again = h.subscribers[0].rtp_sent()
    assert len(again) == 1 and again[0] == outs[1]
    kf = h.counters.keyframe_requests_sent
    pli = bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=77, media_ssrc=c.ssrc))
    loop.run_until_complete(h.rtcp_from_subscriber(0, pli))
    loop.run_until_complete(h.settle())
    assert h.counters.keyframe_requests_sent == kf + 1
    assert any(p[1] == 206 for p in h.publisher.rtcp_sent())  # the PLI went upstream
    _no_hook_errors(h)


# -- rtp_rewrite directly ----------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=80), ext_id=st.integers(0, 255), table=st.binary(min_size=256, max_size=256))
def test_rewrite_functions_never_raise_or_resize(data, ext_id, table):
    for f in (rw.find_extension,):
        at = f(data, ext_id)
        assert at == -1 or 0 <= at < len(data) or at == len(data)
    rw.audio_level(data, ext_id)
    buf = bytearray(data)
    rw.translate_extensions(buf, table)
    assert len(buf) == len(data)
    lay = reference_layout(data)
    if lay is not None:
        # nothing outside the extension block changed
        assert buf[:12] == data[:12] and buf[lay[0] :] == data[lay[0] :]
    for codec in ("vp8", "h264", "opus"):
        rw.is_keyframe(codec, data)
    if len(data) >= 12:
        b = bytearray(data)
        rw.write_header(b, 100, 65535, 2**32 - 1, 42)
        assert rw.read_header(b) == (100, 65535, 2**32 - 1, 42) and b[12:] == data[12:]


# -- the receive path (RFC 7983 demultiplexing, no queue) -----------------------------------


def test_srtp_datagrams_are_forwarded_from_the_socket_callback(loop):
    async def run():
        h = await Harness(subscribers=2, real_srtp=True, real_socket=False).start()
        try:
            h.start_receiving()
            pkt = rtp_packet(
                1, 1, PUB_VIDEO_SSRC, PT_VP8, vp8_payload(True, 1), extensions=[(3, b"\x01\x02\x03"), (4, b"1")]
            )
            h.datagram(h.protect(pkt))
            # forwarded within the datagram callback: nothing awaited
            assert len(_subscriber_rtp(h)) == 2
            bad = h.protect(rtp_packet(2, 1, PUB_VIDEO_SSRC, PT_VP8, vp8_payload(False, 2)))
            h.datagram(bad[:-4] + b"\x00\x00\x00\x00")  # bad SRTP tag
            assert h.counters.dropped["srtp"] == 1
            # longer than pylibsrtp's 1500-byte buffer: pylibsrtp raises ValueError, which
            # must not escape the socket callback (nor end the connection)
            h.datagram(b"\x80" + bytes(3000))
            h.datagram(b"\x80\xc8" + bytes(3000))  # SRTCP-looking
            assert h.counters.dropped["srtp"] == 3
            h.clear()
            # the connection still forwards
            h.datagram(h.protect(rtp_packet(3, 3000, PUB_VIDEO_SSRC, PT_VP8, vp8_payload(False, 3))))
            assert len(_subscriber_rtp(h)) == 2
            h.datagram(b"\xff" + bytes(20))  # neither DTLS, STUN nor SRTP (RFC 7983): dropped
            assert h.counters.dropped["malformed"] == 1
            _no_hook_errors(h)
        finally:
            await h.close()

    loop.run_until_complete(run())


def test_a_subscriber_that_does_not_read_is_dropped_not_queued(loop, harness):
    """asyncio's datagram transports buffer without bound when the socket is full: the
    forwarding path drops instead (reason send_buffer_full), so delay cannot grow."""
    h = harness
    h.subscribers[0].wire.buffered = 1 << 20
    loop.run_until_complete(_good_video(h))
    assert h.subscribers[0].rtp_sent() == []
    assert len(h.subscribers[1].rtp_sent()) >= 1
    assert h.counters.dropped["send_buffer_full"] >= 1
    _no_hook_errors(h)


def test_a_nack_listing_the_whole_history_is_answered_within_budget(loop, harness):
    """Found while fuzzing RTCP: one well-formed NACK may list thousands of sequence
    numbers; the server resent every cached one (up to 1024 per RTCP packet): CPU and
    bandwidth amplification by a subscriber. Retransmissions are now budgeted."""
    from sfu.consumer import RETRANSMIT_BURST

    h = harness
    for _ in range(300):
        loop.run_until_complete(_good_video(h))
    c = h.consumer(0, "video-0")
    mine = [o for o in h.subscribers[0].rtp_sent() if struct.unpack_from("!I", o, 8)[0] == c.ssrc]
    seqs = sorted({struct.unpack_from("!H", o, 2)[0] for o in mine})
    h.clear()
    before = h.counters.retransmitted
    for _ in range(5):
        nack = bytes(RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=77, media_ssrc=c.ssrc, lost=seqs))
        loop.run_until_complete(h.rtcp_from_subscriber(0, nack))
    resent = h.counters.retransmitted - before
    assert 1 <= resent <= RETRANSMIT_BURST + 5  # 5 NACKs at once: the burst, barely refilled
    assert h.counters.dropped["nack_over_budget"] >= 5 * len(seqs) - resent - len(seqs)
    _no_hook_errors(h)


def test_an_upstream_loss_across_the_sequence_wrap_is_nacked_and_the_packet_forwarded(loop):
    """Packets 0xFFFE, 0xFFFF, 0 and 1 lost: the publisher is asked for all four (RFC 4585
    6.2.1, one NACK each side of the wrap), and the packet that revealed the loss is
    forwarded. Found by the native forwarding's random sittings: aiortc's NACK packing
    raised on the wrap, the packet dropped with a hook error."""
    h = loop.run_until_complete(Harness(subscribers=1).start())
    ext = [(3, b"\x01\x02\x03"), (4, b"1")]
    for seq, keyframe in ((0xFFFC, True), (0xFFFD, False), (2, False)):
        payload = vp8_payload(keyframe, 5)
        loop.run_until_complete(h.rtp(rtp_packet(seq, 9000, PUB_VIDEO_SSRC, PT_VP8, payload, extensions=ext)))
    loop.run_until_complete(h.settle())
    loop.run_until_complete(h.close())
    _no_hook_errors(h)
    c = h.consumer(0, "video-0")
    outs = [o for o in h.subscribers[0].rtp_sent() if struct.unpack_from("!I", o, 8)[0] == c.ssrc]
    assert len(outs) == 3  # the packet after the gap too
    asked = []
    for data in h.publisher.rtcp_sent():
        for packet in RtcpPacket.parse(data):
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                asked += packet.lost
    assert asked == [0xFFFE, 0xFFFF, 0, 1]
