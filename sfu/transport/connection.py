"""One browser's connection to the server, on the transport Séance owns: ICE
(:mod:`.ice`), DTLS (:mod:`.dtls`), SRTP (:mod:`.srtp`), and what arrives
demultiplexed (RFC 7983) inside the socket callback:

- first byte 20..63: DTLS, to the handshake;
- 128..191 with an RTCP packet type (RFC 5761 section 4): SRTCP, unprotected, parsed
  with ``aiortc.rtp.RtcpPacket`` and routed with aiortc's ``RtpRouter`` to the Producer
  (sender reports of its stream) or Consumer (receiver reports, NACK, PLI, FIR, REMB
  about its stream) it concerns; a compound that does not parse or route is dropped
  whole (``malformed_rtcp``);
- 128..191 otherwise: SRTP, unprotected, checked (:func:`sfu.rtp_rewrite.rtp_layout`) and
  handed to the Producer of its stream (routed by SSRC, learned from the payload type
  for streams the offer did not announce, as the simulcast layers);
- anything else is dropped.

The endpoints Producers and Consumers are given (:class:`Receiver`, :class:`Sender`)
send synchronously: SRTP-protect, then ``sendto`` on the nominated pair's socket.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import aioice
import pylibsrtp
from aiortc import sdp as aiortc_sdp
from aiortc.rtcdtlstransport import RtpRouter

from .. import forwarding
from ..forwarding import NativePath, forwarding_path
from ..rtp_rewrite import rtp_layout
from ..simulcast import SimulcastOffer
from .certificate import Certificate
from .dtls import DtlsSrtp, DtlsState
from .ice import IceLink
from .owner import MediaOwner, RoutingHeader, route_compound
from .sdp import (
    PUBLISH,
    SLOT,
    LocalTransport,
    Section,
    negotiate,
    receive_parameters,
    send_parameters,
    write_answer,
    write_offer,
)

logger = logging.getLogger(__name__)

#: ICE must succeed within this (a browser that never checks is gone)
CONNECT_TIMEOUT_S = 30.0


#: a Peer or a cascade's upstream link
ConnectionOwner = MediaOwner


class Receiver:
    """A stream the browser publishes (a PUBLISH section), or one the origin sends a
    cascade's edge: its Producer's endpoint."""

    def __init__(self, connection: Connection, kind: str, rtcp_ssrc: int, mid: str = "") -> None:
        self.connection = connection
        self.mid = mid
        self.kind = self.seance_kind = kind
        self.seance_rtcp_ssrc: int | None = rtcp_ssrc
        self.seance_handler: Any = None  # the Producer

    async def send_rtcp(self, data: bytes) -> None:
        self.connection.send_rtcp(data)


class Sender:
    """A stream the server sends the browser (a SLOT section): its Consumer's endpoint."""

    def __init__(self, connection: Connection, kind: str, section: Section) -> None:
        self.connection = connection
        self.kind = kind
        self.media_ssrc = section.ssrc
        self.retransmission_ssrc = section.rtx_ssrc
        self.seance_handler: Any = None  # the Consumer

    def direct_sender(self) -> Callable[[bytes | bytearray], int]:
        return self.connection.send_rtp

    def native_forwarder(self) -> Connection | None:
        """The connection whose native step forwards this stream (``forwarding`` native
        or auto, the extension built: :meth:`Connection.native_route`), or None: the
        Consumer forwards in Python."""
        return self.connection if self.connection.native_tx is not None else None

    async def send_rtcp(self, data: bytes) -> None:
        self.connection.send_rtcp(data)


def _ssrc(taken: set[int]) -> int:
    while True:
        ssrc = random.getrandbits(32)
        if ssrc and ssrc not in taken:
            taken.add(ssrc)
            return ssrc


