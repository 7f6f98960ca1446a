"""Shared helpers of the reliability tests (issue 6: faults, floods, soak).

Everything here stays on loopback, bounds every wait, and undoes what it sets up: the
processes it starts are killed by their PID, the tmpfs it mounts and the nftables table it
adds are removed in a ``finally`` by the tests that use them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from signaling.auth import TokenSigner
from signaling.roles import Role

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent

SEANCE = REPO / ".venv" / "bin" / "seance"
OUTPUT = REPO / "test-output"
TIMEOUT = 5.0


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seance_command() -> list[str]:
    return [str(SEANCE)] if SEANCE.exists() else [sys.executable, "-m", "web.cli"]


class Server:
    """``seance demo --http`` (or ``seance serve --config``) as a real process, killable with -9."""

    def __init__(
        self,
        data_dir: Path,
        *,
        args: list[str] | None = None,
        port: int | None = None,
        log_name: str = "server.log",
        host: str = "127.0.0.1",
        scheme: str = "http",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.host, self.scheme = host, scheme  # https: a self-signed certificate, not verified
        self.args = args
        self.log_path = self.data_dir.parent / log_name
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.scheme == 'https' else 'ws'}://{self.host}:{self.port}/ws"

    def start(self) -> None:
        args = self.args or ["demo", "--http", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            seance_command() + args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO)
        )
        log.close()

    async def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise AssertionError(f"server exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
                try:
                    async with http.get(self.base + "/healthz", timeout=aiohttp.ClientTimeout(total=1), ssl=False) as r:
                        if r.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError, OSError):
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout}s:\n{self.log()[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL by PID (only the process this object started)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def signer(data_dir: Path) -> TokenSigner:
    return TokenSigner.from_data_dir(data_dir)


class WsClient:
    """One authenticated socket to a server (in-process test client or a real process).

    A pump task reads every frame as it arrives, like a browser does: a socket nobody
    reads would fill the server's bounded send queue and be dropped as a slow consumer."""

    def __init__(self, ws, name: str, keep_views: bool = True) -> None:
        self.ws, self.name, self.n = ws, name, 0
        self.keep_views = keep_views
        self.view: dict | None = None
        self.errors: list[dict] = []
        self.received = 0
        self.counts: dict[str, int] = {}  # by error code, else by message type
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._pump = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                frame = await self.ws.receive()
                if frame.type != aiohttp.WSMsgType.TEXT:
                    self._inbox.put_nowait(
                        ConnectionError(f"{self.name}: socket closed ({frame.type}, {frame.data!r})")
                    )
                    return
                self.received += 1
                if not self.keep_views and frame.data.startswith('{"type":"sitting"'):
                    continue  # a voter's socket: skip parsing every view (cheap, like a light page)
                msg = json.loads(frame.data)
                key = msg.get("code") or msg["type"]
                self.counts[key] = self.counts.get(key, 0) + 1
                if msg["type"] == "sitting":
                    self.view = msg["view"]
                if msg["type"] == "error":
                    self.errors.append(msg)
                self._inbox.put_nowait(msg)
        except Exception as exc:
            self._inbox.put_nowait(ConnectionError(f"{self.name}: {exc!r}"))

    async def next(self, *types: str, timeout: float = TIMEOUT) -> dict:
        async def loop():
            while True:
                msg = await self._inbox.get()
                if isinstance(msg, Exception):
                    self._inbox.put_nowait(msg)
                    raise msg
                if msg["type"] in types:
                    return msg

        return await asyncio.wait_for(loop(), timeout)

    async def send_command(self, **command) -> str:
        self.n += 1
        cid = f"{self.name}-{self.n}"
        await self.ws.send_json({"type": "command", "id": cid, "command": command})
        return cid

    async def reply(self, cid: str, timeout: float = TIMEOUT) -> dict:
        while True:
            msg = await self.next("ack", "error", timeout=timeout)
            if msg.get("re") == cid:
                return msg

    async def command(self, **command) -> dict:
        return await self.reply(await self.send_command(**command))

    async def ok(self, **command) -> list[dict]:
        reply = await self.command(**command)
        assert reply["type"] == "ack", f"{self.name} {command}: {reply}"
        return reply["events"]

    async def close(self) -> None:
        self._pump.cancel()
        await self.ws.close()


async def ws_connect(
    session_or_client,
    url_or_path: str,
    sign: TokenSigner | None,
    name: str,
    role: Role | None = None,
    sitting: str = "demo",
    expect_view: bool = True,
    keep_views: bool = True,
    **claims,
) -> WsClient:
    ws = await session_or_client.ws_connect(url_or_path)
    hello = {"type": "hello", "sitting": sitting, "id": "h"}
    if role is not None:
        assert sign is not None
        hello["token"] = sign.issue(role, sitting=sitting, **claims)
    await ws.send_json(hello)
    sock = WsClient(ws, name, keep_views)
    await sock.next("welcome")
    if expect_view and keep_views and role is not Role.KIOSK:  # kiosks get no view (docs/protocol.md)
        await sock.next("sitting")
    return sock


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def write_json(name: str, data: dict) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def wait_ready_sync(server: Server, timeout: float = 20.0) -> None:
    """Blocking version of :meth:`Server.wait_ready` (module-scoped fixtures have no loop)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc is not None and server.proc.poll() is not None:
            raise AssertionError(f"server exited ({server.proc.returncode}):\n{server.log()[-3000:]}")
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not ready in {timeout}s:\n{server.log()[-3000:]}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
