"""Orchestration of ``python -m bench``: the zero run, then each server target, then the report.

For each target the sequence is the same and bounded in time:

1. start the server pinned to its core (``taskset``), note its RSS;
2. start the synthetic salle processes pinned to the other core, wait until every salle
   reports it has joined (published, and receiving every stream it subscribed to);
3. a short warm-up, then a fixed window ``[start_ns, end_ns)`` on CLOCK_MONOTONIC sent to
   every salle process; the server's CPU is read from /proc at both ends of the window;
4. collect the salles' counts and delays, stop them (then kill any straggler by PID),
   stop the server by PID.

The zero of the delay is a direct publisher→subscriber run (no server) in one salle
process on the load generator's core; its median one-way delay is subtracted from every
delay measured through a server (``added_delay_ms``).

Addresses: Séance and the direct run use 127.0.0.1 only. Janus never gathers loopback
candidates, so its run happens in a network namespace of the benchmark's own
(:mod:`bench.netns`): Janus and its synthetic salles both run inside it, on the
namespace-side veth address, and the orchestrator reaches Janus's API over the veth
pair. No benchmark traffic goes to any other address of the machine. The namespace is
deleted at the end of the Janus run, whatever happens (error, timeout, SIGTERM).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import report as rep
from bench.janus import die_with_parent
from bench.measure import CpuWindow, median, rss_bytes
from bench.synthetic_salle import now_ns
from sfu.forwarding import native_available

JANUS_ROOM = 4242
#: a salle process's result is one JSON line with every delay sample of its salles
#: (MAX_DELAY_SAMPLES at most): far beyond asyncio's default 64 KiB line limit
RESULT_LINE_LIMIT = 64 * 2**20


@dataclass
class BenchConfig:
    salles: int = 3
    seconds: float = 10.0
    vs_janus: bool = False
    seance: bool = True
    json_path: str | None = None
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "seance-bench")
    warmup: float = 2.0
    zero_seconds: float = 3.0
    join_timeout: float = 25.0
    salles_per_process: int = 1
    voices: int = 3
    quiet: bool = False
    sittings: int = 1  # --sittings K: K sittings of `salles` salles
    workers: int = 1  # --workers W: server processes, sitting k on worker k mod W
    media_only: bool = False  # --media-only: sittings without their deliberation side
    loop: str = "auto"  # the Séance server's event loop (sfu.eventloop), as seance serve
    forwarding: str = "python"  # --forwarding: the server's RouterConfig.forwarding (sfu.forwarding)
    capacity: bool = False  # --capacity: raise N until loss or delay give way
    capacity_budget: float = 300.0  # seconds for the whole search
    baseline: str | None = None  # --baseline mediarelay: aiortc's decode/re-encode relay
    client_loop: str = "auto"  # the synthetic salles' event loop (uvloop when installed)
    simulcast: bool = False  # --simulcast: each salle publishes three VP8 layers (bench.simulcast)
    simulcast_layer: str = "f"  # the layer Janus's subscribers ask for (Séance's allocator chooses its own)
    dynacast: bool = False  # --dynacast: the salles switch layers off when Séance asks (`layers`)


def cores() -> tuple[int | None, int | None]:
    """(server core, load-generator core) when 2+ cores and taskset exist, else (None, None)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return None, None
    return cpus[-1], cpus[0]


def worker_cores(workers: int) -> tuple[list[int | None], str | None]:
    """Cores for ``workers`` server processes and the load generator's cpu list.

    One worker: :func:`cores`. Several: as ``seance serve --workers`` should be deployed,
    one core per worker (the last ones); the load generator gets the cores left, or,
    when none is left (W ≥ cores: this 2-core machine with 2 workers), is not pinned and
    shares the machine with the workers (the report says so: ``load_generator.pinned``)."""
    if workers <= 1:
        server, load = cores()
        return [server], None if load is None else str(load)
    cpus = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None or len(cpus) < 2:
        return [None] * workers, None
    servers: list[int | None] = [cpus[-1 - (i % len(cpus))] for i in range(workers)]
    left = [c for c in cpus if c not in servers]
    return servers, ",".join(map(str, left)) if left else None


