"""An in-process forwarding harness: the real Router on the transport Séance owns, no network.

Used by the RTP/RTCP fuzz tests (``tests/sfu/test_sfu_fuzz.py``) and by the forwarding-path
micro-benchmarks (``python -m bench.forwarding``: the floor table of :mod:`bench.floor`, whose
last row is this harness; ``--harness``, ``--full``, ``--sitting``). One publisher salle ``s000`` (an audio and a
video Producer behind a real :class:`sfu.transport.connection.Connection`) and ``subscribers``
salles each with the standard receive slots (Consumers behind their own Connection). What
would be the network is replaced below each connection, through its public API:

- DTLS: no handshake; the connection is given its SRTP sessions as the handshake would give
  them (:meth:`~sfu.transport.connection.Connection.srtp_ready`): :class:`IdentitySrtp` (the
  packet as it is, to check the bytes forwarded) or real ``pylibsrtp`` sessions keyed by
  :func:`sfu.transport.srtp.sessions` (``real_srtp=True``, for timings);
- ICE: the connection's agent is a :class:`WireLink`, whose nominated pair is
  :class:`Capture` (records datagrams) or a real UDP socket towards a sink on 127.0.0.1
  (``real_socket=True``, for timings; the sink is drained between batches).

Packets enter where the connection has unprotected them: RTP into
:meth:`~sfu.transport.connection.Connection.rtp_received` (:meth:`Harness.rtp`), RTCP into
:meth:`~sfu.transport.connection.Connection.rtcp_received` (:meth:`Harness.rtcp_from_subscriber`,
:meth:`Harness.rtcp_from_publisher`); or, for the whole receive path, as SRTP datagrams through
aioice's socket protocol (:meth:`Harness.datagram`).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import aioice
import aioice.ice
from aiortc.rtcrtpparameters import (
    RTCRtcpParameters,
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpReceiveParameters,
    RTCRtpSendParameters,
)

from bench import floor
from sfu.config import RouterConfig
from sfu.health import HealthMonitor
from sfu.peer import Peer
from sfu.router import Router
from sfu.rtp_rewrite import URI_ABS_SEND_TIME, URI_AUDIO_LEVEL, URI_MID
from sfu.slots import SEND_AUDIO, SEND_VIDEO, layout
from sfu.transport.connection import Connection, Receiver, Sender
from sfu.transport.ice import IceLink
from sfu.transport.sdp import SLOT, Section
from sfu.transport.srtp import Profile, local_key, profile_named, sessions

PUB_AUDIO_SSRC = 0x11111111
PUB_VIDEO_SSRC = 0x22222222
PUB_RTCP_SSRC = 0x33333333
#: publisher's ids (what Chromium offers) and subscribers' ids (different on purpose)
PUB_EXT = {1: URI_AUDIO_LEVEL, 4: URI_MID, 3: URI_ABS_SEND_TIME}
SUB_EXT = {URI_AUDIO_LEVEL: 10, URI_MID: 9, URI_ABS_SEND_TIME: 2}
PT_OPUS, PT_VP8, PT_RTX = 111, 96, 97
SUB_PT_OPUS, SUB_PT_VP8 = 109, 100  # the subscribers' own payload types
#: the SRTP profile and keying material of ``real_srtp`` (as a DTLS handshake would export)
SRTP_PROFILE = profile_named(b"SRTP_AES128_CM_SHA1_80")
assert SRTP_PROFILE is not None
SRTP_MATERIAL = bytes(range(2 * (SRTP_PROFILE.key_length + SRTP_PROFILE.salt_length)))


class IdentitySrtp:
    """Stands for a pylibsrtp.Session: same type checks, no encryption."""

    def protect(self, data: bytes) -> bytes:
        if not isinstance(data, bytes):
            raise TypeError("packet must be bytes")
        return data

    protect_rtcp = protect
    unprotect = protect
    unprotect_rtcp = protect


class Capture:
    """A datagram transport that records what is sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.transport = self  # what the nominated pair sends on
        self.addr = ("127.0.0.1", 9)

    buffered = 0  # what get_write_buffer_size() says (a test can fill it)

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.sent.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default  # no socket: the native path hands every datagram to sendto

    def is_closing(self) -> bool:
        return False


