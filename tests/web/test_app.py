"""The aiohttp app: pages, login, security headers (T11), /metrics, TLS, the demo command."""

from __future__ import annotations

import argparse
import logging
import re
import ssl

import pytest

from signaling.roles import Role
from web.app import ACCOUNTS, CONFIG, REGISTRY, ROOMS, SIGNER, create_app
from web.commands import demo
from web.commands.demo import seed_demo
from web.config import WebConfig
from web.origin import same_origin
from web.tls import ensure_self_signed, fingerprint_sha256, server_context


@pytest.fixture
def config(tmp_path):
    return WebConfig(tls=False, data_dir=tmp_path, sittings=(demo.demo_sitting(),), ice_addresses=("127.0.0.1",))


@pytest.fixture
async def client(aiohttp_client, config):
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    return await aiohttp_client(create_app(config))


def kiosk_token(client, salle, sitting="demo"):
    return client.app[SIGNER].issue(Role.KIOSK, salle=salle, sitting=sitting)


def test_demo_sitting_has_the_agreed_ids():
    spec = demo.demo_sitting()
    assert spec.id == "demo" and [s.id for s in spec.salles] == ["belcourt", "vaux", "saint-ferreol"]
    assert spec.president_salle == "belcourt"


async def test_app_holds_its_services_under_app_keys(client, config):
    app = client.app
    assert app[CONFIG] is config and set(app[ROOMS]) == {"demo"}
    assert app[ROOMS]["demo"].router is not None
    assert (config.data_dir / "accounts.sqlite3").exists() and (config.data_dir / "session.key").exists()


async def test_two_apps_do_not_share_state(aiohttp_client, tmp_path):
    a = create_app(WebConfig(tls=False, data_dir=tmp_path / "a", sittings=(demo.demo_sitting(),)))
    b = create_app(WebConfig(tls=False, data_dir=tmp_path / "b", sittings=(demo.demo_sitting(),)))
    assert a[REGISTRY] is not b[REGISTRY] and a[ROOMS] is not b[ROOMS]


async def test_kiosk_page_needs_its_salle_token(client):
    r = await client.get("/salle/vaux")
    assert r.status == 403 and "Lien de borne invalide" in await r.text()
    r = await client.get("/salle/vaux?token=" + kiosk_token(client, "belcourt"))
    assert r.status == 403
    r = await client.get("/salle/vaux?token=" + kiosk_token(client, "vaux"))
    body = await r.text()
    assert r.status == 200 and 'lang="fr"' in body and "Vaux" in body and 'data-salle="vaux"' in body
    assert "<script>" not in body and re.search(r'<script type="module" src="/static/kiosk.js', body)


async def test_security_headers(client):
    r = await client.get("/salle/vaux?token=" + kiosk_token(client, "vaux"))
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Referrer-Policy"] == "no-referrer"
    r = await client.get("/public/demo")
    assert r.status == 200 and "frame-ancestors *" in r.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in r.headers  # embeddable in the council's website (R2)


async def test_public_page(client):
    r = await client.get("/public/demo")
    body = await r.text()
    assert "Trois Rivières" in body and 'data-as="viewer"' in body
    assert (await client.get("/public/nope")).status == 404


async def test_static_files_are_served(client):
    for name in ("rtc.js", "kiosk.js", "public.js", "seance.css"):
        r = await client.get(f"/static/{name}")
        assert r.status == 200, name


