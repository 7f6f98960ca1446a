"""The one module of Séance that reaches into another library's internals (issue 11 point 8).

The server side of every connection is the transport Séance owns (:mod:`sfu.transport`):
SDP with ``aiortc.sdp``, ICE with ``aioice``, DTLS with pyOpenSSL, SRTP with pylibsrtp's
``Session``, each through its public API. Nothing of aiortc or aioice is rebound, no
class of theirs replaced. aioice has no public way to do two things the transport
needs; they are here, with the five private names of ``aioice.Connection`` they use:

- :func:`gather_on_addresses`: gather host candidates on Séance's own address list
  (aioice takes none: it binds on every interface address but 127.0.0.1);
- :func:`nominated_socket`: the nominated pair's datagram transport, so that a
  forwarded packet is sent synchronously in the socket callback that received it,
  instead of through aioice's ``Connection.sendto`` coroutine.

Both were checked against **aiortc 1.16.0**, **aioice 0.13.0** and **pylibsrtp 1.0.0**,
the exact versions ``pyproject.toml`` and ``constraints.txt`` pin;
:func:`check_surface`, run by every :class:`sfu.router.Router` when it is built and by
``tests/sfu/test_library_surface.py``, fails loudly if an upgrade changes a version or
moves any name, signature or piece of code relied on here, including
what the transport relies on of the libraries' behaviour behind their public names
(aioice's socket protocol handing non-STUN datagrams to ``Connection.data_received``,
aiortc's ``RtpRouter.route_rtp`` reading only the SSRC and payload type).
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from typing import Any

import aioice
import aioice.ice
from aiortc.rtcdtlstransport import RtpRouter

AIORTC_CHECKED = "1.16.0"
AIOICE_CHECKED = "0.13.0"
PYLIBSRTP_CHECKED = "1.0.0"
#: distribution -> the exact version this module was checked against; pyproject.toml
#: pins the same (``tests/sfu/test_library_surface.py`` compares them)
PINNED = {"aiortc": AIORTC_CHECKED, "aioice": AIOICE_CHECKED, "pylibsrtp": PYLIBSRTP_CHECKED}

#: bytes an event loop's UDP transport may hold when the socket refuses more (EAGAIN)
#: before forwarded packets are dropped (``send_buffer_full``): asyncio's datagram
#: transports buffer without bound, and a subscriber that reads slowly (on loopback the
#: sender's socket stays charged until the receiver reads) would otherwise see its
#: delay grow by seconds. 64 KiB is about 0.2 s of a salle's downlink.
SEND_BUFFER_LIMIT = 64 * 1024


class SendBufferFull(Exception):
    """The socket of a consumer's path holds more than SEND_BUFFER_LIMIT unsent bytes."""


def _installed_version(dist: str) -> str | None:
    """The installed version of ``dist`` as its metadata says (aioice and pylibsrtp have
    no ``__version__`` attribute to trust)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


# aioice 0.13.0: Connection.gather_candidates() uses get_host_addresses() (no 127.0.0.1)
# then get_component_candidates(component=, addresses=) per component (_components),
# with _local_candidates_start / _local_candidates / _local_candidates_end.
async def gather_on_addresses(connection: aioice.Connection, addresses: list[str]) -> None:
    """aioice 0.13.0 ``Connection.gather_candidates`` on Séance's address list."""
    if not connection._local_candidates_start:
        connection._local_candidates_start = True
        for component in sorted(connection._components):
            connection._local_candidates += await connection.get_component_candidates(
                component=component, addresses=addresses
            )
        connection._local_candidates_end = True


# aioice 0.13.0: Connection.sendto looks up _nominated[component] (component ->
# CandidatePair, cleared on close) and awaits pair.protocol.send_data(data, pair.remote_addr), which
# calls protocol.transport.sendto(data, addr).
def nominated_socket(connection: aioice.Connection) -> tuple[Any, Any] | None:
    """The datagram transport and remote address of the nominated pair of component 1,
    for a synchronous send; None when no pair is nominated."""
    pair = connection._nominated.get(1)
    if pair is None or pair.protocol.transport is None:
        return None
    return pair.protocol.transport, pair.remote_addr


def _params(func: Any) -> list[str]:
    return [p for p in inspect.signature(func).parameters if p != "self"]


def _attrs(src: str, name: str) -> list[str]:
    return re.findall(rf"\b{name}\.([a-z_]+)", src)


def check_surface() -> list[str]:
    """Everything this module and the transport rely on; the list of what moved (empty:
    fine)."""
    problems: list[str] = []

    def expect(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    for dist, checked in PINNED.items():
        installed_version = _installed_version(dist)
        expect(installed_version == checked, f"{dist} {installed_version} installed, checked against {checked}")
    conn = aioice.ice.Connection
    src = inspect.getsource(conn.gather_candidates)
    for attr in (
        "_local_candidates_start",
        "_local_candidates_end",
        "_local_candidates +=",
        "get_host_addresses(",
        "get_component_candidates(",
        "self._components",
    ):
        expect(attr in src, f"aioice Connection.gather_candidates uses {attr} (gather_on_addresses)")
    expect(
        _params(conn.get_component_candidates)[:2] == ["component", "addresses"],
        "aioice Connection.get_component_candidates(component, addresses)",
    )
    expect("self._components" in inspect.getsource(conn.__init__), "aioice Connection._components")
    expect(
        "127.0.0.1" in inspect.getsource(aioice.ice.get_host_addresses),
        "aioice get_host_addresses leaves out 127.0.0.1 (documented in sfu/ice.py)",
    )
    src = inspect.getsource(conn.sendto)
    expect(
        "self._nominated.get(component)" in src
        and "active_pair.protocol.send_data(data, active_pair.remote_addr)" in src,
        "aioice Connection.sendto sends on _nominated[component] (nominated_socket)",
    )
    expect(
        "self.transport.sendto(data, addr)" in inspect.getsource(aioice.ice.StunProtocol.send_data),
        "aioice StunProtocol.send_data calls transport.sendto (nominated_socket)",
    )
    expect(
        "self._nominated: dict[int, CandidatePair] = {}" in inspect.getsource(conn.__init__),
        "aioice Connection._nominated: component -> CandidatePair (nominated_socket)",
    )
    # sfu.transport.ice.IceLink overrides the public Connection.data_received
    expect(_params(conn.data_received) == ["data", "component"], "aioice Connection.data_received(data, component)")
    src = inspect.getsource(aioice.ice.StunProtocol.datagram_received)
    expect(
        "stun.parse_message(data)" in src
        and "self.receiver.data_received(data, self.local_candidate.component)" in src,
        "aioice StunProtocol.datagram_received: STUN parse, else receiver.data_received (IceLink)",
    )
    # sfu.transport.owner.RoutingHeader stands for the RtpPacket route_rtp reads
    expect(_params(RtpRouter.route_rtp) == ["packet"], "RtpRouter.route_rtp(packet)")
    expect(
        set(_attrs(inspect.getsource(RtpRouter.route_rtp), "packet")) <= {"ssrc", "payload_type"},
        "RtpRouter.route_rtp reads only packet.ssrc and packet.payload_type (RoutingHeader)",
    )
    return problems
