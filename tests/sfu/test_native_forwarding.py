"""The two forwarding paths of a Consumer's batch (sfu.forwarding, issue 17): the native
one (sfu._forward: C, libsrtp2, sendmmsg) and the pure-Python one put the SAME bytes on
the wire for the same input, sent over real UDP sockets on 127.0.0.1 and read back by a
receiving socket, then decrypted with a pylibsrtp Session and checked for what the
rewrite must give (continuous sequence numbers, timestamps and VP8 picture ids across a
source or layer switch, wrap-around, the consumer's SSRC and payload type).

The native extension must be built here (``make install-test``; Debian's gcc,
python3-dev and libsrtp2-dev, ``make system-deps``): without it these tests fail."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pylibsrtp import Policy, Session

from bench.forwarding import (
    PT_OPUS,
    PT_VP8,
    PUB_AUDIO_SSRC,
    PUB_VIDEO_SSRC,
    Harness,
    opus_payload,
    rtp_packet,
    vp8_payload,
)
from sfu import consumer as consumer_module
from sfu import forwarding
from sfu import producer as producer_module
from sfu.config import RouterConfig
from sfu.forwarding import BatchResult, NativePath, PythonPath, forwarding_path
from sfu.router import Router
from sfu.rtp_rewrite import SequenceMapper, payload_offset, vp8_descriptor
from sfu.transport.srtp import PROFILES, Profile, policy

ROOT = Path(__file__).resolve().parents[2]
OUT_SSRC = 0xC0FFEE01
OUT_PT = 100
SOURCE_A, SOURCE_B = 0x0A0A0A0A, 0x0B0B0B0B


def vp8_packet(
    seq: int, ts: int, ssrc: int, pid: int | None, tl0: int | None, *, wide: bool = True, size: int = 900, marker=0
) -> bytes:
    """An RTP packet (abs-send-time in a one-byte extension block) carrying a VP8 payload
    descriptor (RFC 7741 section 4.2) with a 7- or 15-bit PictureID and a TL0PICIDX."""
    b1 = (0x80 if pid is not None else 0) | (0x40 if tl0 is not None else 0) | (0x20 if tl0 is not None else 0)
    desc = bytes([0x90, b1])
    if pid is not None:
        desc += struct.pack("!H", 0x8000 | (pid & 0x7FFF)) if wide else bytes([pid & 0x7F])
    if tl0 is not None:
        desc += bytes([tl0 & 0xFF, 0x40])  # TL0PICIDX, then TID/Y/KEYIDX
    ext = struct.pack("!HH", 0xBEDE, 1) + bytes([0x22, 1, 2, 3])
    head = struct.pack("!BBHII", 0x90, (marker << 7) | 96, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    return head + ext + desc + b"\x01\x00\x00" + bytes(size)


def descriptor(packet: bytes) -> tuple[int, int, int] | None:
    """What Producer.on_rtp gives its consumers: None for a packet that is not VP8 (Opus, 111)."""
    if packet[1] & 0x7F == 111:
        return None
    _, pid_at, bits, tl0_at = vp8_descriptor(packet, payload_offset(packet))
    return pid_at, bits, tl0_at


class Wire:
    """A sending socket and a receiving one on 127.0.0.1 (large buffer, bounded reads)."""

    def __init__(self) -> None:
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 23)
        self.sink.bind(("127.0.0.1", 0))
        self.sink.settimeout(2.0)
        self.address = self.sink.getsockname()
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.out.bind(("127.0.0.1", 0))
        self.out.setblocking(False)

    def read(self, count: int) -> list[bytes]:
        return [self.sink.recv(2048) for _ in range(count)]

    def close(self) -> None:
        self.sink.close()
        self.out.close()


def key_of(profile: Profile) -> bytes:
    return bytes((7 * i + 3) & 0xFF for i in range(profile.key_length + profile.salt_length))


def run(kind: str, profile: Profile, steps: list[tuple]) -> tuple[list[bytes], list, tuple]:
    """Play ``steps`` on a fresh path and mapper (same seed: same random start):
    ("start", max_seq, max_ts, max_pid, max_tl0): where the output stream begins;
    ("switch", seq, ts, now); ("batch", packets, now). Returns what reached the sink,
    the batches' history entries, and the mapper's state at the end."""
    path = forwarding_path(kind, profile.libsrtp, key_of(profile))
    assert path.name == kind
    mapper = SequenceMapper(90000, random.Random(17))
    wire = Wire()
    got: list[bytes] = []
    entries: list = []
    try:
        for step in steps:
            if step[0] == "start":
                mapper.max_seq, mapper.max_ts, mapper.max_pid, mapper.max_tl0 = step[1:]
                continue
            if step[0] == "switch":
                mapper.switch(*step[1:])
                continue
            _, packets, now = step
            result = path.forward(
                wire.out, wire.address, mapper, packets, [descriptor(p) for p in packets], OUT_PT, OUT_SSRC, now
            )
            assert isinstance(result, BatchResult)
            assert result.unsent == 0
            entries.extend(result.entries)
            entries.append((result.sent, result.octets, result.refused))
            got += wire.read(result.sent)
    finally:
        wire.close()
    state = tuple(getattr(mapper, name) for name in SequenceMapper.__slots__)
    return got, entries, state


def decrypt(profile: Profile, wire: list[bytes]) -> list[bytes]:
    rx = Session(policy(profile.libsrtp, key_of(profile), Policy.SSRC_ANY_INBOUND))
    return [rx.unprotect(d) for d in wire]


def pid_of(plain: bytes) -> int:
    pid_at, bits, _ = vp8_descriptor(plain, payload_offset(plain))[1:]
    if bits == 15:
        return ((plain[pid_at] & 0x7F) << 8) | plain[pid_at + 1]
    return plain[pid_at] & 0x7F


def tl0_of(plain: bytes) -> int:
    return plain[vp8_descriptor(plain, payload_offset(plain))[3]]


def switch_scenario() -> list[tuple]:
    """The output stream and source A near every wrap (sequence 0xFFFx, timestamp 2^32,
    15-bit PictureID 0x7FFx, TL0PICIDX 0xFx), then a switch to source B (7-bit PictureIDs, its own sequence space) whose
    first batch also carries a packet from before the switch point."""
    a = [
        vp8_packet(0xFFF8 + i, 0xFFFFF000 + 3000 * (i // 2), SOURCE_A, 0x7FFC + i // 2, 250 + i // 4) for i in range(16)
    ]
    b = [vp8_packet(40000 + i, 123456 + 3000 * (i // 2), SOURCE_B, 120 + i // 2, 9, wide=False) for i in range(12)]
    late_b = vp8_packet(40000 - 5, 120000, SOURCE_B, 118, 9, wide=False)
    return [
        ("start", 0xFFFA, 0xFFFFF800, 0x7FFD, 0xFE),
        ("switch", 0xFFF8, 0xFFFFF000, 10.0),
        ("batch", a[:6], 10.0),
        ("batch", a[6:], 10.05),
        ("switch", 40000, 123456, 10.2),
        ("batch", [b[0], late_b, *b[1:6]], 10.2),
        ("batch", b[6:], 10.25),
    ]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.openssl_name.decode())
def test_both_paths_send_the_same_bytes_across_a_switch_and_every_wrap(profile):
    steps = switch_scenario()
    native_wire, native_entries, native_state = run("native", profile, steps)
    python_wire, python_entries, python_state = run("python", profile, steps)
    assert native_wire == python_wire
    assert native_entries == python_entries
    assert native_state == python_state

    plain = decrypt(profile, native_wire)
    assert len(plain) == 16 + 12  # the late packet of B was not sent
    seqs = [struct.unpack_from("!H", p, 2)[0] for p in plain]
    assert all((b - a) & 0xFFFF == 1 for a, b in pairwise(seqs))  # continuous across the switch
    assert all(p[1] & 0x7F == OUT_PT and struct.unpack_from("!I", p, 8)[0] == OUT_SSRC for p in plain)
    tss = [struct.unpack_from("!I", p, 4)[0] for p in plain]
    assert (tss[16] - tss[15]) & 0xFFFFFFFF == int((10.2 - 10.05) * 90000)  # wall-clock gap at the switch
    pids = [pid_of(p) for p in plain]
    assert all((b - a) & 0x7FFF in (0, 1) for a, b in pairwise(pids[:16]))
    assert pids[0] == 0x7FFE and any(pids[i] > pids[i + 1] for i in range(15))  # the 15-bit PictureID wrapped
    assert (pids[16] - pids[15]) & 0x7FFF == 1  # B's first picture follows A's last
    assert all(p & 0x7F == p for p in pids[16:])  # B's PictureIDs stay 7 bits wide
    assert seqs[0] == 0xFFFB and 0 in seqs  # so did the sequence number
    assert tss[0] == 0xFFFFF800 and any(tss[i] > tss[i + 1] for i in range(15))  # and the timestamp
    tl0s = [tl0_of(p) for p in plain]
    assert tl0s[0] == 0xFF and any(tl0s[i] > tl0s[i + 1] for i in range(15))  # TL0PICIDX wrapped too
    # the payload after the descriptor and the extension block are the source's
    source = [p for step in switch_scenario() if step[0] == "batch" for p in step[1] if p[8:12] != b"\x0b\x0b\x0b\x0b"]
    assert plain[0][12:20] == source[0][12:20]
    assert plain[0][-900:] == source[0][-900:]


def test_a_batch_longer_than_one_sendmmsg_and_a_packet_srtp_refuses():
    """More packets than one sendmmsg carries (sfu._forward.BATCH), and a packet longer
    than pylibsrtp protects (1356 bytes): refused by both, its history still kept, as
    Consumer.forward keeps it."""
    profile = PROFILES[-1]
    packets = [vp8_packet(100 + i, 9000 * i, SOURCE_A, 5 + i, None, size=700) for i in range(150)]
    packets[70] = vp8_packet(170, 9000 * 70, SOURCE_A, 75, None, size=1400)
    steps = [("switch", 100, 0, 1.0), ("batch", packets, 1.0)]
    native_wire, native_entries, native_state = run("native", profile, steps)
    python_wire, python_entries, python_state = run("python", profile, steps)
    assert native_wire == python_wire
    assert native_entries == python_entries
    assert native_state == python_state
    assert len(native_wire) == 149
    sent, octets, refused = native_entries[-1]
    assert (sent, refused) == (149, 1)
    assert octets == sum(len(p) for i, p in enumerate(packets) if i != 70)
    assert native_entries[70] is not None and native_entries[70][1] == 170


def test_audio_packets_without_a_vp8_descriptor():
    profile = PROFILES[0]
    opus = [struct.pack("!BBHII", 0x80, 111, 7 + i, 960 * i, SOURCE_A) + b"\xfc" + bytes(79 + i % 3) for i in range(20)]
    path_n = forwarding_path("native", profile.libsrtp, key_of(profile))
    path_p = forwarding_path("python", profile.libsrtp, key_of(profile))
    results = []
    for path in (path_n, path_p):
        mapper = SequenceMapper(48000, random.Random(3))
        mapper.switch(7, 0, 2.0)
        wire = Wire()
        try:
            result = path.forward(wire.out, wire.address, mapper, opus, [None] * len(opus), 109, OUT_SSRC, 2.0)
            results.append((wire.read(result.sent), result.entries))
        finally:
            wire.close()
    assert results[0] == results[1]
    assert all(e is not None and e[3:] == (0, 0) for e in results[0][1])
    plain = decrypt(profile, results[0][0])
    assert [p[1] for p in plain] == [109] * 20
    assert [p[12:] for p in plain] == [p[12:] for p in opus]


def test_the_setting_selects_the_path():
    profile = PROFILES[0]
    key = key_of(profile)
    assert forwarding.native_available()
    assert isinstance(forwarding_path("python", profile.libsrtp, key), PythonPath)
    assert isinstance(forwarding_path("native", profile.libsrtp, key), NativePath)
    assert isinstance(forwarding_path("auto", profile.libsrtp, key), NativePath)
    with pytest.raises(ValueError, match="forwarding must be one of"):
        forwarding_path("fast", profile.libsrtp, key)


def test_without_the_extension_auto_is_the_python_path_and_native_is_refused():
    """The extension absent (its import blocked in a fresh interpreter): the package
    still imports, "auto" gives the Python path, "native" says what is missing."""
    code = (
        "import sys; sys.modules['sfu._forward'] = None\n"
        "from sfu import forwarding\n"
        "from sfu.transport.srtp import PROFILES\n"
        "p = PROFILES[0]; key = bytes(p.key_length + p.salt_length)\n"
        "print(forwarding.native_available(), forwarding.forwarding_path('auto', p.libsrtp, key).name)\n"
        "try:\n"
        "    forwarding.forwarding_path('native', p.libsrtp, key)\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc)\n"
        "from sfu.config import RouterConfig\n"
        "from sfu.router import Router\n"
        "try:\n"
        "    Router(RouterConfig(forwarding='native'))\n"
        "except ValueError as exc:\n"
        "    print('router refused:', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "False python"
    assert lines[1].startswith("refused:") and "libsrtp2-dev" in lines[1]
    assert lines[2].startswith("router refused:") and "libsrtp2-dev" in lines[2]


def test_the_router_refuses_a_forwarding_it_does_not_know():
    with pytest.raises(ValueError, match="forwarding must be one of"):
        Router(RouterConfig(forwarding="fast"))


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple]:
    """Random sources and batches: switches anywhere in the sequence space, packets late,
    repeated or ahead of the source's highest, 7- or 15-bit PictureIDs, with or without
    TL0PICIDX, audio-like packets without a descriptor, batches across a sendmmsg."""
    steps: list[tuple] = [
        (
            "start",
            draw(st.integers(0, 0xFFFF)),
            draw(st.integers(0, 0xFFFFFFFF)),
            draw(st.integers(0, 0x7FFF)),
            draw(st.integers(0, 0xFF)),
        )
    ]
    now = 100.0
    for source in range(draw(st.integers(1, 3))):
        seq0 = draw(st.integers(0, 0xFFFF))
        ts0 = draw(st.integers(0, 0xFFFFFFFF))
        pid0 = draw(st.integers(0, 0x7FFF))
        wide = draw(st.booleans())
        tl0 = draw(st.one_of(st.none(), st.integers(0, 0xFF)))
        ssrc = 0x1000 + source
        now += draw(st.floats(0.0, 2.0))
        steps.append(("switch", seq0, ts0, now))
        for _ in range(draw(st.integers(1, 3))):
            offsets = draw(st.lists(st.integers(-0x9000, 0x9000), min_size=1, max_size=90))
            packets = []
            for off in offsets:
                if draw(st.integers(0, 9)) == 0:
                    packets.append(
                        struct.pack("!BBHII", 0x80, 111, (seq0 + off) & 0xFFFF, (ts0 + off) & 0xFFFFFFFF, ssrc)
                        + bytes(40)
                    )
                else:
                    packets.append(
                        vp8_packet(
                            seq0 + off,
                            ts0 + 3000 * (off // 3),
                            ssrc,
                            pid0 + off // 3,
                            None if tl0 is None else tl0 + off // 7,
                            wide=wide,
                            size=200,
                        )
                    )
            now += draw(st.floats(0.0, 0.5))
            steps.append(("batch", packets, now))
    return steps


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_both_paths_agree_on_random_switches_and_batches(steps):
    profile = PROFILES[0]
    assert run("native", profile, steps) == run("python", profile, steps)


def test_native_sends_to_ipv6_and_scoped_addresses_as_aioice_gives_them():
    """The nominated pair's address as aioice gives it: IPv6 with flow info and scope id,
    or a scoped link-local host (``fe80::…%eth0``, here ``::1%1``); an address that is no
    numeric host is refused, nothing sent."""
    sink = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    out = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sink.bind(("::1", 0))
        sink.settimeout(2.0)
        out.bind(("::1", 0))
        port = sink.getsockname()[1]
        send_batch = forwarding.native.send_batch
        assert send_batch(out.fileno(), ("::1", port, 0, 0), [b"one"]) == 1
        assert send_batch(out.fileno(), ("::1%1", port), [b"two"]) == 1
        assert [sink.recv(64), sink.recv(64)] == [b"one", b"two"]
        with pytest.raises(ValueError, match="numeric"):
            send_batch(out.fileno(), ("localhost", port), [b"three"])
    finally:
        sink.close()
        out.close()


# -- the fan-out call: one packet to many consumers (sfu._forward.fanout) -------------------


class Connections:
    """``count`` connections, each a native send session and a Python one from the same
    key (its own per connection), and one sending socket towards a shared sink."""

    def __init__(self, profile: Profile, count: int) -> None:
        self.profile = profile
        self.keys = [bytes((11 * c + 5 * i + 1) & 0xFF for i in range(len(key_of(profile)))) for c in range(count)]
        self.native = [forwarding.native.Sender(profile.libsrtp, k) for k in self.keys]
        self.python = [PythonPath(profile.libsrtp, k) for k in self.keys]
        self.wire = Wire()
        for sender in self.native:
            sender.set_target(self.wire.out.fileno(), self.wire.address)

    def close(self) -> None:
        self.wire.close()


@st.composite
def fanouts(draw: st.DrawFn) -> tuple[list[tuple], list[tuple]]:
    """Consumers (connection, payload type, SSRC, where its stream starts, when it
    switches to the source) and a source's packets: in order, late, repeated, ahead;
    some too long for SRTP; VP8 with 7- or 15-bit PictureIDs, or audio-like."""
    consumers = []
    for c in range(draw(st.integers(1, 6))):
        consumers.append(
            (
                draw(st.integers(0, 2)) if c else 0,  # several consumers may share a connection
                draw(st.sampled_from([96, 100, 127])),
                draw(st.integers(0, 0xFFFFFFFF)),
                (
                    draw(st.integers(0, 0xFFFF)),
                    draw(st.integers(0, 0xFFFFFFFF)),
                    draw(st.integers(0, 0x7FFF)),
                    draw(st.integers(0, 0xFF)),
                ),
                draw(st.integers(0, 20)),  # the packet at which it switches
            )
        )
    seq0, ts0, pid0 = draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFFFFFF)), draw(st.integers(0, 0x7FFF))
    wide = draw(st.booleans())
    packets = []
    for off in draw(st.lists(st.integers(-40, 60), min_size=1, max_size=40)):
        kind = draw(st.integers(0, 19))
        if kind == 0:
            packet = struct.pack("!BBHII", 0x80, 111, (seq0 + off) & 0xFFFF, ts0, 0x1234) + bytes(60)
        else:
            size = 1400 if kind == 1 else 300  # 1400: longer than SRTP protects here
            packet = vp8_packet(
                seq0 + off, ts0 + 3000 * (off // 3), 0x1234, pid0 + off // 3, off // 5, wide=wide, size=size
            )
        packets.append((packet, 100.0 + 0.01 * len(packets)))
    return consumers, packets


def play_fanout(profile: Profile, consumers: list[tuple], packets: list[tuple], native: bool) -> tuple:
    """Each packet to every consumer that switched already: by one fanout call, or by
    the Python path one consumer at a time. What reached the sink, per consumer what
    became of each packet, and the mappers' state."""
    conns = Connections(profile, 3)
    mappers = []
    for _, _, _, (max_seq, max_ts, max_pid, max_tl0), _ in consumers:
        m = SequenceMapper(90000, random.Random(5))
        m.max_seq, m.max_ts, m.max_pid, m.max_tl0 = max_seq, max_ts, max_pid, max_tl0
        mappers.append(m)
    outcome: list = []
    got: list[bytes] = []
    try:
        for i, (packet, now) in enumerate(packets):
            live = []
            for c, (conn, pt, ssrc, _, switch_at) in enumerate(consumers):
                if i == switch_at:
                    mappers[c].switch(
                        struct.unpack_from("!H", packet, 2)[0], struct.unpack_from("!I", packet, 4)[0], now
                    )
                if i >= switch_at:
                    live.append((c, conn, pt, ssrc))
            vp8 = descriptor(packet)
            if native:
                jobs = [(conns.native[conn], True, mappers[c], packet, pt, ssrc) for c, conn, pt, ssrc in live]
                statuses, entries, datagrams = forwarding.fan_out(jobs, vp8, now)
                assert not any(datagrams)  # every send was direct
                for (c, *_), status, entry in zip(live, statuses, entries, strict=True):
                    sent = status == forwarding.SENT
                    refused = status in (forwarding.SRTP_REFUSED, forwarding.TOO_LONG)
                    outcome.append((i, c, entry, int(sent), len(packet) if sent else 0, int(refused)))
            else:
                for c, conn, pt, ssrc in live:
                    r = conns.python[conn].forward(
                        conns.wire.out, conns.wire.address, mappers[c], [packet], [vp8], pt, ssrc, now
                    )
                    outcome.append((i, c, r.entries[0], r.sent, r.octets, r.refused))
            got += conns.wire.read(sum(o[3] for o in outcome[-len(live) :]) if live else 0)
    finally:
        conns.close()
    return got, outcome, [tuple(getattr(m, n) for n in SequenceMapper.__slots__) for m in mappers]


