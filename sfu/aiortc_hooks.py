"""The one module of Séance that reaches into aiortc (and aioice, pylibsrtp) internals.

Two kinds of use (issue 11 point 8). The transport Séance owns (:mod:`sfu.transport`,
the default) needs only :func:`gather_on_addresses` and :func:`nominated_socket`: five
private names of aioice, and no rebinding. The rest serves ``RouterConfig.transport =
"aiortc"`` (aiortc's ``RTCPeerConnection`` as answerer) and the benchmark's harness
(``bench/forwarding.py``, the fuzz tests): it is installed on first use of
:func:`owned_by`, never by a Router on the owned transport.

Every hook below was checked against **aiortc 1.16.0**, **aioice 0.13.0** and
**pylibsrtp 1.0.0**; ``tests/sfu/test_sfu_aiortc_hooks.py`` fails loudly if an upgrade
moves any name, attribute, signature or piece of code relied on here (see
:func:`check_surface`).

aiortc has no factory: ``RTCPeerConnection`` builds its ``RTCIceGatherer``,
``RTCDtlsTransport``, ``RTCRtpSender`` and ``RTCRtpReceiver`` from the names bound in
``aiortc.rtcpeerconnection``. :func:`install` rebinds those four names to
subclasses, and aioice's ``StunProtocol`` to :class:`SfuStunProtocol`. The subclasses
behave exactly like the originals *unless* they were built while a Séance peer owned
the current context (:func:`owned_by`, a ContextVar set by the Router around
``setRemoteDescription``): aiortc clients in the same process keep the stock behaviour.

For an owned peer, the receive path of media (see docs/media.md, "The forwarding path"):

- ``SfuStunProtocol.datagram_received``: RFC 7983 demultiplexing; only a first byte
  0..3 is tried as STUN, anything else goes straight to the connection's
  ``data_received``.
- ``data_received`` (replaced by :func:`_bound_queue`): SRTP goes to
  ``SfuDtlsTransport._seance_datagram`` once DTLS is connected (unprotect, then
  ``_seance_rtp`` synchronously, inside the socket callback); DTLS, SRTCP and SRTP
  before DTLS is up take aioice's queue, bounded, and aiortc's ``_recv_next`` as before
  (whose ``_handle_rtp_data`` also ends in ``_seance_rtp``). Datagrams too long for
  pylibsrtp are dropped first (they would end aiortc's receive loop).
- ``_seance_rtp`` checks the packet (:func:`sfu.rtp_rewrite.rtp_layout`) and hands it to
  the Producer without ``RtpPacket.parse``; RTCP keeps aiortc's parser and
  ``RtpRouter``, a compound that does not parse or route being dropped whole.

And the rest:

- ``SfuRtpReceiver.receive`` registers with the transport's router but starts no
  decoder thread and no RTCP task (the Producer sends RR/REMB/PLI itself).
- ``SfuRtpSender.send`` registers with the transport's router but starts no
  encoder task; the Consumer sends rewritten packets with :func:`direct_rtp_sender`
  (aiortc's ``_send_rtp`` without its coroutines: SRTP protect with :func:`srtp_call`,
  then ``sendto`` on the nominated pair's socket, dropping when that socket already
  holds too much) and its own mapped sender reports through ``_send_rtp``. ``send`` is
  only called by aiortc once DTLS is connected: consumers attach then, never before
  (forwarding earlier raises ``ConnectionError`` and ends in NACK storms).
- ``SfuIceGatherer`` gathers on the configured addresses, announces the configured
  address, and bounds aioice's unbounded per-datagram queue.

Every hooked handler catches and counts every exception: an exception escaping
``_handle_rtp_data`` or ``_handle_rtcp_packet`` would end the transport's receive
loop for good, and one escaping the socket callback would be logged per datagram.

``frames_decoded``: aiortc's ``decoder_worker`` and ``get_decoder`` are wrapped where
``aiortc.rtcrtpreceiver`` uses them; a decode made for an owned receiver (which
should never happen) is counted on that peer's counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import importlib.metadata
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import aioice
import aioice.ice
import aiortc
import aiortc.rtcicetransport
import aiortc.rtcpeerconnection as _pc
import aiortc.rtcrtpreceiver as _rx
import pylibsrtp
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter, State
from aiortc.rtcicetransport import RTCIceCandidate, RTCIceGatherer
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender

from .ice import announced, gather_addresses
from .rtp_rewrite import rtp_layout
from .transport.owner import MediaOwner, RoutingHeader, route_compound

AIORTC_CHECKED = "1.16.0"
AIOICE_CHECKED = "0.13.0"
PYLIBSRTP_CHECKED = "1.0.0"
#: distribution -> the exact version every hook below was checked against; pyproject.toml
#: pins the same (``tests/sfu/test_sfu_aiortc_hooks.py`` compares them)
PINNED = {"aiortc": AIORTC_CHECKED, "aioice": AIOICE_CHECKED, "pylibsrtp": PYLIBSRTP_CHECKED}


def _installed_version(dist: str) -> str | None:
    """The installed version of ``dist`` as its metadata says (aioice and pylibsrtp have
    no ``__version__`` attribute to trust)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


