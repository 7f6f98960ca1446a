"""A synthetic salle's media connection, on the transport Séance owns (issue 11, issue 17).

A salle is a :class:`SalleConnection`: the offerer side of
:class:`sfu.transport.connection.Connection` (ICE with aioice, DTLS with pyOpenSSL, SRTP
with pylibsrtp or the native step ``sfu._forward``), publishing with
:meth:`~sfu.transport.connection.Connection.offer`'s ``sending`` sections, or its answerer
side when a server offers (Janus's subscriber). No private name of aiortc, aioice or
pylibsrtp is used here: aiortc gives its public SDP classes, VP8/Opus payloaders
(``aiortc.codecs.get_encoder``) and RTCP packet classes, nothing else.

- Sending (:class:`OutStream`, :func:`bench.synthetic_salle.run_stream`): each frame of the pre-encoded sample,
  paced in real time, is packetized by aiortc's payloader; its packets get the header
  negotiated in the answer (payload type, ``mid`` and RFC 6464 audio-level extensions,
  or with ``--simulcast`` a layer's ``mid`` and ``rid``) and the delay trailer, then the
  whole frame is SRTP-protected by ``sfu._forward.Sender.protect`` and sent with one
  ``sendmmsg`` (``sfu._forward.send_batch``) on the nominated pair's socket
  (:meth:`SalleConnection.send_frame`). Without the extension, pylibsrtp and one
  ``sendto`` per packet (:meth:`~sfu.transport.connection.Connection.send_rtp`).
- Receiving: :meth:`SalleConnection.rtp_received` hands every unprotected RTP packet to
  the salle's probe (counted and timed, never parsed further); RTCP is read for PLI and
  FIR about a stream the salle sends (RFC 4585 section 6.3.1, RFC 5104 section 4.3.1),
  which make it jump to its next keyframe. A NACK is not answered (the fast client path
  it replaces did not either: a packet lost on the way in stays lost and counts).
- RTCP sent (:meth:`SalleConnection.reports`), once a second: a sender report per stream
  sent (RFC 3550 section 6.4.1) and a receiver report of the streams received (section
  6.4.2: cumulative loss and highest sequence; no jitter, no LSR), with an SDES CNAME, as
  a browser sends them (Séance's health, R7, counts what they acknowledge).
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp
from aiortc import sdp as aiortc_sdp
from aiortc.rtp import (
    RTCP_PSFB_PLI,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
)

from sfu import forwarding
from sfu.config import IceSettings
from sfu.library_surface import SendBufferFull
from sfu.metrics import SfuCounters
from sfu.transport.connection import Connection

URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#: seconds between the RTCP reports a salle sends (a browser sends about one a second)
REPORT_INTERVAL = 1.0
#: RFC 4585 6.3.1 PLI is RTCP_PSFB_PLI; RFC 5104 4.3.1 FIR is payload-specific fmt 4
PSFB_FIR = 4
#: seconds from 1900 (NTP) to 1970 (Unix), RFC 5905
NTP_EPOCH = 2208988800


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp (RFC 3550 section 4)."""
    t = time.time() + NTP_EPOCH
    return (int(t) << 32) | int((t % 1) * (1 << 32))


