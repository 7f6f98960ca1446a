"""Origin CPU with N public viewers served directly vs. the same N through one edge.

An ad-hoc measurement for docs/media.md ("Cascading"), not a test. In one process,
over loopback: the origin Router and the edge Router each run their own event loop
in their own thread, so each one's CPU is that thread's CPU time
(``time.thread_time`` read inside its loop); the aiortc kiosks and the viewers run in the
main thread. The viewers are built from the transport Séance owns and count packets
without decoding (so the main thread does not starve the routers on a small machine)::

    .venv/bin/python -m bench.cascade_cpu --viewers 20 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections import defaultdict
from typing import Any

import aioice.ice

from sfu import cascade
from sfu.config import IceSettings, RouterConfig
from sfu.metrics import SfuCounters
from sfu.router import Router
from sfu.transport.connection import Connection
from tests.sfu.sfu_clients import Client  # run from the repository's root, like every bench


class SlotCounter:
    """What a received stream's packets are handed to: counted, nothing else."""

    def __init__(self, packets: dict[str, int], slot: str) -> None:
        self.packets = packets
        self.slot = slot

    def on_rtp(self, data: bytes, arrival_time_ms: int, layout: Any) -> None:
        self.packets[self.slot] += 1

    def on_rtcp(self, packet: Any) -> None:
        pass


class CountingViewer:
    """A public viewer that counts RTP packets per slot and decodes nothing, built from the
    public pieces of the transport Séance owns: the offerer side a cascade's edge uses
    (:class:`sfu.transport.connection.Connection`), whose owner it is."""

    def __init__(self, name: str, layout: list[dict]) -> None:
        self.name = name
        self.layout = layout
        self.ice = IceSettings(listen_addresses=("127.0.0.1",))
        self.counters = SfuCounters()
        self.packets: dict[str, int] = defaultdict(int)
        self.connection = Connection(self, offerer=True)

    async def offer(self) -> str:
        return await self.connection.offer([entry["kind"] for entry in self.layout])

    async def answer(self, sdp: str) -> None:
        await self.connection.accept_answer(sdp)

    def count(self, slot: str) -> int:
        return self.packets[slot]

    async def close(self) -> None:
        await self.connection.close()

    # MediaOwner
    def receiver_started(self, receiver: Any, parameters: Any) -> None:
        receiver.seance_handler = SlotCounter(self.packets, self.layout[int(receiver.mid)]["slot"])

    def receiver_stopped(self, receiver: Any) -> None:
        receiver.seance_handler = None

    def sender_started(self, sender: Any, parameters: Any) -> None:
        pass  # receive only

    def sender_stopped(self, sender: Any) -> None:
        pass

    def transport_closed(self) -> None:
        pass

    def hook_error(self, where: str, exc: BaseException) -> None:
        self.counters.hook_errors[where] += 1


class LoopThread:
    """An event loop of its own in a thread of its own (one Router lives there)."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    async def call(self, coro):
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def cpu(self) -> float:
        async def read() -> float:
            return time.thread_time()

        return await self.call(read())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def config() -> RouterConfig:
    return RouterConfig(ice=IceSettings(listen_addresses=("127.0.0.1",)))


async def run(viewers: int, seconds: float, through_edge: bool) -> dict:
    origin_t, edge_t = LoopThread("origin"), LoopThread("edge")

    async def make() -> Router:
        return Router(config())

    origin: Router = await origin_t.call(make())
    edge: Router = await edge_t.call(make())
    clients: list[Client] = []
    for salle, amplitude in (("belcourt", 0.05), ("vaux", 0.0)):
        c = Client(salle, origin.slot_layout("salle"), amplitude=amplitude)
        await c.answer(await origin_t.call(origin.connect_salle(salle, await c.offer())))
        clients.append(c)
    link = None
    if through_edge:

        async def offer_fn(sdp: str) -> str:
            return await origin_t.call(origin.connect_viewer("relay:edge", sdp))

        link = await edge_t.call(cascade.connect(edge, offer_fn, relay_id="relay:edge"))
    target, target_t = (edge, edge_t) if through_edge else (origin, origin_t)
    audience = []
    for i in range(viewers):
        v = CountingViewer(f"public-{i}", target.slot_layout("viewer"))
        await v.answer(await target_t.call(target.connect_viewer(v.name, await v.offer())))
        audience.append(v)
    await asyncio.sleep(4.0)  # connect, first key frames
    o0, e0, w0 = await origin_t.cpu(), await edge_t.cpu(), time.monotonic()
    out0 = origin.stats()["packets_out"]
    eout0 = edge.stats()["packets_out"]
    a0 = sum(v.count("audio-0") for v in audience)
    p0 = sum(v.count("programme") for v in audience)
    await asyncio.sleep(seconds)
    o1, e1, w1 = await origin_t.cpu(), await edge_t.cpu(), time.monotonic()
    p1 = sum(v.count("programme") for v in audience)
    ostats = origin.stats()
    out1 = ostats["packets_out"]
    eout1 = edge.stats()["packets_out"]
    a1 = sum(v.count("audio-0") for v in audience)
    starved = sum(1 for v in audience if v.count("programme") == 0)
    result = {
        "mode": "edge" if through_edge else "direct",
        "viewers": viewers,
        "origin_cpu_pct": round(100 * (o1 - o0) / (w1 - w0), 1),
        "edge_cpu_pct": round(100 * (e1 - e0) / (w1 - w0), 1),
        "origin_viewer_peers": ostats["peers_by_kind"].get("viewer", 0),
        "origin_pkts_out_per_s": round((out1 - out0) / (w1 - w0)),
        "edge_pkts_out_per_s": round((eout1 - eout0) / (w1 - w0)),
        "audio0_pkts_per_viewer_s": round((a1 - a0) / viewers / (w1 - w0), 1),
        "viewers_without_programme": starved,
        "programme_pkts_per_viewer_s": round((p1 - p0) / viewers / (w1 - w0), 1),
        "hook_errors": sum(ostats["hook_errors"].values()) + sum(edge.stats()["hook_errors"].values()),
    }
    for c in clients:
        await c.close()
    for v in audience:
        await v.close()
    if link is not None:
        await edge_t.call(link.close())
    await edge_t.call(edge.close())
    await origin_t.call(origin.close())
    origin_t.stop()
    edge_t.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    for through_edge in (False, True):
        print(asyncio.run(run(args.viewers, args.seconds, through_edge)), flush=True)


if __name__ == "__main__":
    main()