#: what a Séance peer offers to the hooks (the same as to the owned transport)
HookOwner = MediaOwner


_owner: contextvars.ContextVar[HookOwner | None] = contextvars.ContextVar("seance_sfu_owner", default=None)


@contextlib.contextmanager
def owned_by(peer: HookOwner) -> Iterator[None]:
    """aiortc objects built inside this block belong to ``peer``. The hooks are installed
    (:func:`install`) when first used this way: a process that only runs the transport
    Séance owns (:mod:`sfu.transport`) rebinds nothing of aiortc or aioice."""
    install()
    token = _owner.set(peer)
    try:
        yield
    finally:
        _owner.reset(token)


# aiortc 1.16.0: RTCDtlsTransport(transport, certificates); _recv_next() calls
# _handle_rtp_data(data, arrival_time_ms) with unprotected RTP bytes and
# _handle_rtcp_data(data) with unprotected RTCP; _rtp_router is an RtpRouter;
# _send_rtp(data) protects and sends (raises ConnectionError unless connected).
class SfuDtlsTransport(RTCDtlsTransport):
    def __init__(self, transport: Any, certificates: list) -> None:
        super().__init__(transport, certificates)
        self._seance: HookOwner | None = _owner.get()
        self._seance_unprotect: Any = None
        self._seance_rx_session: Any = None
        if self._seance is not None:
            # the receive fast path of _bound_queue finds its transport here (one DTLS
            # transport per ICE connection in aiortc 1.16)
            transport._connection._seance_dtls = self

    def _seance_datagram(self, data: bytes) -> bool:
        """The fast path of an SRTP datagram (not SRTCP), called by aioice's receive
        callback: unprotect and forward now, instead of queueing it for aiortc's
        receive loop (``_recv_next``: an ``asyncio.Queue`` hand-off and a coroutine
        per datagram). False until DTLS is connected (the datagram then takes the
        queue, as before). aiortc 1.16.0 ``_recv_next`` does the same for a first byte
        in 128..191 that is not RTCP: ``_rx_srtp.unprotect`` (pylibsrtp.Error: dropped)
        then ``_handle_rtp_data``; its rx counters (getStats only) are not advanced."""
        srtp = self._rx_srtp
        if srtp is None or self._state is not State.CONNECTED:
            return False
        if srtp is not self._seance_rx_session:
            self._seance_rx_session = srtp
            self._seance_unprotect = srtp_call(srtp, "unprotect")
        try:
            plain = self._seance_unprotect(data)
        except (pylibsrtp.Error, ValueError):  # bad tag, replay, longer than 1500 bytes
            self._seance.counters.dropped["srtp"] += 1
            return True
        except Exception as exc:  # in the socket callback: never let it out
            self._seance.hook_error("dtls.srtp", exc)
            return True
        self._seance_rtp(plain, int(time.monotonic() * 1000))
        return True

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        if self._seance is None:
            return await super()._handle_rtp_data(data, arrival_time_ms)
        self._seance_rtp(data, arrival_time_ms)

    def _seance_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        """One unprotected RTP packet of an owned transport, handled synchronously to
        the last consumer's send: no task, no queue, no coroutine."""
        peer = self._seance
        try:
            layout = rtp_layout(data)  # header, CSRCs, extensions, padding all fit
            if layout is None:
                peer.counters.dropped["malformed"] += 1
                return
            receiver = self._rtp_router.route_rtp(RoutingHeader(int.from_bytes(data[8:12], "big"), data[1] & 0x7F))
            if receiver is None or receiver.seance_handler is None:
                peer.counters.dropped["unroutable"] += 1
                return
            receiver.seance_handler.on_rtp(data, arrival_time_ms, layout)
        except Exception as exc:  # never let it end the receive loop
            peer.hook_error("dtls.rtp", exc)

    async def _handle_rtcp_data(self, data: bytes) -> None:
        # a compound that does not parse or route as a whole is dropped (reason
        # ``malformed_rtcp``): none of it acts (see route_compound)
        peer = self._seance
        if peer is None:
            return await super()._handle_rtcp_data(data)
        try:
            routed = route_compound(self._rtp_router, data)
            if routed is None:
                peer.counters.dropped["malformed_rtcp"] += 1
                return
            for packet, recipients in routed:
                for recipient in recipients:
                    await recipient._handle_rtcp_packet(packet)
        except Exception as exc:
            peer.hook_error("dtls.rtcp", exc)