class Connection:
    """``link``: the class of its ICE agent; the forwarding harness (``bench/forwarding.py``)
    gives a subclass whose nominated socket is a capture, with no network. ``forwarding``:
    how its consumers protect and send (:mod:`sfu.forwarding`)."""

    def __init__(
        self,
        owner: ConnectionOwner,
        certificate: Certificate | None = None,
        offerer: bool = False,
        forwarding: str = "python",
        link: type[IceLink] = IceLink,
    ) -> None:
        self.owner = owner
        self.forwarding = forwarding
        #: the native send session of the consumers' RTP (sfu._forward.Sender), from the
        #: same keys as the pylibsrtp one, which then protects RTCP only: one SRTP context
        #: per SSRC and direction (RFC 3711 section 3.2.3), so that the rollover counter
        #: of a stream its retransmissions share is one
        self.native_tx: Any = None
        #: the nominated pair the native session sends to (Sender.set_target): (transport, address)
        self._native_socket: tuple[Any, Any] | None = None
        self.counters = owner.counters
        self.certificate = certificate or Certificate.generate()
        self.cname = str(uuid.uuid4())
        #: the offerer (a cascade's edge) controls ICE (RFC 8445 section 6.1.1)
        self.ice = link(owner.ice, self.datagram_received, controlling=offerer)
        self.dtls: DtlsSrtp | None = None
        self.router = RtpRouter()
        self.receivers: list[tuple[Receiver, Any]] = []
        self.senders: list[tuple[Sender, Any]] = []
        self.state = "new"
        self._rx: pylibsrtp.Session | None = None
        self._tx: pylibsrtp.Session | None = None
        self._tasks: set[asyncio.Task] = set()
        self._kinds: list[str] = []  # an offerer's m-sections

    # negotiation ------------------------------------------------------------------------
    async def accept(self, offer_sdp: str, sections: list[Section], simulcast: dict[str, SimulcastOffer]) -> str:
        """The answer to ``offer_sdp``; ``sections`` says what each m-section is for (one
        per offered m-section). ICE then DTLS proceed in the background."""
        offer = aiortc_sdp.SessionDescription.parse(offer_sdp)
        media = list(offer.media)
        if len(sections) != len(media):
            raise ValueError("one section per m-line of the offer")
        remote = next((m for m in media if m.ice is not None and m.dtls is not None), None)
        if remote is None or not remote.dtls.fingerprints:
            raise ValueError("offer without ICE credentials or DTLS fingerprint")
        taken: set[int] = set()
        for m, section in zip(media, sections, strict=True):
            if m.kind not in ("audio", "video"):
                section.role = "inactive"
                continue
            negotiate(m, section)
            if section.role == SLOT:
                section.ssrc, section.rtx_ssrc = _ssrc(taken), _ssrc(taken)
                sender = Sender(self, m.kind, section)
                self.senders.append((sender, send_parameters(section, self.cname)))
            elif section.role == PUBLISH:
                receiver = Receiver(self, m.kind, _ssrc(taken), section.mid)
                self.receivers.append((receiver, receive_parameters(m, section)))
        fingerprints = [(f.algorithm, f.value) for f in remote.dtls.fingerprints]
        self.dtls = DtlsSrtp(self.certificate, fingerprints, self._send_dtls, self.srtp_ready, self._ended)
        await self.ice.gather()
        candidates = [c for m in media for c in m.ice_candidates]
        await self.ice.set_remote(remote.ice, candidates)
        answer = write_answer(offer, sections, self._local(), simulcast, session_id=random.getrandbits(32))
        self.state = "connecting"
        self._spawn(self._connect())
        return answer

    async def offer(self, kinds: list[str], sending: dict[int, int] | None = None) -> str:
        """An offer receiving one stream per kind in ``kinds`` (a cascade's edge
        subscribing to its origin, RFC 8829 section 5.2: Séance controls ICE and is the
        DTLS server); :meth:`accept_answer` takes the answer. The sections whose index is
        in ``sending`` are offered ``sendonly`` with that SSRC instead (the benchmark's
        synthetic salles publish that way; their RTP goes through :meth:`send_rtp`)."""
        if not self.ice.ice_controlling:
            raise ValueError("a connection built as answerer cannot offer")
        await self.ice.gather()
        self._kinds = list(kinds)
        local = self._local()
        return write_offer(self._kinds, local, session_id=random.getrandbits(32), sending=sending)

    async def accept_answer(self, answer_sdp: str) -> None:
        """The origin's answer to :meth:`offer`: a receiver per m-section it sends on;
        ICE then DTLS proceed in the background."""
        answer = aiortc_sdp.SessionDescription.parse(answer_sdp)
        if [m.kind for m in answer.media] != self._kinds:
            raise ValueError("the answer's m-sections are not the offer's")
        remote = next((m for m in answer.media if m.ice is not None and m.dtls is not None), None)
        if remote is None or not remote.dtls.fingerprints:
            raise ValueError("answer without ICE credentials or DTLS fingerprint")
        taken: set[int] = set()
        for m in answer.media:
            if m.direction not in ("sendonly", "sendrecv") or not m.rtp.codecs:
                continue
            section = Section(
                role=PUBLISH, mid=m.rtp.muxId, kind=m.kind, codecs=m.rtp.codecs, extensions=m.rtp.headerExtensions
            )
            self.receivers.append((Receiver(self, m.kind, _ssrc(taken), m.rtp.muxId), receive_parameters(m, section)))
        fingerprints = [(f.algorithm, f.value) for f in remote.dtls.fingerprints]
        # the answerer chose a=setup:active (RFC 8842 section 5.3) or passive
        is_client = remote.dtls.role == "server"
        self.dtls = DtlsSrtp(
            self.certificate, fingerprints, self._send_dtls, self.srtp_ready, self._ended, is_client=is_client
        )
        await self.ice.set_remote(remote.ice, [c for m in answer.media for c in m.ice_candidates])
        await self.ice.add_remote_candidate(None)  # the answer's candidates are complete
        self.state = "connecting"
        self._spawn(self._connect())

    def _local(self) -> LocalTransport:
        return LocalTransport(
            ice=self.ice.local_parameters(),
            candidates=self.ice.announced_candidates(),
            fingerprint=self.certificate.fingerprint,
            cname=self.cname,
        )

    async def _connect(self) -> None:
        try:
            await asyncio.wait_for(self.ice.connect(), CONNECT_TIMEOUT_S)
        except (ConnectionError, TimeoutError) as exc:
            self._ended(f"ICE failed: {exc!r}")
            return
        if self.state != "connecting" or self.dtls is None:
            return
        self._spawn(self._watch_ice())
        self.dtls.start()

    async def _watch_ice(self) -> None:
        """aioice closes the connection when consent expires (RFC 7675)."""
        while self.state in ("connecting", "connected"):
            event = await self.ice.get_event()
            if event is None or isinstance(event, aioice.ConnectionClosed):
                self._ended("ICE closed")
                return

    def srtp_ready(
        self, rx: pylibsrtp.Session, tx: pylibsrtp.Session, native_key: tuple[int, bytes] | None = None
    ) -> None:
        """DTLS gave the SRTP sessions (receive, send): the streams start, each Producer
        and Consumer told to its owner. ``native_key``: (libsrtp profile, this end's key
        and salt) of ``tx`` for the native send session, when no DTLS handshake gave
        them (the forwarding harness, bench/forwarding.py)."""
        self._rx, self._tx = rx, tx
        dtls = self.dtls
        if native_key is None and dtls is not None and dtls.srtp_profile and dtls.local_key:
            native_key = (dtls.srtp_profile.libsrtp, dtls.local_key)
        if self.forwarding != "python" and native_key is not None:
            path = forwarding_path(self.forwarding, *native_key)
            if isinstance(path, NativePath):
                self.native_tx = path.sender
        self.state = "connected"
        for receiver, parameters in self.receivers:
            self.router.register_receiver(
                receiver,
                ssrcs=[e.ssrc for e in parameters.encodings if e.ssrc],
                payload_types=[c.payloadType for c in parameters.codecs],
                mid=parameters.muxId,
            )
        for sender, _ in self.senders:
            self.router.register_sender(sender, sender.media_ssrc)
        for receiver, parameters in self.receivers:
            self._tell("receiver_started", receiver, parameters)
        for sender, parameters in self.senders:
            self._tell("sender_started", sender, parameters)

    def _tell(self, event: str, *args: Any) -> None:
        try:
            getattr(self.owner, event)(*args)
        except Exception as exc:
            self.owner.hook_error(f"transport.{event}", exc)

    def _ended(self, reason: str) -> None:
        if self.state in ("failed", "closed"):
            return
        logger.info("connection ended: %s", reason)
        self.state = "failed"
        self._rx = self._tx = None
        self._forget_native_target()
        self._tell("transport_closed")

    # receiving ----------------------------------------------------------------------------
    def datagram_received(self, data: bytes) -> None:
        """Every datagram that is not STUN, inside the socket callback (RFC 7983)."""
        if not data:
            return
        first = data[0]
        try:
            if 19 < first < 64:
                if self.dtls is not None:
                    self.dtls.datagram(data)
            elif 127 < first < 192 and len(data) > 1:
                if self._rx is None:
                    self.counters.dropped["srtp"] += 1
                elif 191 < data[1] < 224:
                    self._rtcp(data)
                else:
                    self._rtp(data)
            else:
                self.counters.dropped["malformed"] += 1
        except Exception as exc:  # in the socket callback: never let it out
            self.owner.hook_error("transport.datagram", exc)

    def _rtp(self, data: bytes) -> None:
        try:
            plain = self._rx.unprotect(data)  # type: ignore[union-attr]
        except (pylibsrtp.Error, ValueError):  # bad tag, replay, longer than 1500 bytes
            self.counters.dropped["srtp"] += 1
            return
        self.rtp_received(plain)

    def rtp_received(self, plain: bytes) -> None:
        """One unprotected RTP packet: checked (RFC 3550 section 5.1, RFC 8285), routed by
        SSRC or payload type, handed to its Producer."""
        layout = rtp_layout(plain)
        if layout is None:
            self.counters.dropped["malformed"] += 1
            return
        receiver = self.router.route_rtp(RoutingHeader(int.from_bytes(plain[8:12], "big"), plain[1] & 0x7F))
        if receiver is None or receiver.seance_handler is None:
            self.counters.dropped["unroutable"] += 1
            return
        receiver.seance_handler.on_rtp(plain, int(time.monotonic() * 1000), layout)

    def _rtcp(self, data: bytes) -> None:
        try:
            plain = self._rx.unprotect_rtcp(data)  # type: ignore[union-attr]
        except (pylibsrtp.Error, ValueError):
            self.counters.dropped["srtp"] += 1
            return
        self.rtcp_received(plain)

    def rtcp_received(self, plain: bytes) -> None:
        """One unprotected RTCP compound (RFC 3550 section 6.1), parsed and routed whole,
        each packet to the Producer or Consumer it is about."""
        routed = route_compound(self.router, plain)
        if routed is None:
            self.counters.dropped["malformed_rtcp"] += 1
            return
        for packet, recipients in routed:
            for recipient in recipients:
                if recipient.seance_handler is not None:
                    recipient.seance_handler.on_rtcp(packet)

    # sending -------------------------------------------------------------------------------
    def _send_dtls(self, data: bytes) -> None:
        self.ice.send_now(data)

    def send_rtp(self, packet: bytes | bytearray) -> int:
        """Protect and send one RTP packet now (the Consumer's forwarding path, and its
        retransmissions on the native path too)."""
        tx = self._tx
        if tx is None:
            raise ConnectionError("DTLS not connected")
        native = self.native_tx
        if native is None:
            self.ice.send_now(tx.protect(bytes(packet)))
        else:
            try:
                data = native.protect(packet)
            except forwarding.native.SrtpError as exc:  # as pylibsrtp refuses (consumer counts it)
                raise pylibsrtp.Error(str(exc)) from exc
            self.ice.send_now(data)
        return len(packet)

    def native_route(self) -> bool | None:
        """Where the native step (:func:`sfu.forwarding.fan_out`) may put this connection's
        datagrams now: True, straight on the nominated pair's socket (its session's
        target kept to that pair); False, behind what the pair's transport still queues
        (sending past it would reorder the stream: the datagrams are handed to the
        transport, :meth:`send_protected`); None, nowhere (not connected: the datagrams
        are handed off and refused, ``not_connected``, as the Python path counts them)."""
        if self._tx is None:
            return None
        nominated = self.ice.nominated()
        if nominated is None:
            return None
        transport, address = nominated
        if transport.is_closing():
            # its descriptor is closed or about to be, and may be reused by another socket:
            # never sent to directly (the transport drops what it is given once closed)
            return False
        known = self._native_socket
        if known is None or known[0] is not transport or known[1] != address:
            sock = transport.get_extra_info("socket")
            if sock is None:
                return False  # a transport without a socket of its own: everything through it
            self.native_tx.set_target(sock.fileno(), address)
            self._native_socket = (transport, address)
        return transport.get_write_buffer_size() == 0

    def _forget_native_target(self) -> None:
        """The connection ended: its native session sends to no descriptor any more (the
        number may be reused by another socket once aioice closes it)."""
        if self.native_tx is not None:
            self.native_tx.set_target(-1, None)
        self._native_socket = None

    def send_protected(self, datagram: bytes) -> None:
        """Hand a datagram the native step protected to the nominated pair's transport,
        which sends it or queues it behind what it holds, as the Python path's
        :meth:`send_rtp` does: ConnectionError when not connected,
        :class:`sfu.library_surface.SendBufferFull` beyond SEND_BUFFER_LIMIT queued bytes."""
        if self._tx is None:
            raise ConnectionError("DTLS not connected")
        self.ice.send_now(datagram)

    def send_rtcp(self, data: bytes) -> None:
        tx = self._tx
        if tx is None:
            raise ConnectionError("DTLS not connected")
        self.ice.send_now(tx.protect_rtcp(data))

    # teardown ------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        if self.dtls is not None and self.dtls.state is DtlsState.CONNECTED:
            try:
                self.dtls.close()
            except Exception as exc:
                logger.debug("closing DTLS: %r", exc)
        self._rx = self._tx = None
        self._forget_native_target()
        for task in list(self._tasks):
            task.cancel()
        await self.ice.close()
