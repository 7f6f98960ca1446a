"""The shipped nginx files in front of a real ``seance serve --config`` (issue 18.2).

A real nginx, started here on ``deploy/nginx/seance.conf`` and its snippet as a DSI
installs them (only ports, paths and a self-signed certificate changed:
:func:`deploy_support.render_nginx`), in front of ``seance serve`` in ``[proxy]`` mode, as
a real process. What a browser does through it, over HTTPS and ``wss://``: pages, login,
a WebSocket that completes ``hello`` and a command, the headers it gets (one HSTS), and
what nginx writes in its access log (truncated addresses, no token). With
``--workers 2`` and ``seance-workers.conf``: two sittings sharing their salles, each on
its own worker, and each sitting's kiosk lands on its own worker whichever port it
enters by, its WebSocket included.

Before this test, ``/ws``'s own ``proxy_set_header`` lines dropped ``Host``: Séance saw
``Host: seance``, refused every kiosk's socket (403) and logged nothing.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest

from signaling.accounts import AccountStore
from signaling.auth import TokenSigner, new_password
from signaling.roles import Role
from tests.deploy.deploy_support import (
    PUBLIC,
    Nginx,
    SeanceServe,
    consecutive_ports,
    free_port,
    render_nginx,
    seance_argv,
    write_seance_toml,
)
from web.tls import ensure_self_signed
from web.version import VERSION

pytestmark = pytest.mark.timeout(180)

SALLES = '[{ id = "belcourt", name = "Belcourt — salle du conseil" }, { id = "vaux", name = "Vaux — salle des fêtes" }]'

SITTINGS = f"""\
[[sittings]]
id = "cc-2026-01-15"
title = "Conseil communautaire du 15 janvier"
president_salle = "belcourt"
salles = {SALLES}

[[sittings]]
id = "syndicat-2026-01-15"
title = "Syndicat des eaux du 15 janvier"
salles = {SALLES}
"""


@pytest.fixture
def cert(tmp_path) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path / "tls", hostnames=("seance.example.fr",), addresses=(PUBLIC,))


def client_ssl(cert: tuple[Path, Path]) -> ssl.SSLContext:
    """The browser trusts the council's certificate (here: the self-signed one)."""
    return ssl.create_default_context(cafile=str(cert[0]))


def write_config(tmp_path: Path, cert, port: int, server_extra: str = "") -> Path:
    return write_seance_toml(tmp_path, port, server=server_extra, proxy=f'certificate = "{cert[0]}"', more=SITTINGS)


