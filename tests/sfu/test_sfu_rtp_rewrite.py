"""RTP rewriting: continuity across a source switch, wrap-around, extensions, VP8."""

import itertools
import random
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from sfu.rtp_rewrite import (
    URI_ABS_SEND_TIME,
    URI_AUDIO_LEVEL,
    URI_MID,
    SequenceMapper,
    audio_level,
    extension_table,
    find_extension,
    is_keyframe,
    payload_offset,
    read_header,
    seq_newer,
    translate_extensions,
    vp8_descriptor,
    write_header,
)


def rtp(seq, ts, ssrc=1234, pt=96, marker=0, extensions=(), payload=b"\x90\x80\x80\x01\x00abc", csrcs=()):
    """Build an RTP packet with one-byte header extensions [(id, bytes)]."""
    b0 = 0x80 | len(csrcs)
    ext = b""
    if extensions:
        b0 |= 0x10
        body = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in extensions)
        body += b"\x00" * (-len(body) % 4)
        ext = struct.pack("!HH", 0xBEDE, len(body) // 4) + body
    head = struct.pack("!BBHII", b0, (marker << 7) | pt, seq, ts, ssrc)
    head += b"".join(struct.pack("!I", c) for c in csrcs)
    return head + ext + payload


def parse_one_byte_extensions(data):
    off = 12 + 4 * (data[0] & 0x0F)
    n = struct.unpack_from("!H", data, off + 2)[0] * 4
    i, end, out = off + 4, off + 4 + n, {}
    while i < end:
        b = data[i]
        if b == 0:
            i += 1
            continue
        ln = (b & 0xF) + 1
        out[b >> 4] = bytes(data[i + 1 : i + 1 + ln])
        i += 1 + ln
    return out


def test_header_rewrite_keeps_marker_and_payload():
    pkt = rtp(100, 5000, marker=1, csrcs=(7, 8))
    buf = bytearray(pkt)
    write_header(buf, 111, 65535, 0xFFFFFFFF, 42)
    assert read_header(buf) == (111, 65535, 0xFFFFFFFF, 42)
    assert buf[1] & 0x80
    assert buf[payload_offset(buf) :] == pkt[payload_offset(pkt) :]


def test_extensions_renumbered_and_mid_stripped_in_place():
    pkt = rtp(1, 1, extensions=[(1, b"\x85"), (4, b"0"), (3, b"\x01\x02\x03")])
    table = extension_table(
        {1: URI_AUDIO_LEVEL, 4: URI_MID, 3: URI_ABS_SEND_TIME},
        {URI_AUDIO_LEVEL: 5, URI_ABS_SEND_TIME: 3, URI_MID: 9},
    )
    buf = bytearray(pkt)
    translate_extensions(buf, table)
    assert len(buf) == len(pkt)
    assert parse_one_byte_extensions(buf) == {5: b"\x85", 3: b"\x01\x02\x03"}
    assert audio_level(bytes(buf), 5) == 5
    assert find_extension(bytes(buf), 4) == -1


def test_extension_not_negotiated_by_consumer_is_padded_out():
    pkt = rtp(1, 1, extensions=[(2, b"\x01\x02\x03")])
    buf = bytearray(pkt)
    translate_extensions(buf, extension_table({2: URI_ABS_SEND_TIME}, {}))
    assert parse_one_byte_extensions(buf) == {}


def test_audio_level_read():
    assert audio_level(rtp(1, 1, extensions=[(1, b"\xff")]), 1) == 127
    assert audio_level(rtp(1, 1, extensions=[(4, b"0"), (1, b"\x0a")]), 1) == 10
    assert audio_level(rtp(1, 1), 1) is None


def vp8(start=True, keyframe=True, picture_id=None, tl0=None):
    x = picture_id is not None or tl0 is not None
    b0 = (0x80 if x else 0) | (0x10 if start else 0)
    out = bytes([b0])
    if x:
        out += bytes([(0x80 if picture_id is not None else 0) | (0x40 if tl0 is not None else 0)])
        if picture_id is not None:
            out += struct.pack("!H", 0x8000 | picture_id)
        if tl0 is not None:
            out += bytes([tl0])
    return out + bytes([0x00 if keyframe else 0x01]) + b"\x9d\x01\x2a"


def test_vp8_keyframe_detection():
    assert is_keyframe("vp8", rtp(1, 1, payload=vp8(picture_id=300)))
    assert is_keyframe("vp8", rtp(1, 1, payload=vp8(), extensions=[(1, b"\x10")]))
    assert not is_keyframe("vp8", rtp(1, 1, payload=vp8(keyframe=False, picture_id=3)))
    assert not is_keyframe("vp8", rtp(1, 1, payload=vp8(start=False)))
    assert not is_keyframe("opus", rtp(1, 1, payload=vp8()))


def test_h264_keyframe_detection():
    assert is_keyframe("h264", rtp(1, 1, payload=b"\x65abc"))  # IDR
    assert is_keyframe("h264", rtp(1, 1, payload=b"\x78\x00\x02\x67\x00"))  # STAP-A with SPS
    assert is_keyframe("h264", rtp(1, 1, payload=b"\x7c\x85abc"))  # FU-A start of IDR
    assert not is_keyframe("h264", rtp(1, 1, payload=b"\x41abc"))


def feed(mapper, packets, now):
    return [mapper.map(s, t, now) for s, t in packets]


def test_switch_keeps_sequence_and_timestamp_continuous():
    m = SequenceMapper(90000, random.Random(1))
    m.switch(1000, 500_000, now=0.0)
    a = feed(m, [(1000 + i, 500_000 + 3000 * i) for i in range(10)], 0.0)
    m.switch(40000, 7_000_000, now=0.1)
    b = feed(m, [(40000 + i, 7_000_000 + 3000 * i) for i in range(10)], 0.1)
    seqs = [s for s, _ in a + b]
    assert all((seqs[i + 1] - seqs[i]) & 0xFFFF == 1 for i in range(len(seqs) - 1))
    gap = (b[0][1] - a[-1][1]) & 0xFFFFFFFF
    assert 8000 <= gap <= 10000  # about 0.1 s at 90 kHz
    ts = [t for _, t in b]
    assert all((ts[i + 1] - ts[i]) & 0xFFFFFFFF == 3000 for i in range(len(ts) - 1))


def test_packets_from_before_the_switch_point_are_refused():
    m = SequenceMapper(48000)
    m.switch(500, 0, now=0.0)
    assert m.map(499, 0, 0.0) is None
    assert m.map(500, 0, 0.0) is not None
    assert m.map(505, 0, 0.0) is not None
    assert m.map(503, 0, 0.0) is not None  # reordered after the switch point: fine


def test_wraparound_at_2_16_and_2_32():
    m = SequenceMapper(90000, random.Random(3))
    m.max_seq, m.max_ts, m.started = 0xFFFE, 0xFFFFFF00, True
    m.switch(10, 20, now=m.max_at)
    out = feed(m, [(10 + i, 20 + 100 * i) for i in range(5)], m.max_at)
    assert [s for s, _ in out] == [0xFFFF, 0, 1, 2, 3]
    assert out[0][1] == 0xFFFFFF01
    assert out[2][1] == (0xFFFFFF01 + 200) & 0xFFFFFFFF
    assert m.unmap_seq(1) == 12


def test_long_run_past_the_switch_point_keeps_mapping():
    m = SequenceMapper(48000, random.Random(5))
    m.switch(0, 0, now=0.0)
    last = None
    for i in range(0, 200_000, 7):
        out = m.map(i & 0xFFFF, (960 * i) & 0xFFFFFFFF, 0.0)
        assert out is not None
        if last is not None:
            assert (out[0] - last[0]) & 0xFFFF == 7
        last = out


@settings(max_examples=200, deadline=None)
@given(
    sources=st.lists(
        st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.integers(1, 40)),
        min_size=1,
        max_size=6,
    ),
    start_seq=st.integers(0, 0xFFFF),
    start_ts=st.integers(0, 0xFFFFFFFF),
)
def test_property_output_is_continuous_over_any_switches(sources, start_seq, start_ts):
    m = SequenceMapper(90000)
    m.max_seq, m.max_ts = start_seq, start_ts
    now = 0.0
    outs = []
    for seq0, ts0, count in sources:
        now += 0.05
        m.switch(seq0, ts0, now)
        for i in range(count):
            out = m.map((seq0 + i) & 0xFFFF, (ts0 + 3000 * i) & 0xFFFFFFFF, now)
            assert out is not None
            outs.append(out)
    for (s1, t1), (s2, t2) in itertools.pairwise(outs):
        assert (s2 - s1) & 0xFFFF == 1
        assert 0 < (t2 - t1) & 0xFFFFFFFF < 90000  # forward, never a jump back


def test_vp8_picture_id_continuous_across_switch():
    m = SequenceMapper(90000, random.Random(2))
    m.switch(1, 1, 0.0)
    pids = []
    for src_pid in (100, 101, 102):
        buf = bytearray(rtp(1, 1, payload=vp8(picture_id=src_pid, tl0=5)))
        m.rewrite_vp8(buf, payload_offset(buf))
        _, at, bits, _ = vp8_descriptor(buf, payload_offset(buf))
        pids.append(((buf[at] & 0x7F) << 8) | buf[at + 1])
    m.switch(50, 50, 0.1)
    for src_pid in (32760, 32761):
        buf = bytearray(rtp(50, 50, payload=vp8(picture_id=src_pid, tl0=200)))
        m.rewrite_vp8(buf, payload_offset(buf))
        _, at, bits, _ = vp8_descriptor(buf, payload_offset(buf))
        assert bits == 15
        pids.append(((buf[at] & 0x7F) << 8) | buf[at + 1])
    assert all((b - a) & 0x7FFF == 1 for a, b in itertools.pairwise(pids))


def test_seq_newer():
    assert seq_newer(1, 0xFFFF)
    assert not seq_newer(0xFFFF, 1)
    assert not seq_newer(5, 5)
