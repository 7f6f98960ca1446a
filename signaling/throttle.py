"""Coalescing of the messages a sitting broadcasts to all its sockets.

A change of a salle's media state (a kiosk joining, its transmission measured up or down,
R7) makes the sitting broadcast its ``state`` and push its whole view to every socket.
Each broadcast costs O(salles) bytes for each of O(salles) sockets; when the salles of a
large sitting join together (18:30, the convocation's hour), the changes come by the
hundred within seconds and the broadcasts would cost O(salles³): at 158 salles, gigabytes
of JSON and deflate in the event loop that also forwards the media.

:class:`Throttle` lets a burst of broadcasts through as they come (a sitting's ordinary
life: a command, its effects, a salle reconnecting), then at most one per ``interval``,
each carrying every change since the last (the latest state): no change is lost, only
intermediate states are skipped. A token bucket: ``burst`` tokens, one back every
``interval`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

#: seconds between two broadcasts of the same kind for one sitting, past the burst
BROADCAST_INTERVAL_S = 0.2
#: broadcasts of the same kind let through at once before the interval applies
BROADCAST_BURST = 10


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """What the throttle needs of an event loop: its clock and its two ways of calling
    back (``asyncio.AbstractEventLoop`` is one; a test passes a manual clock)."""

    def time(self) -> float: ...

    def call_soon(self, callback: Callable[[], None]) -> Cancellable: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable: ...


def running_loop() -> Scheduler | None:
    """The running event loop, or None before one runs (a sitting restored at start-up)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Throttle:
    """Run ``fn`` after :meth:`trigger`: while the bucket has a token, at once
    (``immediate``: inside ``trigger``, so the message keeps its place among those the
    caller sends next) or on the next loop turn (the changes of one turn go out
    together); when it is empty, once, as soon as a token is back (coalesced)."""

    def __init__(
        self,
        fn: Callable[[], None],
        interval: float = BROADCAST_INTERVAL_S,
        burst: int = BROADCAST_BURST,
        immediate: bool = False,
        scheduler: Callable[[], Scheduler | None] = running_loop,
    ) -> None:
        self.fn = fn
        self.scheduler = scheduler
        self.interval = interval
        self.burst = burst
        self.immediate = immediate
        self._tokens = float(burst)
        self._at: float | None = None  # loop time of the last refill
        self._handle: Cancellable | None = None

    @property
    def pending(self) -> bool:
        return self._handle is not None

    def trigger(self) -> None:
        if self._handle is not None:
            return  # already due: it will carry this change too
        loop = self.scheduler()
        if loop is None:  # no loop yet (a sitting restored at start-up): nothing to coalesce
            self.fn()
            return
        self._refill(loop.time())
        if self._tokens < 1.0:
            self._handle = loop.call_later((1.0 - self._tokens) * self.interval, self._run)
        elif self.immediate:
            self._tokens -= 1.0
            self.fn()
        else:
            self._handle = loop.call_soon(self._run)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _refill(self, now: float) -> None:
        if self._at is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) / self.interval)
        self._at = now

    def _run(self) -> None:
        self._handle = None
        loop = self.scheduler()
        if loop is not None:
            self._refill(loop.time())
        self._tokens = max(0.0, self._tokens - 1.0)
        self.fn()
