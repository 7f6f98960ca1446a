"""``python -m bench``: the media-plane benchmark (issue 7), run from a checkout of the
repository. It is not part of the server's wheel (issue 14 point 7: a release ships what a
server needs); :mod:`bench.run` does the work."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.run import BenchConfig, main
from bench.samples import default_cache_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--salles", type=int, default=3, help="synthetic salles in one sitting (default 3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window in seconds (default 10)")
    parser.add_argument("--vs-janus", action="store_true", help="run the same load against Debian's Janus too")
    parser.add_argument("--janus-only", action="store_true", help="skip the Séance target (Janus reference alone)")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report to FILE")
    parser.add_argument(
        "--cache", metavar="DIR", type=Path, default=None, help="media sample cache (default ~/.cache/seance-bench)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds between joining and the window (default 2)")
    parser.add_argument(
        "--zero-seconds",
        type=float,
        default=3.0,
        help="length of the direct publisher→subscriber run that gives the zero of the delay (default 3)",
    )
    parser.add_argument(
        "--salles-per-process",
        type=int,
        default=1,
        help="synthetic salles hosted by one load-generator process (default 1)",
    )
    parser.add_argument("--voices", type=int, default=3, help="audio slots per salle (default 3)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--sittings",
        type=int,
        default=1,
        help="an installation: K sittings of --salles salles each, in one server process unless --workers (default 1)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server worker processes, sitting k on worker k mod W, each pinned to a core of "
        "its own (the whole machine; --sittings defaults to W; default 1)",
    )
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop", "auto"),
        default="auto",
        help="the Séance server's event loop (default auto, as seance serve: uvloop when installed)",
    )
    parser.add_argument(
        "--forwarding",
        choices=("python", "native", "auto"),
        default="python",
        help="the Séance server's forwarding step (RouterConfig.forwarding: native is sfu._forward, issue 17)",
    )
    parser.add_argument(
        "--client-loop",
        choices=("asyncio", "uvloop", "auto"),
        default="auto",
        help="the synthetic salles' event loop (default auto: uvloop when installed)",
    )
    parser.add_argument(
        "--media-only",
        action="store_true",
        help="Séance's sittings without their deliberation side (no journal, no sitting view "
        "pushed to the salles on media changes), as the benchmark ran before 2026-12-06",
    )
    parser.add_argument(
        "--capacity",
        action="store_true",
        help="raise the salles per sitting from --salles until loss > 0.5%% or p99 added "
        "delay > 50 ms; report the largest number held (one worker, or with --workers "
        "the whole machine)",
    )
    parser.add_argument(
        "--capacity-budget", type=float, default=300.0, help="seconds for the whole capacity search (default 300)"
    )
    parser.add_argument(
        "--baseline",
        choices=("mediarelay",),
        default=None,
        help="also run aiortc's decode/re-encode relay (MediaRelay) with the same load: "
        "the naive baseline, for small --salles",
    )
    parser.add_argument(
        "--simulcast",
        action="store_true",
        help="each salle publishes its camera as three VP8 layers q/h/f (150 k, 500 k, 1.2 Mbit/s) "
        "with their rids, as a kiosk does; Séance's allocator picks each subscriber's layer, "
        "Janus's subscribers ask for --simulcast-layer",
    )
    parser.add_argument(
        "--simulcast-layer",
        choices=("q", "h", "f"),
        default="f",
        help="with --simulcast: the layer Janus's subscribers receive (default f, the largest; "
        "Séance's allocator gives a subscriber with room the largest too)",
    )
    parser.add_argument(
        "--dynacast",
        action="store_true",
        help="with --simulcast: the salles switch a layer off when Séance asks (its `layers` message, "
        "as the kiosk does), so a picture nobody watches costs its smallest layer only; Janus asks "
        "nothing of the kind, its salles keep sending the three (default: the same load to both)",
    )


def run(args: argparse.Namespace) -> int:
    if args.salles < 2:
        print("python -m bench: --salles must be at least 2")
        return 2
    if args.dynacast and not args.simulcast:
        print("python -m bench: --dynacast needs --simulcast")
        return 2
    if args.simulcast and (args.baseline or args.capacity or args.workers > 1):
        print(
            "python -m bench: --simulcast runs one sitting, against Séance "
            "and Janus (not with --baseline, --capacity or --workers)"
        )
        return 2
    workers = max(1, args.workers)
    sittings = max(1, args.sittings, workers if args.sittings == 1 else 1)
    if sittings < workers:
        print(f"python -m bench: --workers {workers} needs at least as many sittings (--sittings {sittings})")
        return 2
    if workers > 1 and (args.vs_janus or args.janus_only or args.baseline):
        print(
            "python -m bench: --workers is for Séance alone (the Janus and MediaRelay references run one "
            "sitting in one process)"
        )
        return 2
    cfg = BenchConfig(
        salles=args.salles,
        seconds=args.seconds,
        vs_janus=args.vs_janus or args.janus_only,
        seance=not args.janus_only,
        json_path=args.json,
        cache_dir=args.cache or default_cache_dir(),
        warmup=args.warmup,
        zero_seconds=args.zero_seconds,
        salles_per_process=max(1, args.salles_per_process),
        voices=args.voices,
        quiet=args.quiet,
        sittings=sittings,
        workers=workers,
        media_only=args.media_only,
        loop=args.loop,
        forwarding=args.forwarding,
        client_loop=args.client_loop,
        capacity=args.capacity,
        capacity_budget=args.capacity_budget,
        baseline=args.baseline,
        simulcast=args.simulcast,
        simulcast_layer=args.simulcast_layer,
        dynacast=args.dynacast,
    )
    return main(cfg)


def cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Séance's media-plane benchmark, side by side with Janus"
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