# aiortc 1.16.0: RTCDtlsTransport._send_rtp(data) is a coroutine: it raises
# ConnectionError unless _state is State.CONNECTED, protects with _tx_srtp.protect()
# (protect_rtcp() for RTCP), then awaits transport._send(data), which is the ICE
# transport's _connection.send (aioice 0.13.0): Connection.sendto looks up
# _nominated[component] (a dict never rebound, only cleared on close) and awaits
# pair.protocol.send_data(data, pair.remote_addr), which calls
# protocol.transport.sendto(data, addr). Four coroutines per packet; this is the same
# without them (the transport's own tx counters, used by getStats only, are not
# advanced for these packets).
#: bytes an event loop's UDP transport may hold when the socket refuses more (EAGAIN)
#: before forwarded packets are dropped (``send_buffer_full``): asyncio's datagram
#: transports buffer without bound, and a subscriber that reads slowly (on loopback the
#: sender's socket stays charged until the receiver reads) would otherwise see its
#: delay grow by seconds. 64 KiB is about 0.2 s of a salle's downlink.
SEND_BUFFER_LIMIT = 64 * 1024


class SendBufferFull(Exception):
    """The socket of a consumer's path holds more than SEND_BUFFER_LIMIT unsent bytes."""


def direct_rtp_sender(dtls: RTCDtlsTransport) -> Callable[[bytes | bytearray], int]:
    """A synchronous ``send(rtp_packet) -> bytes sent`` for ``dtls``: SRTP-protect
    (:func:`srtp_call`, which takes the bytearray being rewritten as it is) and hand to
    the UDP socket of the nominated ICE pair. Raises ConnectionError when not connected."""
    nominated = dtls.transport._connection._nominated
    connected = State.CONNECTED
    session: Any = None
    protect: Callable[[bytes | bytearray], bytes] | None = None

    def send(packet: bytes | bytearray) -> int:
        nonlocal session, protect
        if dtls._state is not connected:
            raise ConnectionError("DTLS not connected")
        pair = nominated.get(1)
        if pair is None:
            raise ConnectionError("no nominated ICE pair")
        if dtls._tx_srtp is not session:
            session = dtls._tx_srtp
            protect = srtp_call(session, "protect")
        transport = pair.protocol.transport
        if transport.get_write_buffer_size() > SEND_BUFFER_LIMIT:
            raise SendBufferFull
        transport.sendto(protect(packet), pair.remote_addr)
        return len(packet)

    return send


# pylibsrtp 1.0.0: Session.__process(data, func, trailer) checks the type and length,
# allocates an ``int *`` (ffi.new, the dearest part), copies the packet into the
# session's own 1500-byte buffer (_cdata, _buffer), calls lib.srtp_protect or
# lib.srtp_unprotect(_srtp[0], _cdata, len_p), raises through _srtp_assert and returns
# a copy of the result. srtp_call does the same with one ``int *`` per session, and
# accepts a bytearray (the copy into _buffer takes any buffer). Single-threaded use:
# the session's buffer is shared with aiortc's own calls, each complete on return.
def srtp_call(session: Any, op: str) -> Callable[[bytes | bytearray], bytes]:
    """``session.protect`` or ``session.unprotect``, without the per-call allocation.
    Anything but a pylibsrtp 1.0 Session (e.g. a test double) gets its own method."""
    if type(session) is not pylibsrtp.Session:
        method = getattr(session, op)
        return lambda packet: method(bytes(packet))
    from pylibsrtp._binding import ffi, lib

    func = lib.srtp_protect if op == "protect" else lib.srtp_unprotect
    cdata, buffer, ctx = session._cdata, session._buffer, session._srtp[0]
    limit = len(cdata) - (pylibsrtp.SRTP_MAX_TRAILER_LEN if op == "protect" else 0)
    len_p = ffi.new("int *")
    check = pylibsrtp._srtp_assert

    def call(packet: bytes | bytearray, _keep: Any = session) -> bytes:  # _keep: ctx lives as long
        n = len(packet)
        if n > limit:
            raise ValueError("packet is too long")
        len_p[0] = n
        buffer[0:n] = packet
        rc = func(ctx, cdata, len_p)
        if rc:
            check(rc)
        return buffer[0 : len_p[0]]

    return call