async def test_login_sets_a_signed_httponly_cookie_and_logout_clears_it(client):
    client.app[ACCOUNTS].set_account(
        "moderateur", "pw-123", Role.MODERATOR, member_id="moderateur", display_name="Modération"
    )
    r = await client.get("/", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login"
    r = await client.post("/login", data={"login": "moderateur", "password": "wrong"})
    assert r.status == 401 and "incorrect" in await r.text()
    r = await client.post("/login", data={"login": "moderateur", "password": "pw-123"}, allow_redirects=False)
    assert r.status == 303
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    r = await client.get("/")
    assert r.status == 200 and "modérateur" in await r.text()
    r = await client.post("/logout", allow_redirects=False)
    assert r.status == 303


async def test_login_is_throttled(client):
    for _ in range(10):
        await client.post("/login", data={"login": "x", "password": "y"})
    r = await client.post("/login", data={"login": "x", "password": "y"})
    assert r.status == 429


async def test_websocket_refuses_foreign_origins_and_says_so(client, caplog):
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    with caplog.at_level(logging.WARNING, logger="web.app"):
        r = await client.get("/ws", headers={**upgrade, "Origin": "https://evil.example"})
    assert r.status == 403
    # the DSI sees why, with what was compared (the proxy dropping Host looks just like this)
    host = f"{client.host}:{client.port}"
    assert any(
        "WebSocket refusé : origine https://evil.example, hôte attendu " + host in rec.getMessage()
        for rec in caplog.records
    ), [rec.getMessage() for rec in caplog.records]
    r = await client.get("/ws", headers={**upgrade, "Origin": f"http://{host}"})
    assert r.status == 101
    r.close()


def test_same_origin_ignores_default_ports_only():
    assert same_origin("https://seance.example.fr", "https", "seance.example.fr:443")
    assert same_origin("https://seance.example.fr:443", "https", "seance.example.fr")
    assert same_origin("https://Seance.Example.fr:8081", "https", "seance.example.fr:8081")
    assert not same_origin("https://seance.example.fr:8081", "https", "seance.example.fr")
    assert not same_origin("https://seance.example.fr", "https", "seance")  # nginx dropping Host (issue 18)
    assert not same_origin("null", "https", "seance.example.fr")


async def test_hsts_only_when_serving_tls_itself(tmp_path, aiohttp_client):
    client = await aiohttp_client(create_app(WebConfig(tls=True, data_dir=tmp_path)))
    r = await client.get("/login")
    assert r.headers.getall("Strict-Transport-Security") == ["max-age=31536000"]


async def test_websocket_deflate_unless_the_page_asks_not(client):
    """permessage-deflate (RFC 7692) as browsers offer it; a kiosk asks /ws?deflate=0."""
    ws = await client.ws_connect("/ws", compress=15)
    assert ws.compress == 15
    await ws.close()
    ws = await client.ws_connect("/ws?deflate=0", compress=15)
    assert ws.compress == 0
    await ws.send_json({"type": "hello", "sitting": "demo"})
    assert (await ws.receive_json())["type"] in ("welcome", "state")  # the protocol is the same
    await ws.close()


async def test_metrics_expose_signaling_and_router_counters(client):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "sitting": "demo"})
    await ws.receive()
    r = await client.get("/metrics")
    text = await r.text()
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert "seance_signaling_connections 1.0" in text
    assert 'seance_signaling_messages_total{type="hello"} 1.0' in text
    assert "seance_sfu_rtp_packets_in_total" in text  # the Router registers its metrics on the app's registry


def test_self_signed_certificate_is_created_once(tmp_path):
    cert, key = ensure_self_signed(tmp_path)
    assert key.stat().st_mode & 0o777 == 0o600
    fp = fingerprint_sha256(cert)
    assert ensure_self_signed(tmp_path) == (cert, key) and fingerprint_sha256(cert) == fp
    assert isinstance(server_context(tmp_path), ssl.SSLContext)


def test_demo_accounts_and_banner(tmp_path, capsys):
    from signaling.accounts import AccountStore

    args = argparse.Namespace(
        host=None, port=None, http=True, data_dir=tmp_path, ice_address=None, announced_address=None
    )
    config, sitting = demo.build(args)
    assert (config.host, config.port, config.tls) == ("127.0.0.1", 8080, False)
    store = AccountStore.in_data_dir(tmp_path)
    accounts = demo.demo_accounts(store, sitting)
    logins = {a[0] for a in accounts}
    assert {"president", "moderateur", "agent-belcourt", "agent-vaux", "agent-saint-ferreol"} <= logins
    for login, password, role, _ in accounts:
        assert store.authenticate(login, password).role is role
    demo.print_banner(config, sitting, accounts, [("Vaux", "http://127.0.0.1:8080/salle/vaux?token=t")])
    out = capsys.readouterr().out
    assert "Bornes des salles" in out and "mot de passe" in out and "/public/demo" in out