class SocketSink:
    """The event loop's own UDP transport (as aioice's sockets are), sending to a sink
    socket on 127.0.0.1 that :meth:`drain` empties between timed batches."""

    def __init__(self) -> None:
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.bind(("127.0.0.1", 0))
        self.sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        self.sink.setblocking(False)
        self.addr = self.sink.getsockname()
        self.sent: list[bytes] = []  # not recorded: counting only
        self.transport: Any = None

    async def open(self) -> None:
        self.transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )

    def drain(self) -> None:
        while True:
            try:
                self.sink.recv(2048)
            except BlockingIOError:
                return

    def close(self) -> None:
        self.sink.close()
        if self.transport is not None:
            self.transport.close()


class WireLink(IceLink):
    """The ICE agent of a harness connection: its nominated pair is ``wire`` (a
    :class:`Capture` or a :class:`SocketSink`), no candidate ever checked. What is sent goes
    through :meth:`IceLink.send_now` as on the network (the send-buffer bound included)."""

    wire: Any = None

    def nominated(self) -> tuple[Any, Any] | None:
        if self.wire is None or self.wire.transport is None:
            return None
        return self.wire.transport, self.wire.addr


@dataclass
class Side:
    """One peer of the harness: its connection and what went out of it."""

    peer: Peer
    connection: Connection
    wire: Any
    senders: dict[str, Any] = field(default_factory=dict)

    @property
    def sent(self) -> list[bytes]:
        return self.wire.sent

    def rtp_sent(self) -> list[bytes]:
        return [d for d in self.wire.sent if not (len(d) >= 2 and 192 <= d[1] <= 223)]

    def rtcp_sent(self) -> list[bytes]:
        return [d for d in self.wire.sent if len(d) >= 2 and 192 <= d[1] <= 223]


def srtp_sessions(client: bool = False, profile: Profile | None = None) -> tuple[Any, Any]:
    """(receive, send) sessions of the server's side, or of a client's (``client=True``:
    what it sends, the server's receive session unprotects); AES128_CM_SHA1_80, or ``profile``."""
    if profile is None:
        assert SRTP_PROFILE is not None
        return sessions(SRTP_PROFILE, SRTP_MATERIAL, is_client=client)
    return sessions(profile, srtp_material(profile), is_client=client)


def srtp_material(profile: Profile) -> bytes:
    """The keying material of ``real_srtp`` with ``profile``, as a handshake would export it."""
    return bytes(range(2 * (profile.key_length + profile.salt_length)))


