"""What owns a media connection: a Séance peer (:class:`sfu.peer.Peer`) or a cascade's
upstream link (:class:`sfu.cascade.UpstreamLink`), told by its connection
(:mod:`sfu.transport.connection`) when its streams start and stop and when the transport
ends."""

from __future__ import annotations

from typing import Any, Protocol

from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtp import RtcpPacket

from ..config import IceSettings


class MediaOwner(Protocol):
    ice: IceSettings
    counters: Any  # sfu.metrics.SfuCounters

    def receiver_started(self, receiver: Any, parameters: Any) -> None: ...
    def receiver_stopped(self, receiver: Any) -> None: ...
    def sender_started(self, sender: Any, parameters: Any) -> None: ...
    def sender_stopped(self, sender: Any) -> None: ...
    def transport_closed(self) -> None: ...
    def hook_error(self, where: str, exc: BaseException) -> None: ...


class RoutingHeader:
    """Just what aiortc's ``RtpRouter.route_rtp`` reads (aiortc 1.16.0: ``.ssrc``,
    ``.payload_type``), so routing needs no ``RtpPacket.parse`` per packet."""

    __slots__ = ("payload_type", "ssrc")

    def __init__(self, ssrc: int, payload_type: int) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type


def route_compound(router: RtpRouter, data: bytes) -> list[tuple[Any, set[Any]]] | None:
    """An unprotected RTCP compound parsed and routed whole: each packet with who it
    concerns, or None when any part does not parse or route (then none of it acts).
    aiortc 1.16.0 catches only ValueError, but a compound with a wrong count or length
    can raise struct.error or IndexError from the packet parsers, and
    ``RtpRouter.route_rtcp`` raises struct.error on a REMB announcing more SSRCs than it
    carries."""
    try:
        return [(p, router.route_rtcp(p)) for p in RtcpPacket.parse(data)]
    except Exception:
        return None
