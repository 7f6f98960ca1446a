"""``seance serve`` with several worker processes on one machine (issue 5).

The supervisor (this module) serves nothing itself: it prepares the files every worker
shares (the data dir, the council key, the session key, the accounts database: created
once here so that workers never race to create them), then runs worker *i* as
``seance serve --config FILE --worker-index i`` on port ``port + i``, and restarts a
worker that dies (one second later, at most once per second). SIGTERM or SIGINT stops
every worker (SIGTERM, then SIGKILL after the shutdown timeout).

Each worker is a node (signaling/placement.py): without Redis, sitting *i* of the
configuration lives on worker ``i mod N`` and a sitting convened in /admin on the worker
the rendezvous hash chooses (each worker reads the council store: web/sittings.py); with
Redis, the workers take the sittings by
lease like separate machines do. A browser reaching the wrong worker is redirected.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 15.0


def worker_port(base_port: int, index: int) -> int:
    return base_port + index


def node_url(config, index: int) -> str:
    """The base URL browsers reach worker ``index`` at."""
    port = worker_port(config.web.port, index)
    template = config.cluster.node_url
    if template:
        return template.replace("{port}", str(port)).rstrip("/")
    return replace(config.web, port=port).base_url


def node_id(port: int) -> str:
    """Unique per process: a restarted node waits for its predecessor's leases to expire."""
    return f"{socket.gethostname()}:{port}:{secrets.token_hex(3)}"


def prepare_shared_files(data_dir: Path) -> None:
    from signaling.accounts import AccountStore
    from signaling.auth import TokenSigner
    from signaling.sitting import council_key

    data_dir.mkdir(parents=True, exist_ok=True)
    council_key(data_dir)
    TokenSigner.from_data_dir(data_dir)
    AccountStore.in_data_dir(data_dir).close()


def supervise(config_file: Path, workers: int, extra: list[str], data_dir: Path) -> int:
    prepare_shared_files(data_dir)
    argv0 = [sys.executable, "-m", "web.cli", "serve", "--config", str(config_file), *extra]
    procs: dict[int, subprocess.Popen] = {}
    started: dict[int, float] = {}
    stopping = False

    def spawn(i: int) -> None:
        procs[i] = subprocess.Popen([*argv0, "--worker-index", str(i), "--workers", str(workers)])
        started[i] = time.monotonic()
        log.info("worker %d started (pid %d)", i, procs[i].pid)

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for i in range(workers):
        spawn(i)
    try:
        while not stopping:
            time.sleep(0.2)
            for i, proc in list(procs.items()):
                if proc.poll() is not None and not stopping:
                    log.warning("worker %d (pid %d) exited with %s: restarting", i, proc.pid, proc.returncode)
                    time.sleep(max(0.0, 1.0 - (time.monotonic() - started[i])))
                    spawn(i)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return 0


def placement_for(config, index: int | None, workers: int, redis_url: str | None):
    """The placement of this process, or None for the single embedded process."""
    from signaling.placement import NodeInfo, StaticPlacement

    i = index or 0
    port = worker_port(config.web.port, i)
    node = NodeInfo(node_id(port), node_url(config, i))
    if redis_url:
        from signaling.redis_store import RedisPlacement

        return RedisPlacement(redis_url, node, lease_ttl_s=config.cluster.lease_ttl_s)
    if workers > 1:
        nodes = [NodeInfo(f"worker-{j}", node_url(config, j)) for j in range(workers)]
        assignment = StaticPlacement.assign([s.id for s in config.web.sittings], workers)
        return StaticPlacement(nodes, i, assignment)
    return None


def cpu_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