def _pinned(cmd: list[str], cpu: int | str | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None else cmd


def _log(cfg: BenchConfig, msg: str) -> None:
    if not cfg.quiet:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)


async def _read_json_line(stream: asyncio.StreamReader, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = await asyncio.wait_for(stream.readline(), max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            return None
        if not line:
            return None
        try:
            return json.loads(line)
        except ValueError:
            continue  # stray output (a library's print): skip
    return None


async def run_salles(
    cfg: BenchConfig,
    target: str,
    indices: list[list[int]],
    extra: dict[str, Any],
    load_cpu: int | str | None,
    server_pids: list[int],
    prefix: list[str] | None = None,
) -> rep.TargetRun:
    """Start salle processes (one per group of indices), run one window, collect.

    ``load_cpu``: the load generator's core (or taskset cpu list; None: not pinned).
    ``server_pids``: the server's processes (several with ``--workers``): CPU and RSS are
    their sums. ``prefix``: put before each salle's command (``ip netns exec <ns>`` for Janus)."""
    n = sum(len(g) for g in indices)
    seconds = cfg.zero_seconds if target == "direct" else cfg.seconds
    budget = cfg.join_timeout + cfg.warmup + seconds + 20
    base = {
        "target": target,
        "n_salles": cfg.salles,
        "voices": cfg.voices,
        "cache_dir": str(cfg.cache_dir),
        "client_loop": cfg.client_loop,
        "join_timeout": cfg.join_timeout,
        "simulcast": cfg.simulcast,
        "simulcast_layer": cfg.simulcast_layer,
        "dynacast": cfg.dynacast,
        "deadline_ns": now_ns() + int(budget * 1e9),
        **extra,
    }
    rss_idle = sum(rss_bytes(p) for p in server_pids) if server_pids else None
    procs: list[asyncio.subprocess.Process] = []
    errors: list[str] = []
    run = rep.TargetRun(
        salles=n,
        window_s=seconds,
        cpu_s=None,
        rss_idle=rss_idle,
        rss_loaded=None,
        load_cores=None if load_cpu is None else len(str(load_cpu).split(",")),
    )
    joining = [CpuWindow(p) for p in server_pids]  # the server's CPU while the salles join
    for w in joining:
        w.start()
    try:
        for group in indices:
            cmd = [
                *(prefix or []),
                *die_with_parent(),
                *_pinned(
                    [sys.executable, "-m", "bench.synthetic_salle", json.dumps({**base, "salles": group})], load_cpu
                ),
            ]
            procs.append(
                await asyncio.create_subprocess_exec(
                    *cmd,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=RESULT_LINE_LIMIT,
                    cwd=str(Path(__file__).resolve().parent.parent),
                )
            )
        joined = await asyncio.gather(*(_read_json_line(p.stdout, cfg.join_timeout + 15) for p in procs))
        for msg in joined:
            if not msg or msg.get("event") != "joined":
                errors.append(f"a salle process did not join: {msg}")
                continue
            errors.extend(f"salle {k}: {v}" for k, v in msg.get("errors", {}).items())
            run.join_s.extend(v for v in msg["join_s"].values() if v is not None)
        for w in joining:
            w.stop()
        if joining:
            run.join_cpu_s = sum(w.cpu_s for w in joining)
        if target != "direct":
            _log(cfg, f"{target}: {len(run.join_s)}/{n} salles joined; warm-up {cfg.warmup}s")
        await asyncio.sleep(cfg.warmup)
        start_ns = now_ns() + 200_000_000
        end_ns = start_ns + int(seconds * 1e9)
        window = json.dumps({"cmd": "window", "start_ns": start_ns, "end_ns": end_ns}).encode() + b"\n"
        for p in procs:
            if p.returncode is None:
                p.stdin.write(window)
                await p.stdin.drain()
        cpu = [CpuWindow(p) for p in server_pids]
        load = [CpuWindow(p.pid) for p in procs]  # the load generator's own CPU, to know who saturates
        await asyncio.sleep((start_ns - now_ns()) / 1e9)
        for w in cpu:
            w.start()
        for w in load:
            w.start()
        await asyncio.sleep(max(0.0, (end_ns - now_ns()) / 1e9))
        if cpu:
            for w in cpu:
                w.stop()
            run.worker_cpu_s = [w.cpu_s for w in cpu]
            run.cpu_s = sum(run.worker_cpu_s)
            run.rss_loaded = sum(rss_bytes(p) for p in server_pids)
        for w in load:
            w.stop()
        run.load_cpu_s = sum(w.cpu_s for w in load)
        results = await asyncio.gather(*(_read_json_line(p.stdout, 15) for p in procs))
        for msg in results:
            if not msg or msg.get("event") != "result":
                errors.append(f"a salle process gave no result: {msg}")
                continue
            for r in msg["salles"]:
                run.sent += r["sent"]
                run.received += r["received"]
                run.load_send_dropped += r.get("send_dropped", 0)
                run.expected += r["expected"]
                run.delays_us.extend(r["delays_us"])
                run.per_salle.append(
                    {
                        k: r.get(k)
                        for k in (
                            "salle",
                            "by_source",
                            "sent_by_kind",
                            "layers",
                            "answered_rids",
                            "layer_changes",
                            "layer_switches",
                            "layer_span_s",
                        )
                    }
                )
    finally:
        for p in procs:
            if p.stdin is not None and not p.stdin.is_closing():
                p.stdin.close()  # EOF instead of a window: a salle still waiting ends now
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), 8)
        except TimeoutError:
            pass
        for p in procs:
            if p.returncode is None:
                p.kill()  # by PID: only the process we started
                await p.wait()
    run.errors = errors
    if target == "direct":
        run.join_s = []
    return run