@settings(max_examples=40, deadline=None)
@given(fanouts())
def test_the_fanout_call_agrees_with_the_python_path_consumer_by_consumer(case):
    """Consumers with their own mapper, payload type, SSRC, SRTP session (some sharing a
    connection's), switching at different packets: ONE fanout call per packet puts the
    same bytes on the wire, gives the same history entries, the same sent / refused and
    leaves the same mapper state as the Python path per consumer."""
    consumers, packets = case
    profile = PROFILES[0]
    assert play_fanout(profile, consumers, packets, native=True) == play_fanout(
        profile, consumers, packets, native=False
    )


# -- the Router's fan-out: real Consumers in every state, both paths -------------------------


class Jammed:
    """The event loop's UDP transport of a subscriber's nominated pair, as it is after its
    socket said EAGAIN (which loopback never says: it frees a datagram's memory at once):
    while jammed it queues what it is given and its write buffer says so; released, it
    sends the queue in order on the real transport."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.queue: list[tuple[bytes, Any]] = []
        self.jammed = False

    def sendto(self, data: bytes, addr: Any = None) -> None:
        if self.jammed or self.queue:
            self.queue.append((bytes(data), addr))
        else:
            self.real.sendto(data, addr)

    def get_write_buffer_size(self) -> int:
        queued = sum(len(d) for d, _ in self.queue) + self.real.get_write_buffer_size()
        return max(queued, 1) if self.jammed else queued  # it holds the datagram EAGAIN refused

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.real.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self.real.is_closing()

    def release(self) -> None:
        self.jammed = False
        for data, addr in self.queue:
            self.real.sendto(data, addr)
        self.queue.clear()

    def close(self) -> None:
        self.real.close()


def read_all(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on a non-blocking socket (bounded)."""
    out = []
    for _ in range(10000):
        try:
            out.append(sock.recv(2048))
        except BlockingIOError:
            break
    return out


