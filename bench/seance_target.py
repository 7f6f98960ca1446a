"""The Séance server as a benchmark target (:mod:`bench.seance_server`, pinned to the
server core), and the facts the salle processes need to join it (URL, sitting, tokens).
Stopped by its PID."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.janus import free_port

ROOT = Path(__file__).resolve().parent.parent


class SeanceServer:
    def __init__(self, cpu: int | None = None, module: str = "bench.seance_server") -> None:
        self.cpu = cpu
        self.module = module  # bench.mediarelay_server for the naive baseline (same /ws subset)
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="seance-bench-server-"))
        self.proc: asyncio.subprocess.Process | None = None
        self.tokens: dict[str, str] = {}
        self.sitting = ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(
        self,
        salles: int = 0,
        voices: int = 3,
        timeout: float = 30,
        sittings: int = 1,
        loop: str = "asyncio",
        workers: int = 1,
        worker_index: int = 0,
        media_only: bool = False,
        forwarding: str = "python",
    ) -> None:
        """``workers``/``worker_index``: this process is one of ``workers`` worker processes
        and hosts the sittings k with k mod ``workers`` = ``worker_index``."""
        cmd = [
            sys.executable,
            "-m",
            self.module,
            "--port",
            str(self.port),
            "--salles",
            str(salles),
            "--data-dir",
            str(self.tmp / "data"),
            "--voices",
            str(voices),
            "--sittings",
            str(sittings),
            "--loop",
            loop,
        ]
        if workers > 1:
            cmd += ["--workers", str(workers), "--worker-index", str(worker_index)]
        if media_only:
            cmd.append("--media-only")
        if forwarding != "python":  # RouterConfig.forwarding (sfu.forwarding)
            cmd += ["--forwarding", forwarding]
        if self.cpu is not None and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        self._log = open(self.tmp / "server.log", "wb")
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=self._log, stdin=asyncio.subprocess.DEVNULL, cwd=str(ROOT)
        )
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            ready = json.loads(line)
        except (TimeoutError, ValueError) as exc:
            await self.stop()
            raise RuntimeError(f"the Séance server did not start: {exc!r}: {self.log_tail()}") from None
        self.tokens, self.sitting = ready["tokens"], ready["sitting"]
        self.sittings: dict[str, str] = ready.get("sittings", {})
        self.loop = ready.get("loop", "asyncio")
        for _ in range(100):  # the socket listens right after on_startup
            try:
                _, w = await asyncio.open_connection("127.0.0.1", self.port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.05)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return (self.tmp / "server.log").read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def salle_config(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "sitting": self.sitting,
            "sittings": self.sittings,
            "tokens": self.tokens,
            "ice_addresses": ["127.0.0.1"],
        }

    async def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after 8 s; only the process we started."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 8)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def installation_config(servers: list[SeanceServer]) -> dict[str, Any]:
    """What the salles need to join an installation of several worker processes: each
    salle's own worker (``urls``), sitting and token."""
    cfg = servers[0].salle_config()
    if len(servers) > 1:
        cfg = {**cfg, "urls": {}, "sittings": {}, "tokens": {}}
        for s in servers:
            cfg["urls"].update(dict.fromkeys(s.tokens, s.url))
            cfg["sittings"].update(s.sittings)
            cfg["tokens"].update(s.tokens)
    return cfg