def resolved_client_loop(cfg: BenchConfig) -> str:
    if cfg.client_loop == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _groups(n: int, per: int) -> list[list[int]]:
    return [list(range(i, min(n, i + per))) for i in range(0, n, per)]


async def zero_run(cfg: BenchConfig, load_cpu: int | str | None) -> float:
    run = await run_salles(cfg, "direct", [[0, 1]], {}, load_cpu, [])
    if run.errors or not run.delays_us:
        _log(cfg, f"direct run failed ({run.errors}); delays are not corrected")
        return 0.0
    z = median(run.delays_us)
    _log(cfg, f"zero (direct publisher→subscriber): median one-way {z / 1000:.2f} ms over {len(run.delays_us)} packets")
    return z


async def janus_run(cfg: BenchConfig, server_cpu: int | None, load_cpu: int | None) -> rep.TargetRun:
    """Janus and its salles inside ``seance-bench-<pid>``, all on the namespace's veth address."""
    from bench.janus import JanusServer, create_room
    from bench.netns import BenchNetns

    budget = 15 + 20 + cfg.join_timeout + cfg.warmup + cfg.seconds + 60  # start, room, run, results
    with BenchNetns() as ns:  # deleted on any exit: error, timeout, cancellation
        janus = JanusServer(ns, cpu=server_cpu)
        try:
            janus.start()
            _log(cfg, f"janus pid {janus.pid} in netns {ns.name} ({ns.inner_ip}/{ns.subnet.prefixlen}) on {janus.url}")

            async def run() -> rep.TargetRun:
                await create_room(janus.url, JANUS_ROOM, publishers=cfg.salles + 2)
                return await run_salles(
                    cfg,
                    "janus",
                    _groups(cfg.salles, cfg.salles_per_process),
                    {"url": janus.url, "room": JANUS_ROOM, "ice_addresses": [ns.inner_ip]},
                    load_cpu,
                    [janus.pid],
                    prefix=ns.exec_prefix(),
                )

            return await asyncio.wait_for(run(), budget)
        finally:
            janus.stop()


