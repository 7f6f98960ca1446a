"""Janus (Debian's ``janus`` package, VideoRoom plugin) as the reference SFU.

:class:`JanusServer` starts ``janus`` with a configuration of its own, generated into a
temporary directory: only the VideoRoom plugin and the WebSocket transport, no STUN, no
NAT lookups, no event handlers or loggers. It is stopped by its PID.

Janus 1.1.2 never gathers loopback candidates (libnice skips loopback interfaces, and
``ice_enforce_list = "lo"`` or ``"127.0.0.1"`` leaves it with nothing, so it falls back to
every interface). Benchmark traffic may only go to loopback or to our own namespaces, so
Janus runs inside the benchmark's network namespace (:class:`bench.netns.BenchNetns`,
started with ``ip netns exec``): its WebSocket API is bound on the namespace-side veth
address and ICE is restricted to that same address (``ice_enforce_list``). The
namespace has no route beyond its /30, so Janus cannot send anything elsewhere.

:class:`JanusSession` is a minimal client of the Janus API over that WebSocket
(``janus-protocol`` subprotocol): create a session, attach VideoRoom handles, send
requests with or without JSEP and wait for the matching event. It is used by the
orchestrator to create the room and by each synthetic salle to publish and subscribe.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

JANUS_BIN = "janus"
JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
VIDEOROOM = "janus.plugin.videoroom"


def janus_available() -> str | None:
    """None when Janus can run here, else the reason it cannot (for skips and reports)."""
    if shutil.which(JANUS_BIN) is None:
        return "janus is not installed (Debian: apt-get install janus)"
    lib = _lib_dir()
    if lib is None or not (lib / "plugins" / "libjanus_videoroom.so").exists():
        return "janus is installed without its VideoRoom plugin"
    if not (lib / "transports" / "libjanus_websockets.so").exists():
        return "janus is installed without its WebSocket transport"
    from bench.netns import unavailable

    reason = unavailable()  # Janus runs in a network namespace of the benchmark's own
    return f"the Janus target runs in a network namespace of its own: {reason}" if reason else None


def _lib_dir() -> Path | None:
    for cand in (JANUS_LIB, Path("/usr/lib/janus"), Path("/usr/local/lib/janus")):
        if (cand / "plugins").is_dir():
            return cand
    return None


def die_with_parent() -> list[str]:
    """A command prefix that SIGKILLs the command if the benchmark dies without stopping
    it (util-linux ``setpriv --pdeathsig``; the setting survives the ``exec`` of
    ``ip netns exec`` and ``taskset``). Empty when ``setpriv`` is missing."""
    return ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _disable_all_but(folder: Path, keep: str) -> str:
    names = sorted(p.name for p in folder.glob("*.so")) if folder.is_dir() else []
    return ",".join(n for n in names if n != keep)


def write_config(conf_dir: Path, ws_port: int, rtp_ports: tuple[int, int], address: str) -> Path:
    """``address``: the only one Janus uses, for ICE and for its WebSocket API."""
    # Write janus.jcfg and the two configs Janus loads; returns the main config path.
    lib = _lib_dir() or JANUS_LIB
    main = f"""
general: {{
    configs_folder = "{conf_dir}"
    plugins_folder = "{lib / "plugins"}"
    transports_folder = "{lib / "transports"}"
    events_folder = "{lib / "events"}"
    loggers_folder = "{lib / "loggers"}"
    debug_level = 3
    session_timeout = 60
    server_name = "seance-bench"
}}
certificates: {{
}}
media: {{
    ipv6 = false
    rtp_port_range = "{rtp_ports[0]}-{rtp_ports[1]}"
}}
nat: {{
    nice_debug = false
    full_trickle = false
    ignore_mdns = true
    ice_enforce_list = "{address}"
}}
plugins: {{
    disable = "{_disable_all_but(lib / "plugins", "libjanus_videoroom.so")}"
}}
transports: {{
    disable = "{_disable_all_but(lib / "transports", "libjanus_websockets.so")}"
}}
loggers: {{
    disable = "{_disable_all_but(lib / "loggers", "")}"
}}
events: {{
    broadcast = false
    disable = "{_disable_all_but(lib / "events", "")}"
}}
"""
    ws = f"""
general: {{
    json = "compact"
    ws = true
    ws_port = {ws_port}
    ws_ip = "{address}"
    wss = false
}}
admin: {{
    admin_ws = false
    admin_wss = false
}}
"""
    videoroom = """
