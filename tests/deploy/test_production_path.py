"""A real installation holds a real sitting (issue 18, "How it is shown").

As a DSI does it, with real parts only: a fresh data dir; ``seance serve --config`` as a
real process behind a real nginx running the shipped ``deploy/nginx`` files with a
self-signed certificate (:mod:`deploy_support`); the first admin made by ``--add-admin``.
In Chromium, through nginx, the admin enters a council in ``/admin`` — three communes,
three designated salles, a dozen members, an agent per salle, the president — creates
the accounts (one per member, one per agent) and convenes a sitting with its agenda.
Without a restart and without any ``[[sittings]]``, the server holds it: three kiosks
open their links (from the sitting's page) in Chromium and transmit over ``wss://``
through nginx; the agents, logged in with the passwords the admin was shown, check the
members in; the president appoints the secretary and opens the sitting. The server is
restarted mid-sitting and resumes from its journal; the president puts the item to the
vote, the élus vote from their own sessions (their WebSocket with their session cookie,
as ``/elu`` does), the president closes the vote and the sitting. ``seance audit
verify`` then accepts the journal, whose first line carries the council as entered.

Every wait is bounded; no timing is asserted.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.browser.chromium_options import CHROMIUM, CHROMIUM_ARGS
from tests.deploy.deploy_support import (
    PUBLIC,
    Nginx,
    SeanceServe,
    free_port,
    render_nginx,
    seance_argv,
    write_seance_toml,
)
from tests.reliability.reliability_support import WsClient
from web.tls import ensure_self_signed

pytestmark = pytest.mark.timeout(600)

SITTING = "cc-2026-12-17"
ITEM = "voirie-2027"
COMMUNES = [
    ("belcourt", "Belcourt", "71032"),
    ("vaux", "Vaux-sur-Ance", "71555"),
    ("ferreol", "Saint-Ferréol", "71440"),
]
#: (id, first name, last name, commune): a dozen titulaires; the logins /admin gives them
MEMBERS = [
    ("m01", "Hélène", "Marchand", "belcourt"),
    ("j.perrin", "Jean-Luc", "Perrin", "belcourt"),
    ("m03", "Sophie", "Garnier", "belcourt"),
    ("m04", "Karim", "Benali", "belcourt"),
    ("m05", "Odile", "Fournier", "belcourt"),
    ("m06", "Patrick", "Lemoine", "vaux"),
    ("m07", "Nathalie", "Rousseau", "vaux"),
    ("m08", "Thierry", "Bonnet", "vaux"),
    ("m09", "Claire", "Dubois", "vaux"),
    ("m10", "Marc", "Chevalier", "ferreol"),
    ("m11", "Isabelle", "Morel", "ferreol"),
    ("m12", "Gérard", "Lefèvre", "ferreol"),
]
SALLES = [
    ("belcourt", "Belcourt — salle du conseil", "belcourt", True),
    ("vaux", "Vaux — salle des fêtes", "vaux", False),
    ("ferreol", "Saint-Ferréol — mairie", "ferreol", False),
]
#: who each salle's agent checks in: 8 of 12, a quorum (R8)
CHECK_INS = {"belcourt": ["m01", "j.perrin", "m03"], "vaux": ["m06", "m07", "m08"], "ferreol": ["m10", "m11"]}
T = 90.0  # bound of each wait on the sitting (kiosks, health, restart), seconds


@pytest.fixture
def cert(tmp_path) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path / "tls", hostnames=("seance.example.fr",), addresses=(PUBLIC,))


async def until(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


async def submit(page, action: str, fields: dict[str, str | bool], label: str | None = None) -> str:
    """Fill and submit one of the admin's forms as a person does (the browser posts it,
    CSRF token and origin included); the page's text afterwards."""
    async with page.expect_navigation():
        await page.evaluate(
            """([action, label, fields]) => {
                const forms = [...document.querySelectorAll(`form[action="${action}"]`)];
                const form = label ? forms.find((f) => f.getAttribute("aria-label") === label) : forms[0];
                const details = form.closest("details");
                if (details) details.open = true;
                for (const [name, value] of Object.entries(fields)) {
                    const field = form.elements[name];
                    if (field.type === "checkbox") field.checked = !!value; else field.value = value;
                }
                form.requestSubmit();
            }""",
            [action, label, fields],
        )
    text = await page.inner_text("body")
    assert "Refusé" not in text, text[:2000]
    return await page.content()


