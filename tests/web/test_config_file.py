"""``seance.toml`` -> WebConfig (web/config_file.py) and ``seance serve --check`` (web/commands/serve.py)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from aiohttp import web

from sfu.forwarding import SETTINGS
from signaling.accounts import AccountStore
from signaling.roles import Role
from web import config_file
from web.cli import main
from web.commands import serve
from web.config import SalleSpec, SittingSpec, WebConfig
from web.config_file import FORWARDING, ConfigError, load, parse, turn_ice_servers, turn_rest_credentials
from web.media import build_router
from web.tls import ensure_self_signed

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "seance.toml"

GOOD = """
[server]
host = "127.0.0.1"
port = 8080
data_dir = "data"

[proxy]
trusted = ["127.0.0.1", "::1"]

[ice]
listen_addresses = ["127.0.0.1", "192.0.2.10"]
announced_address = "198.51.100.7"

[turn]
urls = ["turn:turn.example.fr:3478?transport=udp", "turns:turn.example.fr:443?transport=tcp"]
shared_secret_file = "turn-secret"
ttl_s = 3600

[media]
voice_slots = 4

[web]
session_ttl_s = 7200
public_frame_ancestors = ["https://www.example.fr"]
reconcile_after_s = 15

[[sittings]]
id = "cc-2025-03-12"
title = "Conseil communautaire du 12 mars 2025"
president_salle = "belcourt"
salles = [{ id = "belcourt", name = "Belcourt" }, { id = "vaux", name = "Vaux" }]
"""


def write(tmp_path: Path, text: str, name: str = "seance.toml") -> Path:
    (tmp_path / "turn-secret").write_text("s3cret\n")
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_good_file_gives_the_web_config(tmp_path):
    config = load(write(tmp_path, GOOD))
    assert config.web == WebConfig(
        host="127.0.0.1",
        port=8080,
        tls=False,
        data_dir=tmp_path / "data",
        ice_addresses=("127.0.0.1", "192.0.2.10"),
        announced_address="198.51.100.7",
        voice_slots=4,
        sittings=(
            SittingSpec(
                "cc-2025-03-12",
                "Conseil communautaire du 12 mars 2025",
                (SalleSpec("belcourt", "Belcourt"), SalleSpec("vaux", "Vaux")),
                "belcourt",
            ),
        ),
        session_ttl_s=7200,
        public_frame_ancestors=("https://www.example.fr",),
        reconcile_after_s=15.0,
        turn=config.turn,
    )
    assert (
        config.web.turn is config.turn and config.trusted_proxies == ("127.0.0.1", "::1") and config.tls_files is None
    )
    assert config.turn is not None and config.turn.shared_secret == "s3cret" and config.turn.ttl_s == 3600


def test_tls_mode(tmp_path):
    cert, key = ensure_self_signed(tmp_path / "tls")
    text = GOOD.replace(
        '[proxy]\ntrusted = ["127.0.0.1", "::1"]', f'[tls]\ncert = "{cert}"\nkey = "tls/{key.name}"'
    ).replace('host = "127.0.0.1"', 'host = "0.0.0.0"')
    config = load(write(tmp_path, text))
    assert config.web.tls and config.web.host == "0.0.0.0" and config.tls_files.key == key
    assert serve.tls_context(config) is not None


def test_the_example_in_deploy_is_valid(tmp_path):
    doc = tomllib.loads(EXAMPLE.read_text("utf-8"))
    (tmp_path / "turn-secret").write_text("x" * 64)
    doc["turn"]["shared_secret_file"] = str(tmp_path / "turn-secret")
    config = parse(doc, source=EXAMPLE)
    assert config.web.data_dir == Path("/var/lib/seance") and config.behind_proxy
    assert config.web.ice_addresses == ("203.0.113.10",) and [s.id for s in config.web.sittings] == ["cc-2025-03-12"]
    assert config.web.forwarding == "auto"


# (what to change in GOOD, the key the error must name)
BAD = [
    ("port = 8080", "port = 70000", "server.port"),
    ("port = 8080", 'port = "8080"', "server.port"),
    ('data_dir = "data"', "", "server.data_dir"),
    ("port = 8080", "port = 8080\nworkers = 0", "server.workers"),
    ("port = 8080", 'port = 8080\nredis = "http://127.0.0.1"', "server.redis"),
    ("port = 8080", 'port = 8080\nnode_url = "ftp://n1"', "server.node_url"),
    ("port = 8080", "port = 8080\nworkers = 2", "server.node_url"),  # behind the proxy: the public URL
    ("port = 8080", "port = 8080\nlease_ttl_s = 0", "server.lease_ttl_s"),
    ("port = 8080", 'port = 8080\nevent_loop = "tokio"', "server.event_loop"),
    ("port = 8080", 'port = 8080\ncolour = "bleu"', "server.colour"),
    ('host = "127.0.0.1"', 'host = "0.0.0.0"', "server.host"),  # plain HTTP off loopback
    ('host = "127.0.0.1"', 'host = "nowhere"', "server.host"),
    ('trusted = ["127.0.0.1", "::1"]', 'trusted = ["proxy.local"]', "proxy.trusted[0]"),
    ('trusted = ["127.0.0.1", "::1"]', "trusted = []", "proxy.trusted"),
    ('[proxy]\ntrusted = ["127.0.0.1", "::1"]', "", "tls"),  # neither TLS nor proxy
    ("[proxy]", '[tls]\ncert = "c.pem"\nkey = "k.pem"\n[proxy]', "proxy"),  # both
    ('[proxy]\ntrusted = ["127.0.0.1", "::1"]', '[tls]\ncert = "missing.pem"\nkey = "k.pem"', "tls.cert"),
    (
        'listen_addresses = ["127.0.0.1", "192.0.2.10"]',
        'listen_addresses = ["127.0.0.1", "eth0"]',
        "ice.listen_addresses[1]",
    ),
    ('announced_address = "198.51.100.7"', 'announced_address = "example.fr"', "ice.announced_address"),
    ('announced_address = "198.51.100.7"', 'announced = "198.51.100.7"', "ice.announced"),
    ('"turns:turn.example.fr:443?transport=tcp"', '"https://turn.example.fr"', "turn.urls[1]"),
    ('shared_secret_file = "turn-secret"', 'shared_secret_file = "nope"', "turn.shared_secret_file"),
    (
        'shared_secret_file = "turn-secret"',
        'shared_secret_file = "turn-secret"\nusername = "u"\ncredential = "p"',
        "turn.shared_secret",
    ),
    ('shared_secret_file = "turn-secret"\nttl_s = 3600', 'username = "u"', "turn.credential"),
    ('shared_secret_file = "turn-secret"\nttl_s = 3600', 'username = "u"\ncredential = "p"\nttl_s = 60', "turn.ttl_s"),
    ("ttl_s = 3600", "ttl_s = 1", "turn.ttl_s"),
    ("voice_slots = 4", "voice_slots = -1", "media.voice_slots"),
    ("session_ttl_s = 7200", "session_ttl_s = true", "web.session_ttl_s"),
    ("reconcile_after_s = 15", 'reconcile_after_s = "soon"', "web.reconcile_after_s"),
    ('id = "cc-2025-03-12"', 'id = "CC 2025"', "sittings[0].id"),
    ('title = "Conseil communautaire du 12 mars 2025"', "", "sittings[0].title"),
    ('president_salle = "belcourt"', 'president_salle = "mairie"', "sittings[0].president_salle"),
    ('{ id = "vaux", name = "Vaux" }', '{ id = "vaux", nom = "Vaux" }', "sittings[0].salles[1].nom"),
    ('{ id = "vaux", name = "Vaux" }', '{ id = "belcourt", name = "Vaux" }', "sittings[0].salles[1].id"),
    ("[media]", '[recording]\nkey = "x"\n[media]', "recording"),
]


@pytest.mark.parametrize("old,new,key", BAD, ids=[b[2] + "-" + str(i) for i, b in enumerate(BAD)])
def test_each_bad_key_is_named(tmp_path, old, new, key):
    assert old in GOOD
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, GOOD.replace(old, new, 1)))
    assert key in info.value.keys, info.value.render()
    line = next(line for line in info.value.render().splitlines() if line.strip().startswith(key + " :"))
    assert " / " in line  # French / English


def test_all_problems_are_reported_at_once(tmp_path):
    text = GOOD.replace("port = 8080", "port = 0\nworkers = 0").replace("voice_slots = 4", "voice_slots = 99")
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text))
    assert {"server.port", "server.workers", "media.voice_slots"} <= set(info.value.keys)
    assert "between 1 and 64" in info.value.render() and "entre 1 et 64" in info.value.render()


def test_syntax_errors_and_missing_files(tmp_path):
    with pytest.raises(ConfigError, match="TOML"):
        load(write(tmp_path, "[server\n"))
    with pytest.raises(ConfigError, match="illisible"):
        load(tmp_path / "absent.toml")


def test_check_exits_0_or_1_without_serving(tmp_path, capsys, monkeypatch):
    def no_serving(*a, **k):
        raise AssertionError("--check must not serve")

    monkeypatch.setattr(web, "run_app", no_serving)
    good = write(tmp_path, GOOD)
    assert main(["serve", "--check", "--config", str(good)]) == 0
    assert "configuration valide" in capsys.readouterr().out
    bad = write(tmp_path, GOOD.replace("port = 8080", "port = 8080\nworkers = 0"), "bad.toml")
    assert main(["serve", "--check", "--config", str(bad)]) == 1
    assert "server.workers" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # nothing created by a check


def test_check_with_the_installed_command(tmp_path):
    bad = write(tmp_path, GOOD.replace("port = 8080", "port = 8080\nworkers = 0"))
    seance = Path(sys.executable).parent / "seance"
    argv = [str(seance)] if seance.exists() else [sys.executable, "-m", "web.cli"]
    done = subprocess.run(
        [*argv, "serve", "--check", "--config", str(bad)], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.returncode == 1 and "server.workers" in done.stderr and "between 1 and 64" in done.stderr


def test_check_refuses_a_certificate_openssl_refuses(tmp_path, capsys):
    (tmp_path / "c.pem").write_text("not a certificate")
    (tmp_path / "k.pem").write_text("not a key")
    text = GOOD.replace('[proxy]\ntrusted = ["127.0.0.1", "::1"]', '[tls]\ncert = "c.pem"\nkey = "k.pem"')
    assert main(["serve", "--check", "--config", str(write(tmp_path, text))]) == 1
    assert "tls.cert" in capsys.readouterr().err


def test_add_admin_creates_an_account_that_logs_in(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    assert main(["serve", "--config", str(path), "--add-admin", "dsi"]) == 0
    password = capsys.readouterr().out.split("mot de passe ")[1].split()[0]
    store = AccountStore.in_data_dir(tmp_path / "data")
    try:
        account = store.authenticate("dsi", password)
    finally:
        store.close()
    assert account is not None and account.role is Role.ADMIN


def test_turn_rest_credentials_follow_coturn():
    # coturn use-auth-secret: username "<expiry>:<user>", password base64(HMAC-SHA1(secret, username)).
    username, password = turn_rest_credentials("north", "vaux", ttl_s=600, now=1_700_000_000)
    assert username == "1700000600:vaux"
    assert password == base64.b64encode(hmac.new(b"north", b"1700000600:vaux", hashlib.sha1).digest()).decode()
    assert turn_ice_servers(None, "x") == []


async def test_forwarded_headers_only_from_trusted_proxies(tmp_path, aiohttp_client):
    async def who(request: web.Request) -> web.Response:
        return web.json_response({"remote": request.remote, "scheme": request.scheme, "host": request.host})

    headers = {
        "X-Forwarded-For": "203.0.113.99, 198.51.100.23",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "seance.example.fr",
    }
    trusting = web.Application(middlewares=[serve.forwarded_middleware(("127.0.0.1", "::1"))])
    trusting.router.add_get("/", who)
    client = await aiohttp_client(trusting)
    got = await (await client.get("/", headers=headers)).json()
    # the right-most hop is the one nginx saw; what is left of it was written by the client
    assert got == {"remote": "198.51.100.23", "scheme": "https", "host": "seance.example.fr"}

    distrusting = web.Application(middlewares=[serve.forwarded_middleware(("192.0.2.1",))])
    distrusting.router.add_get("/", who)
    client = await aiohttp_client(distrusting)
    got = await (await client.get("/", headers=headers)).json()
    assert got["remote"] == "127.0.0.1" and got["scheme"] == "http" and got["host"] != "seance.example.fr"


def test_check_warns_about_a_foreign_ice_address_and_certificates(tmp_path, capsys):
    """192.0.2.10 (TEST-NET-1) is on no interface of a test machine; 127.0.0.1 is."""
    (tmp_path / "turn-secret").write_text("s3cret")
    text = GOOD.replace('trusted = ["127.0.0.1", "::1"]', 'trusted = ["127.0.0.1", "::1"]\ncertificate = "absent.pem"')
    assert main(["serve", "--check", "--config", str(write(tmp_path, text))]) == 0  # warnings do not fail
    out = capsys.readouterr().out
    assert "ice.listen_addresses[1] : 192.0.2.10 n'est pas une adresse de cette machine" in out
    assert "ice.listen_addresses[0]" not in out
    assert f"proxy.certificate : certificat introuvable : {tmp_path / 'absent.pem'}" in out

    cert, _ = ensure_self_signed(tmp_path / "tls")  # valid 365 days
    config = load(write(tmp_path, text.replace('"absent.pem"', f'"{cert}"')))
    assert [w[0] for w in serve.check_warnings(config)] == ["ice.listen_addresses[1]", "smtp"]
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=355)
    assert "expire dans" in serve.certificate_problem(cert, now=soon)[0]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    assert "expiré le" in serve.certificate_problem(cert, now=later)[0]

    no_cert = load(write(tmp_path, GOOD))
    assert "proxy.certificate" in [w[0] for w in serve.check_warnings(no_cert)]


def test_media_forwarding_reaches_the_router(tmp_path):
    """``[media] forwarding`` is the Router's forwarding step (issue 17); absent, the Router's default."""

    assert sorted(FORWARDING) == sorted(SETTINGS)  # the file's values are the Router's
    assert load(write(tmp_path, GOOD)).web.forwarding is None
    config = load(write(tmp_path, GOOD.replace("voice_slots = 4", 'voice_slots = 4\nforwarding = "auto"')))
    assert config.web.forwarding == "auto"
    router = build_router(config.web, lambda *a: None, lambda *a: None)
    assert router.config.forwarding == "auto"
    default = build_router(load(write(tmp_path, GOOD)).web, lambda *a: None, lambda *a: None)
    assert default.config.forwarding == type(default.config)().forwarding


def test_media_forwarding_refuses_an_unknown_value_in_french(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, GOOD.replace("voice_slots = 4", 'voice_slots = 4\nforwarding = "c"')))
    assert info.value.keys == ["media.forwarding"]
    assert "valeur inconnue « c » : python, native ou auto attendu" in info.value.render()


def test_media_forwarding_native_needs_the_extension(tmp_path, monkeypatch):
    """native is served when sfu._forward was built, refused at start when it was not
    (here: the module looked for is one that does not exist)."""
    native = GOOD.replace("voice_slots = 4", 'voice_slots = 4\nforwarding = "native"')
    assert config_file.native_forwarding_built()  # `make install-test` builds it (libsrtp2-dev)
    assert load(write(tmp_path, native)).web.forwarding == "native"
    monkeypatch.setattr(config_file, "NATIVE_FORWARDING_MODULE", "sfu._forward_absent")
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, native))
    assert info.value.keys == ["media.forwarding"]
    assert "n'a pas été compilée" in info.value.render() and "choisir python ou auto" in info.value.render()
    auto = GOOD.replace("voice_slots = 4", 'voice_slots = 4\nforwarding = "auto"')
    assert load(write(tmp_path, auto)).web.forwarding == "auto"  # auto falls back to Python
