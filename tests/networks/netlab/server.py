"""The server under test, as an installation runs it, and the people who open the sitting.

``seance serve --config seance.toml`` as a real process, in the run's namespace: HTTPS
on port 443 of :data:`netlab.lab.SERVER_IP` with a self-signed certificate the lab
makes (``[tls]``: Séance serves TLS itself; the browsers are told to accept it), ICE on
that address only, and the demo council's sitting ``demo`` (seeded into the council
store as ``/admin`` would hold it: belcourt, the siège, vaux and saint-ferreol). With
``turn``, ``[turn]`` hands the browsers time-limited TURN REST credentials derived
from the coturn's shared secret, exactly as in production.

:class:`SittingDriver` plays the agents and the president over the sitting's WebSocket
(tokens signed with the installation's key): it checks councillors in, opens the
sitting, and keeps every view pushed to a public socket, with its arrival time, for
:func:`netlab.figures.sitting_figures`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from deliberation.demo import SITTING_ID, demo_council
from signaling.auth import TokenSigner
from signaling.roles import Role
from signaling.sitting import journal_path
from tests.networks.netlab.figures import parse_metrics
from tests.networks.netlab.lab import SERVER_IP
from tests.reliability.reliability_support import Server, WsClient, ws_connect
from web.commands.demo import seed_demo
from web.tls import ensure_self_signed

PORT = 443
#: who is checked in where when the sitting opens (12 of the 17 members: quorum, R8)
CHECK_INS = {
    "belcourt": ("m01", "m02", "m03", "m04", "m05"),
    "vaux": ("m06", "m07", "m08", "m09"),
    "saint-ferreol": ("m10", "m11", "m12"),
}
SALLES = tuple(s.id for s in demo_council().salles)


@dataclass(frozen=True)
class TurnConfig:
    """``[turn]`` of the server: the URLs handed to browsers and coturn's shared secret."""

    urls: tuple[str, ...]
    shared_secret: str


def certificate(folder: Path) -> tuple[Path, Path]:
    """The server's self-signed certificate and key (made on first use)."""
    return ensure_self_signed(folder / "tls", hostnames=("seance.lab",), addresses=(SERVER_IP,))


def write_config(folder: Path, data_dir: Path, turn: TurnConfig | None = None) -> Path:
    """The installation's ``seance.toml`` (and its self-signed certificate)."""
    cert, key = certificate(folder)
    council = demo_council()
    seat = next(s.id for s in council.salles if s.is_seat)
    salles = ",\n".join(f"  {{ id = {json.dumps(s.id)}, name = {json.dumps(s.name)} }}" for s in council.salles)
    text = f"""[server]
host = "{SERVER_IP}"
port = {PORT}
data_dir = "{data_dir}"

[tls]
cert = "{cert}"
key = "{key}"

[ice]
listen_addresses = ["{SERVER_IP}"]

[[sittings]]
id = "{SITTING_ID}"
title = {json.dumps(council.name)}
president_salle = "{seat}"
salles = [
{salles},
]
"""
    if turn is not None:
        urls = ", ".join(json.dumps(u) for u in turn.urls)
        text += f'\n[turn]\nurls = [{urls}]\nshared_secret = "{turn.shared_secret}"\n'
    path = folder / "seance.toml"
    path.write_text(text)
    return path


