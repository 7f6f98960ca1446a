"""ICE of a connection with ``aioice.Connection``: Séance is the controlled agent (the
browser, as offerer, controls: RFC 8445 section 6.1.1; a cascade's edge, the offerer,
controls), gathers host candidates on its
own addresses and announces them as configured (:mod:`sfu.ice`), learns the browser as
a peer-reflexive candidate when its offer hides its addresses, and sends end-of-candidates
never (aioice would give up before the browser's first check).

What arrives that is not STUN is handed to ``on_datagram`` inside the socket callback:
:class:`IceLink` is a subclass of aioice's ``Connection`` whose ``data_received`` (the
method its sockets' protocol calls with every non-STUN datagram) does that instead of
queueing for ``recv()``. Sending is synchronous on the nominated pair's socket
(:func:`sfu.library_surface.nominated_socket`), bounded by what the socket still holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import aioice
from aiortc.rtcicetransport import RTCIceCandidate, RTCIceParameters, candidate_from_aioice, candidate_to_aioice

from .. import library_surface
from ..config import IceSettings
from ..ice import announced, gather_addresses

#: bytes a socket may hold unsent (EAGAIN) before more is dropped (see
#: :data:`sfu.library_surface.SEND_BUFFER_LIMIT`)
SEND_BUFFER_LIMIT = library_surface.SEND_BUFFER_LIMIT


class IceLink(aioice.Connection):
    """One ICE agent, component 1 only (``a=rtcp-mux``, BUNDLE)."""

    def __init__(self, settings: IceSettings, on_datagram: Callable[[bytes], None], controlling: bool = False) -> None:
        super().__init__(ice_controlling=controlling, components=1, use_ipv6=settings.use_ipv6)
        self.settings = settings
        self.on_datagram = on_datagram

    def data_received(self, data: bytes, component: int) -> None:
        """Called by aioice's socket protocol for every datagram that is not STUN."""
        self.on_datagram(data)

    async def gather(self) -> None:
        await library_surface.gather_on_addresses(self, gather_addresses(self.settings))

    def local_parameters(self) -> RTCIceParameters:
        return RTCIceParameters(usernameFragment=self.local_username, password=self.local_password)

    def announced_candidates(self) -> list[RTCIceCandidate]:
        """The local candidates as the answer announces them."""
        out = []
        for candidate in self.local_candidates:
            c = candidate_from_aioice(candidate)
            if self.settings.announced_address is not None:
                c = dataclasses.replace(c, ip=announced(c.ip, self.settings))
            out.append(c)
        return out

    async def set_remote(self, parameters: RTCIceParameters, candidates: list[RTCIceCandidate]) -> None:
        self.remote_username = parameters.usernameFragment
        self.remote_password = parameters.password
        for candidate in candidates:
            await self.add_remote_candidate(candidate_to_aioice(candidate))

    def nominated(self) -> tuple[Any, Any] | None:
        """The nominated pair's datagram transport and remote address, None before."""
        return library_surface.nominated_socket(self)

    def send_now(self, data: bytes) -> int:
        """Send one datagram on the nominated pair, now. Raises ConnectionError when no
        pair is nominated, :class:`sfu.library_surface.SendBufferFull` when its socket
        already holds more than SEND_BUFFER_LIMIT bytes."""
        nominated = self.nominated()
        if nominated is None:
            raise ConnectionError("ICE not connected")
        transport, address = nominated
        if transport.get_write_buffer_size() > SEND_BUFFER_LIMIT:
            raise library_surface.SendBufferFull
        transport.sendto(data, address)
        return len(data)