async def mixed_sitting(setting: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Six subscribers of one publisher's video and audio, over real loopback sockets and
    real SRTP, on the ``setting`` path, each video consumer in its own state: steady;
    paused then resumed (waits for a key frame); switched away and back (waits for a key
    frame); without the codec (``codec_mismatch``); its transport jammed (datagrams
    queued behind, then ``send_buffer_full`` past SEND_BUFFER_LIMIT); steady. A late
    packet from before the key frame the switching ones start on. Then every consumer
    answers a NACK of its last 40 packets (its history). Returns what each subscriber's
    socket received (RTP and RTX), the counters and the mappers."""
    random.seed(20261207)  # the subscribers' SSRCs
    ticks = iter(range(100000))
    clock = SimpleNamespace(monotonic=lambda: 50.0 + 0.02 * next(ticks))  # the same instants on both paths
    monkeypatch.setattr(producer_module, "time", clock)
    monkeypatch.setattr(consumer_module, "time", clock)
    config = RouterConfig(
        forwarding=setting,
        adaptation=False,
        keyframe_request_interval=0.0,
        keyframe_relay_interval=0.0,
        subscriber_keyframe_interval=0.0,
    )
    calls: list[int] = []  # jobs per native call
    if setting == "native":
        fan_out = forwarding.fan_out

        def counted(jobs: list, vp8: Any, now: float) -> Any:
            calls.append(len(jobs))
            return fan_out(jobs, vp8, now)

        monkeypatch.setattr(forwarding, "fan_out", counted)
    h = await Harness(6, real_srtp=True, real_socket=True, config=config).start()
    try:
        video = h.receivers["video"].seance_handler
        audio = h.receivers["audio"].seance_handler
        by_peer = {c.peer.peer_id: c for c in video.consumers}
        c = [by_peer[f"s{i:03d}"] for i in range(1, 7)]
        everyone = [*video.consumers, *audio.consumers]
        for k, consumer in enumerate(everyone):  # where each output stream starts
            consumer.mapper.max_seq, consumer.mapper.max_ts = 0xFFF0 + k, 0xFFFFF000 + 7 * k
            consumer.mapper.max_pid, consumer.mapper.max_tl0 = 0x7FF0 + k, 0xF0 + k
        assert (c[0].native_link is not None) == (setting == "native")
        c[3].payload_types.pop("vp8")
        jammed = h.subscribers[4].wire
        jammed.transport = Jammed(jammed.transport)
        ext_v, ext_a = [(3, b"\x01\x02\x03"), (4, b"1")], [(1, b"\x20"), (4, b"0")]
        seq = 0xFFD0
        for k in range(90):
            if k == 10:
                c[1].set_paused(True)
            if k == 25:
                c[1].set_paused(False)
            if k == 15:
                c[2].set_source(None)
                c[2].set_source(video)
            if k == 20:
                jammed.transport.jammed = True
            keyframe = k in (0, 45)
            payload = vp8_payload(keyframe, 0x7FF8 + k // 2, size=1200)
            await h.rtp(rtp_packet(seq + k, 3000 * (k // 2), PUB_VIDEO_SSRC, PT_VP8, payload, extensions=ext_v))
            if k == 50:  # late: before the key frame the switching consumers start on
                late = vp8_payload(False, 0x7FF8 + 20, size=1200)
                await h.rtp(rtp_packet(seq + 40, 3000 * 20, PUB_VIDEO_SSRC, PT_VP8, late, extensions=ext_v))
            if k % 3 == 0:
                await h.rtp(
                    rtp_packet(seq + k // 3, 960 * k, PUB_AUDIO_SSRC, PT_OPUS, opus_payload(), extensions=ext_a)
                )
        stats = h.router.stats()
        jammed.transport.release()
        for consumer in everyone:
            if consumer.packets_sent:
                last = consumer.mapper.max_seq
                consumer.retransmit([(last - i) & 0xFFFF for i in range(40)])
        for _ in range(5):
            await asyncio.sleep(0.01)
        received = []
        for side in h.subscribers:
            received.append([d for d in read_all(side.wire.sink) if not 192 <= d[1] <= 223])
        return {
            "received": received,
            "sent": [(x.packets_sent, x.octets_sent) for x in everyone],
            "mappers": [tuple(getattr(x.mapper, n) for n in SequenceMapper.__slots__) for x in everyone],
            "dropped": dict(stats["dropped"]),
            "retransmitted": h.counters.retransmitted,
            "hook_errors": stats["hook_errors"],
            "calls": calls,
        }
    finally:
        await h.close()


async def test_the_router_fan_out_gives_every_consumer_the_same_bytes_and_counters_on_both_paths(monkeypatch):
    """The Router's real forwarding (Producer.on_rtp → Consumer.fan_out): on the native
    path the steady consumers of a packet go through ONE fanout call, the others
    (paused, switching, awaiting a key frame, codec mismatch) through Consumer.forward;
    a jammed transport gets its datagrams queued behind what it holds, then dropped past
    the bound. Every subscriber's socket gets the same datagrams as on the Python path
    (SRTP with the same keys is deterministic), NACK answers from the history included,
    with the same counters and mapper state."""
    native = await mixed_sitting("native", monkeypatch)
    python = await mixed_sitting("python", monkeypatch)
    assert native["hook_errors"] == python["hook_errors"] == {}
    for reason in ("paused", "awaiting_keyframe", "codec_mismatch", "before_switch", "send_buffer_full"):
        assert python["dropped"].get(reason, 0) > 0, (reason, python["dropped"])
    assert native["dropped"] == python["dropped"]
    assert native["sent"] == python["sent"]
    assert native["mappers"] == python["mappers"]
    assert native["retransmitted"] == python["retransmitted"] > 0
    assert [len(r) for r in native["received"]] == [len(r) for r in python["received"]]
    assert native["received"] == python["received"]
    assert len(native["received"][4]) > 20  # the jammed one: its queue was sent in order after
    assert max(native["calls"]) >= 4  # steady consumers of a packet in one call


def test_a_socket_that_refuses_hands_the_protected_datagrams_back_in_order():
    """The kernel's EAGAIN (a full socket: here a datagram socket pair whose reader is
    late): fanout sends directly while the socket takes datagrams, then hands each
    protected datagram back (HANDOFF) for the transport's queue instead of losing it.
    What was sent and what was handed back is, in order, the stream the Python path
    sends; a job not ``direct`` (its transport holds bytes) is handed back unsent."""
    profile = PROFILES[0]
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    wire = Wire()
    try:
        a.setblocking(False)
        b.setblocking(False)
        sender = forwarding.native.Sender(profile.libsrtp, key_of(profile))
        sender.set_target(a.fileno(), None)  # a connected socket
        packets = [vp8_packet(1000 + i, 3000 * i, SOURCE_A, 5 + i, 1, size=600) for i in range(60)]
        mapper = SequenceMapper(90000, random.Random(1))
        mapper.switch(1000, 0, 1.0)
        statuses, stream = [], []
        for i, p in enumerate(packets):
            job = (sender, i < 50, mapper, p, OUT_PT, OUT_SSRC)
            status, _, datagrams = forwarding.fan_out([job], descriptor(p), 1.0)
            statuses.append(status[0])
            if status[0] == forwarding.SENT:
                stream.append(b.recv(2048))
            else:
                stream.append(datagrams[0])
        assert statuses[0] == forwarding.SENT
        first = statuses.index(forwarding.HANDOFF)
        assert all(s == forwarding.HANDOFF for s in statuses[first:])  # nobody reads: full from then on
        assert read_all(b) == []
        python = PythonPath(profile.libsrtp, key_of(profile))
        mapper = SequenceMapper(90000, random.Random(1))
        mapper.switch(1000, 0, 1.0)
        result = python.forward(
            wire.out, wire.address, mapper, packets, [descriptor(p) for p in packets], OUT_PT, OUT_SSRC, 1.0
        )
        assert stream == wire.read(result.sent)
    finally:
        a.close()
        b.close()
        wire.close()


def test_the_fanout_call_refuses_bad_jobs_before_doing_any():
    """A malformed job (not a Sender, a payload type or SSRC out of range, a body too short
    for RTP, VP8 offsets outside it) is refused before any job is done: nothing sent,
    no mapper changed."""
    profile = PROFILES[0]
    sender = forwarding.native.Sender(profile.libsrtp, key_of(profile))
    wire = Wire()
    try:
        sender.set_target(wire.out.fileno(), wire.address)
        mapper = SequenceMapper(90000, random.Random(1))
        mapper.switch(1000, 0, 1.0)
        before = tuple(getattr(mapper, n) for n in SequenceMapper.__slots__)
        good = vp8_packet(1000, 0, SOURCE_A, 5, 1, size=100)
        vp8 = descriptor(good)
        ok = (sender, True, mapper, good, OUT_PT, OUT_SSRC)
        bad = [
            ((object(), True, mapper, good, OUT_PT, OUT_SSRC), TypeError),
            ((sender, True, mapper, good, 128, OUT_SSRC), ValueError),
            ((sender, True, mapper, good, OUT_PT, 1 << 32), ValueError),
            ((sender, True, mapper, good[:11], OUT_PT, OUT_SSRC), ValueError),
            ((sender, True, mapper, good[:16], OUT_PT, OUT_SSRC), ValueError),  # cuts the descriptor
            ((sender, True, mapper, "text", OUT_PT, OUT_SSRC), TypeError),
            ((sender, True, mapper, good), TypeError),
            ((forwarding.native.Sender.__new__(forwarding.native.Sender), True, mapper, good, 0, 1), Exception),
        ]
        for job, error in bad:
            with pytest.raises(error):
                forwarding.fan_out([ok, job], vp8, 1.0)
        with pytest.raises(ValueError):
            forwarding.fan_out([ok], (10**6, 15, -1), 1.0)
        assert tuple(getattr(mapper, n) for n in SequenceMapper.__slots__) == before
        wire.sink.settimeout(0.2)
        with pytest.raises(TimeoutError):
            wire.sink.recv(2048)
        statuses, entries, datagrams = forwarding.fan_out([ok], vp8, 1.0)  # and then it works
        assert statuses == bytes([forwarding.SENT]) and entries[0][1] == 1000 and datagrams == [None]
    finally:
        wire.close()


async def test_a_closed_transport_s_descriptor_is_never_sent_to_directly():
    """aioice keeps a closed transport on its nominated pair; once closed, its descriptor
    number may be another socket's. The native path then hands its datagrams to the
    closed transport (which refuses them: ``send_error``, as on the Python path) instead
    of sending on that number: here the number is made another socket's (dup2), whose
    datagrams would reach the sink."""
    config = RouterConfig(forwarding="native", adaptation=False, keyframe_request_interval=0.0)
    h = await Harness(1, real_srtp=True, real_socket=True, config=config).start()
    thief = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        side = h.subscribers[0]
        ext = [(3, b"\x01\x02\x03"), (4, b"1")]
        await h.rtp(rtp_packet(100, 0, PUB_VIDEO_SSRC, PT_VP8, vp8_payload(True, 1), extensions=ext))
        await h.rtp(rtp_packet(101, 0, PUB_VIDEO_SSRC, PT_VP8, vp8_payload(False, 1), extensions=ext))
        assert len(read_all(side.wire.sink)) == 2  # sent directly on the transport's socket
        transport = side.wire.transport
        fd = transport.get_extra_info("socket").fileno()
        transport.close()
        for _ in range(3):
            await asyncio.sleep(0)  # connection_lost: the descriptor is closed
        thief.bind(("127.0.0.1", 0))
        os.dup2(thief.fileno(), fd)  # the number is now another socket's
        for i in range(5):
            await h.rtp(rtp_packet(102 + i, 3000, PUB_VIDEO_SSRC, PT_VP8, vp8_payload(False, 2), extensions=ext))
        assert read_all(side.wire.sink) == []
        # the closed transport refuses them, counted as the Python path counts it
        assert h.router.stats()["dropped"]["send_error"] == 5
    finally:
        thief.close()
        await h.close()


ACTIONS = ("pause", "resume", "away_and_back", "jam", "release")


@st.composite
def sitting_scripts(draw: st.DrawFn) -> list[tuple[bool, int, list[tuple[int, str]]]]:
    """Per publisher packet: a key frame or not, how late it is (0: in order; else a
    packet from that many before), and what happens to the consumers just before it."""
    script = []
    for k in range(draw(st.integers(5, 40))):
        keyframe = k == 0 or draw(st.integers(0, 7)) == 0
        late = 0 if k < 2 else draw(st.sampled_from([0, 0, 0, 0, 1, 3, 30]))
        events = draw(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(ACTIONS)), max_size=2))
        script.append((keyframe, late, events))
    return script


async def scripted_sitting(setting: str, script: list) -> dict[str, Any]:
    """Four subscribers of one publisher's video on ``setting``, through ``script``;
    what each subscriber's socket got, the counters and the mappers."""
    random.seed(7)
    ticks = iter(range(100000))
    clock = SimpleNamespace(monotonic=lambda: 80.0 + 0.02 * next(ticks))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(producer_module, "time", clock)
        mp.setattr(consumer_module, "time", clock)
        config = RouterConfig(forwarding=setting, adaptation=False, keyframe_request_interval=0.0)
        h = await Harness(4, real_srtp=True, real_socket=True, config=config).start()
        try:
            video = h.receivers["video"].seance_handler
            by_peer = {c.peer.peer_id: c for c in video.consumers}
            c = [by_peer[f"s{i:03d}"] for i in range(1, 5)]
            for k, consumer in enumerate(c):
                consumer.mapper.max_seq, consumer.mapper.max_ts = 0xFFF0 + k, 0xFFFFF000 + k
                consumer.mapper.max_pid, consumer.mapper.max_tl0 = 0x7FF0 + k, 0xF0 + k
            for side in h.subscribers:
                side.wire.transport = Jammed(side.wire.transport)
            ext = [(3, b"\x01\x02\x03"), (4, b"1")]
            for k, (keyframe, late, events) in enumerate(script):
                for i, action in events:
                    if action == "pause":
                        c[i].set_paused(True)
                    elif action == "resume":
                        c[i].set_paused(False)
                    elif action == "away_and_back":
                        c[i].set_source(None)
                        c[i].set_source(video)
                    elif action == "jam":
                        h.subscribers[i].wire.transport.jammed = True
                    else:
                        h.subscribers[i].wire.transport.release()
                n = max(0, k - late)
                payload = vp8_payload(keyframe, 0x7FF0 + n, size=1100)
                await h.rtp(rtp_packet(0xFFF0 + n, 3000 * n, PUB_VIDEO_SSRC, PT_VP8, payload, extensions=ext))
            stats = h.router.stats()
            for side in h.subscribers:
                side.wire.transport.release()
            for _ in range(3):
                await asyncio.sleep(0.01)
            return {
                "received": [[d for d in read_all(s.wire.sink) if not 192 <= d[1] <= 223] for s in h.subscribers],
                "sent": [(x.packets_sent, x.octets_sent) for x in c],
                "mappers": [tuple(getattr(x.mapper, n) for n in SequenceMapper.__slots__) for x in c],
                "dropped": dict(stats["dropped"]),
                "hook_errors": stats["hook_errors"],
            }
        finally:
            await h.close()


