"""Every private name of aiortc and aioice the synthetic salles use, in one place.

The benchmark's salles are aiortc clients that skip aiortc's per-packet Python (the fast
client path, :func:`bench.synthetic_salle.fast_client`), count received packets without
aiortc's receiver, and publish simulcast, which aiortc cannot (issue 11 point 8: these
accesses used to be spread over ``bench/synthetic_salle.py`` unguarded, and borrowed
from the server's aiortc hooks, since removed; pylibsrtp is used through its public API
only). Nothing else in ``bench/`` names a private attribute of these libraries; each access below says what
it relies on, and :func:`check_surface` checks all of it against the exact versions it
was written for (pyproject.toml pins the same). :func:`require_surface` is called when a
salle process starts: after a library upgrade the benchmark stops with the list of what
moved instead of measuring something else.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any

#: the versions this module was checked against (pyproject.toml pins the same)
CHECKED = {"aiortc": "1.16.0", "aioice": "0.13.0", "pylibsrtp": "1.0.0"}
#: unsent bytes on a salle's socket beyond which a packet is not sent (counted instead)
SEND_BUFFER_LIMIT = 256 * 1024
_SENDER = "_RTCRtpSender__"
#: RTCRtpSender's name-mangled attributes the fast path reads or writes (aiortc 1.16)
_SENDER_PRIVATE = (
    "rtp_started",
    "rtp_exited",
    "rtp_header_extensions_map",
    "mid",
    "ntp_timestamp",
    "rtp_timestamp",
    "octet_count",
    "packet_count",
)


class SurfaceError(RuntimeError):
    """aiortc, aioice or pylibsrtp no longer has what the synthetic salles rely on."""


def _params(func: Any) -> list[str]:
    return [p for p in inspect.signature(func).parameters if p != "self"]


def _has(cls: type, name: str, params: list[str]) -> bool:
    func = getattr(cls, name, None)
    return callable(func) and _params(func) == params


def check_surface() -> list[str]:
    """What moved in the three libraries since this module was written ([] = nothing)."""
    import aioice.ice
    from aiortc.rtcdtlstransport import RTCDtlsTransport, State
    from aiortc.rtcrtpsender import RTCRtpSender

    problems: list[str] = []

    def expect(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    for lib, version in CHECKED.items():
        got = metadata.version(lib)
        expect(got == version, f"{lib} {got} installed, bench/aiortc_private.py checked {version}")
    expect(_params(aioice.ice.get_host_addresses) == ["use_ipv4", "use_ipv6"], "aioice.ice.get_host_addresses")
    expect(hasattr(aioice.Connection, "data_received"), "aioice.Connection.data_received")
    expect("_nominated" in inspect.getsource(aioice.Connection.__init__), "aioice.Connection._nominated")
    for name, params in (
        ("_send_rtp", ["data"]),
        ("_handle_rtp_data", ["data", "arrival_time_ms"]),
        ("_handle_rtcp_data", ["data"]),
    ):
        expect(_has(RTCDtlsTransport, name, params), f"RTCDtlsTransport.{name}{params}")
    init = inspect.getsource(RTCDtlsTransport.__init__)
    for attr in ("_rx_srtp", "_tx_srtp", "_state"):
        expect(f"self.{attr}" in init, f"RTCDtlsTransport.{attr}")
    expect(hasattr(State, "CONNECTED"), "aiortc.rtcdtlstransport.State.CONNECTED")
    for name, params in (("_run_rtp", ["codec"]), ("_next_encoded_frame", ["codec"]), ("_send_keyframe", [])):
        expect(_has(RTCRtpSender, name, params), f"RTCRtpSender.{name}{params}")
    sender_init = inspect.getsource(RTCRtpSender.__init__)
    expect("self._ssrc" in sender_init, "RTCRtpSender._ssrc")
    for attr in _SENDER_PRIVATE:
        expect(f"self.__{attr}" in sender_init, f"RTCRtpSender.__{attr}")
    run_rtp = inspect.getsource(RTCRtpSender._run_rtp)
    expect("_next_encoded_frame(codec)" in run_rtp, "RTCRtpSender._run_rtp gets its frames from _next_encoded_frame")
    return problems


def require_surface() -> None:
    """Raise :class:`SurfaceError` listing what moved, if anything did."""
    problems = check_surface()
    if problems:
        raise SurfaceError("the synthetic salles do not match the installed libraries: " + "; ".join(problems))


# -- ICE -----------------------------------------------------------------------------


def gather_only_on(addresses: list[str]) -> None:
    """Host candidates on ``addresses`` only, in this process (aioice 0.13 builds them from
    the module function ``aioice.ice.get_host_addresses``, which leaves 127.0.0.1 out)."""
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)


def ice_connection(dtls: Any) -> Any:
    """The aioice ``Connection`` under an ``RTCDtlsTransport`` (``RTCIceTransport._connection``)."""
    return dtls.transport._connection


def divert_datagrams(dtls: Any, handler: Callable[[bytes, Callable[[bytes, int], None], int], None]) -> bool:
    """Every datagram aioice would queue for aiortc goes to ``handler(data, queue, component)``
    first (``queue(data, component)`` is aioice's own ``data_received``). False when the
    connection was already diverted (a bundle shares it between transceivers)."""
    connection = ice_connection(dtls)
    if getattr(connection, "_bench_diverted", False):
        return False
    connection._bench_diverted = True
    queue = connection.data_received
    connection.data_received = lambda data, component: handler(data, queue, component)
    return True


# -- DTLS / SRTP ------------------------------------------------------------------------


def rx_session_if_connected(dtls: Any) -> Any:
    """The receive SRTP session once DTLS is connected, else None."""
    from aiortc.rtcdtlstransport import State

    return dtls._rx_srtp if dtls._state is State.CONNECTED else None


def srtp_call(session: Any, op: str) -> Callable[[bytes | bytearray], bytes]:
    """``session.protect``/``unprotect`` (pylibsrtp's public API) taking a bytearray too.
    Its per-call ``ffi.new`` costs about 0.75 µs per 1 kB packet more than reusing the
    session's buffer through pylibsrtp's private names, which this no longer does."""
    method = getattr(session, op)
    return lambda packet: method(bytes(packet))


class SendBufferFull(Exception):
    """The salle's socket holds more than :data:`SEND_BUFFER_LIMIT` unsent bytes."""


def direct_rtp_sender(dtls: Any) -> Callable[[bytes | bytearray], int]:
    """A synchronous ``send(rtp_packet)`` for ``dtls``: SRTP-protect and hand to the UDP
    socket of the nominated ICE pair (aioice ``Connection._nominated[1]``), as aiortc's
    four-coroutine chain would. Raises ConnectionError when not connected."""
    from aiortc.rtcdtlstransport import State

    nominated = ice_connection(dtls)._nominated
    session: Any = None
    protect: Callable[[bytes | bytearray], bytes] | None = None

    def send(packet: bytes | bytearray) -> int:
        nonlocal session, protect
        if dtls._state is not State.CONNECTED:
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


def wrap_rtp_send(dtls: Any, wrap: Callable[[Callable[[bytes], Awaitable[None]]], Callable]) -> Callable:
    """Replace ``RTCDtlsTransport._send_rtp(data)`` (protect and send one packet, aiortc's
    own path) by ``wrap(original)``; returns the original (RTCP goes through it too)."""
    original = dtls._send_rtp
    dtls._send_rtp = wrap(original)
    return original


def replace_rtp_handler(dtls: Any, handler: Callable[[bytes], None]) -> None:
    """Received (unprotected) RTP goes to ``handler(data)`` instead of aiortc's
    ``_handle_rtp_data`` (which parses, jitter-buffers and decodes)."""

    async def handle_rtp_data(data: bytes, arrival_time_ms: int = 0) -> None:
        handler(data)

    dtls._handle_rtp_data = handle_rtp_data


def watch_rtcp(dtls: Any, watcher: Callable[[bytes], None]) -> None:
    """``watcher(data)`` sees each received (unprotected) RTCP compound before aiortc's
    ``_handle_rtcp_data`` routes it (aiortc routes feedback to registered SSRCs only:
    a simulcast layer's PLI would be lost)."""
    original = dtls._handle_rtcp_data

    async def handle_rtcp_data(data: bytes) -> None:
        watcher(data)
        await original(data)

    dtls._handle_rtcp_data = handle_rtcp_data


# -- RTCRtpSender -----------------------------------------------------------------------


def sender_ssrc(sender: Any) -> int:
    return sender._ssrc


def hook_encoded_frames(sender: Any, after: Callable[[Any], None], keyframe: Callable[[], None]) -> None:
    """``after(frame)`` on each ``RTCEncodedFrame`` the sender packetizes
    (``_next_encoded_frame``), and ``keyframe()`` for what a PLI/FIR asks of it
    (``_send_keyframe``, which does nothing for pre-encoded media)."""
    original = sender._next_encoded_frame

    async def next_encoded_frame(codec: Any) -> Any:
        frame = await original(codec)
        if frame is not None:
            after(frame)
        return frame

    sender._next_encoded_frame = next_encoded_frame
    sender._send_keyframe = keyframe


def next_encoded_frame(sender: Any, codec: Any) -> Awaitable[Any]:
    return sender._next_encoded_frame(codec)


class SenderState:
    """The parts of an ``RTCRtpSender`` a replacement of its RTP loop needs (aiortc 1.16
    name-mangled attributes): the started/exited events, the negotiated header extension
    map and mid, and the sender-report bookkeeping (RFC 3550 6.4.1) its RTCP loop reads."""

    def __init__(self, sender: Any) -> None:
        self.sender = sender

    def _get(self, name: str) -> Any:
        return getattr(self.sender, _SENDER + name)

    def started(self) -> None:
        self._get("rtp_started").set()

    def exited(self) -> None:
        self._get("rtp_exited").set()

    @property
    def extensions_map(self) -> Any:
        return self._get("rtp_header_extensions_map")

    @property
    def mid(self) -> str | None:
        return self._get("mid")

    def report(self, ntp_timestamp: int, rtp_timestamp: int, octets: int, packets: int) -> None:
        setattr(self.sender, _SENDER + "ntp_timestamp", ntp_timestamp)
        setattr(self.sender, _SENDER + "rtp_timestamp", rtp_timestamp)
        setattr(self.sender, _SENDER + "octet_count", self._get("octet_count") + octets)
        setattr(self.sender, _SENDER + "packet_count", self._get("packet_count") + packets)


def replace_rtp_loop(sender: Any, run_rtp: Callable[[Any], Awaitable[None]]) -> None:
    """aiortc starts ``sender._run_rtp(codec)`` once DTLS is connected: run ours instead."""
    sender._run_rtp = run_rtp