# aiortc 1.16.0: RTCRtpReceiver(kind, transport); receive(parameters) starts a
# decoder thread (decoder_worker) and an RTCP task, then registers with
# transport._register_rtp_receiver(self, parameters); stop() unregisters and waits
# for the RTCP task; the transport calls _handle_rtcp_packet(packet) and
# _handle_disconnect(); the peer connection calls _set_rtcp_ssrc(ssrc).
class SfuRtpReceiver(RTCRtpReceiver):
    def __init__(self, kind: str, transport: Any) -> None:
        super().__init__(kind, transport)
        self._seance: HookOwner | None = _owner.get()
        self.seance_kind = kind
        self._seance_started = False
        self.seance_rtcp_ssrc: int | None = None
        self.seance_handler: Any = None  # the Producer, once receive() ran
        if self._seance is not None:
            # mark the decoder queue, so that a decode for this receiver is counted
            self._RTCRtpReceiver__decoder_queue._seance_counters = self._seance.counters
            # aiortc 1.16 gives every video receiver a RemoteBitrateEstimator whose
            # RateCounter holds 1,000 RateBucket objects, and a 512-entry jitter buffer;
            # an owned receiver never runs aiortc's receive path or RTCP task that use
            # them (packets go to the Producer), and there is one per video transceiver,
            # slots included: 144,000 objects at 48 salles, half the heap, walked by
            # every full garbage collection (event-loop stalls, docs/performance.md)
            self._RTCRtpReceiver__remote_bitrate_estimator = None
            self._RTCRtpReceiver__jitter_buffer = None

    async def receive(self, parameters: Any) -> None:
        peer = self._seance
        if peer is None:
            return await super().receive(parameters)
        if self._seance_started:
            return
        self._seance_started = True
        try:
            self.transport._register_rtp_receiver(self, parameters)
            peer.receiver_started(self, parameters)
        except Exception as exc:
            peer.hook_error("receiver.receive", exc)

    async def stop(self) -> None:
        peer = self._seance
        if peer is None:
            return await super().stop()
        if self._seance_started:
            self._seance_started = False
            try:
                self.transport._unregister_rtp_receiver(self)
                peer.receiver_stopped(self)
            except Exception as exc:
                peer.hook_error("receiver.stop", exc)

    async def send_rtcp(self, data: bytes) -> None:
        """Protect and send an RTCP compound on this receiver's transport (the
        Producer's receiver reports, REMB, NACK, PLI). Raises ConnectionError unless
        DTLS is connected (aiortc 1.16.0 ``RTCDtlsTransport._send_rtp``)."""
        await self.transport._send_rtp(data)

    def _set_rtcp_ssrc(self, ssrc: int) -> None:
        super()._set_rtcp_ssrc(ssrc)
        self.seance_rtcp_ssrc = ssrc

    def _handle_disconnect(self) -> None:
        peer = self._seance
        if peer is None:
            return super()._handle_disconnect()
        try:
            peer.transport_closed()
        except Exception as exc:
            peer.hook_error("receiver.disconnect", exc)

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        peer = self._seance
        if peer is None:
            return await super()._handle_rtcp_packet(packet)
        try:
            if self.seance_handler is not None:
                self.seance_handler.on_rtcp(packet)
        except Exception as exc:
            peer.hook_error("receiver.rtcp", exc)

    async def _handle_rtp_packet(self, packet: Any, arrival_time_ms: int) -> None:
        if self._seance is None:
            return await super()._handle_rtp_packet(packet, arrival_time_ms)
        # owned receivers get raw bytes through SfuDtlsTransport; nothing to decode


# aiortc 1.16.0: RTCRtpSender(trackOrKind, transport); _ssrc, _rtx_ssrc, _stream_id,
# _track_id attributes; send(parameters) registers with
# transport._register_rtp_sender(self, parameters) and starts the encoder task
# (_run_rtp) and the SR task (_run_rtcp); stop(); the transport calls
# _handle_rtcp_packet(packet) for RR, NACK, PLI, FIR and REMB about _ssrc.
class SfuRtpSender(RTCRtpSender):
    def __init__(self, trackOrKind: Any, transport: Any) -> None:
        super().__init__(trackOrKind, transport)
        self._seance: HookOwner | None = _owner.get()
        self._seance_started = False
        self.seance_handler: Any = None  # the Consumer, once send() ran

    # aiortc keeps these private (checked by check_surface()): the Consumer and the
    # Peer use them through these names, so that aiortc's stay in this module
    @property
    def media_ssrc(self) -> int:
        """The SSRC aiortc gave this sender's stream (announced in the answer)."""
        return int(self._ssrc)

    @property
    def retransmission_ssrc(self) -> int:
        """The SSRC of its RTX stream (RFC 4588), announced with ``a=ssrc-group:FID``."""
        return int(self._rtx_ssrc)

    def direct_sender(self) -> Callable[[bytes | bytearray], int]:
        """The synchronous RTP send of this sender's transport (:func:`direct_rtp_sender`)."""
        return direct_rtp_sender(self.transport)

    def native_forwarder(self) -> None:
        """aiortc's transport has no native forwarding step (sfu.forwarding): Python only."""
        return None

    async def send_rtcp(self, data: bytes) -> None:
        """Protect and send an RTCP compound (the Consumer's mapped sender reports and
        BYE). Raises ConnectionError unless DTLS is connected."""
        await self.transport._send_rtp(data)

    def name_stream(self, stream_id: str, track_id: str) -> None:
        """The ``a=msid`` the answer gives this sender (the slot's name, for the page)."""
        self._stream_id = stream_id
        self._track_id = track_id

    async def send(self, parameters: Any) -> None:
        peer = self._seance
        if peer is None:
            return await super().send(parameters)
        if self._seance_started:
            return
        self._seance_started = True
        try:
            self.transport._register_rtp_sender(self, parameters)
            peer.sender_started(self, parameters)
        except Exception as exc:
            peer.hook_error("sender.send", exc)

    async def stop(self) -> None:
        peer = self._seance
        if peer is None:
            return await super().stop()
        if self._seance_started:
            self._seance_started = False
            try:
                self.transport._unregister_rtp_sender(self)
                peer.sender_stopped(self)
            except Exception as exc:
                peer.hook_error("sender.stop", exc)

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        peer = self._seance
        if peer is None:
            return await super()._handle_rtcp_packet(packet)
        try:
            if self.seance_handler is not None:
                self.seance_handler.on_rtcp(packet)
        except Exception as exc:
            peer.hook_error("sender.rtcp", exc)


