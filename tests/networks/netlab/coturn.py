"""A real coturn for the lab: the shipped ``deploy/coturn/turnserver.conf``, with its
addresses, ports, paths and secret set for the run.

The lab's TURN server listens on :data:`netlab.lab.TURN_IP` (an address of its own, as
in production beside nginx's), TURN over TLS on 443 with a self-signed certificate the
lab makes, plain TURN on 3478, and relays to the server's ICE address only
(``allowed-peer-ip``; the shipped file's ``denied-peer-ip`` ranges stay, 10.0.0.0/8
included). Everything else is the shipped file's: REST credentials
(``use-auth-secret``), no TCP relay, quotas. Its log (``log-file``, ``verbose``: one line
per allocation and per session's end, with the client's transport) is how a test sees
that the relay was used, and over TLS.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.networks.netlab.lab import SERVER_IP, TURN_IP
from tests.networks.netlab.server import TurnConfig
from web.tls import ensure_self_signed

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "deploy" / "coturn" / "turnserver.conf"
TLS_PORT = 443
PLAIN_PORT = 3478


def coturn_missing() -> str | None:
    return None if shutil.which("turnserver") else "coturn is not installed (Debian: apt-get install coturn)"


@dataclass(frozen=True)
class Usage:
    """coturn's counters of one side of a session: packets and bytes received and sent."""

    rp: int
    rb: int
    sp: int
    sb: int


@dataclass(frozen=True)
class Session:
    """One TURN session, from coturn's log (its usage is logged as it goes and when it closes)."""

    id: str
    username: str
    tls: str | None  #: the TLS version of the client's connection (None: not TLS)
    allocated: bool  #: an ALLOCATE succeeded
    client: Usage | None  #: between the browser and coturn
    peer: Usage | None  #: between coturn's relay address and the peers (the server)


_USAGE = r"realm=<[^>]*>, username=<([^>]*)>, rp=(\d+), rb=(\d+), sp=(\d+), sb=(\d+)"


def parse_sessions(log: str) -> list[Session]:
    """The sessions of a coturn log (``verbose``) that have a user, in order."""
    sessions: dict[str, dict] = {}
    for m in re.finditer(r"session (\d+): (.*)", log):
        sid, text = m.group(1), m.group(2)
        s = sessions.setdefault(sid, {"username": "", "tls": None, "allocated": False, "client": None, "peer": None})
        if new := re.match(r"new, realm=<[^>]*>, username=<([^>]*)>.*?method=(\S+)", text):
            s["username"], s["tls"] = new.group(1), new.group(2) if new.group(2).startswith("TLS") else None
        elif "ALLOCATE processed, success" in text:
            s["allocated"] = True
        elif usage := re.match(r"(peer )?usage: " + _USAGE, text):
            s["username"] = s["username"] or usage.group(2)
            # coturn logs the usage since its previous line (periodically, and at the end)
            side = "peer" if usage.group(1) else "client"
            counts = [int(x) for x in usage.groups()[2:]]
            if s[side] is not None:
                counts = [a + b for a, b in zip(counts, (s[side].rp, s[side].rb, s[side].sp, s[side].sb))]
            s[side] = Usage(*counts)
    return [Session(sid, **v) for sid, v in sessions.items() if v["username"]]


class Coturn:
    """``turnserver -c <templated shipped file>``; ``start()``, ``await ready()``, ``stop()``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.secret = secrets.token_hex(32)
        self.log_path = folder / "turn.log"
        self.proc: subprocess.Popen | None = None

    def server_config(self) -> TurnConfig:
        """``[turn]`` for Séance: TURN over TLS on 443 only (the only way out of the salle)."""
        return TurnConfig(urls=(f"turns:{TURN_IP}:{TLS_PORT}?transport=tcp",), shared_secret=self.secret)

    @property
    def certificate(self) -> Path:
        return self._tls()[0]

    def _tls(self) -> tuple[Path, Path]:
        return ensure_self_signed(self.folder / "tls", hostnames=("turn.seance.lab",), addresses=(TURN_IP,))

    def config(self) -> str:
        cert, key = self._tls()
        rewrite = {
            "listening-ip": TURN_IP,
            "relay-ip": TURN_IP,
            "listening-port": str(PLAIN_PORT),
            "tls-listening-port": str(TLS_PORT),
            "min-port": "49152",
            "max-port": "49352",
            "realm": "seance.lab",
            "server-name": "turn.seance.lab",
            "static-auth-secret": self.secret,
            "cert": str(cert),
            "pkey": str(key),
            "allowed-peer-ip": SERVER_IP,
        }
        lines = []
        for line in SHIPPED.read_text().splitlines():
            k = line.partition("=")[0].strip()
            if k in rewrite:
                line = f"{k}={rewrite[k]}"
            elif k == "syslog":
                line = f"log-file={self.log_path}\nsimple-log\nverbose"
            lines.append(line)
        lines += [f"pidfile={self.folder}/turn.pid", f"userdb={self.folder}/turndb"]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "turnserver.conf"
        conf.write_text(self.config())
        die = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        with open(self.folder / "turnserver.out", "wb") as out:
            self.proc = subprocess.Popen(
                [*die, "turnserver", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT, cwd=self.folder
            )

    async def ready(self, timeout: float = 15.0) -> None:
        """coturn listens on TLS 443 (bounded wait)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"turnserver exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(TURN_IP, TLS_PORT), 1)
                writer.close()
                return
            except (OSError, TimeoutError):
                await asyncio.sleep(0.2)
        raise AssertionError(f"turnserver not listening on {TURN_IP}:{TLS_PORT} in {timeout} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def sessions(self) -> list[Session]:
        return parse_sessions(self.log())

    async def closed_sessions(self, timeout: float = 5.0) -> list[Session]:
        """The sessions once every one that allocated has logged its usage (the browsers
        closed their connections), or as they are after ``timeout``."""
        end = time.monotonic() + timeout
        while True:
            sessions = self.sessions()
            if all(s.peer is not None for s in sessions if s.allocated) or time.monotonic() > end:
                return sessions
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
