"""The join of a large sitting, signaling only: ``python -m bench.signaling_storm``.

N kiosks (one per salle) say ``hello`` and ``join`` at once, as the salles of a large
EPCI do at the convocation's hour, while M screens (public sockets: they receive the
``state`` and the sitting view) watch. No media: this measures what the media benchmark
cannot reach on this machine (158 salles), the server's signaling work per join: the
``state`` broadcasts and the sitting view pushed on each media change
(docs/performance.md, *Signaling: the join of a large sitting*).

Reported: the server's CPU from the first ``hello`` until every screen has seen every
kiosk connected (or the time budget ran out), that time, and the messages and bytes the
sockets received. No WebSocket compression is offered, so the figure is the JSON and the
writes, not deflate. The server is :mod:`bench.seance_server` with the deliberation side
(journal, council, view pushes), pinned like the media benchmark's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from bench.measure import CpuWindow


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0


async def _reader(ws, counter: Counter, on_state=None) -> None:
    async for msg in ws:
        if msg.type != 1:  # TEXT
            continue
        counter.messages += 1
        counter.bytes += len(msg.data)
        if on_state is not None and msg.data.startswith('{"type":"state"'):
            on_state(json.loads(msg.data))


async def storm(salles: int, screens: int, budget_s: float, server_cpu: int | None) -> dict[str, Any]:
    import aiohttp

    from bench.seance_target import SeanceServer

    server = SeanceServer(cpu=server_cpu)
    await server.start(salles, 3, loop="auto")
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))  # one socket per salle and screen
    origin = {"Origin": f"http://127.0.0.1:{server.port}"}
    tasks: list[asyncio.Task] = []
    screen_counter, kiosk_counter = Counter(), Counter()
    seen_all = asyncio.Event()

    def on_state(state: dict[str, Any]) -> None:
        if all(s["connected"] for s in state["salles"]):
            seen_all.set()

    try:
        for _ in range(screens):
            ws = await http.ws_connect(server.url, headers=origin, max_msg_size=1 << 24, compress=0)
            await ws.send_json({"type": "hello", "sitting": server.sitting})
            tasks.append(asyncio.create_task(_reader(ws, screen_counter, on_state)))
        await asyncio.sleep(1.0)
        base_msgs, base_bytes = screen_counter.messages, screen_counter.bytes
        cpu = CpuWindow(server.pid)
        cpu.start()
        t0 = time.monotonic()

        async def kiosk(salle: str) -> None:
            ws = await http.ws_connect(server.url, headers=origin, max_msg_size=1 << 24, compress=0)
            await ws.send_json(
                {
                    "type": "hello",
                    "sitting": server.sittings.get(salle, server.sitting),
                    "token": server.tokens[salle],
                    "id": "h",
                }
            )
            await ws.send_json({"type": "join", "as": "salle", "id": "j"})
            tasks.append(asyncio.create_task(_reader(ws, kiosk_counter)))

        await asyncio.gather(*(kiosk(s) for s in sorted(server.tokens)))
        try:
            await asyncio.wait_for(seen_all.wait(), budget_s)
            elapsed: float | None = time.monotonic() - t0
        except TimeoutError:
            elapsed = None
        await asyncio.sleep(1.0)  # what was still queued (a trailing push) arrives
        cpu.stop()
        return {
            "salles": salles,
            "screens": screens,
            "budget_s": budget_s,
            "all_seen_s": None if elapsed is None else round(elapsed, 2),
            "server_cpu_s": round(cpu.cpu_s, 2),
            "screen_messages": screen_counter.messages - base_msgs,
            "screen_mb": round((screen_counter.bytes - base_bytes) / 2**20, 1),
            "kiosk_messages": kiosk_counter.messages,
            "kiosk_mb": round(kiosk_counter.bytes / 2**20, 1),
        }
    finally:
        for t in tasks:
            t.cancel()
        await http.close()
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    from bench.run import cores

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--salles", type=int, default=158)
    p.add_argument("--screens", type=int, default=50, help="public sockets watching the sitting (default 50)")
    p.add_argument("--budget", type=float, default=120.0, help="seconds to wait for every screen to see every kiosk")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    import os

    server_cpu, load_cpu = cores()
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})  # the sockets' side on the other core
    report = asyncio.run(storm(args.salles, args.screens, args.budget, server_cpu))
    print(json.dumps(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
