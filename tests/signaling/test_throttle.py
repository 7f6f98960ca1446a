"""signaling.throttle: a burst goes through at once, then at most one call per interval,
and the last trigger is never lost. Run on a manual clock: no test reads the wall clock."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from signaling.throttle import Throttle


@dataclass
class Call:
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class ManualLoop:
    """An event loop's clock and callbacks, advanced by the test."""

    now: float = 0.0
    queue: list[tuple[float, int, Call, Callable[[], None]]] = field(default_factory=list)
    count: int = 0

    def time(self) -> float:
        return self.now

    def call_soon(self, callback: Callable[[], None]) -> Call:
        return self.call_later(0.0, callback)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Call:
        handle = Call()
        self.count += 1
        heapq.heappush(self.queue, (self.now + delay, self.count, handle, callback))
        return handle

    def advance(self, seconds: float) -> None:
        """Run, in order, every callback due within ``seconds``."""
        end = self.now + seconds
        while self.queue and self.queue[0][0] <= end:
            at, _, handle, callback = heapq.heappop(self.queue)
            self.now = max(self.now, at)
            if not handle.cancelled:
                callback()
        self.now = end


def test_burst_then_one_per_interval_and_the_last_trigger_runs():
    loop = ManualLoop()
    calls: list[float] = []
    throttle = Throttle(
        lambda: calls.append(loop.time()), interval=0.05, burst=3, immediate=True, scheduler=lambda: loop
    )
    for _ in range(30):  # 30 triggers 1 ms apart
        throttle.trigger()
        loop.advance(0.001)
    # the burst went at once (inside trigger), then one call per 50 ms as tokens came back
    assert calls[:3] == [0.0, 0.001, 0.002]
    assert len(calls) == 3  # 30 ms after the burst: no token back yet, one call pending
    assert throttle.pending
    loop.advance(0.1)
    assert not throttle.pending
    assert (
        len(calls) == 4 and abs(calls[-1] - 0.05) < 1e-9
    )  # a token back 50 ms after the start: the trailing call carries the other 27 triggers
    loop.advance(1.0)
    assert len(calls) == 4  # nothing more without a trigger


def test_tokens_come_back_at_one_per_interval():
    loop = ManualLoop()
    calls: list[float] = []
    throttle = Throttle(
        lambda: calls.append(loop.time()), interval=0.1, burst=2, immediate=True, scheduler=lambda: loop
    )
    throttle.trigger()
    throttle.trigger()
    loop.advance(0.25)  # 2.5 tokens back, capped at the burst of 2
    throttle.trigger()
    throttle.trigger()
    throttle.trigger()  # the bucket is empty: due when a token is back
    assert calls == [0.0, 0.0, 0.25, 0.25]
    loop.advance(0.1)
    assert calls == [0.0, 0.0, 0.25, 0.25, 0.35]


async def test_immediate_runs_inside_trigger_and_deferred_on_the_next_turn():
    calls: list[str] = []
    now = Throttle(lambda: calls.append("now"), immediate=True)
    later = Throttle(lambda: calls.append("later"))
    later.trigger()
    now.trigger()
    assert calls == ["now"]
    later.trigger()  # already due: coalesced
    await asyncio.sleep(0)
    assert calls == ["now", "later"]


def test_cancel_drops_the_pending_call():
    loop = ManualLoop()
    calls: list[int] = []
    throttle = Throttle(lambda: calls.append(1), interval=0.05, burst=1, scheduler=lambda: loop)
    throttle.trigger()
    loop.advance(0)
    throttle.trigger()  # the bucket is empty: due in 50 ms
    assert throttle.pending
    throttle.cancel()
    loop.advance(0.1)
    assert calls == [1]


def test_without_a_running_loop_it_calls_at_once():
    calls: list[int] = []
    Throttle(lambda: calls.append(1)).trigger()
    assert calls == [1]
