"""Cascading: an edge Router fans out the public programme of an origin Router.

A sitting lives in one Router (the **origin**). When its online audience outgrows
one worker, another Router (the **edge**, on another worker or node) subscribes to
the sitting's public programme **once**, over one connection, and serves
its own viewers from it. Nothing is decoded on either side::

    edge = Router(RouterConfig(...))
    link = await cascade.connect(edge, offer_fn, relay_id="relay:node-b")
    answer_sdp = await edge.connect_viewer(viewer_id, offer_sdp)   # as usual
    link.stats()   # also edge.stats()["upstream"]
    await link.close()

``offer_fn(offer_sdp) -> answer_sdp`` (sync or async) is how the edge reaches the
origin: in one process ``lambda sdp: origin.connect_viewer(relay_id, sdp)``, across
nodes a signaling request that ends in that call on the origin's node.

The edge is the offerer, like a browser viewer: it adds the transceivers of
``slot_layout("viewer")`` (``programme`` and the N voices, all ``recvonly``), so the
origin serves it as one more public viewer (:meth:`sfu.router.Router.connect_viewer`):
the origin's policy chooses the programme and the voices, switches sources on key
frames with continuous sequence numbers, honours R19 (a sensitive passage sends the
link nothing) and R20, exactly as for its direct viewers.

On the edge, the link's connection is the transport Séance owns
(:class:`sfu.transport.connection.Connection`, the offerer side: it controls ICE and is
the DTLS server). Its RTP packets arrive as bytes, undecoded. Each received
slot becomes a Producer of an **upstream pseudo-salle** registered in the edge
Router (``upstream/programme`` with a video producer, ``upstream/audio-0`` ...
with an audio producer each). The edge's own viewers, with the same
``slot_layout("viewer")``, then consume them through the normal Consumer path: the
edge's policy (:func:`sfu.slots.assign_viewer`) puts the only video source in
``programme`` and the voices in the audio slots; each edge viewer gets its own SSRC,
sequence and timestamp rewriting; a key frame needed at the edge (a new viewer, a
PLI) is a PLI sent upstream, which the origin's Consumer relays to the kiosk
(rate-limited at both hops); an edge viewer's NACK is answered from the edge
producer's packet cache, and a packet missing at the edge was already NACKed
upstream by the edge producer when it saw the gap (RFC 4585 section 6.2.1), answered
from the origin's cache.

A lost link (DTLS closed by the origin, ICE failed, a signaling error) is retried
with exponential backoff, capped (:class:`RetryPolicy`); while it is down the edge's
viewers stay connected and simply receive nothing, and once it is back their slots
switch to the new upstream producers on a key frame, their sequence numbers
continuous. Losses and reconnections are in ``link.stats()``, ``edge.stats()`` and,
when a registry is given, as Prometheus metrics (``seance_sfu_upstream_*``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from .producer import Producer, start_producer, stop_producer
from .transport.connection import Connection

if TYPE_CHECKING:
    from .router import Router

__all__ = ["UPSTREAM_PREFIX", "RetryPolicy", "UpstreamLink", "connect"]

logger = logging.getLogger(__name__)

OfferFn = Callable[[str], "str | Awaitable[str]"]

#: the edge's pseudo-salles are named ``upstream/<slot>``
UPSTREAM_PREFIX = "upstream/"


@dataclass(frozen=True)
class RetryPolicy:
    """Reconnection of a lost upstream link: ``initial`` seconds, doubled at each
    failed attempt up to ``maximum``, with +-``jitter`` (fraction); ``max_attempts``
    consecutive failures (None: no limit) leave the link ``failed``. An attempt that
    does not reach ``connected`` within ``connect_timeout`` seconds has failed."""

    initial: float = 0.5
    maximum: float = 10.0
    jitter: float = 0.2
    max_attempts: int | None = None
    connect_timeout: float = 10.0

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * (2 ** max(0, attempt - 1)))
        return base * (1 + self.jitter * (2 * random.random() - 1))


class UpstreamSlot:
    """A pseudo-salle of the edge Router: one received slot of the upstream link.

    It quacks like a salle :class:`sfu.peer.Peer` for the Router (``kind``
    ``"salle"``, ``producers``, no consumers, no receive slots) and for its Producer
    (``router``, ``counters``, ``health``, ``hook_error``)."""

    kind = "salle"

    def __init__(self, link: UpstreamLink, slot: str) -> None:
        self.link = link
        self.router = link.router
        self.slot = slot
        self.peer_id = self.salle_id = UPSTREAM_PREFIX + slot
        self.counters = link.router.counters
        self.ice = link.router.config.ice
        self.health = None
        self.producers: dict[str, Producer] = {}
        self.consumers: dict = {}
        self.assignments: dict[str, str | None] = {}
        self.slots: list[str] = []
        self.closed = False

    def hook_error(self, where: str, exc: BaseException) -> None:
        self.link.hook_error(where, exc)

    def drop_producers(self) -> None:
        for producer in list(self.producers.values()):
            stop_producer(self, producer)

    async def close(self) -> None:
        """Called by the Router when it removes the pseudo-salle (e.g. on close)."""
        self.closed = True
        self.drop_producers()


class UpstreamLink:
    """The edge's one subscription to the origin (see the module docstring).

    It is the owner of its connection (:class:`sfu.transport.connection.ConnectionOwner`)."""

    def __init__(
        self,
        router: Router,
        offer_fn: OfferFn,
        relay_id: str,
        retry: RetryPolicy,
    ) -> None:
        self.router = router
        self.offer_fn = offer_fn
        self.relay_id = relay_id
        self.retry = retry
        self.ice = router.config.ice
        self.counters = router.counters
        self.connection: Connection | None = None
        self.state = "new"  # new | connecting | up | retrying | failed | closed
        self.slots: dict[str, UpstreamSlot] = {}
        self.receiver_slots: dict[int, str] = {}  # id(receiver) -> slot
        self.connections = 0  # times the link came up
        self.losses = 0  # times it went down after being up
        self.failed_attempts = 0  # attempts that never came up
        self.last_error: str | None = None
        self.up_since: float | None = None
        self.down_since: float | None = time.monotonic()
        self.hook_errors = 0
        self._lost = asyncio.Event()
        self._up = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closing = False

    # public ---------------------------------------------------------------------------
    @property
    def up(self) -> bool:
        return self.state == "up"

    def stats(self) -> dict:
        """The link's state and counters; the per-slot packets received upstream."""
        now = time.monotonic()
        return {
            "relay_id": self.relay_id,
            "state": self.state,
            "up": self.up,
            "connections": self.connections,
            "losses": self.losses,
            "failed_attempts": self.failed_attempts,
            "last_error": self.last_error,
            "down_for": None if self.down_since is None else round(now - self.down_since, 3),
            # per received slot: its kind and SSRC while the link is up
            "slots": {slot: {kind: p.ssrc for kind, p in s.producers.items()} for slot, s in self.slots.items()},
        }

    async def wait_up(self, timeout: float) -> bool:
        """True once the link is up; False after ``timeout`` or when it has failed
        (``RetryPolicy.max_attempts``) or was closed."""
        deadline = time.monotonic() + timeout
        while not self.up:
            if self.state in ("failed", "closed") or time.monotonic() >= deadline:
                return False
            try:
                await asyncio.wait_for(self._up.wait(), min(0.1, deadline - time.monotonic()))
            except TimeoutError:
                pass
        return True

    async def close(self) -> None:
        """Stop the link for good: the origin's relay peer goes away, the edge's
        pseudo-salles are removed (its viewers' slots empty)."""
        if self._closing:
            return
        self._closing = True
        self.state = "closed"
        self._lost.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        await self._teardown()
        for slot in list(self.slots.values()):
            self.router.unregister_peer(slot)
            await slot.close()
        self.slots.clear()
        self.router.detach_upstream(self)

    # supervision -----------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            self._lost.clear()
            self.state = "connecting" if self.connections == 0 and attempt == 0 else "retrying"
            came_up = False
            try:
                await self._open()
                came_up = True
                attempt = 0
                await self._lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("upstream link %s: %s", self.relay_id, self.last_error)
            if came_up:
                self.losses += 1
                self.up_since = None
                self.down_since = time.monotonic()
                self._up.clear()
            else:
                self.failed_attempts += 1
            await self._teardown()
            if self._closing:
                break
            attempt += 1
            if self.retry.max_attempts is not None and attempt > self.retry.max_attempts:
                self.state = "failed"
                logger.error("upstream link %s failed after %d attempts", self.relay_id, attempt - 1)
                break
            self.state = "retrying"
            await asyncio.sleep(self.retry.delay(attempt))

    async def _open(self) -> None:
        """One attempt on the transport Séance owns (:mod:`sfu.transport`): the edge
        offers the viewer's slots ``recvonly``, controls ICE and is the DTLS server; ask
        the origin, wait until connected."""
        self.connection = connection = Connection(self, certificate=self.router.dtls_certificate, offerer=True)
        self.receiver_slots.clear()
        layout = self.router.slot_layout("viewer")
        offer = await connection.offer([entry["kind"] for entry in layout])
        answer = self.offer_fn(offer)
        if inspect.isawaitable(answer):
            answer = await answer
        if connection is not self.connection or self._closing:
            raise ConnectionError("link closed while negotiating")
        await connection.accept_answer(answer)
        for receiver, _ in connection.receivers:
            self.receiver_slots[id(receiver)] = layout[int(receiver.mid)]["slot"]
        deadline = time.monotonic() + self.retry.connect_timeout
        while connection.state != "connected":
            if connection.state in ("failed", "closed") or self._lost.is_set():
                raise ConnectionError(f"upstream connection {connection.state}")
            if time.monotonic() > deadline:
                raise TimeoutError("upstream connection not established in time")
            await asyncio.sleep(0.05)
        self._came_up()

    def _came_up(self) -> None:
        self.state = "up"
        self.connections += 1
        self.up_since = time.monotonic()
        self.down_since = None
        self.last_error = None
        self._up.set()

    async def _teardown(self) -> None:
        for slot in self.slots.values():
            slot.drop_producers()
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                await asyncio.wait_for(asyncio.shield(connection.close()), timeout=5.0)
            except Exception as exc:
                logger.warning("closing upstream link %s: %r", self.relay_id, exc)

    # MediaOwner -------------------------------------------------------------------------
    def receiver_started(self, receiver: Any, parameters: Any) -> None:
        slot_name = self.receiver_slots.get(id(receiver))
        if slot_name is None or self._closing or self.connection is None:
            return
        slot = self.slots.get(slot_name)
        if slot is None:
            slot = self.slots[slot_name] = UpstreamSlot(self, slot_name)
        self.router.register_peer(slot)
        start_producer(slot, receiver, parameters)

    def receiver_stopped(self, receiver: Any) -> None:
        producer = receiver.seance_handler
        if producer is not None:
            stop_producer(producer.peer, producer)

    def sender_started(self, sender: Any, parameters: Any) -> None:
        pass  # receive only

    def sender_stopped(self, sender: Any) -> None:
        pass

    def transport_closed(self) -> None:
        self._lost.set()

    def hook_error(self, where: str, exc: BaseException) -> None:
        self.hook_errors += 1
        self.counters.hook_errors[where] += 1
        logger.warning("sfu hook %s of upstream %s: %r", where, self.relay_id, exc, exc_info=exc)


