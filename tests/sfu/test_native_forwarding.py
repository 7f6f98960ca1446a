"""The two forwarding paths of a Consumer's batch (sfu.forwarding, issue 17): the native
one (sfu._forward: C, libsrtp2, sendmmsg) and the pure-Python one put the SAME bytes on
the wire for the same input, sent over real UDP sockets on 127.0.0.1 and read back by a
receiving socket, then decrypted with a pylibsrtp Session and checked for what the
rewrite must give (continuous sequence numbers, timestamps and VP8 picture ids across a
source or layer switch, wrap-around, the consumer's SSRC and payload type).

The native extension must be built here (``make install-test``; Debian's gcc,
python3-dev and libsrtp2-dev, ``make system-deps``): without it these tests fail."""

from __future__ import annotations

import random
import socket
import struct
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pylibsrtp import Policy, Session

from sfu import forwarding
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
