"""A Peer: one browser's connection (a salle kiosk or a public viewer), on the transport
Séance owns (:class:`sfu.transport.connection.Connection`).

The browser is the offerer. Its m-lines are matched, in order, to the slots of
:func:`sfu.slots.layout`: the first ``sendonly``/``sendrecv`` m-line of each kind is
the salle's own track (a Producer), each ``recvonly`` m-line becomes the next
receive slot of its kind (a Consumer, answered ``sendonly`` with the slot name as
its msid stream id). Extra m-lines are answered ``inactive``.

The Peer is the owner its connection reports to (:class:`sfu.transport.owner.MediaOwner`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiortc import sdp as aiortc_sdp

from .adaptation import SubscriberLink
from .consumer import Consumer
from .health import HealthMonitor
from .ice import strip_mdns_candidates
from .producer import Producer, start_producer, stop_producer
from .simulcast import SimulcastOffer, simulcast_offers
from .slots import SEND_AUDIO, SEND_VIDEO, layout
from .transport.connection import Connection
from .transport.sdp import INACTIVE, PUBLISH, SLOT, Section

if TYPE_CHECKING:
    from .router import Router

logger = logging.getLogger(__name__)


class Peer:
    def __init__(self, router: Router, peer_id: str, kind: str, health: HealthMonitor | None) -> None:
        self.router = router
        self.peer_id = peer_id
        self.kind = kind  # "salle" | "viewer"
        self.salle_id: str | None = peer_id if kind == "salle" else None
        self.ice = router.config.ice
        self.counters = router.counters
        self.health = health
        self.connection: Connection | None = None
        self.sender_slots: dict[int, str] = {}  # id(sender) -> slot
        self.consumers: dict[str, Consumer] = {}
        self.producers: dict[str, Producer] = {}
        self.assignments: dict[str, str | None] = {}
        self.slots: list[str] = []
        self.closed = False
        self.mdns_candidates_dropped = 0
        #: its downlink estimate and allocation (sfu.adaptation), fed by its consumers' RTCP
        self.downlink = SubscriberLink(
            router.config.estimator, router.config.allocator, remb_decreases=router.config.remb_decreases
        )
        self.paused_slots: frozenset[str] = frozenset()  # as last told to signaling
        self.simulcast: dict[str, SimulcastOffer] = {}  # its offer's simulcast sections, by mid

    # negotiation ------------------------------------------------------------------
    async def negotiate(self, offer_sdp: str) -> str:
        if not self.ice.resolve_mdns:
            offer_sdp, self.mdns_candidates_dropped = strip_mdns_candidates(offer_sdp)
        parsed = aiortc_sdp.SessionDescription.parse(offer_sdp)
        if self.kind == "salle":
            self.simulcast = simulcast_offers(offer_sdp)
        sections = []
        for media, (role, slot) in zip(parsed.media, self._roles(parsed), strict=True):
            sections.append(Section(role=role, slot=slot, track_id=f"{slot}-{self.peer_id}" if slot else None))
            if role == SLOT and slot is not None:
                self.slots.append(slot)
            elif role == PUBLISH:
                self.slots.append(SEND_AUDIO if media.kind == "audio" else SEND_VIDEO)
        self.connection = Connection(
            self, certificate=self.router.dtls_certificate, forwarding=self.router.config.forwarding
        )
        answer = await self.connection.accept(offer_sdp, sections, self.simulcast)
        for sender, _ in self.connection.senders:
            slot = next(s.slot for s in sections if s.role == SLOT and s.ssrc == sender.media_ssrc)
            self.sender_slots[id(sender)] = slot
        return answer

    def _roles(self, parsed: Any) -> list[tuple[str, str | None]]:
        """Per m-line of the offer: (PUBLISH, None) for the salle's own track of its
        kind, (SLOT, name) for the next receive slot of its kind, else (INACTIVE, None)."""
        config = self.router.config
        wanted = layout(self.kind, config.video_slots, config.audio_slots)
        recv_slots = {
            kind: [e["slot"] for e in wanted if e["kind"] == kind and e["direction"] == "recvonly"]
            for kind in ("audio", "video")
        }
        published: set[str] = set()
        roles: list[tuple[str, str | None]] = []
        for media in parsed.media:
            remote = media.direction or "sendrecv"
            if media.kind not in ("audio", "video"):
                roles.append((INACTIVE, None))
            elif self.kind == "salle" and remote in ("sendonly", "sendrecv") and media.kind not in published:
                published.add(media.kind)
                roles.append((PUBLISH, None))
            elif remote in ("recvonly", "sendrecv") and recv_slots[media.kind]:
                roles.append((SLOT, recv_slots[media.kind].pop(0)))
            else:
                roles.append((INACTIVE, None))
        return roles

    @property
    def connected(self) -> bool:
        """Its media transport is up (ICE and DTLS)."""
        return self.connection is not None and self.connection.state == "connected"

    # MediaOwner ---------------------------------------------------------------------
    def receiver_started(self, receiver: Any, parameters: Any) -> None:
        if self.kind != "salle" or self.closed:
            return
        start_producer(self, receiver, parameters, simulcast=self.simulcast.get(parameters.muxId))

    def receiver_stopped(self, receiver: Any) -> None:
        if receiver.seance_handler is not None:
            stop_producer(self, receiver.seance_handler)

    def sender_started(self, sender: Any, parameters: Any) -> None:
        slot = self.sender_slots.get(id(sender))
        if slot is None or self.closed:
            return
        consumer = Consumer(self, sender, slot, sender.kind, parameters)
        sender.seance_handler = consumer
        self.consumers[slot] = consumer
        consumer.start()
        self.router.consumer_added(self, consumer)

    def sender_stopped(self, sender: Any) -> None:
        consumer = sender.seance_handler
        if consumer is not None:
            sender.seance_handler = None
            if self.consumers.get(consumer.slot) is consumer:
                del self.consumers[consumer.slot]
            consumer.close()

    def transport_closed(self) -> None:
        if not self.closed:
            self.router.peer_gone(self)

    def hook_error(self, where: str, exc: BaseException) -> None:
        self.counters.hook_errors[where] += 1
        logger.warning("sfu hook %s of %s: %r", where, self.peer_id, exc, exc_info=exc)

    # teardown -----------------------------------------------------------------------
    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for consumer in list(self.consumers.values()):
            consumer.close()
        for producer in list(self.producers.values()):
            producer.close()
            self.router.producer_removed(self, producer)
        self.consumers.clear()
        self.producers.clear()
        if self.connection is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.connection.close()), timeout=5.0)
            except Exception as exc:  # a stuck close must not block the router
                logger.warning("closing peer %s: %r", self.peer_id, exc)
