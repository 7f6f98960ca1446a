"""The Séance server as the benchmark runs it: ``python -m bench.seance_server``.

The same application as ``seance demo --http`` (``web.app.create_app`` with the real
Router, the /ws protocol of docs/protocol.md), but hosting one sitting ``bench`` of N
salles ``s000``… (``seance demo`` hosts the three salles of the demo council), ICE on
127.0.0.1 only, in a throw-away data directory. It prints one JSON line with the kiosk
token of every salle, then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

SITTING = "bench"


def salle_id(i: int) -> str:
    return f"s{i:03d}"


def sitting_name(k: int) -> str:
    return SITTING if k == 0 else f"{SITTING}-{k}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--salles", type=int, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--voices", type=int, default=3)
    p.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="asyncio",
        help="event loop (sfu.eventloop); the benchmark passes its --loop (auto: as seance serve)",
    )
    p.add_argument("--sittings", type=int, default=1, help="sittings of --salles salles each")
    p.add_argument(
        "--media-only",
        action="store_true",
        help="no deliberation side: no journal, no sitting view pushed on media changes",
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes the installation has")
    p.add_argument(
        "--worker-index",
        type=int,
        default=0,
        help="this worker: it hosts sitting k when k mod --workers is this index "
        "(the placement of `seance serve --workers` without Redis)",
    )
    p.add_argument(
        "--forwarding",
        choices=("python", "native", "auto"),
        default="python",
        help="how the consumers rewrite, protect and send (RouterConfig.forwarding, sfu.forwarding)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from aiohttp import web

    from bench import stalls
    from sfu import gc_policy
    from sfu.eventloop import new_event_loop
    from signaling.auth import TokenSigner
    from signaling.roles import Role
    from web.app import create_app
    from web.config import SalleSpec, SittingSpec, WebConfig

    # K sittings of N salles: sitting k is "bench" (k = 0) or "bench-k", its salles are
    # salle_id(k * N + i), so the salle indices of the benchmark run 0 .. K*N-1; with
    # --workers W this process hosts the sittings k = --worker-index (mod W) only
    sittings, tokens, sitting_of = [], {}, {}
    for k in range(max(1, args.sittings)):
        if k % max(1, args.workers) != args.worker_index:
            continue
        name = sitting_name(k)
        salles = tuple(
            SalleSpec(salle_id(k * args.salles + i), f"Salle {k * args.salles + i}") for i in range(args.salles)
        )
        sittings.append(SittingSpec(name, f"Banc d'essai {k}", salles, president_salle=salles[0].id))
        sitting_of.update({s.id: name for s in salles})
    if not sittings:
        p.error(f"worker {args.worker_index} of {args.workers} has none of the {args.sittings} sittings")
    config = WebConfig(
        host="127.0.0.1",
        port=args.port,
        tls=False,
        data_dir=args.data_dir,
        ice_addresses=("127.0.0.1",),
        voice_slots=args.voices,
        sittings=tuple(sittings),
        router_options={"forwarding": args.forwarding},
    )
    signer = TokenSigner.from_data_dir(config.data_dir)
    for salle, name in sitting_of.items():
        tokens[salle] = signer.issue(Role.KIOSK, salle=salle, sitting=name, ttl_s=3600)
    from bench.council import journal_starter

    app = create_app(config, journal_starter=(lambda spec: None) if args.media_only else journal_starter)
    stalls.install(app)  # SEANCE_BENCH_STALLS=<file>: GC pauses and loop lag
    loop, loop_name = new_event_loop(args.loop)
    gc_policy.apply()  # as seance serve

    async def announce(_app: web.Application) -> None:
        print(
            json.dumps(
                {
                    "event": "ready",
                    "sitting": sittings[0].id,
                    "sittings": sitting_of,
                    "tokens": tokens,
                    "loop": loop_name,
                }
            ),
            flush=True,
        )

    app.on_startup.append(announce)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, handle_signals=True, loop=loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