async def enter_council(page) -> dict[str, str]:
    """The council as a DSI enters it in /admin; the passwords shown, by login."""
    await submit(page, "/admin/conseil", {"id": "cc-vallee", "name": "CC de la Vallée", "siret": "20004567800012"})
    for ident, name, insee in COMMUNES:
        await submit(page, "/admin/communes", {"id": ident, "name": name, "insee": insee})
    for ident, first, last, commune in MEMBERS:
        fields = {"id": ident, "first_name": first, "last_name": last, "commune_id": commune, "seat": "titulaire"}
        await submit(page, "/admin/membres", fields)
    designated = (date.today() - timedelta(days=30)).isoformat()
    for ident, name, commune, seat in SALLES:
        fields = {
            "id": ident,
            "name": name,
            "commune_id": commune,
            "address": f"place de la Mairie, {name}",
            "designation_reference": "DEL-2026-031",
            "designation_date": designated,
            "is_seat": seat,
        }
        await submit(page, "/admin/salles", fields)
        await submit(page, "/admin/agents", {"id": f"a-{ident}", "name": f"Agent de {name}", "salle_id": ident})
    await submit(page, "/admin/president", {"member_id": "m01"})
    html = await submit(page, "/admin/comptes/elus", {})
    passwords = dict(re.findall(r'data-login="([^"]+)">.*?class="password">([^<]+)<', html, re.S))
    for ident, *_ in SALLES:
        fields = {"login": f"agent.{ident}", "role": "agent", "agent_id": f"a-{ident}"}
        html = await submit(page, "/admin/comptes", fields, label="Créer un compte")
        passwords[f"agent.{ident}"] = re.search(r'id="password">([^<]+)<', html).group(1)
    return passwords


async def convene(page) -> list[str]:
    """A sitting with its agenda, convened; the kiosk links its page then shows."""
    today = date.today()
    fields = {
        "id": SITTING,
        "title": "Conseil communautaire du 17 décembre",
        "date": today.isoformat(),
        "time": "18:30",
        "mode": "visio",
    }
    await submit(page, "/admin/seances", fields)
    page_path = f"/admin/seances/{SITTING}/points"
    await submit(page, page_path, {"title": "Programme de voirie 2027", "kind": "deliberation", "item_id": ITEM})
    html = await submit(page, f"/admin/seances/{SITTING}/convoquer", {"confirm": True})
    assert "le serveur la tient dès maintenant" in html
    links = re.findall(r'class="kiosk-link" href="([^"]+)"', html)
    assert len(links) == 3, html
    return [link.replace("&amp;", "&") for link in links]


class People:
    """Each person's own session through nginx (login form, session cookie) and socket."""

    def __init__(self, base: str, ctx: ssl.SSLContext, passwords: dict[str, str]) -> None:
        self.base, self.ctx, self.passwords = base, ctx, passwords
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.sockets: dict[str, WsClient] = {}

    async def login(self, login: str) -> None:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        r = await session.post(
            f"{self.base}/login",
            data={"login": login, "password": self.passwords[login]},
            ssl=self.ctx,
            allow_redirects=False,
        )
        assert r.status == 303, (login, await r.text())
        self.sessions[login] = session

    async def connect(self, login: str) -> WsClient:
        ws = await self.sessions[login].ws_connect(
            self.base.replace("https://", "wss://") + "/ws", ssl=self.ctx, origin=self.base
        )
        await ws.send_json({"type": "hello", "sitting": SITTING, "id": "h"})
        sock = WsClient(ws, login)
        welcome = await sock.next("welcome", timeout=20)
        assert welcome["sitting"] == SITTING and welcome["role"] != "public", welcome
        await sock.next("sitting", timeout=20)
        old = self.sockets.pop(login, None)
        if old is not None:
            await old.close()
        self.sockets[login] = sock
        return sock

    async def reconnect_all(self) -> None:
        """After the restart: every page reconnects (bounded), as sitting.js does."""
        for login in list(self.sockets):
            deadline = time.monotonic() + T
            while True:
                try:
                    await self.connect(login)
                    break
                except (aiohttp.ClientError, ConnectionError, TimeoutError, AssertionError):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)

    async def close(self) -> None:
        for sock in self.sockets.values():
            await sock.close()
        for session in self.sessions.values():
            await session.close()


async def kiosks_connected(pages) -> bool:
    """Each kiosk's media connection is up (the page's own RTCPeerConnection)."""
    for page in pages:
        state = await page.evaluate("() => window.seance && window.seance.pc ? window.seance.pc.connectionState : null")
        if state != "connected":
            return False
    return True