class SeanceServer:
    """``seance serve`` in the lab: ``start()``, ``await ready()``, URLs, /metrics, ``stop()``."""

    def __init__(self, folder: Path, turn: TurnConfig | None = None) -> None:
        self.folder = folder
        self.data_dir = folder / "data"
        self.config = write_config(folder, self.data_dir, turn)
        seed_demo(self.data_dir)  # the demo council entered and convened as /admin does (web.sittings)
        self.process = Server(
            self.data_dir,
            args=["serve", "--config", str(self.config)],
            port=PORT,
            host=SERVER_IP,
            scheme="https",
            log_name="seance.log",
        )
        self.certificate = certificate(folder)[0]
        self._signer: TokenSigner | None = None

    @property
    def base(self) -> str:
        return self.process.base

    def start(self) -> None:
        self.process.start()

    async def ready(self, timeout: float = 30.0) -> None:
        await self.process.wait_ready(timeout)
        self._signer = TokenSigner.from_data_dir(self.data_dir)  # the server made it at start

    @property
    def signer(self) -> TokenSigner:
        assert self._signer is not None, "await ready() first"
        return self._signer

    def kiosk_url(self, salle: str) -> str:
        token = self.signer.issue(Role.KIOSK, salle=salle, sitting=SITTING_ID)
        return f"{self.base}/salle/{salle}?token={token}"

    def public_url(self) -> str:
        return f"{self.base}/public/{SITTING_ID}"

    async def metrics(self, http: aiohttp.ClientSession) -> dict:
        async with http.get(self.base + "/metrics", timeout=aiohttp.ClientTimeout(total=5)) as r:
            return parse_metrics(await r.text())

    def journal(self) -> list[dict]:
        """The sitting's journal, one dict per line (the server writes it as it goes)."""
        path = journal_path(self.data_dir, SITTING_ID)
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def log(self) -> str:
        return self.process.log()

    def stop(self) -> None:
        self.process.stop()


def http_session() -> aiohttp.ClientSession:
    """The harness's HTTP client: the lab's certificate is self-signed, not verified."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))


@dataclass
class SittingDriver:
    """The president, the agents and a public socket of the sitting ``demo``."""

    server: SeanceServer
    http: aiohttp.ClientSession
    views: list[tuple[float, dict]] = field(default_factory=list)
    sockets: dict[str, WsClient] = field(default_factory=dict)
    _watch: asyncio.Task | None = None

    async def connect(self) -> None:
        url, sign = self.server.base.replace("https", "wss") + "/ws", self.server.signer
        self.sockets["public"] = await ws_connect(self.http, url, None, "public")
        self.views.append((time.time(), self.sockets["public"].view))
        self._watch = asyncio.get_running_loop().create_task(self._follow(self.sockets["public"]))
        self.sockets["president"] = await ws_connect(
            self.http, url, sign, "president", Role.PRESIDENT, member="m01", salle="belcourt"
        )
        for salle in CHECK_INS:
            self.sockets[salle] = await ws_connect(
                self.http, url, sign, f"agent-{salle}", Role.AGENT, salle=salle, agent=f"a-{salle}"
            )

    async def _follow(self, sock: WsClient) -> None:
        while True:
            msg = await sock.next("sitting", timeout=3600)
            self.views.append((time.time(), msg["view"]))

    @property
    def view(self) -> dict | None:
        return self.views[-1][1] if self.views else None

    async def check_in(self) -> None:
        for salle, members in CHECK_INS.items():
            for member in members:
                await self.sockets[salle].ok(type="CheckIn", member_id=member, salle_id=salle)
        await self.sockets["president"].ok(type="AppointSecretary", member_id="m03")

    async def wait_transmitting(self, salles: Sequence[str], timeout: float) -> list[str]:
        """Wait, as a president watches the opening checklist, until the public view shows
        every one of ``salles`` transmitting (R7), at most ``timeout`` seconds; return the
        salles still not transmitting (empty: all are). The server's health needs a few
        seconds of RTP and receiver reports after ICE connects (more on a loaded machine):
        opening at once measures the machine's speed, not the product."""
        end = time.monotonic() + timeout
        while True:
            shown = {s["id"]: s for s in (self.view or {}).get("salles", [])}
            late = sorted(s for s in salles if not shown.get(s, {}).get("transmitting"))
            if not late or time.monotonic() >= end:
                return late
            await asyncio.sleep(0.25)

    async def open(self) -> dict:
        """OpenSitting as the president: ``{"accepted", "code", "message"}``."""
        reply = await self.sockets["president"].command(type="OpenSitting")
        if reply["type"] == "ack":
            return {"accepted": True, "code": None, "message": None}
        return {"accepted": False, "code": reply.get("code"), "message": reply.get("message")}

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
        for sock in self.sockets.values():
            with contextlib.suppress(Exception):
                await sock.close()