class Harness:
    def __init__(
        self,
        subscribers: int = 2,
        real_srtp: bool = False,
        real_socket: bool = False,
        config: RouterConfig | None = None,
        srtp_profile: Profile | None = None,
    ) -> None:
        self.srtp_profile = srtp_profile
        self.n = subscribers
        self.real_srtp = real_srtp
        self.real_socket = real_socket
        self.router = Router(
            config
            or RouterConfig(
                keyframe_request_interval=0.0, keyframe_relay_interval=0.0, subscriber_keyframe_interval=0.0
            )
        )
        self.counters = self.router.counters
        self.publisher: Side | None = None
        self.subscribers: list[Side] = []
        self.receivers: dict[str, Any] = {}
        self._protocol: Any = None
        self._client_tx: Any = None

    # building -----------------------------------------------------------------------
    def side(self, peer_id: str) -> Side:
        """A salle's peer, registered with the Router, its connection not yet keyed."""
        peer = Peer(self.router, peer_id, "salle", HealthMonitor(self.router.config.health))
        self.router.monitors[peer_id] = peer.health
        peer.health.connect()
        self.router.register_peer(peer)
        connection = Connection(
            peer, certificate=self.router.dtls_certificate, forwarding=self.router.config.forwarding, link=WireLink
        )
        peer.connection = connection
        wire = SocketSink() if self.real_socket else Capture()
        link = connection.ice
        assert isinstance(link, WireLink)
        link.wire = wire
        return Side(peer, connection, wire)

    def publish(self, side: Side, kind: str, parameters: RTCRtpReceiveParameters, rtcp_ssrc: int) -> None:
        """``side`` publishes a stream of ``kind`` (its Producer starts when keyed)."""
        receiver = Receiver(side.connection, kind, rtcp_ssrc, parameters.muxId)
        side.connection.receivers.append((receiver, parameters))
        side.peer.slots.append(SEND_AUDIO if kind == "audio" else SEND_VIDEO)

    def subscribe(self, side: Side) -> None:
        """``side`` receives the standard slots of a salle (its Consumers start when keyed)."""
        config = self.router.config
        for entry in layout("salle", config.video_slots, config.audio_slots):
            if entry["direction"] != "recvonly":
                continue
            kind, slot = entry["kind"], entry["slot"]
            ssrc = random.getrandbits(32) | 1
            sender = Sender(side.connection, kind, Section(role=SLOT, slot=slot, ssrc=ssrc, rtx_ssrc=ssrc ^ 2))
            side.connection.senders.append((sender, self.send_parameters(kind, ssrc)))
            side.peer.sender_slots[id(sender)] = slot
            side.peer.slots.append(slot)
            side.senders[slot] = sender

    async def key(self, side: Side) -> Side:
        """What a finished DTLS handshake does: the connection gets its SRTP sessions, its
        streams start (and the socket of ``real_socket`` opens)."""
        if isinstance(side.wire, SocketSink):
            await side.wire.open()
        if self.real_srtp:
            rx, tx = srtp_sessions(profile=self.srtp_profile)
            profile = self.srtp_profile or SRTP_PROFILE
            assert profile is not None
            material = SRTP_MATERIAL if self.srtp_profile is None else srtp_material(profile)
            # the native send session (RouterConfig.forwarding) from the same key as ``tx``
            side.connection.srtp_ready(rx, tx, (profile.libsrtp, local_key(profile, material, is_client=False)))
        else:
            rx = tx = IdentitySrtp()  # no encryption: the Python path only
            side.connection.srtp_ready(rx, tx)
        return side

    async def start(self) -> Harness:
        pub = self.publisher = self.side("s000")
        self.router.set_president_salle("s000")
        self.publish(pub, "audio", self.audio_receive_parameters(), PUB_RTCP_SSRC)
        self.publish(pub, "video", self.video_receive_parameters(), PUB_RTCP_SSRC)
        await self.key(pub)
        for receiver, _ in pub.connection.receivers:
            self.receivers[receiver.kind] = receiver
        for i in range(1, self.n + 1):
            side = self.side(f"s{i:03d}")
            self.subscribe(side)
            self.subscribers.append(await self.key(side))
        self.router.reassign()
        return self

    @staticmethod
    def _exts(ids: dict[int, str]) -> list[RTCRtpHeaderExtensionParameters]:
        return [RTCRtpHeaderExtensionParameters(id=i, uri=u) for i, u in ids.items()]

    def audio_receive_parameters(self, ssrc: int = PUB_AUDIO_SSRC) -> RTCRtpReceiveParameters:
        return RTCRtpReceiveParameters(
            codecs=[RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=PT_OPUS)],
            headerExtensions=self._exts({1: URI_AUDIO_LEVEL, 4: URI_MID}),
            muxId="0",
            rtcp=RTCRtcpParameters(cname="pub", ssrc=PUB_RTCP_SSRC),
            encodings=[RTCRtpDecodingParameters(ssrc=ssrc, payloadType=PT_OPUS)],
        )

    def video_receive_parameters(self, ssrc: int = PUB_VIDEO_SSRC) -> RTCRtpReceiveParameters:
        return RTCRtpReceiveParameters(
            codecs=[
                RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=PT_VP8),
                RTCRtpCodecParameters(
                    mimeType="video/rtx", clockRate=90000, payloadType=PT_RTX, parameters={"apt": PT_VP8}
                ),
            ],
            headerExtensions=self._exts({3: URI_ABS_SEND_TIME, 4: URI_MID}),
            muxId="1",
            rtcp=RTCRtcpParameters(cname="pub", ssrc=PUB_RTCP_SSRC),
            encodings=[RTCRtpDecodingParameters(ssrc=ssrc, payloadType=PT_VP8)],
        )

    def send_parameters(self, kind: str, ssrc: int) -> RTCRtpSendParameters:
        if kind == "audio":
            codecs = [
                RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=SUB_PT_OPUS)
            ]
            exts = {SUB_EXT[URI_AUDIO_LEVEL]: URI_AUDIO_LEVEL, SUB_EXT[URI_MID]: URI_MID}
        else:
            codecs = [RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=SUB_PT_VP8)]
            exts = {SUB_EXT[URI_ABS_SEND_TIME]: URI_ABS_SEND_TIME, SUB_EXT[URI_MID]: URI_MID}
        return RTCRtpSendParameters(
            codecs=codecs,
            headerExtensions=self._exts(exts),
            muxId="2",
            rtcp=RTCRtcpParameters(cname=f"sub-{ssrc}", ssrc=ssrc),
        )

    # feeding ------------------------------------------------------------------------
    async def rtp(self, data: bytes) -> None:
        """One unprotected RTP packet of the publisher, as its connection hands it on."""
        assert self.publisher is not None
        self.publisher.connection.rtp_received(data)

    # the whole receive path: aioice's socket protocol, RFC 7983 demultiplexing, SRTP
    def start_receiving(self) -> None:
        """Make :meth:`datagram` deliver SRTP datagrams to the publisher's connection
        through aioice's ``StunProtocol`` (its STUN parse attempt included), as its socket
        does; :meth:`protect` protects as the publisher's browser would."""
        assert self.publisher is not None and self.real_srtp
        self._client_tx = srtp_sessions(client=True, profile=self.srtp_profile)[1]
        self._protocol = socket_protocol(self.publisher.connection)

    def protect(self, packet: bytes) -> bytes:
        return self._client_tx.protect(packet)

    def datagram(self, data: bytes) -> None:
        self._protocol.datagram_received(data, ("127.0.0.1", 5000))

    async def rtcp_from_subscriber(self, i: int, data: bytes) -> None:
        self.subscribers[i].connection.rtcp_received(data)

    async def rtcp_from_publisher(self, data: bytes) -> None:
        assert self.publisher is not None
        self.publisher.connection.rtcp_received(data)

    async def settle(self) -> None:
        """Let the tasks the hot path spawned (PLI, NACK, retransmissions) run."""
        for _ in range(3):
            await asyncio.sleep(0)

    def consumer(self, i: int, slot: str) -> Any:
        return self.subscribers[i].senders[slot].seance_handler

    def clear(self) -> None:
        for side in [self.publisher, *self.subscribers]:
            if side is not None:
                side.wire.sent.clear()

    async def close(self) -> None:
        await self.router.close()
        for side in [self.publisher, *self.subscribers]:
            if side is not None and isinstance(side.wire, SocketSink):
                side.wire.close()


