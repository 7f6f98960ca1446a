"""Where each sitting lives: placement, leases, fencing and redirects (issue 5, docs/operations.md).

One sitting lives in one process (a *node*). A :class:`Placement` answers "which node
holds sitting S, and at which URL do browsers reach it", and lets a node take, keep and
give back a sitting:

- :class:`InProcessPlacement`: one node holds everything (the embedded default; nothing
  changes for the two-command demo);
- :class:`StaticPlacement`: ``seance serve --workers N`` without Redis: sitting *i* of the
  configuration lives on worker ``i mod N`` (the supervisor restarts a dead worker);
- :class:`signaling.redis_store.RedisPlacement`: several processes or machines on one
  Redis, each sitting placed by a lease ``seance:lease:<sitting>`` renewed by heartbeat.

:class:`SittingHost` runs a node's side of it: it opens the sittings this node acquires
(room, then the deliberation service resumed from its journal: replay and verification),
renews their leases, drops a sitting whose lease it cannot prove any more, and takes over
the sittings whose holder died. Two writers of one journal are prevented twice:

1. *lease deadline*: before every journal append the service asks :meth:`SittingHost.fence`,
   which refuses unless the lease is held, by this node's own clock, for at least a
   safety margin more (the deadline is counted from *before* the renewal was sent, so it
   ends before Redis forgets the lease);
2. *journal lock*: a node opens a journal only while holding an exclusive ``flock`` on
   ``sittings/<id>/holder.lock`` beside it (released by the kernel when a process dies;
   on NFSv4, a lock whose client stopped renewing is recalled by the server), and gives
   the Redis lease back if it cannot get the lock. A paused node that wakes up after its
   lease expired finds its fence closed; a node that never stopped holds the lock, so no
   other node opens the journal.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signaling import datadir

log = logging.getLogger(__name__)

#: Default lease lifetime (seconds); the heartbeat renews at a third of it.
LEASE_TTL_S = 15.0
#: The fence closes this fraction of the TTL before the lease's own end (clock drift, fsync).
FENCE_MARGIN = 0.25
#: A node that wins a lease while the journal is still locked (the previous holder has not
#: closed it yet) keeps the lease this many heartbeats, retrying the lock, then gives it back.
LOCK_WAIT_TICKS = 3


@dataclass(frozen=True)
class NodeInfo:
    """A node: its id (unique per process) and the base URL browsers reach it at."""

    id: str
    url: str


EventCallback = Callable[[str, dict[str, Any]], None]


class Placement:
    """Which node holds which sitting. Leases are monotonic deadlines on this node's clock."""

    node: NodeInfo
    lease_ttl_s: float = LEASE_TTL_S

    async def start(self) -> None:
        """Connect, announce the node."""

    async def stop(self) -> None:
        """Give back every lease held, disconnect."""

    async def heartbeat(self) -> None:
        """Announce the node again (called every ``lease_ttl_s / 3``)."""

    async def acquire(self, sitting: str) -> float | None:
        """Take the sitting's lease: its local deadline (``time.monotonic``), or None."""
        raise NotImplementedError

    async def renew(self, sitting: str) -> float | None:
        """Extend a lease this node holds: the new deadline; None if it is not ours any more."""
        raise NotImplementedError

    async def release(self, sitting: str) -> None:
        raise NotImplementedError

    async def locate(self, sitting: str) -> NodeInfo | None:
        """The node that holds the sitting now, or None."""
        raise NotImplementedError

    def prefers(self, sitting: str) -> bool:
        """Whether this node should take a free sitting at once (others wait a turn)."""
        return True

    async def publish(self, sitting: str, event: dict[str, Any]) -> None:
        """Tell every node's dashboards about a change of the sitting."""

    def on_event(self, callback: EventCallback) -> None:
        """``callback(sitting, event)`` for the events of every node (self included)."""
        self._callbacks = [*getattr(self, "_callbacks", []), callback]

    def _deliver(self, sitting: str, event: dict[str, Any]) -> None:
        for cb in getattr(self, "_callbacks", []):
            try:
                cb(sitting, event)
            except Exception:  # a dashboard must not break the placement
                log.exception("event callback failed")


class InProcessPlacement(Placement):
    """The embedded default: this process holds every sitting, for ever."""

    def __init__(self, node: NodeInfo) -> None:
        self.node = node
        self.held: set[str] = set()

    async def acquire(self, sitting: str) -> float | None:
        self.held.add(sitting)
        return float("inf")

    async def renew(self, sitting: str) -> float | None:
        return float("inf") if sitting in self.held else None

    async def release(self, sitting: str) -> None:
        self.held.discard(sitting)

    async def locate(self, sitting: str) -> NodeInfo | None:
        return self.node if sitting in self.held else None

    async def publish(self, sitting: str, event: dict[str, Any]) -> None:
        self._deliver(sitting, {**event, "node": self.node.id})