def add_admin(conf: Path) -> str:
    """The first admin, as docs/operations.md says: ``seance serve --config … --add-admin``."""
    done = subprocess.run(
        [*seance_argv(), "serve", "--config", str(conf), "--add-admin", "dsi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return re.search(r"mot de passe (\S+)", done.stdout).group(1)


def audit_verify(journal: Path, key: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*seance_argv(), "audit", "verify", str(journal), "--key", str(key)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def transmitting(view: dict | None) -> set[str]:
    return {s["id"] for s in (view or {}).get("salles", []) if s.get("transmitting")}


async def test_a_council_entered_in_admin_deliberates_behind_the_shipped_nginx(tmp_path, cert):
    from playwright.async_api import async_playwright

    port = free_port()
    conf = write_seance_toml(tmp_path, port, proxy=f'certificate = "{cert[0]}"')  # no [[sittings]]
    admin_password = add_admin(conf)
    site = render_nginx(
        tmp_path / "nginx", cert, https_port=free_port(PUBLIC), http_port=free_port(PUBLIC), seance_port=port
    )
    base = site.url
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    health = [f"http://127.0.0.1:{port}"]
    data = tmp_path / "data"
    journal = data / "sittings" / SITTING / "journal.jsonl"

    with Nginx(site):
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            people = People(base, ctx, {})
            try:
                with SeanceServe(conf, tmp_path / "serve-1.log", health):
                    admin_context = await browser.new_context(ignore_https_errors=True)
                    admin = await admin_context.new_page()
                    await admin.goto(f"{base}/login")
                    await admin.fill("input[name=login]", "dsi")
                    await admin.fill("input[name=password]", admin_password)
                    async with admin.expect_navigation():
                        await admin.click("button[type=submit]")
                    await admin.goto(f"{base}/admin")
                    people.passwords.update(await enter_council(admin))
                    assert {"h.marchand", "j.perrin", "g.lefevre", "agent.vaux"} <= set(people.passwords)
                    links = await convene(admin)
                    assert journal.is_file()  # served at once: no restart, no [[sittings]]
                    genesis = json.loads(journal.read_text().splitlines()[0])
                    assert genesis["council"]["name"] == "CC de la Vallée" and len(genesis["council"]["members"]) == 12

                    kiosks = []
                    for link in links:
                        assert link.startswith(f"{base}/salle/")
                        context = await browser.new_context(ignore_https_errors=True)
                        page = await context.new_page()
                        await page.goto(link)
                        kiosks.append(page)

                    for login in ("h.marchand", *(f"agent.{s}" for s, *_ in SALLES)):
                        await people.login(login)
                        await people.connect(login)
                    president = people.sockets["h.marchand"]
                    await until(lambda: kiosks_connected(kiosks), T, "the three kiosks' media connections")
                    await until(
                        lambda: transmitting(president.view) == {"belcourt", "vaux", "ferreol"},
                        T,
                        "the three kiosks to transmit through nginx",
                    )
                    for salle, members in CHECK_INS.items():
                        for member in members:
                            await people.sockets[f"agent.{salle}"].ok(type="CheckIn", member_id=member, salle_id=salle)
                    await president.ok(type="AppointSecretary", member_id="m03")
                    await president.ok(type="OpenSitting")
                    assert president.view is not None

                # the server restarts mid-sitting: it resumes from its journal
                with SeanceServe(conf, tmp_path / "serve-2.log", health) as serve:
                    await people.reconnect_all()
                    president = people.sockets["h.marchand"]
                    await until(lambda: kiosks_connected(kiosks), T, "the kiosks to reconnect by themselves")
                    await until(
                        lambda: transmitting(president.view) == {"belcourt", "vaux", "ferreol"},
                        T,
                        "the kiosks to transmit again after the restart",
                    )
                    assert president.view["status"] in ("opened", "suspended"), president.view["status"]
                    if president.view["status"] == "suspended":  # R17: a salle was lost meanwhile
                        await president.ok(type="Resume")
                    assert "reprise depuis son journal" in serve.output()

                    await president.ok(type="TakeUpItem", item_id=ITEM)
                    await president.ok(type="OpenVote", item_id=ITEM, method="electronique")
                    voters = [m for members in CHECK_INS.values() for m in members]
                    logins = {ident: f"{first[0].lower()}.{last.lower()}" for ident, first, last, _ in MEMBERS}
                    logins["m12"] = "g.lefevre"
                    for member in voters:
                        login = logins[member]
                        if login not in people.sessions:
                            await people.login(login)
                            await people.connect(login)
                        choice = "contre" if member == "m11" else "pour"
                        await people.sockets[login].ok(type="CastBallot", item_id=ITEM, voter_id=member, choice=choice)
                    await president.ok(type="CloseVote", item_id=ITEM)
                    await president.ok(type="CloseSitting")
                    for page in kiosks:
                        await page.context.close()
                    await admin_context.close()
            finally:
                await people.close()
                await browser.close()

    verified = audit_verify(journal, data / "keys" / "council-ed25519.pub")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    ballots = [e for e in events if e.get("command", {}).get("type") == "CastBallot"]
    assert len(ballots) == 8 and '"SittingClosed"' in journal.read_text()
