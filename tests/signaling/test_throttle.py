"""signaling.throttle: a burst goes through at once, then at most one call per interval,
and the last trigger is never lost."""

from __future__ import annotations

import asyncio

from signaling.throttle import Throttle


async def test_burst_then_one_per_interval_and_the_last_trigger_runs():
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    throttle = Throttle(lambda: calls.append(loop.time()), interval=0.05, burst=3, immediate=True)
    t0 = loop.time()
    for _ in range(30):  # 30 triggers within ~30 ms, each in a turn of its own
        throttle.trigger()
        await asyncio.sleep(0.001)
    assert len(calls) <= 3 + 1  # the burst, then at most one as the interval allows
    assert calls[:3] == sorted(calls[:3]) and calls[2] - t0 < 0.02  # the burst went at once
    await asyncio.sleep(0.12)
    assert not throttle.pending
    last = calls[-1]
    assert last - t0 >= 0.03  # the trailing call came after the burst, carrying the rest
    n = len(calls)
    await asyncio.sleep(0.2)
    assert len(calls) == n  # nothing more without a trigger


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


async def test_cancel_drops_the_pending_call():
    calls: list[int] = []
    throttle = Throttle(lambda: calls.append(1), interval=0.05, burst=1)
    throttle.trigger()
    await asyncio.sleep(0)
    throttle.trigger()  # the bucket is empty: due in ~50 ms
    assert throttle.pending
    throttle.cancel()
    await asyncio.sleep(0.1)
    assert calls == [1]


def test_without_a_running_loop_it_calls_at_once():
    calls: list[int] = []
    Throttle(lambda: calls.append(1)).trigger()
    assert calls == [1]
