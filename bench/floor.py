"""The floor of the forwarding path (issue 17): ``python -m bench.forwarding``.

What one forwarded packet costs on the way out — RTP header rewrite, SRTP protect,
send — on the paths Séance has, against the system call alone, each row in the CPU time
of this process (``time.process_time``: user and kernel, so the loopback delivery the
kernel does in the sender's context is in every row):

- ``sendmmsg``: ready datagrams sent in batches by C (``sfu._forward.send_batch``), nothing
  else: the floor a native forwarder cannot go under;
- ``native``: one consumer's batch through ``sfu._forward`` (rewrite, libsrtp2, sendmmsg),
  :class:`sfu.forwarding.NativePath`;
- ``fanout``: each packet to ``fan-out`` consumers (each its own mapper, SRTP session and
  socket, as subscribers are) by ONE ``sfu._forward.fanout`` call: rewrite, libsrtp2, one
  ``sendto`` per consumer; the C part of the Router's native path, no Python bookkeeping;
- ``sendto``: ready datagrams, one Python ``socket.sendto`` each: the floor of a
  per-packet Python path;
- ``python``: the same batch through :class:`sfu.forwarding.PythonPath`, the steps of
  ``Consumer.forward`` today (rewrite, pylibsrtp, one ``sendto`` per packet);
- ``router-python`` and ``router-native``: the real Router in process
  (``bench.forwarding.Harness``: a publisher's video packet through ``Producer.on_rtp``
  to ``fan-out`` subscribers, real SRTP, real UDP sockets to a sink), per forwarded packet,
  the producer's share included: with ``forwarding = "python"`` (``Consumer.forward``
  per consumer, pylibsrtp, the event loop's transport) and ``"native"``
  (``Consumer.fan_out``: one ``fanout`` call per packet, then one loop of bookkeeping).

Packets are VP8 video of ``--size`` bytes of payload with an abs-send-time extension,
fresh sequence numbers every batch; a sink socket on 127.0.0.1 is drained between
batches, outside the timed part. Bounded in packets and in seconds per row.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sfu import forwarding
from sfu.forwarding import NativePath, PythonPath
from sfu.rtp_rewrite import SequenceMapper, payload_offset, vp8_descriptor
from sfu.transport.srtp import PROFILES, Profile

OUT_SSRC = 0x5EA4CE01
OUT_PT = 100
PROFILE_NAMES = {
    "cm128": b"SRTP_AES128_CM_SHA1_80",
    "gcm128": b"SRTP_AEAD_AES_128_GCM",
    "gcm256": b"SRTP_AEAD_AES_256_GCM",
}
ROWS = ("sendmmsg", "native", "fanout", "sendto", "python", "router-python", "router-native")


@dataclass
class Row:
    path: str
    what: str
    packets: int  # packets handed to the path
    sent: int  # datagrams that left (forwarded, for the router row)
    cpu_s: float
    us_per_packet: float | None  # CPU µs per datagram sent; None: not measured

    def line(self) -> str:
        us = "—" if self.us_per_packet is None else f"{self.us_per_packet:.2f}"
        return f"| {self.path} | {self.what} | {self.sent:,} | {us} |"


class Sink:
    """A receiving socket on 127.0.0.1 with a large buffer, drained between batches."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address = self.sock.getsockname()
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        self.out.bind(("127.0.0.1", 0))
        self.out.setblocking(False)

    def drain(self) -> int:
        got = 0
        while True:
            try:
                self.sock.recv(2048)
            except BlockingIOError:
                return got
            got += 1

    def close(self) -> None:
        self.sock.close()
        self.out.close()


def video_packet(seq: int, ts: int, pid: int, size: int) -> bytes:
    """A VP8 packet as a publisher sends it: abs-send-time, 15-bit PictureID, TL0PICIDX."""
    ext = struct.pack("!HH", 0xBEDE, 1) + bytes([0x22, 1, 2, 3])
    desc = bytes([0x90, 0xE0]) + struct.pack("!H", 0x8000 | (pid & 0x7FFF)) + bytes([pid & 0xFF, 0x40])
    return struct.pack("!BBHII", 0x90, 96, seq & 0xFFFF, ts & 0xFFFFFFFF, 0x22222222) + ext + desc + bytes(size)


def _profile(name: str) -> Profile:
    wanted = PROFILE_NAMES[name]
    for p in PROFILES:
        if p.openssl_name == wanted:
            return p
    raise SystemExit(f"SRTP profile {name} not available in this libsrtp")