async def seance_run(cfg: BenchConfig, server_cpu: int | None, load_cpu: int | str | None) -> rep.TargetRun:
    """One run against Séance: one server process, or ``cfg.workers`` of them (each on a
    core of its own from :func:`worker_cores`, which then also places the load generator)."""
    from bench.seance_target import SeanceServer, installation_config

    if cfg.workers > 1:
        server_cores, load_cpu = worker_cores(cfg.workers)
    else:
        server_cores = [server_cpu]
    servers = [SeanceServer(cpu=c) for c in server_cores]
    try:
        for i, server in enumerate(servers):
            await server.start(
                cfg.salles,
                cfg.voices,
                sittings=cfg.sittings,
                loop=cfg.loop,
                workers=cfg.workers,
                worker_index=i,
                media_only=cfg.media_only,
                forwarding=cfg.forwarding,
            )
            hosted = len(set(server.sittings.values()))
            what = f", {hosted} of {cfg.sittings} sittings" if cfg.sittings > 1 else ""
            _log(
                cfg,
                f"séance pid {server.pid} on {server.url} ({server.loop} event loop, {cfg.forwarding} forwarding{what}"
                f"{f', core {server.cpu}' if cfg.workers > 1 else ''})",
            )
        run = await run_salles(
            cfg,
            "seance",
            _groups(cfg.salles * cfg.sittings, cfg.salles_per_process),
            installation_config(servers),
            load_cpu,
            [s.pid for s in servers],
        )
        counters = [await server_counters(s.port) for s in servers]
        run.server_counters = _sum_counters(counters)
        run.event_loop = servers[0].loop
        return run
    finally:
        for server in servers:
            await server.stop()


def _sum_counters(per_server: list[dict[str, dict[str, float]] | None]) -> dict[str, dict[str, float]] | None:
    if any(c is None for c in per_server):
        return None
    out: dict[str, dict[str, float]] = {"dropped": {}, "hook_errors": {}}
    for c in per_server:
        for key, values in c.items():
            for label, v in values.items():
                out[key][label] = out[key].get(label, 0.0) + v
    return out


async def server_counters(port: int) -> dict[str, dict[str, float]] | None:
    """The SFU's drop and hook-error counters from the server's /metrics (to tell where a
    loss happened: dropped in the server, by reason, or elsewhere)."""
    import re

    import aiohttp

    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/metrics", timeout=aiohttp.ClientTimeout(total=5)) as r:
                text = await r.text()
    except Exception:
        return None
    out: dict[str, dict[str, float]] = {"dropped": {}, "hook_errors": {}}
    for name, key, label in (
        ("seance_sfu_packets_dropped_total", "dropped", "reason"),
        ("seance_sfu_hook_errors_total", "hook_errors", "hook"),
    ):
        for m in re.finditer(rf'^{name}{{{label}="([^"]+)"}} ([0-9.e+]+)$', text, re.M):
            if float(m.group(2)):
                out[key][m.group(1)] = float(m.group(2))
    return out


async def baseline_run(cfg: BenchConfig, server_cpu: int | None, load_cpu: int | None) -> rep.TargetRun:
    """aiortc's decode/re-encode path (``MediaRelay``), the naive baseline (bench/mediarelay_server.py)."""
    from bench.seance_target import SeanceServer

    server = SeanceServer(cpu=server_cpu, module="bench.mediarelay_server")
    await server.start(cfg.salles, cfg.voices)
    try:
        _log(cfg, f"mediarelay baseline pid {server.pid} on {server.url}")
        run = await run_salles(
            cfg,
            "seance",
            _groups(cfg.salles, cfg.salles_per_process),
            {**server.salle_config(), "trailer": False},
            load_cpu,
            [server.pid],
        )
        if len(run.join_s) < cfg.salles:
            _log(cfg, f"mediarelay: not every salle joined; server log: {server.log_tail(1500)}")
        return run
    finally:
        await server.stop()