general: {
    string_ids = false
}
"""
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "janus.jcfg").write_text(main)
    (conf_dir / "janus.transport.websockets.jcfg").write_text(ws)
    (conf_dir / "janus.plugin.videoroom.jcfg").write_text(videoroom)
    return conf_dir / "janus.jcfg"


class JanusServer:
    """A private Janus inside ``netns``. ``with JanusServer(netns=ns) as j: …``; ``j.pid``, ``j.url``.

    ``j.pid`` is Janus's own PID (``ip netns exec`` and ``taskset`` exec it), so the CPU
    and memory read from /proc are Janus's, and stopping it is by that PID."""

    WS_PORT = 8188  # the namespace is ours: every port in it is free

    def __init__(self, netns, cpu: int | None = None, log_path: Path | None = None) -> None:
        self.cpu = cpu
        self.netns = netns
        self.address = netns.inner_ip
        self.tmp = Path(tempfile.mkdtemp(prefix="seance-bench-janus-"))
        self.ws_port = self.WS_PORT
        self.rtp_ports = (20000, 20999)
        self.log_path = log_path or self.tmp / "janus.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.address}:{self.ws_port}/"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 15.0) -> None:
        cfg = write_config(self.tmp / "conf", self.ws_port, self.rtp_ports, self.address)
        cmd = [JANUS_BIN, "-C", str(cfg), "-F", str(cfg.parent), "-o", "-d", "3"]
        if self.cpu is not None and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        cmd = [*self.netns.exec_prefix(), *die_with_parent(), *cmd]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"janus exited with {self.proc.returncode}: {self.log_tail()}")
            try:  # from the root namespace, over our veth pair
                with socket.create_connection((self.address, self.ws_port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"janus did not listen on {self.address}:{self.ws_port} within {timeout}s: {self.log_tail()}"
        )

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after 5 s; only the process we started."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> JanusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class JanusError(RuntimeError):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"janus error {code}: {reason}")
        self.code = code


class JanusSession:
    """One Janus session over one WebSocket; requests matched to replies by transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._tx = itertools.count(1)
        self._waiters: dict[str, asyncio.Future] = {}
        self.session_id: int | None = None

    async def __aenter__(self) -> JanusSession:
        import aiohttp

        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.url, protocols=("janus-protocol",), heartbeat=None)
        self._reader = asyncio.create_task(self._read())
        reply = await self._call({"janus": "create"})
        self.session_id = reply["data"]["id"]
        self._keepalive = asyncio.create_task(self._keep_alive())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._keepalive.cancel()
        try:
            await asyncio.wait_for(self._call({"janus": "destroy"}, expect=("success",)), 2)
        except Exception:
            pass
        self._reader.cancel()
        await self._ws.close()
        await self._http.close()

    async def _read(self) -> None:
        import json

        async for msg in self._ws:
            data = json.loads(msg.data)
            fut = self._waiters.get(data.get("transaction", ""))
            if fut is None or fut.done():
                continue
            if data.get("janus") == "ack":
                continue  # an asynchronous plugin request: the event follows
            fut.set_result(data)
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionError("janus websocket closed"))

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(20)
            await self._ws.send_json({"janus": "keepalive", "session_id": self.session_id, "transaction": "ka"})

    async def _call(
        self, msg: dict[str, Any], expect: tuple[str, ...] = ("success", "event"), timeout: float = 20
    ) -> dict:
        tx = f"t{next(self._tx)}"
        msg = {**msg, "transaction": tx}
        if self.session_id is not None and "session_id" not in msg:
            msg["session_id"] = self.session_id
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters[tx] = fut
        try:
            await self._ws.send_json(msg)
            reply = await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters.pop(tx, None)
        if reply.get("janus") == "error":
            err = reply.get("error", {})
            raise JanusError(err.get("code"), err.get("reason", "?"))
        if reply.get("janus") not in expect:
            raise JanusError(None, f"unexpected reply {reply.get('janus')}")
        data = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data or "error" in data:
            raise JanusError(data.get("error_code"), data.get("error", "?"))
        return reply

    async def attach(self, plugin: str = VIDEOROOM) -> int:
        reply = await self._call({"janus": "attach", "plugin": plugin})
        return reply["data"]["id"]

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None, timeout: float = 20
    ) -> tuple[dict, dict | None]:
        """Send a plugin request; return (plugin data, jsep or None) of its reply."""
        msg: dict[str, Any] = {"janus": "message", "handle_id": handle, "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        reply = await self._call(msg, timeout=timeout)
        return reply.get("plugindata", {}).get("data", {}), reply.get("jsep")


async def create_room(url: str, room: int, publishers: int) -> None:
    """Create a VideoRoom for the benchmark: Opus + VP8, no bitrate cap, audio levels on."""
    async with JanusSession(url) as s:
        h = await s.attach()
        await s.message(
            h,
            {
                "request": "create",
                "room": room,
                "permanent": False,
                "publishers": publishers,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "bitrate": 0,
                "fir_freq": 0,
                "audiolevel_ext": True,
                "audiolevel_event": False,
                "notify_joining": False,
                "description": "seance-bench",
            },
        )
