"""Where the benchmark server's event loop stalls: garbage collections and loop lag.

Enabled by ``SEANCE_BENCH_STALLS=<file>`` in the environment of ``python -m bench`` (the
server process inherits it). Every second the file is rewritten with a JSON summary:
collections by generation (count, total ms), the collections longer than 5 ms
(generation, wall ms, CPU ms, objects in generation 2), the loop's late wake-ups (a
5 ms sleep that took over 15 ms: seconds since start, ms), and, once after 12 s, the
tracked objects of the heap by type. This is how the full-collection stalls of
``sfu.gc_policy`` were found (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import os
import time
from typing import Any

from aiohttp import web


def install(app: web.Application) -> None:
    path = os.environ.get("SEANCE_BENCH_STALLS")
    if not path:
        return
    collections_ms: list[tuple[int, float, float, int]] = []
    started: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started["wall"], started["cpu"] = time.perf_counter(), time.thread_time()
            return
        wall = (time.perf_counter() - started["wall"]) * 1000
        cpu = (time.thread_time() - started["cpu"]) * 1000
        gen = info["generation"]
        collections_ms.append((gen, round(wall, 2), round(cpu, 2), len(gc.get_objects(2)) if gen == 2 else 0))

    async def watch(_app: web.Application) -> None:
        gc.callbacks.append(on_gc)
        lags: list[tuple[float, float]] = []
        heap: dict[str, Any] = {}
        t0 = last = time.perf_counter()
        next_dump = t0 + 1
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            if now - last > 0.015:
                lags.append((round(now - t0, 3), round((now - last) * 1000, 1)))
            last = now
            if now < next_dump:
                continue
            next_dump = now + 1
            if not heap and now - t0 > 12:
                objects = gc.get_objects()
                heap = {
                    "tracked": len(objects),
                    "by_type": collections.Counter(type(o).__name__ for o in objects).most_common(20),
                }
            summary = {
                "collections": {g: sum(1 for c in collections_ms if c[0] == g) for g in (0, 1, 2)},
                "collections_ms": {g: round(sum(c[1] for c in collections_ms if c[0] == g), 1) for g in (0, 1, 2)},
                "long_collections": [c for c in collections_ms if c[1] > 5][-50:],
                "lags": lags[-200:],
                "heap": heap,
            }
            with open(path, "w") as f:
                json.dump(summary, f)

    tasks: list[asyncio.Future] = []  # a reference, so the task is not collected

    async def start(app_: web.Application) -> None:
        tasks.append(asyncio.ensure_future(watch(app_)))

    app.on_startup.append(start)