class StaticPlacement(Placement):
    """Workers on one machine without Redis: each sitting has a fixed worker."""

    def __init__(self, nodes: list[NodeInfo], index: int, assignment: dict[str, int]) -> None:
        self.nodes = nodes
        self.index = index
        self.node = nodes[index]
        self.assignment = assignment

    @staticmethod
    def assign(sittings: list[str], workers: int) -> dict[str, int]:
        """Sitting *i* of the configuration on worker ``i mod workers``: an even spread."""
        return {sid: i % workers for i, sid in enumerate(sittings)}

    def worker_of(self, sitting: str) -> int:
        """The configured worker, else (a sitting convened after the start, every worker
        computing the same) the rendezvous choice among the workers."""
        if sitting in self.assignment:
            return self.assignment[sitting]
        chosen = rendezvous(sitting, [n.id for n in self.nodes])
        return next(i for i, n in enumerate(self.nodes) if n.id == chosen)

    async def acquire(self, sitting: str) -> float | None:
        return float("inf") if self.worker_of(sitting) == self.index else None

    renew = acquire

    async def release(self, sitting: str) -> None:
        pass

    async def locate(self, sitting: str) -> NodeInfo | None:
        return self.nodes[self.worker_of(sitting)]

    async def publish(self, sitting: str, event: dict[str, Any]) -> None:
        self._deliver(sitting, {**event, "node": self.node.id})


def rendezvous(sitting: str, node_ids: list[str]) -> str | None:
    """Highest-random-weight choice of a node for a sitting (spreads sittings evenly)."""
    if not node_ids:
        return None
    return max(node_ids, key=lambda n: hashlib.sha256(f"{sitting}\0{n}".encode()).digest())


# --------------------------------------------------------------------------- the node's side


class JournalLock:
    """An exclusive ``flock`` on ``<data_dir>/sittings/<id>/holder.lock`` (non-blocking)."""

    def __init__(self, data_dir: Path, sitting: str) -> None:
        self.path = datadir.DataDir.of(data_dir).holder_lock(sitting)
        self.fd: int | None = None

    def try_lock(self, holder: str) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder}\n".encode(), 0)
        self.fd = fd
        return True

    def unlock(self) -> None:
        if self.fd is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None


#: Opens a sitting on this node (room, then service from the journal); closes it.
Opener = Callable[[str], Awaitable[None]]
Closer = Callable[[str], Awaitable[None]]