def test_demo_defaults_to_https_on_localhost(tmp_path):
    args = argparse.Namespace(
        host=None, port=None, http=False, data_dir=tmp_path, ice_address=None, announced_address=None
    )
    config, _ = demo.build(args)
    assert config.tls and config.host == "localhost" and config.base_url == "https://localhost:8443"


async def test_moderation_page_is_for_moderators_and_the_president(client):
    accounts = client.app[ACCOUNTS]
    accounts.set_account("agent-vaux", "pw-a", Role.AGENT, salle_id="vaux")
    accounts.set_account("moderateur", "pw-m", Role.MODERATOR)
    r = await client.get("/moderation", allow_redirects=False)
    assert r.status == 303
    await client.post("/login", data={"login": "agent-vaux", "password": "pw-a"})
    assert (await client.get("/moderation")).status == 403
    await client.post("/login", data={"login": "moderateur", "password": "pw-m"})
    r = await client.get("/moderation")
    assert r.status == 200 and "/static/moderation.js" in await r.text()


async def test_demo_accounts_log_in_with_their_member_salle_and_agent_ids(client, tmp_path):
    """An agent's session carries its salle AND agent id (R4); a councillor's, its member id."""
    accounts = demo.demo_accounts(client.app[ACCOUNTS], demo.demo_sitting())
    passwords = {login: pw for login, pw, _, _ in accounts}
    assert {"h.marchand", "president"} & set(passwords) == {"president"}  # m01 logs in as president
    assert {"j.perrin", "g.lefevre", "m.faure", "agent-vaux"} <= set(passwords)
    assert demo.account_page("agent-vaux", Role.AGENT) == "/agent/vaux"
    assert demo.account_page("j.perrin", Role.COUNCILLOR) == "/elu"
    await client.post("/login", data={"login": "agent-vaux", "password": passwords["agent-vaux"]})
    claims = client.app[SIGNER].verify(
        client.session.cookie_jar.filter_cookies(client.make_url("/"))["seance_session"].value
    )
    assert (claims.role, claims.salle, claims.agent) == (Role.AGENT, "vaux", "a-vaux")
    await client.post("/login", data={"login": "j.perrin", "password": passwords["j.perrin"]})
    claims = client.app[SIGNER].verify(
        client.session.cookie_jar.filter_cookies(client.make_url("/"))["seance_session"].value
    )
    assert (claims.role, claims.member, claims.agent) == (Role.COUNCILLOR, "m02", None)


async def test_home_page_links_each_role_to_its_own_screens(client):
    """After login, a person finds the screen of their role; nobody is offered another role's screen."""
    demo_accounts = demo.demo_accounts(client.app[ACCOUNTS], demo.demo_sitting())
    passwords = {login: pw for login, pw, _, _ in demo_accounts}
    expected = {
        "president": ({"/president", "/moderation", "/audit/demo"}, {"/admin", "/elu"}),
        "agent-vaux": ({"/agent/vaux"}, {"/president", "/agent/belcourt", "/admin", "/audit/demo"}),
        "j.perrin": ({"/elu"}, {"/president", "/moderation", "/admin", "/audit/demo"}),
        "auditeur": ({"/audit/demo"}, {"/president", "/admin", "/elu"}),
        "admin": ({"/admin", "/audit/demo"}, {"/president", "/elu"}),
    }
    for login, (present, absent) in expected.items():
        r = await client.post("/login", data={"login": login, "password": passwords[login]})
        assert r.status == 200, login
        html = await r.text()
        hrefs = set(re.findall(r'href="([^"]+)"', html))
        assert present <= hrefs, (login, present - hrefs)
        assert not (absent & hrefs), (login, absent & hrefs)
        assert "/public/demo" in hrefs
        await client.post("/logout")