@settings(max_examples=12, deadline=None)
@given(sitting_scripts())
def test_random_consumer_states_give_the_same_wire_on_both_paths(script):
    """Random pauses, resumes, switches away and back, jammed and released transports,
    key frames and late packets, in the real Router: the native fan-out and the Python
    path give every subscriber the same datagrams, counters and mapper state."""
    native = asyncio.run(scripted_sitting("native", script))
    python = asyncio.run(scripted_sitting("python", script))
    assert native["hook_errors"] == python["hook_errors"] == {}
    assert native == python


def test_a_packet_too_long_with_its_descriptor_beyond_the_mtu_is_refused_its_state_kept():
    """A packet longer than SRTP protects whose VP8 descriptor lies beyond 1500 bytes (a
    long header extension block): both native calls refuse it as the Python path does,
    keep its history entry and PictureID state, and write nothing outside their buffers
    (before, the rewrite wrote at the descriptor's offset in a 1500-byte buffer)."""
    profile = PROFILES[0]
    ext = struct.pack("!HH", 0xBEDE, 420) + bytes([0x2F]) + bytes(16 * 4 * 26 + 15) + bytes(1680 - 16 * 4 * 26 - 16)
    assert len(ext) == 4 + 420 * 4
    desc = bytes([0x90, 0xE0]) + struct.pack("!H", 0x8000 | 300) + bytes([7, 0x40])
    long = struct.pack("!BBHII", 0x90, 96, 500, 9000, SOURCE_A) + ext + desc + bytes(200)
    vp8 = descriptor(long)
    assert vp8 is not None and vp8[0] > 1500
    short = vp8_packet(501, 9000, SOURCE_A, 301, 7, size=300)
    results = []
    for kind in ("python", "native", "fanout"):
        mapper = SequenceMapper(90000, random.Random(9))
        mapper.switch(500, 9000, 1.0)
        wire = Wire()
        try:
            if kind == "fanout":
                sender = forwarding.native.Sender(profile.libsrtp, key_of(profile))
                sender.set_target(wire.out.fileno(), wire.address)
                entries, sent = [], 0
                for p in (long, short):
                    statuses, got, _ = forwarding.fan_out(
                        [(sender, True, mapper, p, OUT_PT, OUT_SSRC)], descriptor(p), 1.0
                    )
                    entries += got
                    sent += statuses.count(forwarding.SENT)
                    assert statuses[0] in (forwarding.SENT, forwarding.TOO_LONG)
            else:
                path = forwarding_path(kind, profile.libsrtp, key_of(profile))
                r = path.forward(
                    wire.out, wire.address, mapper, [long, short], [vp8, descriptor(short)], OUT_PT, OUT_SSRC, 1.0
                )
                entries, sent = r.entries, r.sent
                assert r.refused == 1
            state = tuple(getattr(mapper, n) for n in SequenceMapper.__slots__)
            results.append((entries, wire.read(sent), state))
        finally:
            wire.close()
    assert results[0] == results[1] == results[2]
    entries, wire_bytes, _ = results[0]
    assert entries[0] is not None and len(wire_bytes) == 1  # the long one refused, its entry kept