def rtp_header(payload_type: int, ssrc: int, elements: Iterable[tuple[int, bytes]]) -> bytearray:
    """An RTP header (RFC 3550 5.1; sequence number and timestamp 0, to be patched) with
    one-byte header extensions (RFC 8285 section 4.2), none when ``elements`` is empty."""
    header = bytearray(struct.pack("!BBHII", 0x80, payload_type & 0x7F, 0, 0, ssrc))
    body = b""
    for ext_id, value in elements:
        if not 0 < ext_id < 15 or not 0 < len(value) <= 16:
            raise ValueError(f"extension {ext_id} of {len(value)} bytes")
        body += bytes([(ext_id << 4) | (len(value) - 1)]) + value
    if body:
        body += b"\x00" * (-len(body) % 4)
        header[0] |= 0x10
        header += struct.pack("!HH", 0xBEDE, len(body) // 4) + body
    return header


@dataclass
class Negotiated:
    """What the answer (or the offer we answer) says of one m-section we send on."""

    mid: str
    codec: Any  # aiortc RTCRtpCodecParameters
    extensions: dict[str, int]  # uri -> id


def negotiated(description: str, index: int, codec_name: str) -> Negotiated:
    """The payload type (the first codec named ``codec_name``) and header extension ids
    of m-section ``index`` of ``description`` (parsed with aiortc's public SDP classes)."""
    media = aiortc_sdp.SessionDescription.parse(description).media[index]
    codec = next((c for c in media.rtp.codecs if c.name.lower() == codec_name.lower()), None)
    if codec is None:
        raise ValueError(f"m-section {index} has no {codec_name}")
    return Negotiated(media.rtp.muxId or str(index), codec, {e.uri: e.id for e in media.rtp.headerExtensions})


@dataclass
class OutStream:
    """One RTP stream a salle sends: its SSRC, sequence and sender-report counts."""

    ssrc: int
    kind: int  # the trailer's kind (0 audio, 1 video, a simulcast layer's)
    seq: int = field(default_factory=lambda: random.getrandbits(15))
    origin: int = field(default_factory=lambda: random.getrandbits(32))
    packets: int = 0
    octets: int = 0
    rtp_timestamp: int = 0
    ntp_timestamp: int = 0
    request_keyframe: Callable[[], None] | None = None


@dataclass
class SeqCount:
    """Packets counted of one received SSRC, and its extended highest sequence number
    (RFC 3550 appendix A.1): what a receiver report says, what a window's loss is."""

    count: int = 0
    base: int = -1
    top: int = -1
    last: int = -1
    cycles: int = 0

    def add(self, seq: int) -> None:
        if self.count == 0:
            self.base = self.top = self.last = seq
        elif (seq - self.last) & 0xFFFF < 0x8000:  # in order (or after a gap): RFC 3550 A.1
            if seq < self.last:
                self.cycles += 1
            self.last = seq
            self.top = self.cycles * 0x10000 + seq
        self.count += 1


class SalleLink:
    """The owner of a salle's connection (:class:`sfu.transport.owner.MediaOwner`): ICE
    gathers on the benchmark's own addresses only (127.0.0.1, or the namespace's veth
    address for Janus: never an address of eth0), no STUN or TURN server."""

    def __init__(self, addresses: list[str]) -> None:
        self.ice = IceSettings(listen_addresses=tuple(addresses), include_loopback=False)
        self.counters = SfuCounters()
        self.ended: str | None = None

    def receiver_started(self, receiver: Any, parameters: Any) -> None:
        pass  # received RTP is counted by SalleConnection.rtp_received, not routed

    def receiver_stopped(self, receiver: Any) -> None:
        pass

    def sender_started(self, sender: Any, parameters: Any) -> None:
        pass  # a salle sends with SalleConnection.send_frame

    def sender_stopped(self, sender: Any) -> None:
        pass

    def transport_closed(self) -> None:
        self.ended = "closed"

    def hook_error(self, where: str, exc: BaseException) -> None:
        self.counters.hook_errors[where] += 1


class SalleConnection(Connection):
    """One synthetic salle's connection to a server (or, for the zero of the delay, to
    another salle). ``probe`` counts: ``count_rtp(plain, life)``, ``count_sent(kind,
    t_ns, n)`` and ``send_dropped``."""

    def __init__(self, probe: Any, addresses: list[str], offerer: bool, rr_ssrc: int) -> None:
        self.link = SalleLink(addresses)
        super().__init__(self.link, offerer=offerer, forwarding="auto")
        self.probe = probe
        self.rr_ssrc = rr_ssrc
        self.life: dict[int, SeqCount] = {}
        self.streams: dict[int, OutStream] = {}
        self._fd: tuple[Any, int] | None = None  # (transport, its descriptor)

    # receiving ----------------------------------------------------------------------------
    def rtp_received(self, plain: bytes) -> None:
        if len(plain) >= 12:
            ssrc = int.from_bytes(plain[8:12], "big")
            st = self.life.get(ssrc)
            if st is None:
                st = self.life[ssrc] = SeqCount()
            st.add(int.from_bytes(plain[2:4], "big"))
        self.probe.handle_rtp(plain)

    def rtcp_received(self, plain: bytes) -> None:
        try:
            packets = RtcpPacket.parse(plain)
        except Exception:  # a compound that does not parse: dropped whole
            self.counters.dropped["malformed_rtcp"] += 1
            return
        for packet in packets:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, PSFB_FIR):
                stream = self.streams.get(packet.media_ssrc)
                if stream is not None and stream.request_keyframe is not None:
                    stream.request_keyframe()

    # sending ------------------------------------------------------------------------------
    def add_stream(self, stream: OutStream) -> OutStream:
        self.streams[stream.ssrc] = stream
        return stream

    def send_frame(self, packets: list[bytearray]) -> int:
        """SRTP-protect and send one frame's RTP packets now: natively, one ``sendmmsg``
        for the frame, or with pylibsrtp and a ``sendto`` each. Returns how many the
        socket did not take (counted as ``send_dropped``); raises ConnectionError when
        not connected."""
        if self.state != "connected":
            raise ConnectionError("not connected")
        native = self.native_tx
        if native is None:
            dropped = 0
            for packet in packets:
                try:
                    self.send_rtp(packet)
                except (SendBufferFull, pylibsrtp.Error, ValueError):  # full, or refused by SRTP
                    dropped += 1
            return dropped
        nominated = self.ice.nominated()
        if nominated is None:
            raise ConnectionError("ICE not connected")
        transport, address = nominated
        if transport.get_write_buffer_size() > 0:  # sending now would overtake what it holds
            return len(packets)
        known = self._fd
        if known is None or known[0] is not transport:
            known = self._fd = (transport, transport.get_extra_info("socket").fileno())
        protect = native.protect
        try:
            protected = [protect(p) for p in packets]
        except (forwarding.native.SrtpError, ValueError):  # longer than SRTP takes: counted, not sent
            return len(packets)
        return len(packets) - forwarding.native.send_batch(known[1], address, protected)

    async def reports(self, cname: str) -> None:
        """Once a second: a sender report per stream sent, a receiver report of the
        streams received, an SDES CNAME (RFC 3550 sections 6.4 and 6.5)."""
        try:
            while self.state in ("new", "connecting", "connected"):
                await asyncio.sleep(REPORT_INTERVAL)
                if self.state != "connected":
                    continue
                compound = b""
                for stream in list(self.streams.values()):
                    if stream.packets:
                        info = RtcpSenderInfo(
                            ntp_timestamp=stream.ntp_timestamp,
                            rtp_timestamp=stream.rtp_timestamp,
                            packet_count=stream.packets & 0xFFFFFFFF,
                            octet_count=stream.octets & 0xFFFFFFFF,
                        )
                        compound += bytes(RtcpSrPacket(ssrc=stream.ssrc, sender_info=info))
                received = [
                    RtcpReceiverInfo(
                        ssrc=ssrc,
                        fraction_lost=0,
                        packets_lost=max(0, st.top - st.base + 1 - st.count),
                        highest_sequence=st.top & 0xFFFFFFFF,
                        jitter=0,
                        lsr=0,
                        dlsr=0,
                    )
                    for ssrc, st in list(self.life.items())[:31]  # 5-bit report count
                ]
                if received or not compound:
                    compound += bytes(RtcpRrPacket(ssrc=self.rr_ssrc, reports=received))
                sources = [RtcpSourceInfo(ssrc=s, items=[(1, cname.encode())]) for s in list(self.streams)[:31]]
                compound += bytes(
                    RtcpSdesPacket(chunks=sources or [RtcpSourceInfo(self.rr_ssrc, [(1, cname.encode())])])
                )
                try:
                    self.send_rtcp(compound)
                except (ConnectionError, SendBufferFull):
                    pass
        except asyncio.CancelledError:
            pass