def socket_protocol(connection: Connection) -> Any:
    """aioice's protocol of a host candidate's socket, delivering to ``connection``'s agent."""
    protocol = aioice.ice.StunProtocol(connection.ice)
    protocol.local_candidate = aioice.Candidate(
        foundation="1", component=1, transport="udp", priority=1, host="127.0.0.1", port=9, type="host"
    )
    protocol.transport = Capture()
    return protocol


# -- packets ---------------------------------------------------------------------------


def rtp_packet(
    seq: int,
    ts: int,
    ssrc: int,
    pt: int,
    payload: bytes,
    marker: int = 0,
    extensions: list[tuple[int, bytes]] = (),
    csrcs: tuple[int, ...] = (),
    padding: int = 0,
    two_byte: bool = False,
) -> bytes:
    """A well-formed RTP packet (RFC 3550, RFC 8285 one- or two-byte extensions)."""
    b0 = 0x80 | len(csrcs) | (0x20 if padding else 0)
    ext = b""
    if extensions or two_byte:
        b0 |= 0x10
        if two_byte:
            body = b"".join(bytes([i, len(v)]) + v for i, v in extensions)
            profile = 0x1000
        else:
            body = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in extensions)
            profile = 0xBEDE
        body += b"\x00" * (-len(body) % 4)
        ext = struct.pack("!HH", profile, len(body) // 4) + body
    head = struct.pack("!BBHII", b0, (marker << 7) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    head += b"".join(struct.pack("!I", c) for c in csrcs)
    pad = (bytes(padding - 1) + bytes([padding])) if padding else b""
    return head + ext + payload + pad


def vp8_payload(keyframe: bool, picture_id: int | None = 1, start: bool = True, size: int = 900) -> bytes:
    b0 = (0x80 if picture_id is not None else 0) | (0x10 if start else 0)
    out = bytes([b0])
    if picture_id is not None:
        out += bytes([0x80]) + struct.pack("!H", 0x8000 | (picture_id & 0x7FFF))
    body = b"\x00\x9d\x01\x2a" if keyframe else b"\x01\x00\x00\x00"
    return out + body + bytes(max(0, size - len(body)))


def opus_payload(size: int = 80) -> bytes:
    return b"\xfc" + bytes(size - 1)


# -- micro-benchmark ---------------------------------------------------------------------


def _config(forwarding: str) -> RouterConfig:
    """The harness's Router: key frames never throttled, the consumers on ``forwarding``."""
    return RouterConfig(
        forwarding=forwarding,
        keyframe_request_interval=0.0,
        keyframe_relay_interval=0.0,
        subscriber_keyframe_interval=0.0,
    )


async def _microbench(
    subscribers: int, packets: int, real: bool, profile: Profile | None = None, forwarding: str = "auto"
) -> dict[str, float]:
    """Video packets through ``Producer.on_rtp`` to ``subscribers`` consumers; with ``real``,
    real SRTP and sockets, the consumers on ``forwarding`` (native: the fan-out call)."""
    import gc

    h = await Harness(
        subscribers, real_srtp=real, real_socket=real, srtp_profile=profile, config=_config(forwarding)
    ).start()
    seq, ts = 1000, 5000
    await h.rtp(
        rtp_packet(seq, ts, PUB_VIDEO_SSRC, PT_VP8, vp8_payload(True, 1), extensions=[(3, b"\x01\x02\x03"), (4, b"1")])
    )
    await h.rtp(rtp_packet(seq, 960, PUB_AUDIO_SSRC, PT_OPUS, opus_payload(), extensions=[(1, b"\x20"), (4, b"0")]))
    await h.settle()
    batch = []
    for i in range(1, 501):
        batch.append(
            rtp_packet(
                seq + i,
                ts + 3000 * (i // 3),
                PUB_VIDEO_SSRC,
                PT_VP8,
                vp8_payload(False, 1 + i // 3),
                extensions=[(3, b"\x01\x02\x03"), (4, b"1")],
            )
        )
    out0 = sum(h.counters.packets_out.values())
    gc.collect()
    elapsed = 0.0
    fed = 0
    base = 0
    while fed < packets:
        # fresh sequence numbers every batch, so the path sees in-order packets
        shifted = [bytearray(p) for p in batch]
        for j, p in enumerate(shifted):
            struct.pack_into("!H", p, 2, (seq + base + j + 1) & 0xFFFF)
        shifted = [bytes(p) for p in shifted]
        base += len(batch)
        t0 = time.process_time()
        for p in shifted:
            await h.rtp(p)
        elapsed += time.process_time() - t0
        fed += len(shifted)
        for side in h.subscribers:
            if isinstance(side.wire, SocketSink):
                side.wire.drain()
            else:
                side.wire.sent.clear()
    out = sum(h.counters.packets_out.values()) - out0
    await h.close()
    return {
        "subscribers": subscribers,
        "incoming": fed,
        "forwarded": out,
        "us_per_incoming": elapsed / fed * 1e6,
        "us_per_forwarded": elapsed / max(1, out) * 1e6,
        "hook_errors": sum(h.counters.hook_errors.values()),
        "forwarding": "native" if h.subscribers and h.subscribers[0].connection.native_tx is not None else "python",
    }


async def _microbench_full(subscribers: int, packets: int) -> dict[str, float]:
    """From the UDP datagram to the UDP send: aioice's socket protocol, the connection's
    demultiplexing and SRTP unprotect, the fan-out, SRTP protect, sendto."""
    import gc

    h = await Harness(subscribers, real_srtp=True, real_socket=True).start()
    h.start_receiving()
    seq, ts = 1000, 5000
    exts = [(3, b"\x01\x02\x03"), (4, b"1")]
    h.datagram(h.protect(rtp_packet(seq, ts, PUB_VIDEO_SSRC, PT_VP8, vp8_payload(True, 1), extensions=exts)))
    h.datagram(
        h.protect(rtp_packet(seq, 960, PUB_AUDIO_SSRC, PT_OPUS, opus_payload(), extensions=[(1, b"\x20"), (4, b"0")]))
    )
    for _ in range(5):
        await asyncio.sleep(0.01)
    out0 = sum(h.counters.packets_out.values())
    in0 = sum(h.counters.packets_in.values())
    gc.collect()
    elapsed = 0.0
    fed = 0
    batch = 40
    while fed < packets:
        plain = [
            rtp_packet(
                seq + fed + j + 1,
                ts + 3000 * ((fed + j) // 3),
                PUB_VIDEO_SSRC,
                PT_VP8,
                vp8_payload(False, 1 + (fed + j) // 3),
                extensions=exts,
            )
            for j in range(batch)
        ]
        protected = [h.protect(p) for p in plain]
        t0 = time.process_time()
        for d in protected:
            h.datagram(d)
        for _ in range(batch + 2):
            await asyncio.sleep(0)
        elapsed += time.process_time() - t0
        fed += batch
        for side in h.subscribers:
            side.wire.drain()
    out = sum(h.counters.packets_out.values()) - out0
    got = sum(h.counters.packets_in.values()) - in0
    await h.close()
    return {
        "mode": "full",
        "subscribers": subscribers,
        "incoming": got,
        "forwarded": out,
        "us_per_incoming": elapsed / max(1, got) * 1e6,
        "us_per_forwarded": elapsed / max(1, out) * 1e6,
        "dropped": dict(h.counters.dropped),
        "hook_errors": sum(h.counters.hook_errors.values()),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    p = argparse.ArgumentParser(
        description="forwarding-path micro-benchmarks: by default the floor table (bench/floor.py); "
        "--harness, --fake, --full, --sitting: the Router in process (JSON)"
    )
    p.add_argument("--subscribers", type=int, default=10)
    p.add_argument("--packets", type=int, default=20000)
    p.add_argument("--fake", action="store_true", help="identity SRTP and a capture list instead of a socket")
    p.add_argument(
        "--full",
        action="store_true",
        help="from the datagram (aioice's socket protocol, SRTP unprotect) to sendto",
    )
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    p.add_argument(
        "--sitting",
        type=int,
        default=0,
        metavar="N",
        help="a whole sitting of N salles (full path, real sockets): the share of a core it needs",
    )
    p.add_argument("--media-seconds", type=float, default=4.0)
    p.add_argument(
        "--harness",
        action="store_true",
        help="the Router in process, JSON out (the default before the floor table)",
    )
    p.add_argument("--batch", type=int, default=32, help="floor table: packets per batch of one consumer")
    p.add_argument("--size", type=int, default=1000, help="floor table: VP8 payload bytes")
    p.add_argument("--profile", choices=sorted(floor.PROFILE_NAMES), default="gcm256", help="floor table: SRTP")
    p.add_argument("--seconds-per-row", type=float, default=20.0, help="floor table: bound on each row")
    p.add_argument("--json", action="store_true", help="floor table: the report as JSON")
    args = p.parse_args(argv)
    if args.loop == "uvloop":
        import uvloop

        runner = uvloop.run
    else:
        runner = asyncio.run
    if not (args.sitting or args.full or args.harness or args.fake):
        report = floor.measure(
            packets=args.packets,
            batch=args.batch,
            size=args.size,
            profile=args.profile,
            fanout=args.subscribers,
            seconds_per_row=args.seconds_per_row,
            router=lambda n, count, profile, path: runner(_microbench(n, count, True, profile, path)),
        )
        report["loop"] = args.loop
        print(json.dumps(report) if args.json else floor.table(report))
        return 0
    if args.sitting:
        result = runner(_sitting(args.sitting, args.media_seconds, args.loop == "uvloop"))
    elif args.full:
        result = runner(_microbench_full(args.subscribers, args.packets))
    else:
        result = runner(_microbench(args.subscribers, args.packets, not args.fake))
    result["loop"] = args.loop
    result["pid"] = os.getpid()
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}))
    return 0


# -- a whole sitting in one process --------------------------------------------------------


async def _sitting(salles: int, seconds_of_media: float, uv: bool) -> dict[str, Any]:
    """N salles, each one peer publishing audio (50 packets/s) and video (100 packets/s)
    and receiving the standard slots, through the full path from the datagram (SRTP
    unprotect) to sendto on real sockets; the Router's own policy assigns the slots (salle
    0 presides, salles 1..3 are the loudest voices, salle 1 speaks). Reports the CPU one
    second of such a sitting costs: the share of a core the forwarding path needs, without
    the event loop's receive cost per datagram (bench/loopbench.py) nor per-peer timers."""
    import gc

    h = Harness(0, real_srtp=True, real_socket=True)
    router = h.router
    router.set_president_salle("s000")
    clients = []
    for i in range(salles):
        side = h.side(f"s{i:03d}")
        h.publish(side, "audio", h.audio_receive_parameters(PUB_AUDIO_SSRC + i * 16), PUB_RTCP_SSRC + i)
        h.publish(side, "video", h.video_receive_parameters(PUB_VIDEO_SSRC + i * 16), PUB_RTCP_SSRC + i)
        h.subscribe(side)
        await h.key(side)
        clients.append((side, socket_protocol(side.connection), srtp_sessions(client=True)[1]))
    exts_v = [(3, b"\x01\x02\x03"), (4, b"1")]
    now = time.monotonic()

    def round_of(r: int, keyframe: bool) -> list[tuple[Any, bytes]]:
        out = []
        for i, (_side, protocol, tx) in enumerate(clients):
            level = 20 if i == 1 else (40 + i if i < 4 else 110)
            out.append(
                (
                    protocol,
                    tx.protect(
                        rtp_packet(
                            r,
                            960 * r,
                            PUB_AUDIO_SSRC + i * 16,
                            PT_OPUS,
                            opus_payload(),
                            extensions=[(1, bytes([level])), (4, b"0")],
                        )
                    ),
                )
            )
            for k in (0, 1):
                out.append(
                    (
                        protocol,
                        tx.protect(
                            rtp_packet(
                                2 * r + k,
                                1800 * r,
                                PUB_VIDEO_SSRC + i * 16,
                                PT_VP8,
                                vp8_payload(keyframe and k == 0, 2 * r + k, size=1000),
                                extensions=exts_v,
                            )
                        ),
                    )
                )
        return out

    for r in range(1, 60):  # speaker detection and slots settle, every video slot switched
        for protocol, data in round_of(r, keyframe=(r % 20 == 1)):
            protocol.datagram_received(data, ("127.0.0.1", 5000))
        router.tick(now + r * 0.02)
        await asyncio.sleep(0)
    for side, _, _ in clients:
        side.wire.drain()
    rounds = int(seconds_of_media * 50)
    out0 = sum(router.counters.packets_out.values())
    in0 = sum(router.counters.packets_in.values())
    gc.collect()
    elapsed = 0.0
    for r in range(60, 60 + rounds):
        batch = round_of(r, keyframe=False)
        t0 = time.process_time()
        for protocol, data in batch:
            protocol.datagram_received(data, ("127.0.0.1", 5000))
        elapsed += time.process_time() - t0
        if r % 5 == 0:
            t0 = time.process_time()
            router.tick(now + r * 0.02)  # the 4 Hz tick, here 10 Hz: a little more than real
            elapsed += time.process_time() - t0
            for side, _, _ in clients:
                side.wire.drain()
            await asyncio.sleep(0)
    fwd = sum(router.counters.packets_out.values()) - out0
    inc = sum(router.counters.packets_in.values()) - in0
    await h.close()
    return {
        "mode": "sitting",
        "salles": salles,
        "media_seconds": seconds_of_media,
        "incoming_pps": round(inc / seconds_of_media),
        "forwarded_pps": round(fwd / seconds_of_media),
        "core_share_pct": round(100 * elapsed / seconds_of_media, 1),
        "us_per_forwarded": round(elapsed / max(1, fwd) * 1e6, 2),
        "dropped": dict(router.counters.dropped),
        "hook_errors": sum(router.counters.hook_errors.values()),
    }


if __name__ == "__main__":
    raise SystemExit(main())