def _timed(
    sink: Sink, batch: int, packets: int, deadline_s: float, step: Callable[[int], tuple[Any, Callable[[], int]]]
) -> tuple[int, int, float]:
    """Run ``step(first_index)`` (which prepares a batch and returns the call to time)
    until ``packets`` were handed over or ``deadline_s`` passed; the sink is drained
    after each batch, untimed. Returns (packets, sent, CPU seconds)."""
    done = sent = 0
    cpu = 0.0
    stop = time.monotonic() + deadline_s
    while done < packets and time.monotonic() < stop:
        _, call = step(done)
        t0 = time.process_time()
        sent += call()
        cpu += time.process_time() - t0
        done += batch
        sink.drain()
    return done, sent, cpu


def _consumer_rows(profile: Profile, packets: int, batch: int, size: int, deadline_s: float, fanout: int) -> list[Row]:
    key = bytes(range(profile.key_length + profile.salt_length))
    sink = Sink()
    rows: list[Row] = []
    native = forwarding.native_available()

    def bodies(first: int) -> list[bytes]:
        return [
            video_packet(1000 + first + j, 3000 * ((first + j) // 3), 1 + (first + j) // 3, size) for j in range(batch)
        ]

    vp8 = [vp8_descriptor(p, payload_offset(p))[1:] for p in bodies(0)]

    def readier() -> Callable[[int], list[bytes]]:
        """Protected datagrams, from a session of their own (indexes from the start)."""
        tx = PythonPath(profile.libsrtp, key).tx
        return lambda first: [tx.protect(p) for p in bodies(first)]

    try:
        if native:
            send_batch = forwarding.native.send_batch
            fd = sink.out.fileno()
            ready = readier()

            def sendmmsg_step(first: int) -> tuple[Any, Callable[[], int]]:
                data = ready(first)
                return data, lambda: send_batch(fd, sink.address, data)

            n, sent, cpu = _timed(sink, batch, packets, deadline_s, sendmmsg_step)
            rows.append(
                Row("sendmmsg", "C: ready datagrams, one sendmmsg per batch", n, sent, cpu, cpu / max(1, sent) * 1e6)
            )
            native_path = NativePath(profile.libsrtp, key)
            mapper = SequenceMapper(90000)
            mapper.switch(1000, 0, time.monotonic())

            def native_step(first: int) -> tuple[Any, Callable[[], int]]:
                data = bodies(first)
                now = time.monotonic()
                return (
                    data,
                    lambda: native_path.forward(sink.out, sink.address, mapper, data, vp8, OUT_PT, OUT_SSRC, now).sent,
                )

            n, sent, cpu = _timed(sink, batch, packets, deadline_s, native_step)
            rows.append(
                Row("native", "C: rewrite + libsrtp2 + sendmmsg (sfu._forward)", n, sent, cpu, cpu / max(1, sent) * 1e6)
            )
            rows.append(_fanout_row(profile, key, sink, bodies, vp8[0], packets, batch, fanout, deadline_s))
        else:
            for path, what in (("sendmmsg", "C sendmmsg loop"), ("native", "sfu._forward"), ("fanout", "fanout")):
                rows.append(Row(path, f"{what}: not built (libsrtp2-dev)", 0, 0, 0.0, None))

        ready_for_sendto = readier()

        def sendto_step(first: int) -> tuple[Any, Callable[[], int]]:
            data = ready_for_sendto(first)
            out, address = sink.out, sink.address

            def call() -> int:
                for d in data:
                    out.sendto(d, address)
                return len(data)

            return data, call

        n, sent, cpu = _timed(sink, batch, packets, deadline_s, sendto_step)
        rows.append(Row("sendto", "Python: ready datagrams, one sendto each", n, sent, cpu, cpu / max(1, sent) * 1e6))
        python_path = PythonPath(profile.libsrtp, key)
        mapper = SequenceMapper(90000)
        mapper.switch(1000, 0, time.monotonic())

        def python_step(first: int) -> tuple[Any, Callable[[], int]]:
            data = bodies(first)
            now = time.monotonic()
            return (
                data,
                lambda: python_path.forward(sink.out, sink.address, mapper, data, vp8, OUT_PT, OUT_SSRC, now).sent,
            )

        n, sent, cpu = _timed(sink, batch, packets, deadline_s, python_step)
        rows.append(
            Row(
                "python",
                "Python: rewrite + pylibsrtp + sendto (Consumer.forward's steps)",
                n,
                sent,
                cpu,
                cpu / max(1, sent) * 1e6,
            )
        )
    finally:
        sink.close()
    return rows


def _fanout_row(
    profile: Profile,
    key: bytes,
    sink: Sink,
    bodies: Callable[[int], list[bytes]],
    vp8: Any,
    packets: int,
    batch: int,
    fanout: int,
    deadline_s: float,
) -> Row:
    """``fanout`` consumers, each its own mapper, SRTP session and socket; each packet of
    a batch to all of them with one ``sfu._forward.fanout`` call."""
    socks = []
    try:
        jobs = []
        for i in range(fanout):
            out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(out)
            out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
            out.bind(("127.0.0.1", 0))
            out.setblocking(False)
            sender = forwarding.native.Sender(profile.libsrtp, key)
            sender.set_target(out.fileno(), sink.address)
            mapper = SequenceMapper(90000)
            mapper.switch(1000, 0, time.monotonic())
            jobs.append([sender, True, mapper, b"", OUT_PT, OUT_SSRC + i])
        fan_out = forwarding.native.fanout
        per_packet = max(1, batch // fanout)  # about ``batch`` datagrams between two drains

        def step(first: int) -> tuple[Any, Callable[[], int]]:
            data = bodies(first)[:per_packet]
            now = time.monotonic()
            calls = [[(*j[:3], d, *j[4:]) for j in jobs] for d in data]

            def call() -> int:
                sent = 0
                for packet_jobs in calls:
                    statuses = fan_out(packet_jobs, vp8, now)[0]
                    sent += statuses.count(0)  # SENT
                return sent

            return data, call

        n, sent, cpu = _timed(sink, per_packet, max(1, packets // fanout), deadline_s, step)
        return Row(
            "fanout",
            f"C: one fanout call per packet to {fanout} consumers (rewrite + libsrtp2 + sendto each)",
            n * fanout,
            sent,
            cpu,
            cpu / max(1, sent) * 1e6,
        )
    finally:
        for out in socks:
            out.close()


def _router_row(subscribers: int, path: str, result: dict[str, Any]) -> Row:
    if result.get("forwarding", path) != path:
        raise RuntimeError(f"the harness forwarded on the {result['forwarding']} path, not {path}")
    forwarded = int(result["forwarded"])
    us = float(result["us_per_forwarded"])
    how = "Consumer.fan_out, one fanout call" if path == "native" else "Consumer.forward each"
    return Row(
        f"router-{path}",
        f"the Router in process: Producer.on_rtp → {how}, fan-out {subscribers}",
        int(result["incoming"]),
        forwarded,
        us * forwarded / 1e6,
        us,
    )


def measure(
    packets: int = 20000,
    batch: int = 32,
    size: int = 1000,
    profile: str = "gcm256",
    fanout: int = 10,
    seconds_per_row: float = 20.0,
    router: Callable[[int, int, Profile, str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every row of the table, as a JSON-ready report. ``router(fanout, packets, profile,
    forwarding)`` runs the in-process Router (``bench.forwarding``'s harness) for the last
    rows, on the Python path then the native one (when built)."""
    if packets < 1 or batch < 1 or fanout < 1:
        raise ValueError("packets, batch and fan-out must be positive")
    chosen = _profile(profile)
    rows = _consumer_rows(chosen, packets, batch, size, seconds_per_row, fanout)
    if router is not None:
        rows.append(_router_row(fanout, "python", router(fanout, packets, chosen, "python")))
        if forwarding.native_available():
            rows.append(_router_row(fanout, "native", router(fanout, packets, chosen, "native")))
        else:
            rows.append(Row("router-native", "the Router's native path: not built (libsrtp2-dev)", 0, 0, 0.0, None))
    return {
        "packets": packets,
        "batch": batch,
        "payload_bytes": size,
        "srtp_profile": chosen.openssl_name.decode(),
        "native_built": forwarding.native_available(),
        "rows": [asdict(r) for r in rows],
    }


def table(report: dict[str, Any]) -> str:
    head = (
        f"Forwarding floor: {report['payload_bytes']}-byte VP8 payloads, batches of {report['batch']}, "
        f"{report['srtp_profile']}, loopback sink; CPU µs per datagram sent (process time)\n\n"
        "| path | what | datagrams sent | µs per packet |\n| --- | --- | --: | --: |"
    )
    return "\n".join([head, *(Row(**r).line() for r in report["rows"])])