async def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    from bench.samples import ensure_samples, layer_samples

    # SIGTERM cancels the run, so every ``finally`` stops its servers and salles by PID
    # and the Janus run deletes its network namespace.
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)

    server_cpu, load_cpu = cores()
    if cfg.workers > 1:
        worker_cpus, load_cpus = worker_cores(cfg.workers)
        _log(
            cfg,
            f"{cfg.workers} workers on cores {worker_cpus}, load generator on "
            f"{load_cpus if load_cpus is not None else 'any core (shared with the workers)'}; "
            f"{cfg.sittings} sittings of {cfg.salles} salles, {cfg.seconds}s window",
        )
    else:
        _log(
            cfg, f"server core {server_cpu}, load-generator core {load_cpu}; {cfg.salles} salles, {cfg.seconds}s window"
        )
    ensure_samples(cfg.cache_dir)  # generated once, before anything is timed
    if cfg.simulcast:  # not by each salle process at once, during their join
        layer_samples(cfg.cache_dir)
    zero = await zero_run(cfg, load_cpu)

    report = rep.empty_figures(cfg.salles * cfg.sittings, cfg.seconds)
    problems: dict[str, list[str]] = {}
    if cfg.capacity:
        report = await capacity_search(cfg, server_cpu, load_cpu, zero)
    elif cfg.seance:
        try:
            run = await seance_run(cfg, server_cpu, load_cpu)
            report = rep.figures(run, zero)
            problems["seance"] = run.errors
            if cfg.sittings > 1:
                report["sittings"] = cfg.sittings
            if cfg.workers > 1:
                report["workers"] = rep.worker_figures(run)
            if run.join_cpu_s is not None:
                report["server_join_cpu_s"] = round(run.join_cpu_s, 2)
            report["deliberation"] = not cfg.media_only
            if run.event_loop:
                report["event_loop"] = run.event_loop
            report["load_generator"] = {
                **rep.load_figures(run),
                "loop": resolved_client_loop(cfg),
                # how the salles protect and send (bench.salle_transport): sfu._forward, or pylibsrtp
                "sender": "native" if native_available() else "python",
            }
            if run.server_counters is not None:
                report["server_counters"] = run.server_counters
            if cfg.simulcast:
                report["simulcast"] = rep.simulcast_figures(run)
            report["sizing"] = rep.run_sizing(run, report, cfg.salles, cfg.voices)
        except NotImplementedError as exc:
            problems["seance"] = [f"not wired: {exc}"]
        except Exception as exc:
            problems["seance"] = [f"{type(exc).__name__}: {exc}"]
    if cfg.baseline == "mediarelay":
        base = rep.empty_figures(cfg.salles, cfg.seconds)
        try:
            run = await baseline_run(cfg, server_cpu, load_cpu)
            base = rep.figures(run, zero)
            problems["mediarelay"] = run.errors
        except Exception as exc:
            problems["mediarelay"] = [f"{type(exc).__name__}: {exc}"]
        report["mediarelay"] = base
    if cfg.vs_janus:
        janus = rep.empty_figures(cfg.salles, cfg.seconds)
        try:
            run = await janus_run(cfg, server_cpu, load_cpu)
            janus = rep.figures(run, zero)
            problems["janus"] = run.errors
            janus["load_generator"] = rep.load_figures(run)
            if cfg.simulcast:
                janus["simulcast"] = rep.simulcast_figures(run)
            janus["sizing"] = rep.run_sizing(run, janus, cfg.salles, cfg.voices)
        except Exception as exc:
            problems["janus"] = [f"{type(exc).__name__}: {exc}"]
        report["janus"] = janus
    for target, errs in problems.items():
        for e in errs[:10]:
            _log(cfg, f"{target}: {e}")
    return report


