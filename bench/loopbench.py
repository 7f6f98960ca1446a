"""CPU an event loop spends per received UDP datagram (``python -m bench.loopbench``).

Séance forwards inside the loop's datagram callback (``sfu.library_surface``), so the loop's
own receive path (readiness, ``recvfrom``, the callback) is paid once per incoming media
datagram. This measures it alone: 20 UDP endpoints on 127.0.0.1 with an empty
``datagram_received``, a sender process spreading R datagrams/s of 1,000 bytes over them,
the receiving process's CPU time per datagram, with asyncio's loop and with uvloop.
Loopback only; bounded (a few seconds per run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import socket
import time


def _sender(ports: list[int], rate: int, seconds: float) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data = bytes(1000)
    n, t0 = 0, time.monotonic()
    while (now := time.monotonic()) < t0 + seconds:
        due = int((now - t0) * rate)
        while n < due:
            s.sendto(data, ("127.0.0.1", ports[n % len(ports)]))
            n += 1
        time.sleep(0.0005)
    s.close()


class _Count(asyncio.DatagramProtocol):
    count = 0

    def datagram_received(self, data: bytes, addr: object) -> None:
        _Count.count += 1


async def _run(rate: int, seconds: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    endpoints = [await loop.create_datagram_endpoint(_Count, local_addr=("127.0.0.1", 0)) for _ in range(20)]
    ports = [t.get_extra_info("sockname")[1] for t, _ in endpoints]
    sender = mp.Process(target=_sender, args=(ports, rate, seconds))
    sender.start()
    try:
        await asyncio.sleep(0.5)
        c0, t0 = _Count.count, time.process_time()
        await asyncio.sleep(seconds - 1.0)
        c1, t1 = _Count.count, time.process_time()
    finally:
        sender.join(seconds + 5)
        if sender.is_alive():
            sender.kill()
        for t, _ in endpoints:
            t.close()
    return {
        "us_per_datagram": round((t1 - t0) / max(1, c1 - c0) * 1e6, 2),
        "received_per_s": round((c1 - c0) / (seconds - 1.5)),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=int, default=20000, help="datagrams per second (default 20000)")
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args(argv)
    out = {"rate": args.rate, "asyncio": asyncio.run(_run(args.rate, args.seconds))}
    try:
        import uvloop
    except ImportError:
        out["uvloop"] = None
    else:
        out["uvloop"] = uvloop.run(_run(args.rate, args.seconds))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