class SittingHost:
    """Acquire, keep and give back this node's sittings; fence their journal appends."""

    def __init__(
        self,
        placement: Placement,
        sittings: list[str],
        data_dir: Path,
        *,
        open_sitting: Opener,
        close_sitting: Closer,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.placement = placement
        self.sittings = list(sittings)
        self.data_dir = Path(data_dir)
        self._open = open_sitting
        self._close = close_sitting
        self.clock = clock
        #: called with the sitting's id once it is opened here (e.g. web.relay watches its room)
        self.on_opened: list[Opener] = []
        #: sitting -> local deadline of the lease (monotonic)
        self.deadlines: dict[str, float] = {}
        self.locks: dict[str, JournalLock] = {}
        self._free_seen: dict[str, int] = {}
        self._lock_waits: dict[str, int] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    def add(self, sitting: str) -> None:
        """A sitting convened after the start: taken at the next step if it is free."""
        if sitting not in self.sittings:
            self.sittings.append(sitting)

    @property
    def period_s(self) -> float:
        return self.placement.lease_ttl_s / 3

    def holds(self, sitting: str) -> bool:
        return sitting in self.deadlines

    def fence(self, sitting: str) -> str | None:
        """None while this node may append to the sitting's journal; else why not (French)."""
        deadline = self.deadlines.get(sitting)
        margin = self.placement.lease_ttl_s * FENCE_MARGIN
        if deadline is None or deadline - self.clock() < margin:
            return (
                "Ce serveur n'est plus assuré de tenir la séance (bail expiré) : la commande n'est pas "
                "enregistrée. Rechargez la page pour rejoindre le serveur qui la tient."
            )
        return None

    async def start(self) -> None:
        await self.placement.start()
        await self.tick()
        loop = asyncio.get_running_loop()
        # Two loops: opening a sitting (journal replay, Router) must never delay the
        # renewal of the leases already held.
        self._loops = [loop.create_task(self._loop(self.keep)), loop.create_task(self._loop(self.take))]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._loops:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        for sitting in list(self.deadlines):
            await self._drop(sitting, release=True)
        await self.placement.stop()

    async def _loop(self, step: Callable[[], Awaitable[None]]) -> None:
        while not self._stopping:
            await asyncio.sleep(self.period_s)
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("placement step failed")

    async def tick(self) -> None:
        """One heartbeat: announce the node, renew what we hold, take what is free."""
        await self.keep()
        await self.take()

    async def keep(self) -> None:
        """Announce the node and renew the leases held."""
        try:
            await self.placement.heartbeat()
        except Exception as err:
            log.warning("placement: heartbeat failed (%s)", err)
        for sitting in list(self.deadlines):
            await self._renew(sitting)

    async def take(self) -> None:
        """Take the sittings that are free (or ours in Redis but not open here)."""
        for sitting in self.sittings:
            if sitting not in self.deadlines and not self._stopping:
                await self._maybe_take(sitting)

    async def _renew(self, sitting: str) -> None:
        try:
            deadline = await self.placement.renew(sitting)
        except Exception as err:  # Redis unreachable: keep the old deadline, the fence closes on its own
            log.warning("placement: lease of %s not renewed (%s)", sitting, err)
            if self.clock() < self.deadlines.get(sitting, 0.0):
                return
            # Past the deadline without Redis: keep the journal lock (nobody else can open
            # the journal) but refuse commands until Redis answers again.
            return
        if deadline is None:
            # Expired in Redis (e.g. Redis restarted empty): take it back if it is free.
            try:
                deadline = await self.placement.acquire(sitting)
            except Exception as err:
                log.warning("placement: lease of %s not re-acquired (%s)", sitting, err)
                return
            if deadline is None:
                log.warning("placement: sitting %s is now held by another node: closing it here", sitting)
                await self._drop(sitting, release=False)
                return
            log.info("placement: lease of %s taken back", sitting)
        self.deadlines[sitting] = deadline

    async def _maybe_take(self, sitting: str) -> None:
        try:
            holder = await self.placement.locate(sitting)
            if holder is not None and holder.id != self.placement.node.id:
                self._free_seen.pop(sitting, None)
                return
            seen = self._free_seen[sitting] = self._free_seen.get(sitting, 0) + 1
            if holder is None and not self.placement.prefers(sitting) and seen < 3:
                return  # let the preferred node take it first
            deadline = await self.placement.acquire(sitting)
        except Exception as err:
            log.warning("placement: cannot look up %s (%s)", sitting, err)
            return
        if deadline is None:
            return
        lock = JournalLock(self.data_dir, sitting)
        token = getattr(self.placement, "tokens", {}).get(sitting)
        if not lock.try_lock(f"{self.placement.node.id} {self.placement.node.url} token={token}"):
            # The previous holder has not closed the journal: it is alive (paused, cut from
            # Redis) or closing. Holding the lease keeps its fence closed; wait a few beats.
            waits = self._lock_waits[sitting] = self._lock_waits.get(sitting, 0) + 1
            if waits >= LOCK_WAIT_TICKS:
                log.warning(
                    "placement: lease of %s taken but its journal is still locked by another process: "
                    "giving the lease back",
                    sitting,
                )
                self._lock_waits.pop(sitting, None)
                await self._release_quietly(sitting)
            else:
                log.info(
                    "placement: lease of %s taken but its journal is still locked by another process: "
                    "waiting for it (%d/%d)",
                    sitting,
                    waits,
                    LOCK_WAIT_TICKS,
                )
            return
        self._lock_waits.pop(sitting, None)
        self.locks[sitting] = lock
        self.deadlines[sitting] = deadline
        self._free_seen.pop(sitting, None)
        try:
            await self._open(sitting)
            for opened in self.on_opened:
                await opened(sitting)
        except Exception:
            log.exception("placement: opening sitting %s failed", sitting)
            await self._drop(sitting, release=True)
            return
        await self._renew(sitting)  # opening may have been slow: the lease must still be ours
        if sitting not in self.deadlines:
            return
        log.info(
            "placement: sitting %s now lives on node %s (%s)", sitting, self.placement.node.id, self.placement.node.url
        )
        await self.publish(sitting, {"type": "placed"})

    async def _drop(self, sitting: str, *, release: bool) -> None:
        self.deadlines.pop(sitting, None)
        try:
            await self._close(sitting)
        except Exception:
            log.exception("placement: closing sitting %s failed", sitting)
        lock = self.locks.pop(sitting, None)
        if lock is not None:
            lock.unlock()
        if release:
            await self._release_quietly(sitting)

    async def _release_quietly(self, sitting: str) -> None:
        try:
            await self.placement.release(sitting)
        except Exception as err:
            log.warning("placement: lease of %s not released (%s); it will expire", sitting, err)

    async def publish(self, sitting: str, event: dict[str, Any]) -> None:
        try:
            await self.placement.publish(sitting, event)
        except Exception as err:
            log.debug("placement: event of %s not published (%s)", sitting, err)


# --------------------------------------------------------------------------- redirects


def redirect_message(node: NodeInfo, sitting: str, re_id: str | None) -> dict[str, Any]:
    """The ``redirect`` server message (docs/protocol.md): reconnect to ``url``."""
    return {"type": "redirect", "re": re_id, "sitting": sitting, "node": node.id, "url": node.url.rstrip("/")}