def add_admin(conf: Path) -> str:
    done = subprocess.run(
        [*seance_argv(), "serve", "--config", str(conf), "--add-admin", "dsi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return re.search(r"mot de passe (\S+)", done.stdout).group(1)


async def login(session: aiohttp.ClientSession, base: str, login_: str, password: str, ctx) -> None:
    r = await session.post(
        f"{base}/login", data={"login": login_, "password": password}, ssl=ctx, allow_redirects=False
    )
    assert r.status == 303, await r.text()
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie  # X-Forwarded-Proto reached Séance


async def receive(ws, kind: str, timeout: float = 10) -> dict:
    async def until():
        while True:
            msg = await ws.receive_json()
            if msg["type"] == kind:
                return msg
            assert msg["type"] != "error", msg

    return await asyncio.wait_for(until(), timeout)


async def test_pages_login_and_websocket_through_the_shipped_nginx(tmp_path, cert):
    port = free_port()
    conf = write_config(tmp_path, cert, port)
    admin_password = add_admin(conf)
    data = tmp_path / "data"
    store = AccountStore.in_data_dir(data)
    moderator_password = new_password()
    store.set_account("moderation", moderator_password, Role.MODERATOR, member_id="moderateur")
    store.close()
    kiosk = TokenSigner.from_data_dir(data).issue(Role.KIOSK, salle="vaux", sitting="cc-2026-01-15", ttl_s=3600)

    site = render_nginx(
        tmp_path / "nginx", cert, https_port=free_port(PUBLIC), http_port=free_port(PUBLIC), seance_port=port
    )
    ctx = client_ssl(cert)
    base = site.url
    with SeanceServe(conf, tmp_path / "serve.log", [f"http://127.0.0.1:{port}"]) as serve, Nginx(site):
        # a browser elsewhere on the network (127.0.0.3): /metrics is not for it
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.3", 0))
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            r = await session.get(f"http://{PUBLIC}:{site.http_port}/login", allow_redirects=False)
            assert r.status == 301 and r.headers["Location"] == f"https://{PUBLIC}/login"  # 443 in production

            r = await session.get(f"{base}/healthz", ssl=ctx)
            assert r.status == 200 and await r.json() == {"ok": True, "version": VERSION}
            assert r.headers.getall("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]  # Séance's own headers pass
            assert (await session.get(f"{base}/metrics", ssl=ctx)).status == 403

            r = await session.get(f"{base}/login", ssl=ctx)
            assert r.status == 200 and 'name="password"' in await r.text()
            r = await session.get(f"{base}/salle/vaux?token={kiosk}", ssl=ctx)
            assert r.status == 200 and "Vaux — salle des fêtes" in await r.text()

            # the kiosk's socket, as rtc.js opens it: same origin, ?deflate=0
            async with session.ws_connect(f"wss://{PUBLIC}:{site.https_port}/ws?deflate=0", ssl=ctx, origin=base) as ws:
                await ws.send_json({"type": "hello", "sitting": "cc-2026-01-15", "token": kiosk, "id": "h1"})
                welcome = await receive(ws, "welcome")
                assert welcome["role"] == "kiosk" and welcome["salle"] == "vaux"
                await ws.send_json({"type": "ping", "id": "p1"})
                assert (await receive(ws, "pong"))["re"] == "p1"

            # a person's socket, authenticated by the session cookie set through nginx
            await login(session, base, "moderation", moderator_password, ctx)
            async with session.ws_connect(f"wss://{PUBLIC}:{site.https_port}/ws", ssl=ctx, origin=base) as ws:
                await ws.send_json({"type": "hello", "sitting": "cc-2026-01-15", "id": "h2"})
                assert (await receive(ws, "welcome"))["role"] == "moderator"
                await ws.send_json({"type": "mute", "salle": "vaux", "muted": True, "id": "m1"})
                state = await receive(ws, "state")
                while not next(s for s in state["salles"] if s["id"] == "vaux")["muted"]:
                    state = await receive(ws, "state")

            # a foreign page's socket is refused, and the server says what it compared
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"wss://{PUBLIC}:{site.https_port}/ws", ssl=ctx, origin="https://evil.example")
            assert refused.value.status == 403

            await login(session, base, "dsi", admin_password, ctx)
            r = await session.get(f"{base}/", ssl=ctx)
            assert r.status == 200 and "Administration" in await r.text()

        log = serve.output()
        assert f"origine https://evil.example, hôte attendu {PUBLIC}:{site.https_port}" in log
        assert log.count("WebSocket refusé") == 1  # the kiosk and the moderator were not refused

    # nginx's access log: the privacy format, the client's /24, never a query string
    lines = site.access_log.read_text().splitlines()
    assert lines and all(line.startswith("127.0.0.0 [") for line in lines), lines
    assert any('"GET /salle/vaux HTTP/' in line for line in lines)
    assert not any("token" in line or "127.0.0.3" in line for line in lines)


async def test_workers_each_sitting_s_kiosk_lands_on_its_worker(tmp_path, cert):
    """Sitting 0 lives on worker 0, sitting 1 on worker 1 (web/workers.py); both use the
    salles belcourt and vaux. nginx serves worker i at https://127.0.0.2:<port + i>, the
    URL each worker advertises (``node_url``), and worker 0 also on the main port."""
    port = consecutive_ports(2)
    conf = write_config(tmp_path, cert, port, f'workers = 2\nnode_url = "https://{PUBLIC}:{{port}}"')
    data = tmp_path / "data"
    signer = TokenSigner.from_data_dir(data)  # the supervisor keeps an existing key
    kiosks = {
        sitting: signer.issue(Role.KIOSK, salle="belcourt", sitting=sitting, ttl_s=3600)
        for sitting in ("cc-2026-01-15", "syndicat-2026-01-15")
    }
    site = render_nginx(
        tmp_path / "nginx", cert, https_port=free_port(PUBLIC), http_port=free_port(PUBLIC), seance_port=port, workers=2
    )
    workers = [f"https://{PUBLIC}:{port}", f"https://{PUBLIC}:{port + 1}"]
    ctx = client_ssl(cert)
    health = [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]
    with SeanceServe(conf, tmp_path / "serve.log", health), Nginx(site):
        async with aiohttp.ClientSession() as session:
            for entry in (site.url, *workers):
                for sitting, home, title in (
                    ("cc-2026-01-15", workers[0], "Conseil communautaire du 15 janvier"),
                    ("syndicat-2026-01-15", workers[1], "Syndicat des eaux du 15 janvier"),
                ):
                    r = await session.get(f"{entry}/salle/belcourt?token={kiosks[sitting]}", ssl=ctx)
                    landed = f"{r.url.scheme}://{r.url.host}:{r.url.port}"
                    expected = entry if entry == site.url and home == workers[0] else home
                    assert (r.status, landed) == (200, expected), (entry, sitting, r.status, r.url)
                    assert title in await r.text()

            # the WebSocket: the main entry redirects the kiosk of sitting 1 to worker 1's
            # public URL, where hello completes
            sitting = "syndicat-2026-01-15"
            async with session.ws_connect(f"wss://{PUBLIC}:{site.https_port}/ws", ssl=ctx, origin=site.url) as ws:
                await ws.send_json({"type": "hello", "sitting": sitting, "token": kiosks[sitting], "id": "h"})
                redirect = await receive(ws, "redirect")
                assert redirect["url"] == workers[1]
            async with session.ws_connect(
                redirect["url"].replace("https:", "wss:") + "/ws", ssl=ctx, origin=workers[1]
            ) as ws:
                await ws.send_json({"type": "hello", "sitting": sitting, "token": kiosks[sitting], "id": "h"})
                welcome = await receive(ws, "welcome")
                assert welcome["sitting"] == sitting and welcome["salle"] == "belcourt"

            # the DSI, on the machine itself (the snippet lets only 127.0.0.1 and ::1 read it),
            # sees the public URL of each sitting's worker
            r = await session.get(f"{workers[1]}/cluster", ssl=ctx)
            info = await r.json()
            assert {s: v["url"] for s, v in info["sittings"].items()} == {
                "cc-2026-01-15": workers[0],
                "syndicat-2026-01-15": workers[1],
            }
