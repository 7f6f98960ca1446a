"""The DTLS handshake of a connection and the SRTP keys it exports (DTLS-SRTP, RFC 5764),
with pyOpenSSL's public API (memory BIOs: the datagrams travel over ICE).

Séance answers ``a=setup:active`` (RFC 8842 section 5.3, as aiortc's answerer does), so
as an answerer it is the DTLS client: it sends the ClientHello once ICE is connected and
retransmits its flights on the timer OpenSSL gives (RFC 6347 section 4.2.4). As an
offerer (a cascade's edge, ``a=setup:actpass``) it is the server the answerer's
ClientHello reaches. The peer's
certificate must match every fingerprint of a supported hash the offer gave (RFC 8122
section 5); then the keying material (label ``EXTRACTOR-dtls_srtp``, RFC 5764 section
4.2) keys the two SRTP sessions (:mod:`.srtp`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable

from OpenSSL import SSL
from pylibsrtp import Session

from .certificate import DIGESTS, Certificate, fingerprint
from .srtp import PROFILES, Profile, local_key, profile_named, sessions

logger = logging.getLogger(__name__)

#: what browsers accept, as aiortc offers (ECDSA certificates only)
CIPHERS = b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"
#: a DTLS record never exceeds one datagram of the path (no IP fragmentation)
MAX_DATAGRAM = 1500
#: flights are retransmitted on OpenSSL's timer; after this the handshake has failed
HANDSHAKE_TIMEOUT_S = 30.0


class DtlsState(enum.Enum):
    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    CLOSED = "closed"


def _context(certificate: Certificate) -> SSL.Context:
    ctx = SSL.Context(SSL.DTLS_METHOD)
    ctx.set_options(SSL.OP_NO_TICKET)
    # any certificate: it is authenticated by its fingerprint afterwards (RFC 8122)
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *args: True)
    ctx.use_certificate(certificate.certificate)
    ctx.use_privatekey(certificate.key)
    ctx.set_cipher_list(CIPHERS)
    ctx.set_tlsext_use_srtp(b":".join(p.openssl_name for p in PROFILES))
    return ctx


def fingerprints_match(peer: object, offered: list[tuple[str, str]]) -> bool:
    """RFC 8122 section 5: at least one fingerprint of a hash we know, and all of those match."""
    known = [(alg.lower(), value.upper()) for alg, value in offered if alg.lower() in DIGESTS]
    return bool(known) and all(fingerprint(peer, alg) == value for alg, value in known)  # type: ignore[arg-type]


class DtlsSrtp:
    """One DTLS association over one ICE connection (``is_client``: which side)."""

    def __init__(
        self,
        certificate: Certificate,
        remote_fingerprints: list[tuple[str, str]],
        send: Callable[[bytes], None],
        on_connected: Callable[[Session, Session], None],
        on_ended: Callable[[str], None],
        is_client: bool = True,
    ) -> None:
        self.state = DtlsState.NEW
        self.is_client = is_client
        self.srtp_profile: Profile | None = None  # set once connected
        self.local_key: bytes | None = None
        self._remote_fingerprints = remote_fingerprints
        self._send = send
        self._on_connected = on_connected
        self._on_ended = on_ended
        self._ssl = SSL.Connection(_context(certificate), None)
        if is_client:
            self._ssl.set_connect_state()
        else:
            self._ssl.set_accept_state()
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """ICE is connected: the client sends its ClientHello, the server waits for it."""
        if self.state is not DtlsState.NEW:
            return
        self.state = DtlsState.CONNECTING
        self._deadline = asyncio.get_running_loop().call_later(
            HANDSHAKE_TIMEOUT_S, self._fail, "DTLS handshake timed out"
        )
        self._handshake()

    def datagram(self, data: bytes) -> None:
        """A DTLS record from the peer (first byte 20..63, RFC 7983)."""
        if self.state in (DtlsState.FAILED, DtlsState.CLOSED):
            return
        if self.state is DtlsState.NEW and not self.is_client:
            self.start()  # the ClientHello may come before our own ICE check completes
        self._ssl.bio_write(data)
        if self.state is DtlsState.CONNECTING:
            self._handshake()
            return
        try:
            self._ssl.recv(MAX_DATAGRAM)  # no application data is expected (no data channel)
        except SSL.ZeroReturnError:  # close_notify: the peer ends the association
            self._flush()
            self._end(DtlsState.CLOSED, "DTLS closed by the peer")
            return
        except SSL.Error:
            pass
        self._flush()

    def close(self) -> None:
        if self.state is DtlsState.CONNECTED:
            try:
                self._ssl.shutdown()
                self._flush()
            except SSL.Error:
                pass
        self._cancel_timers()
        self.state = DtlsState.CLOSED

    # the handshake ----------------------------------------------------------------------
    def _handshake(self) -> None:
        try:
            self._ssl.do_handshake()
        except SSL.WantReadError:
            self._flush()
            self._arm_timer()
            return
        except SSL.Error as exc:
            self._flush()
            self._fail(f"DTLS handshake failed: {exc}")
            return
        self._flush()
        self._connected()

    def _connected(self) -> None:
        peer = self._ssl.get_peer_certificate(as_cryptography=True)
        if peer is None or not fingerprints_match(peer, self._remote_fingerprints):
            self._fail("DTLS peer certificate does not match the offer's fingerprint")
            return
        profile = profile_named(self._ssl.get_selected_srtp_profile())
        if profile is None:
            self._fail("no SRTP profile negotiated")
            return
        material = self._ssl.export_keying_material(
            b"EXTRACTOR-dtls_srtp", 2 * (profile.key_length + profile.salt_length)
        )
        rx, tx = sessions(profile, material, is_client=self.is_client)
        #: what the native forwarding step needs for its own send session (sfu.forwarding)
        self.srtp_profile = profile
        self.local_key = local_key(profile, material, self.is_client)
        self._cancel_timers()
        self.state = DtlsState.CONNECTED
        self._on_connected(rx, tx)

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        delay = self._ssl.DTLSv1_get_timeout()
        if delay is not None:
            self._timer = asyncio.get_running_loop().call_later(max(delay, 0.01), self._retransmit)

    def _retransmit(self) -> None:
        self._timer = None
        if self.state is not DtlsState.CONNECTING:
            return
        try:
            self._ssl.DTLSv1_handle_timeout()
        except SSL.Error as exc:
            self._fail(f"DTLS retransmission failed: {exc}")
            return
        self._flush()
        self._arm_timer()

    def _flush(self) -> None:
        while True:
            try:
                data = self._ssl.bio_read(MAX_DATAGRAM)
            except SSL.WantReadError:
                return
            if not data:
                return
            try:
                self._send(data)
            except ConnectionError:
                return

    def _fail(self, reason: str) -> None:
        if self.state in (DtlsState.FAILED, DtlsState.CLOSED):
            return
        self._end(DtlsState.FAILED, reason)

    def _end(self, state: DtlsState, reason: str) -> None:
        self._cancel_timers()
        self.state = state
        logger.info("dtls: %s", reason)
        self._on_ended(reason)

    def _cancel_timers(self) -> None:
        for timer in (self._timer, self._deadline):
            if timer is not None:
                timer.cancel()
        self._timer = self._deadline = None