class UpstreamCollector(Collector):
    """``seance_sfu_upstream_up`` (gauge), ``..._connections_total``,
    ``..._losses_total`` and ``..._failed_attempts_total``, labelled by relay id."""

    def __init__(self, link: UpstreamLink) -> None:
        self.link = link

    def describe(self) -> list:
        return []

    def collect(self):
        link, labels = self.link, ["relay"]
        up = GaugeMetricFamily(
            "seance_sfu_upstream_up", "1 while the edge's upstream link to the origin is up", labels=labels
        )
        up.add_metric([link.relay_id], 1 if link.up else 0)
        yield up
        for name, doc, value in (
            ("connections", "Times the upstream link came up", link.connections),
            ("losses", "Times the upstream link was lost after being up", link.losses),
            ("failed_attempts", "Upstream connection attempts that failed", link.failed_attempts),
        ):
            m = CounterMetricFamily(f"seance_sfu_upstream_{name}", doc, labels=labels)
            m.add_metric([link.relay_id], value)
            yield m


async def connect(
    edge: Router,
    offer_fn: OfferFn,
    *,
    relay_id: str = "relay",
    retry: RetryPolicy | None = None,
    registry: CollectorRegistry | None = None,
    wait: bool = True,
) -> UpstreamLink:
    """Link ``edge`` to the origin reached by ``offer_fn`` (see the module docstring).

    With ``wait`` (the default) returns once the link is up, or raises
    ``TimeoutError`` (the link closed) if it failed (``max_attempts``) or two
    ``retry.connect_timeout`` plus one ``retry.maximum`` passed without it; without
    ``wait`` returns at once, the link connecting and retrying in the background."""
    retry = retry or RetryPolicy()
    link = UpstreamLink(edge, offer_fn, relay_id, retry)
    edge.attach_upstream(link)  # refuses a closed router or a second link
    if registry is not None:
        registry.register(UpstreamCollector(link))
    link.start()
    if wait and not await link.wait_up(2 * retry.connect_timeout + retry.maximum):
        error = link.last_error
        await link.close()
        raise TimeoutError(f"upstream link {relay_id} did not come up ({error})")
    return link