# aiortc 1.16.0: RTCIceGatherer(iceServers, iceTransportPolicy, local_username,
# local_password) builds an aioice.Connection in ._connection; gather() awaits
# _connection.gather_candidates(); getLocalCandidates() feeds the SDP.
# aioice 0.13.0: Connection.gather_candidates() uses get_host_addresses() (no
# 127.0.0.1) then get_component_candidates(component=, addresses=) per component
# (_components), with _local_candidates_start/_local_candidates/_local_candidates_end;
# StunProtocol calls connection.data_received(data, component), which puts on the
# unbounded asyncio.Queue connection._queue read by recv().
class SfuIceGatherer(RTCIceGatherer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seance: HookOwner | None = _owner.get()
        peer = self._seance
        if peer is not None:
            _gather_on(self._connection, gather_addresses(peer.ice))
            _bound_queue(self._connection, peer.ice.max_queued_datagrams, peer.counters)

    def getLocalCandidates(self) -> list[RTCIceCandidate]:
        candidates = super().getLocalCandidates()
        peer = self._seance
        if peer is None or peer.ice.announced_address is None:
            return candidates
        return [dataclasses.replace(c, ip=announced(c.ip, peer.ice)) for c in candidates]


async def gather_on_addresses(connection: aioice.Connection, addresses: list[str]) -> None:
    """aioice 0.13.0 ``Connection.gather_candidates`` on Séance's address list (aioice
    takes none: it binds on every interface address but 127.0.0.1). Used by the owned
    transport (:mod:`sfu.transport.ice`) and, through :func:`_gather_on`, the hooks."""
    if not connection._local_candidates_start:
        connection._local_candidates_start = True
        for component in sorted(connection._components):
            connection._local_candidates += await connection.get_component_candidates(
                component=component, addresses=addresses
            )
        connection._local_candidates_end = True


def nominated_socket(connection: aioice.Connection) -> tuple[Any, Any] | None:
    """The datagram transport and remote address of the nominated pair of component 1
    (aioice 0.13.0 ``Connection.sendto`` looks up ``_nominated``, then
    ``pair.protocol.send_data`` calls ``transport.sendto``), for a synchronous send; None
    when no pair is nominated."""
    pair = connection._nominated.get(1)
    if pair is None or pair.protocol.transport is None:
        return None
    return pair.protocol.transport, pair.remote_addr


def _gather_on(connection: aioice.Connection, addresses: list[str]) -> None:
    async def gather_candidates() -> None:
        await gather_on_addresses(connection, addresses)

    connection.gather_candidates = gather_candidates  # type: ignore[method-assign]


#: pylibsrtp 1.0.0 Session buffers are 1500 bytes (``ffi.new("char[]", 1500)``)
SRTP_MAX_DATAGRAM = 1500


def _bound_queue(connection: aioice.Connection, limit: int, counters: Any) -> None:
    """Replace aioice's ``data_received`` (which puts every datagram on an unbounded
    queue): SRTP datagrams go straight to the DTLS transport's fast path once it is
    connected (:meth:`SfuDtlsTransport._seance_datagram`); the rest (DTLS, SRTCP, and
    SRTP before DTLS is up) take the queue, bounded, drops counted."""
    queue: asyncio.Queue = connection._queue

    def data_received(data: bytes, component: int) -> None:
        if len(data) > SRTP_MAX_DATAGRAM and 127 < data[0] < 192:
            # pylibsrtp 1.0 raises ValueError (not pylibsrtp.Error) beyond its 1500-byte
            # buffer; in aiortc 1.16's _recv_next that ends the DTLS transport's receive
            # loop (State.CLOSED): one datagram from anyone who knows the port would cut
            # the salle off (aioice accepts data from any address)
            counters.dropped["srtp"] += 1
            return
        dtls = getattr(connection, "_seance_dtls", None)
        if (
            dtls is not None
            and len(data) > 1
            and 127 < data[0] < 192  # RFC 7983: RTP or RTCP
            and not 191 < data[1] < 209  # not RTCP (aiortc's is_rtcp)
            and dtls._seance_datagram(data)
        ):
            return
        if queue.qsize() >= limit:
            counters.dropped["ice_queue_full"] += 1
            return
        queue.put_nowait((data, component))

    connection.data_received = data_received  # type: ignore[method-assign]


# aioice 0.13.0: Connection.get_component_candidates builds its sockets'
# protocols with ``StunProtocol(self)`` (the name looked up in aioice.ice at call
# time); StunProtocol.datagram_received first tries stun.parse_message(data) on
# every datagram and hands what does not parse to receiver.data_received(data,
# local_candidate.component).
class SfuStunProtocol(aioice.ice.StunProtocol):
    """RFC 7983 demultiplexing before the STUN parse: for a connection of a Séance
    peer, a datagram whose first byte is not 0..3 cannot be STUN and goes straight to
    ``data_received`` (aioice's STUN parse attempt on every media datagram is skipped).
    Other connections (aiortc clients in the same process) keep aioice's behaviour."""

    def datagram_received(self, data: bytes | str, addr: tuple[Any, ...]) -> None:
        if data and data[0] > 3 and hasattr(self.receiver, "_seance_dtls"):  # type: ignore[index,operator]
            self.receiver.data_received(data, self.local_candidate.component)
            return
        super().datagram_received(data, addr)


# --- frames_decoded --------------------------------------------------------------

_tls = threading.local()
_original_decoder_worker = _rx.decoder_worker
_original_get_decoder = _rx.get_decoder


class _CountingDecoder:
    def __init__(self, inner: Any, counters: Any) -> None:
        self._inner = inner
        self._counters = counters

    def decode(self, encoded_frame: Any) -> Any:
        self._counters.decoder_created()
        return self._inner.decode(encoded_frame)


# aiortc 1.16.0: rtcrtpreceiver.decoder_worker(loop, input_q, output_q, decode_error)
# runs in the decoder thread and calls rtcrtpreceiver.get_decoder(codec).
def _decoder_worker(loop: Any, input_q: Any, output_q: Any, decode_error: Any) -> None:
    _tls.counters = getattr(input_q, "_seance_counters", None)
    try:
        _original_decoder_worker(loop, input_q, output_q, decode_error)
    finally:
        _tls.counters = None


def _get_decoder(codec: Any) -> Any:
    decoder = _original_get_decoder(codec)
    counters = getattr(_tls, "counters", None)
    if counters is not None:
        return _CountingDecoder(decoder, counters)
    return decoder


# --- installation and the upgrade guard --------------------------------------------

_installed = False
_STOCK_STUN_PROTOCOL = aioice.ice.StunProtocol


def install() -> None:
    """Rebind aiortc's names to the Séance subclasses (idempotent)."""
    global _installed
    if _installed:
        return
    problems = check_surface()
    if problems:
        raise RuntimeError(
            "aiortc/aioice internals moved; sfu/aiortc_hooks.py must be re-checked: " + "; ".join(problems)
        )
    _pc.RTCDtlsTransport = SfuDtlsTransport
    _pc.RTCRtpReceiver = SfuRtpReceiver
    _pc.RTCRtpSender = SfuRtpSender
    _pc.RTCIceGatherer = SfuIceGatherer
    aioice.ice.StunProtocol = SfuStunProtocol
    _rx.decoder_worker = _decoder_worker
    _rx.get_decoder = _get_decoder
    _installed = True


def installed() -> bool:
    return _installed


def _params(func: Any) -> list[str]:
    return [p for p in inspect.signature(func).parameters if p != "self"]


def check_surface() -> list[str]:
    """Everything the hooks rely on; returns the list of what moved (empty = fine)."""
    problems: list[str] = []

    def expect(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    for dist, checked in PINNED.items():
        installed_version = _installed_version(dist)
        expect(installed_version == checked, f"{dist} {installed_version} installed, checked against {checked}")
    for name, base in (
        ("RTCDtlsTransport", RTCDtlsTransport),
        ("RTCRtpReceiver", RTCRtpReceiver),
        ("RTCRtpSender", RTCRtpSender),
        ("RTCIceGatherer", RTCIceGatherer),
    ):
        bound = getattr(_pc, name, None)
        expect(
            isinstance(bound, type) and issubclass(bound, base),
            f"aiortc.rtcpeerconnection.{name} is not a {base.__name__}",
        )
    expect(
        _params(RTCDtlsTransport.__init__) == ["transport", "certificates"],
        "RTCDtlsTransport.__init__(transport, certificates)",
    )
    expect(
        _params(RTCDtlsTransport._handle_rtp_data) == ["data", "arrival_time_ms"],
        "RTCDtlsTransport._handle_rtp_data(data, arrival_time_ms)",
    )
    expect(_params(RTCDtlsTransport._handle_rtcp_data) == ["data"], "RTCDtlsTransport._handle_rtcp_data(data)")
    src = inspect.getsource(RTCDtlsTransport._handle_rtcp_data)
    expect(
        "RtcpPacket.parse(data)" in src
        and "self._rtp_router.route_rtcp(packet)" in src
        and "recipient._handle_rtcp_packet(packet)" in src,
        "RTCDtlsTransport._handle_rtcp_data parses, routes and hands packets to recipients "
        "(SfuDtlsTransport._handle_rtcp_data does the same, dropping what does not parse)",
    )
    expect(_params(RTCDtlsTransport._send_rtp) == ["data"], "RTCDtlsTransport._send_rtp(data)")
    src = inspect.getsource(RTCDtlsTransport._send_rtp)
    for use in ("self._state != State.CONNECTED", "self._tx_srtp.protect(data)", "await self.transport._send(data)"):
        expect(use in src, f"RTCDtlsTransport._send_rtp uses {use!r} (direct_rtp_sender)")
    expect(
        "self._send = self._connection.send" in inspect.getsource(aiortc.rtcicetransport.RTCIceTransport),
        "RTCIceTransport._send is its aioice connection's send (direct_rtp_sender)",
    )
    for meth in (
        "_register_rtp_receiver",
        "_unregister_rtp_receiver",
        "_register_rtp_sender",
        "_unregister_rtp_sender",
        "_recv_next",
    ):
        expect(callable(getattr(RTCDtlsTransport, meth, None)), f"RTCDtlsTransport.{meth}")
    src = inspect.getsource(RTCDtlsTransport._recv_next)
    expect(
        "_handle_rtp_data(data, arrival_time_ms=arrival_time_ms)" in src and "self._rx_srtp.unprotect(data)" in src,
        "RTCDtlsTransport._recv_next passes unprotected bytes to _handle_rtp_data",
    )
    expect(_params(RtpRouter.route_rtp) == ["packet"], "RtpRouter.route_rtp(packet)")
    src = inspect.getsource(RtpRouter.route_rtp)
    expect(
        set(_attrs(src, "packet")) <= {"ssrc", "payload_type"},
        "RtpRouter.route_rtp reads only packet.ssrc and packet.payload_type",
    )
    expect(_params(RTCRtpReceiver.__init__) == ["kind", "transport"], "RTCRtpReceiver.__init__(kind, transport)")
    expect(_params(RTCRtpReceiver.receive) == ["parameters"], "RTCRtpReceiver.receive(parameters)")
    expect(
        "decoder_worker" in inspect.getsource(RTCRtpReceiver.receive), "RTCRtpReceiver.receive starts decoder_worker"
    )
    for meth in ("_handle_rtcp_packet", "_handle_disconnect", "_set_rtcp_ssrc", "stop"):
        expect(callable(getattr(RTCRtpReceiver, meth, None)), f"RTCRtpReceiver.{meth}")
    src = inspect.getsource(RTCRtpReceiver.__init__)
    expect("self.__decoder_queue" in src, "RTCRtpReceiver.__decoder_queue")
    expect(
        "self.__remote_bitrate_estimator = RemoteBitrateEstimator()" in src
        and "self.__jitter_buffer = JitterBuffer(" in src,
        "RTCRtpReceiver.__remote_bitrate_estimator and __jitter_buffer (dropped for owned receivers)",
    )
    expect(
        _params(_original_decoder_worker) == ["loop", "input_q", "output_q", "decode_error"],
        "rtcrtpreceiver.decoder_worker(loop, input_q, output_q, decode_error)",
    )
    expect(
        "get_decoder(codec)" in inspect.getsource(_original_decoder_worker), "decoder_worker calls get_decoder(codec)"
    )
    expect(
        _params(RTCRtpSender.__init__) == ["trackOrKind", "transport"], "RTCRtpSender.__init__(trackOrKind, transport)"
    )
    expect(_params(RTCRtpSender.send) == ["parameters"], "RTCRtpSender.send(parameters)")
    expect(_params(RTCRtpSender._handle_rtcp_packet) == ["packet"], "RTCRtpSender._handle_rtcp_packet(packet)")
    src = inspect.getsource(RTCRtpSender.__init__)
    for attr in ("self._ssrc", "self._rtx_ssrc", "self._stream_id"):
        expect(attr in src, f"RTCRtpSender {attr}")
    expect("self._track_id" in inspect.getsource(RTCRtpSender.replaceTrack), "RTCRtpSender._track_id")
    src = inspect.getsource(_pc.RTCPeerConnection)
    for use in (
        "RTCDtlsTransport(iceTransport, self.__certificates)",
        "sender=RTCRtpSender(sender_track or kind, dtlsTransport)",
        "receiver=RTCRtpReceiver(kind, dtlsTransport)",
        "iceGatherer = RTCIceGatherer(",
        "await transceiver.sender.send(self.__localRtp(transceiver))",
        'if dtlsTransport.state == "connected":',
        "transceiver.sender._stream_id",
        "transceiver.sender._track_id",
    ):
        expect(use in src or use in inspect.getsource(_pc), f"aiortc.rtcpeerconnection uses {use!r}")
    src = inspect.getsource(RTCIceGatherer.__init__)
    expect("self._connection = Connection(" in src, "RTCIceGatherer._connection")
    expect(
        "self._connection.gather_candidates()" in inspect.getsource(RTCIceGatherer.gather),
        "RTCIceGatherer.gather awaits _connection.gather_candidates()",
    )
    expect({"ip"} <= {f.name for f in dataclasses.fields(RTCIceCandidate)}, "RTCIceCandidate.ip")
    src = inspect.getsource(pylibsrtp.Session)
    for use in (
        'self._cdata = ffi.new("char[]", 1500)',
        "self._buffer = ffi.buffer(self._cdata)",
        "self._srtp = ffi.gc(srtp",
        "self._buffer[0 : len(data)] = data",
        "_srtp_assert(func(self._srtp[0], self._cdata, len_p))",
        "lib.srtp_protect, SRTP_MAX_TRAILER_LEN",
        "self.__process(packet, lib.srtp_unprotect)",
    ):
        expect(use in src, f"pylibsrtp.Session uses {use!r} (srtp_call)")
    conn = aioice.ice.Connection
    expect(
        "lambda: StunProtocol(self)" in inspect.getsource(conn.get_component_candidates),
        "aioice Connection.get_component_candidates builds StunProtocol(self) (SfuStunProtocol)",
    )
    src = inspect.getsource(_STOCK_STUN_PROTOCOL.datagram_received)
    expect(
        "stun.parse_message(data)" in src
        and "self.receiver.data_received(data, self.local_candidate.component)" in src,
        "aioice StunProtocol.datagram_received: STUN parse, else receiver.data_received",
    )
    src = inspect.getsource(RTCDtlsTransport._recv_next)
    expect(
        "first_byte > 127 and first_byte < 192 and self._rx_srtp" in src
        and "if is_rtcp(data):" in src
        and "except pylibsrtp.Error" in src
        and "except ValueError" not in src,
        "RTCDtlsTransport._recv_next: SRTP for 128..191, RTCP by is_rtcp, only pylibsrtp.Error "
        "caught (_seance_datagram, SRTP_MAX_DATAGRAM)",
    )
    src = inspect.getsource(conn.sendto)
    expect(
        "self._nominated.get(component)" in src
        and "active_pair.protocol.send_data(data, active_pair.remote_addr)" in src,
        "aioice Connection.sendto sends on _nominated[component] (direct_rtp_sender)",
    )
    expect(
        "self.transport.sendto(data, addr)" in inspect.getsource(aioice.ice.StunProtocol.send_data),
        "aioice StunProtocol.send_data calls transport.sendto (direct_rtp_sender)",
    )
    expect(
        inspect.getsource(conn).count("self._nominated =") == 0,
        "aioice Connection._nominated is never rebound (direct_rtp_sender keeps it)",
    )
    src = inspect.getsource(conn.gather_candidates)
    for attr in (
        "_local_candidates_start",
        "_local_candidates_end",
        "get_host_addresses(",
        "get_component_candidates(",
    ):
        expect(attr in src, f"aioice Connection.gather_candidates uses {attr}")
    expect(
        _params(conn.get_component_candidates)[:2] == ["component", "addresses"],
        "aioice Connection.get_component_candidates(component, addresses)",
    )
    expect(_params(conn.data_received) == ["data", "component"], "aioice Connection.data_received(data, component)")
    expect(
        "self._queue.put_nowait((data, component))" in inspect.getsource(conn.data_received),
        "aioice Connection.data_received puts on self._queue",
    )
    expect("self._components" in inspect.getsource(conn.__init__), "aioice Connection._components")
    expect(
        "self.receiver.data_received(" in inspect.getsource(aioice.ice.StunProtocol),
        "aioice StunProtocol calls receiver.data_received",
    )
    expect(
        "127.0.0.1" in inspect.getsource(aioice.ice.get_host_addresses),
        "aioice get_host_addresses leaves out 127.0.0.1 (documented in sfu/ice.py)",
    )
    return problems


def _attrs(src: str, name: str) -> list[str]:
    import re

    return re.findall(rf"\b{name}\.([a-z_]+)", src)
