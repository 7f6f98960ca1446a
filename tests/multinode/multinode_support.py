"""Helpers of tests/multinode: several Séance nodes in separate processes, on a real ``redis-server`` (issue 5).

``redis`` starts ``redis-server`` on a free loopback port without persistence
(``--save '' --appendonly no``) and stops it by PID; ``Node`` runs ``seance serve
--config`` in its own process (plain HTTP behind the "proxy" on loopback), all nodes
sharing the data dir (the journal replication this installation uses: shared storage)
and the Redis. Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from web.commands.demo import seed_demo

REPO = Path(__file__).resolve().parents[2]
LEASE_TTL_S = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as err:
            last = err
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self.client().ping(), 10, "redis-server to answer")

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, decode_responses=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None


CONFIG = """\
[server]
host = "127.0.0.1"
port = {port}
data_dir = "{data_dir}"
redis = "{redis}"
node_url = "http://127.0.0.1:{{port}}"  # no proxy in front: browsers reach the port
lease_ttl_s = {ttl}

[proxy]
trusted = ["127.0.0.1"]

[ice]
listen_addresses = ["127.0.0.1"]

[web]
reconcile_after_s = false

[[sittings]]
id = "demo"
title = "Communauté de communes des Trois Rivières"
president_salle = "belcourt"
salles = [
  {{ id = "belcourt", name = "Belcourt" }},
  {{ id = "vaux", name = "Vaux-sur-Ance" }},
  {{ id = "saint-ferreol", name = "Saint-Ferréol" }},
]
"""


class Node:
    """One ``seance serve`` process."""

    def __init__(self, name: str, workdir: Path, data_dir: Path, redis_url: str) -> None:
        self.name = name
        self.port = free_port()
        self.config = workdir / f"{name}.toml"
        self.config.write_text(CONFIG.format(port=self.port, data_dir=data_dir, redis=redis_url, ttl=LEASE_TTL_S))
        seed_demo(data_dir)  # the demo council, entered and convened as in /admin (once per data dir)
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        seance = Path(sys.executable).parent / "seance"
        argv = [str(seance)] if seance.exists() else [sys.executable, "-m", "web.cli"]
        self._log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [*argv, "serve", "--config", str(self.config)], cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for(self.healthy, 30, f"node {self.name} to serve")

    def healthy(self) -> bool:
        import urllib.request

        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"node {self.name} exited: {self.log.read_text()[-3000:]}")
        with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
            return r.status == 200

    def cluster(self) -> dict:
        import json
        import urllib.request

        with urllib.request.urlopen(self.url + "/cluster", timeout=2) as r:
            return json.loads(r.read())

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()
