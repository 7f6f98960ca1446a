"""Privacy (CNIL) and the browser-facing security of the app: the notice /confidentialite
(its durations are the configuration's), logs without SDP, tokens or full IP addresses
(T16), strict headers behind a TLS-terminating proxy (T11), TURN credentials per session."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from deliberation.demo import demo_council
from signaling.council_store import CouncilStore
from signaling.datadir import DataDir
from signaling.roles import Role
from signaling.room import SittingRoom
from web.app import ACCOUNTS, SESSION_COOKIE, SIGNER, create_app
from web.commands import demo
from web.commands.demo import seed_demo
from web.config import TurnSettings, WebConfig
from web.log_privacy import PrivacyAccessLogger, RecordCleaner, redact, truncate_addresses, truncate_ip
from web.turn import verify_rest_credential

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


@pytest.fixture
def config(tmp_path):
    return WebConfig(tls=False, data_dir=tmp_path, sittings=(demo.demo_sitting(),), ice_addresses=("127.0.0.1",))


async def serve_with_privacy_log(aiohttp_client, app):
    """The app with the access logger ``seance serve`` uses (TestServer drops runner kwargs)."""
    server = TestServer(app)
    await server.start_server(access_log_class=PrivacyAccessLogger)
    return await aiohttp_client(server)


@pytest.fixture
async def client(aiohttp_client, config):
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    return await serve_with_privacy_log(aiohttp_client, create_app(config))


async def welcome_of(client, token: str | None = None) -> dict:
    ws = await client.ws_connect("/ws")
    hello = {"type": "hello", "sitting": "demo", "id": "h"}
    if token:
        hello["token"] = token
    await ws.send_json(hello)
    while True:
        msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        if msg["type"] == "welcome":
            await ws.close()
            return msg


# --------------------------------------------------------------------------- the notice


async def test_privacy_page_states_the_configured_durations_and_contact(aiohttp_client, tmp_path):
    body = {}
    for n, (ip_days, rec_days, dpo) in enumerate(
        [(30, 365, "dpo@cc-trois-rivieres.fr"), (7, 90, "Mme Durand, DPO, 1 place de la Mairie")]
    ):
        config = WebConfig(
            tls=False,
            data_dir=tmp_path / str(n),
            log_ip_retention_days=ip_days,
            recording_retention_days=rec_days,
            dpo_contact=dpo,
        )
        seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
        client = await aiohttp_client(create_app(config))
        r = await client.get("/confidentialite")
        assert r.status == 200
        text = body[n] = await r.text()
        assert f'id="log-ip-retention">{ip_days} jours<' in text
        assert f'id="recording-retention">{rec_days} jours<' in text
        assert dpo.replace("'", "&#39;") in text
        for words in (
            "Images et voix",
            "noms et qualités",
            "votes",
            "adresses IP",
            "L.5211-11-1",
            "R.5211-2",
            "obligation légale",
            "mission d'intérêt public",
            "agent de la salle",
            "CNIL",
        ):
            assert words.replace("'", "&#39;") in text or words in text, words
    assert body[0] != body[1]


async def test_privacy_page_says_whether_addresses_are_truncated(aiohttp_client, tmp_path):
    on = await aiohttp_client(create_app(WebConfig(tls=False, data_dir=tmp_path / "a", log_ip_truncate=True)))
    off = await aiohttp_client(create_app(WebConfig(tls=False, data_dir=tmp_path / "b", log_ip_truncate=False)))
    assert "tronquées dès leur écriture" in await (await on.get("/confidentialite")).text()
    assert "tronquées dès leur écriture" not in await (await off.get("/confidentialite")).text()


def test_the_toml_file_sets_the_privacy_values(tmp_path):
    from web.config_file import ConfigError, parse

    doc = {
        "server": {"data_dir": str(tmp_path)},
        "proxy": {"trusted": ["127.0.0.1"]},
        "privacy": {
            "dpo_contact": "dpo@example.fr",
            "log_ip_retention_days": 14,
            "recording_retention_days": 180,
            "log_ip_truncate": False,
        },
    }
    web = parse(doc, source=tmp_path / "seance.toml").web
    assert (web.dpo_contact, web.log_ip_retention_days, web.recording_retention_days, web.log_ip_truncate) == (
        "dpo@example.fr",
        14,
        180,
        False,
    )
    doc["privacy"] = {"log_ip_retention_days": 0, "log_ip_truncate": "yes", "retention": 3}
    with pytest.raises(ConfigError) as err:
        parse(doc, source=tmp_path / "seance.toml")
    assert set(err.value.keys) == {"privacy.log_ip_retention_days", "privacy.log_ip_truncate", "privacy.retention"}


def test_every_template_extends_base_and_keeps_the_privacy_link():
    base = (TEMPLATES / "base.html").read_text()
    assert 'href="/confidentialite"' in base and "{% block footer %}" in base
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        if path.name == "base.html" or path.name.endswith("_macros.html"):  # not pages: macros they import
            continue
        assert text.startswith('{% extends "base.html" %}'), path.name
        if "{% block footer %}{% endblock %}" in text:  # a full-screen page puts the link in its own bar
            assert 'href="/confidentialite"' in text, path.name


async def test_the_privacy_link_is_on_the_screens(client):
    kiosk = client.app[SIGNER].issue(Role.KIOSK, salle="vaux", sitting="demo")
    for path in ("/login", "/public/demo", f"/salle/vaux?token={kiosk}", "/confidentialite", "/public/nope"):
        r = await client.get(path)
        assert 'href="/confidentialite"' in await r.text(), path


# --------------------------------------------------------------------------- logs (T16)


def test_redaction_of_sdp_tokens_cookies_and_passwords():
    sdp = "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\na=ice-ufrag:Ufr4g\r\na=ice-pwd:S3cr3tP4ssw0rd\r\n"
    cases = [
        "GET /salle/vaux?token=eyJhbGciOiJub25lIn0abcdefghij.ABCDEFGHIJKLMNOPQRSTUV HTTP/1.1",
        json.dumps({"type": "offer", "sdp": sdp}),
        "offer " + sdp,
        repr({"type": "hello", "token": "eyJhbGciOiJub25lIn0abcdefghij.ABCDEFGHIJKLMNOPQRSTUV"}),
        "Authorization: Bearer abc.def",
        "Cookie: seance_session=abc.def; other=1",
        "login=x&password=hunter2",
    ]
    for text in cases:
        out = redact(text)
        for secret in ("S3cr3tP4ssw0rd", "Ufr4g", "ABCDEFGHIJKLMNOPQRSTUV", "abc.def", "hunter2", "o=- 4611"):
            assert secret not in out, (text, out)
    assert redact("lease taken (fencing token 5)") == "lease taken (fencing token 5)"
    assert truncate_ip("192.0.2.77") == "192.0.2.0" and truncate_ip("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::"


async def test_no_token_sdp_or_full_address_in_the_logs(client, caplog, monkeypatch):
    sdp = (
        "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        "a=ice-ufrag:Ufr4g\r\na=ice-pwd:S3cr3tP4ssw0rd\r\na=fingerprint:sha-256 AB:CD\r\n"
    )

    async def failing_negotiate(self, conn, offer_sdp):  # a media-plane error that quotes the offer
        raise RuntimeError(f"cannot apply remote description {offer_sdp!r}")

    monkeypatch.setattr(SittingRoom, "negotiate", failing_negotiate)
    token = client.app[SIGNER].issue(Role.KIOSK, salle="vaux", sitting="demo")
    caplog.set_level(logging.DEBUG)
    r = await client.get(f"/salle/vaux?token={token}")
    assert r.status == 200
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "sitting": "demo", "token": token, "id": "1"})
    await ws.send_json({"type": "join", "as": "salle", "id": "2"})
    await ws.send_json({"type": "offer", "sdp": sdp, "id": "3"})
    while json.loads((await asyncio.wait_for(ws.receive(), 5)).data).get("re") != "3":
        pass
    await ws.close()
    logging.getLogger("aiortc.rtcpeerconnection").debug("setRemoteDescription(%s) token=%s", sdp, token)
    await asyncio.sleep(0.1)
    text = "\n".join(logging.Formatter("%(message)s").format(rec) + " " + str(rec.__dict__) for rec in caplog.records)
    assert "handler failed" in text and "[SDP omis]" in text  # the error was logged, without its SDP
    access = [rec for rec in caplog.records if rec.name == "aiohttp.access"]
    assert any("/salle/vaux" in rec.getMessage() for rec in access)
    for secret in (token, token.split(".")[1], "S3cr3tP4ssw0rd", "Ufr4g", "o=- 4611"):
        assert secret not in text
    assert "127.0.0.1" not in " ".join(rec.getMessage() for rec in access)  # truncated: 127.0.0.0


async def test_the_access_log_keeps_full_addresses_when_told(aiohttp_client, tmp_path, caplog):
    config = WebConfig(tls=False, data_dir=tmp_path, log_ip_truncate=False)
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    client = await serve_with_privacy_log(aiohttp_client, create_app(config))
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    await client.get("/healthz?token=abc")
    await asyncio.sleep(0.05)
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "aiohttp.access"]
    assert any(line.startswith("127.0.0.1 ") and "GET /healthz HTTP" in line for line in lines), lines


# --------------------------------------------------------------------------- headers (T11)


def test_no_inline_script_style_or_handler_in_any_template():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path.name
        assert "<style" not in text and not re.search(r"\sstyle\s*=", text), path.name
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), path.name
        assert "javascript:" not in text, path.name


async def test_csp_has_no_unsafe_inline_anywhere_and_only_the_public_page_is_framable(client, config):
    client.app[ACCOUNTS].set_account("adm", "pw", Role.ADMIN, member_id="adm")
    await client.post("/login", data={"login": "adm", "password": "pw"})
    kiosk = client.app[SIGNER].issue(Role.KIOSK, salle="vaux", sitting="demo")
    for path in (
        "/",
        "/login",
        "/admin",
        "/audit/demo",
        "/moderation",
        "/confidentialite",
        "/public/demo",
        f"/salle/vaux?token={kiosk}",
        "/static/rtc.js",
        "/healthz",
    ):
        r = await client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "script-src 'self';" in csp, path
        ancestors = re.search(r"frame-ancestors ([^;]+)", csp).group(1)
        if path.startswith("/public/"):
            assert ancestors == " ".join(config.public_frame_ancestors) and "X-Frame-Options" not in r.headers
        else:
            assert ancestors == "'none'" and r.headers["X-Frame-Options"] == "DENY", path


async def test_frame_ancestors_of_the_public_page_are_configurable(aiohttp_client, tmp_path):
    config = WebConfig(
        tls=False,
        data_dir=tmp_path,
        sittings=(demo.demo_sitting(),),
        ice_addresses=("127.0.0.1",),
        public_frame_ancestors=("https://www.cc-trois-rivieres.fr",),
    )
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    client = await aiohttp_client(create_app(config))
    r = await client.get("/public/demo")
    assert "frame-ancestors https://www.cc-trois-rivieres.fr" in r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in (await client.get("/login")).headers["Content-Security-Policy"]


async def test_secure_cookie_follows_the_request_behind_a_tls_proxy_which_sends_hsts(aiohttp_client, tmp_path):
    from web.commands.serve import build_app
    from web.config_file import ServeConfig

    config = WebConfig(tls=False, data_dir=tmp_path)
    app = build_app(ServeConfig(web=config, source=tmp_path / "seance.toml", trusted_proxies=("127.0.0.1",)))
    app[ACCOUNTS].set_account("mod", "pw", Role.MODERATOR, member_id="moderateur")
    client = await aiohttp_client(app)
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    r = await client.get("/login", headers=https)
    assert "Strict-Transport-Security" not in r.headers  # the proxy's, once (deploy/nginx/seance-proxy.conf)
    r = await client.post("/login", data={"login": "mod", "password": "pw"}, headers=https, allow_redirects=False)
    assert r.status == 303 and "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    # plain HTTP (the test itself, or a proxy that says http): no HSTS, no Secure
    r = await client.get("/login")
    assert "Strict-Transport-Security" not in r.headers
    r = await client.post("/login", data={"login": "mod", "password": "pw"}, allow_redirects=False)
    assert SESSION_COOKIE in r.headers["Set-Cookie"] and "Secure" not in r.headers["Set-Cookie"]


# --------------------------------------------------------------------------- TURN


async def test_welcome_carries_time_limited_turn_credentials(aiohttp_client, config):
    turn = TurnSettings(
        urls=("turn:turn.example.fr:3478?transport=udp", "turns:turn.example.fr:443?transport=tcp"),
        shared_secret="s3cret",
        ttl_s=600,
    )
    client = await aiohttp_client(create_app(dataclasses.replace(config, turn=turn)))
    token = client.app[SIGNER].issue(Role.KIOSK, salle="vaux", sitting="demo")
    first, second = await welcome_of(client, token), await welcome_of(client)
    for welcome in (first, second):
        [server] = welcome["iceServers"]
        assert server["urls"] == list(turn.urls)
        expiry, user = server["username"].split(":", 1)
        assert 0 < int(expiry) - time.time() <= 600 and user
        expected = base64.b64encode(hmac.new(b"s3cret", server["username"].encode(), hashlib.sha1).digest()).decode()
        assert server["credential"] == expected and verify_rest_credential("s3cret", server["username"], expected)
        assert "vaux" not in user and "@" not in user  # coturn logs the user: no person's name in it
    assert first["iceServers"][0]["username"] != second["iceServers"][0]["username"]  # one per session
    r = await client.get(f"/salle/vaux?token={token}")
    assert "s3cret" not in await r.text() and first["iceServers"][0]["credential"] not in await r.text()


async def test_welcome_has_static_turn_credentials_or_none(aiohttp_client, config, tmp_path):
    static = TurnSettings(urls=("turn:turn.example.fr:3478",), username="seance", credential="pw")
    client = await aiohttp_client(create_app(dataclasses.replace(config, turn=static)))
    assert (await welcome_of(client))["iceServers"] == [
        {"urls": ["turn:turn.example.fr:3478"], "username": "seance", "credential": "pw"}
    ]
    plain = await aiohttp_client(create_app(dataclasses.replace(config, data_dir=tmp_path / "b")))
    assert (await welcome_of(plain))["iceServers"] == []


async def test_rtc_js_uses_the_ice_servers_of_welcome(client):
    script = await (await client.get("/static/rtc.js")).text()
    assert re.search(
        r"new RTCPeerConnection\(\{\s*iceServers: this\.iceServers,\s*bundlePolicy: \"max-bundle\"", script
    )
    assert "this.iceServers = Array.isArray(msg.iceServers)" in script and "turn:" not in script


async def test_the_recordings_period_stated_is_the_one_the_purge_applies(client, config):
    from web.commands.recordings import sitting_retention_days

    applied = sitting_retention_days(config.data_dir, "demo")  # the demo journal's règlement intérieur
    assert applied is not None
    text = await (await client.get("/confidentialite")).text()
    assert f'id="recording-retention">{applied} jours<' in text


# --------------------------------------------------------------------------- every log line


def test_addresses_are_truncated_in_any_text_unless_they_are_ours():
    line = (
        "Connection(0) Check CandidatePair(('203.0.113.10', 50000) -> ('198.51.100.23', 61234)) "
        "[2001:db8:1:2:3:4:5:6]:443 from 2001:db8::7. ::ffff:198.51.100.9 ::1 127.0.0.1:8080 "
        "aiortc 1.16.0 at 10:11:12,345 aa:bb:cc:dd:ee:ff"
    )
    assert truncate_addresses(line, frozenset({"203.0.113.10"})) == (
        "Connection(0) Check CandidatePair(('203.0.113.10', 50000) -> ('198.51.100.0', 61234)) "
        "[2001:db8:1:2::]:443 from 2001:db8::. ::ffff:198.51.100.0 ::1 127.0.0.1:8080 "
        "aiortc 1.16.0 at 10:11:12,345 aa:bb:cc:dd:ee:ff"
    )


async def test_the_ice_library_s_log_lines_carry_no_full_address(caplog):
    """A real ICE exchange between two aioice connections, whose INFO lines name both ends'
    address and port. The record cleaner is given no address of its own, so that the
    interface address aioice gathers on (the test namespace's LAN, or the host's) plays
    a kiosk's: every line of aioice's shows it truncated, none whole."""
    import aioice

    previous = logging.getLogRecordFactory()
    base = previous.previous if isinstance(previous, RecordCleaner) else previous
    logging.setLogRecordFactory(RecordCleaner(base, own=frozenset()))
    a, b = (
        aioice.Connection(ice_controlling=True, use_ipv6=False),
        aioice.Connection(ice_controlling=False, use_ipv6=False),
    )
    try:
        caplog.set_level(logging.INFO, logger="aioice")
        await asyncio.gather(a.gather_candidates(), b.gather_candidates())
        for local, remote in ((a, b), (b, a)):
            for candidate in local.local_candidates:
                await remote.add_remote_candidate(candidate)
            await remote.add_remote_candidate(None)
            remote.remote_username, remote.remote_password = local.local_username, local.local_password
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 10)
        address = a.local_candidates[0].host
    finally:
        logging.setLogRecordFactory(previous)
        await a.close()
        await b.close()
    lines = [rec.getMessage() for rec in caplog.records if rec.name.startswith("aioice")]
    assert any("Check CandidatePair" in line for line in lines), lines
    assert any(truncate_ip(address) in line for line in lines) and not any(address in line for line in lines), (
        address,
        lines,
    )


async def test_privacy_page_names_the_council_as_controller(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(WebConfig(tls=False, data_dir=tmp_path)))
    text = await (await client.get("/confidentialite")).text()
    assert "Le responsable du traitement est la communauté" in text  # nothing entered yet
    council = demo_council()
    with CouncilStore(DataDir(tmp_path).council_db) as store:  # as /admin stores it
        store.save(council)
    text = await (await client.get("/confidentialite")).text()
    assert f'<strong id="controller">{council.name}</strong>' in text and council.siret in text