async def capacity_search(
    cfg: BenchConfig, server_cpu: int | None, load_cpu: int | None, zero: float
) -> dict[str, Any]:
    """Raise N (salles per sitting) until loss > 0.5 % or p99 added delay > 50 ms (twice
    in a row at the same N), within ``cfg.capacity_budget`` seconds for the whole search.

    One worker and one sitting by default; ``--workers W --sittings K``: the whole
    machine, K sittings of N salles spread over W worker processes. The top-level figures
    are those of the largest N held; ``capacity`` lists every step, and says what stopped
    the search (``loss``, ``delay``, ``join``, ``load_generator`` when the load
    generator's own cores were saturated, ``machine`` when the load generator shares the
    cores with the workers and the machine as a whole was, or ``budget``)."""
    t0 = time.monotonic()
    n = max(2, cfg.salles)
    steps: list[dict[str, Any]] = []
    held: dict[str, Any] | None = None
    limit = "budget"
    last_s = 0.0
    retried = False
    while True:
        remaining = cfg.capacity_budget - (time.monotonic() - t0)
        if steps and remaining < last_s * 1.6 + 5:
            break  # the next, larger step would not end within the budget
        step_cfg = BenchConfig(
            **{
                **cfg.__dict__,
                "salles": n,
                "capacity": False,
                "salles_per_process": max(cfg.salles_per_process, -(-n * cfg.sittings // 12)),
            }
        )
        t_step = time.monotonic()
        try:
            run = await asyncio.wait_for(seance_run(step_cfg, server_cpu, load_cpu), max(30.0, remaining))
        except (TimeoutError, Exception) as exc:
            steps.append({"salles": n, "error": f"{type(exc).__name__}: {exc}"})
            limit = "budget" if isinstance(exc, asyncio.TimeoutError) else "error"
            break
        last_s = time.monotonic() - t_step
        f = rep.figures(run, zero)
        lg = rep.load_figures(run)
        step = {
            "salles": n * cfg.sittings,
            "forwarded_pps": f["forwarded_pps"],
            "loss_pct": f["loss_pct"],
            "p99_ms": f["added_delay_ms"]["p99"],
            "server_cpu_us_per_forwarded_packet": f["server_cpu_us_per_forwarded_packet"],
            "server_cpu_pct": round(100 * run.cpu_s / run.window_s, 1) if run.cpu_s is not None else None,
            "load_generator_cpu_pct": lg["cpu_pct"],
            "seconds_taken": round(last_s, 1),
        }
        if cfg.workers > 1:
            step["workers_cpu_pct"] = rep.worker_figures(run)["cpu_pct"]
        steps.append(step)
        _log(cfg, f"capacity: {step}")
        joined = len(run.join_s) == n * cfg.sittings and not run.errors
        ok = joined and f["loss_pct"] is not None and f["loss_pct"] <= 0.5 and f["added_delay_ms"]["p99"] <= 50
        if not ok and not retried and joined:
            # one stall of the machine spoils a p99: a failing N is run once more before
            # it counts (both steps are listed)
            retried = True
            continue
        retried = False
        if not ok:
            if not joined:
                limit = "join"
            elif lg["cpu_pct"] is not None and lg["pinned"] and lg["cpu_pct"] >= 90 * max(1, lg["cores"] or 1):
                limit = "load_generator"
            elif (
                lg["cpu_pct"] is not None
                and not lg["pinned"]
                and run.cpu_s is not None
                and lg["cpu_pct"] + 100 * run.cpu_s / run.window_s >= 90 * len(os.sched_getaffinity(0))
            ):
                limit = "machine"
            else:
                limit = "loss" if f["loss_pct"] > 0.5 else "delay"
            break
        held = f
        n = max(n + 2, int(n * 1.5))
    report = held or rep.empty_figures(cfg.salles, cfg.seconds)
    report["capacity"] = {
        "max_salles": held["salles"] if held else None,
        "limit": limit,
        "workers": cfg.workers,
        "sittings": cfg.sittings,
        "budget_s": cfg.capacity_budget,
        "seconds_taken": round(time.monotonic() - t0, 1),
        "steps": steps,
    }
    return report


def main(cfg: BenchConfig) -> int:
    try:
        report = asyncio.run(run_bench(cfg))
    except asyncio.CancelledError:
        print("bench: stopped (SIGTERM); servers, salles and namespace cleaned up", file=sys.stderr)
        return 143
    print(rep.table(report))
    if cfg.json_path:
        rep.dump(report, cfg.json_path)
    bad = rep.validate(report, janus=cfg.vs_janus, mediarelay=cfg.baseline == "mediarelay")
    if bad:
        print("report problems: " + "; ".join(bad), file=sys.stderr)
        return 1
    return 0
