"""The auditor page /audit/<seance> (R21, R22): timeline, verification, downloads; read-only."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest

from deliberation.journal import generate_key, private_pem
from deliberation.rehearsal import run_rehearsal
from signaling.roles import Role
from web.app import ACCOUNTS, SIGNER, create_app
from web.commands import demo
from web.commands.demo import seed_demo
from web.config import WebConfig

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "scdl-deliberations" / "schema.json"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    """One rehearsal journal (the demo council's whole scripted sitting) for the module."""
    out = tmp_path_factory.mktemp("rehearsal")
    key = generate_key()
    outcome = run_rehearsal(out, key)
    (out / "council-ed25519.pem").write_bytes(private_pem(key))
    return out, outcome


def install(data_dir: Path, rehearsal_dir: Path, sitting: str = "demo") -> Path:
    """Put the rehearsal's journal and keys where the contract says a sitting's files live
    (before the app starts: the sitting service then resumes that journal)."""
    (data_dir / "sittings" / sitting).mkdir(parents=True, exist_ok=True)
    (data_dir / "keys").mkdir(parents=True, exist_ok=True)
    journal = data_dir / "sittings" / sitting / "journal.jsonl"
    shutil.copy(rehearsal_dir / "journal.jsonl", journal)
    shutil.copy(rehearsal_dir / "journal.pub", data_dir / "keys" / "council-ed25519.pub")
    shutil.copy(rehearsal_dir / "council-ed25519.pem", data_dir / "keys" / "council-ed25519.pem")
    (data_dir / "keys" / "council-ed25519.pem").chmod(0o600)
    return journal


@pytest.fixture
def config(tmp_path):
    return WebConfig(tls=False, data_dir=tmp_path, sittings=(demo.demo_sitting(),), ice_addresses=("127.0.0.1",))


@pytest.fixture
async def client(aiohttp_client, config, rehearsal):
    """The app over a data dir holding the rehearsal's (closed) journal."""
    install(config.data_dir, rehearsal[0])
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    return await aiohttp_client(create_app(config))


async def login(client, role: Role, login: str = "user", **kw) -> None:
    client.app[ACCOUNTS].set_account(login, "pw-secret-1", role, **kw)
    r = await client.post("/login", data={"login": login, "password": "pw-secret-1"}, allow_redirects=False)
    assert r.status == 303


async def test_audit_page_refuses_councillor_public_and_kiosk_in_french(client, config, rehearsal):
    kiosk = client.app[SIGNER].issue(Role.KIOSK, salle="vaux", sitting="demo")
    client.session.cookie_jar.update_cookies({"seance_session": kiosk})
    for path in ("/audit/demo", "/audit/demo/journal.jsonl"):  # a kiosk is no one's session: the login page
        r = await client.get(path, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"].startswith("/login?next="), path
    await login(client, Role.COUNCILLOR, "elu", member_id="m05")
    for path in (
        "/audit/demo",
        "/audit/demo/journal.jsonl",
        "/audit/demo/deliberations.csv",
        "/audit/demo/proces-verbal.html",
        "/audit/demo/council-ed25519.pub",
    ):
        r = await client.get(path)
        assert r.status == 403 and "Accès refusé" in await r.text(), path


async def test_logged_out_the_audit_page_leads_to_the_login_and_back(client, config, rehearsal):
    """Issue 15 (point 7): no « Accès refusé » to someone not logged in yet: the login page,
    then the page asked for."""
    for path in ("/audit/demo", "/audit/demo/proces-verbal.html"):
        r = await client.get(path, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/login?next=" + path, r.headers
    r = await client.get("/login?next=/audit/demo")
    assert 'name="next" value="/audit/demo"' in await r.text()
    client.app[ACCOUNTS].set_account("auditrice", "pw-secret-1", Role.AUDITOR)
    r = await client.post(
        "/login", data={"login": "auditrice", "password": "pw-secret-1", "next": "/audit/demo"}, allow_redirects=False
    )
    assert r.status == 303 and r.headers["Location"] == "/audit/demo"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.PRESIDENT, Role.ADMIN])
async def test_auditor_president_and_admin_may_read(client, config, rehearsal, role):
    await login(client, role, "lecteur", member_id="m01" if role is Role.PRESIDENT else None)
    assert (await client.get("/audit/demo")).status == 200


async def test_rehearsal_journal_is_verified_and_each_result_recomputed(client, config, rehearsal):
    await login(client, Role.AUDITOR, "auditeur")
    r = await client.get("/audit/demo")
    body = await r.text()
    assert r.status == 200 and "Journal vérifié" in body and "Échec" not in body
    assert "<script>" not in body and "/static/audit.js" in body  # CSP: no inline script
    # each recomputed vote, with its counts and verdict
    rows = re.findall(r'<tr data-item="([^"]+)">(.*?)</tr>', body, re.S)
    by_item = {item: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)) for item, html in rows}
    assert set(by_item) == {
        "pv-precedent",
        "marche-collecte",
        "fonds-concours-vaux",
        "dm-budget-2026",
        "commission-environnement",
    }
    assert "14 0 0 0 14 adopté" in by_item["pv-precedent"]
    assert "voix prépondérante du président" in by_item["fonds-concours-vaux"]
    # the timeline reads in French, with the actors' names and the rule-bearing events
    assert "Chronologie" in body and "n'est pas journalisée" in body
    assert "Arrivée de Sophie Garnier" in body and "Laurence Petit, agent de salle" in body
    assert "Pouvoir de Claire Dubois à Nathalie Rousseau" in body
    assert "perte de transmission" in body and "Séance suspendue" in body
    assert "reporté" in body and "Clôture de la séance" in body
    assert "Point de contrôle signé" in body
    # how to verify offline
    assert "seance audit verify" in body


async def test_one_byte_changed_shows_the_failing_line(aiohttp_client, config, rehearsal):
    journal = install(config.data_dir, rehearsal[0])
    data = journal.read_bytes()
    lines = data.split(b"\n")
    target = next(i for i, line in enumerate(lines) if b'"choice":"contre"' in line)
    lines[target] = lines[target].replace(b'"choice":"contre"', b'"choice":"pontre"', 1)  # one byte
    tampered = b"\n".join(lines)
    assert sum(a != b for a, b in zip(data, tampered)) == 1
    journal.write_bytes(tampered)
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    client = await aiohttp_client(create_app(config))  # the sitting service refuses to resume it (R21)
    await login(client, Role.AUDITOR, "auditeur")
    r = await client.get("/audit/demo")
    body = await r.text()
    line = target + 1
    assert r.status == 200 and "Échec de la vérification" in body and f"Ligne {line} :" in body
    assert re.search(rf'id="ligne-{line}" class="[^"]*failing', body)
    assert "Journal vérifié" not in body
    # no minutes or export from a journal that does not verify; the raw journal stays downloadable
    r = await client.get("/audit/demo/proces-verbal.html")
    assert r.status == 409 and "ne se vérifie pas" in await r.text()
    assert (await client.get("/audit/demo/deliberations.csv")).status == 409
    r = await client.get("/audit/demo/journal.jsonl")
    assert r.status == 200 and await r.read() == tampered


async def test_downloads_journal_key_minutes_and_scdl_csv(client, config, rehearsal):
    import frictionless

    journal = config.data_dir / "sittings" / "demo" / "journal.jsonl"
    await login(client, Role.AUDITOR, "auditeur")
    r = await client.get("/audit/demo/journal.jsonl")
    assert r.status == 200 and await r.read() == journal.read_bytes()
    assert r.headers["Content-Disposition"].startswith("attachment")
    r = await client.get("/audit/demo/council-ed25519.pub")
    assert (await r.read()).startswith(b"-----BEGIN PUBLIC KEY-----")
    r = await client.get("/audit/demo/proces-verbal.html")
    pv = await r.text()
    assert r.status == 200 and "Procès-verbal" in pv and "Hélène Marchand" in pv
    assert pv == (rehearsal[0] / "proces-verbal.html").read_text(encoding="utf-8")  # same as the journal says
    assert "script-src" not in r.headers["Content-Security-Policy"]  # no script at all
    r = await client.get("/audit/demo/proces-verbal.html?vue=1")
    assert r.headers["Content-Disposition"].startswith("inline")
    r = await client.get("/audit/demo/liste-deliberations.html")
    assert r.status == 200 and "délibérations" in (await r.text()).lower()
    r = await client.get("/audit/demo/deliberations.csv")
    csv_bytes = await r.read()
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert csv_bytes == (rehearsal[0] / "deliberations.csv").read_bytes()
    schema = frictionless.Schema.from_descriptor(json.loads(SCHEMA.read_text(encoding="utf-8")))
    report = frictionless.validate(frictionless.Resource(data=csv_bytes, format="csv", schema=schema))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert csv_bytes.count(b"\r\n") == 1 + 5  # header + four deliberations adopted + one nomination


async def test_audit_routes_are_read_only(client, config, rehearsal):
    await login(client, Role.AUDITOR, "auditeur")
    for path in ("/audit/demo", "/audit/demo/journal.jsonl"):
        assert (await client.post(path)).status == 405


async def test_sitting_without_journal_and_unknown_sitting(aiohttp_client, config):
    client = await aiohttp_client(create_app(config, journal_starter=lambda spec: None))
    await login(client, Role.AUDITOR, "auditeur")
    r = await client.get("/audit/demo")
    assert r.status == 200 and "Aucun journal" in await r.text()
    assert (await client.get("/audit/demo/proces-verbal.html")).status == 404
    assert (await client.get("/audit/inconnue")).status == 404
    assert (await client.get("/audit/..%2Fkeys")).status == 404


async def test_open_journal_is_verified_so_far(aiohttp_client, config):
    """A sitting under way (the demo, convened by the app on start): verified so far, live PV."""
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    client = await aiohttp_client(create_app(config))
    assert (config.data_dir / "sittings" / "demo" / "journal.jsonl").exists()
    await login(client, Role.AUDITOR, "auditeur")
    body = await (await client.get("/audit/demo")).text()
    assert "séance non close" in body and "Point inscrit à l&#39;ordre du jour" in body
    r = await client.get("/audit/demo/proces-verbal.html")
    assert r.status == 200 and "n'a pas été ouverte" in await r.text()
    csv_text = await (await client.get("/audit/demo/deliberations.csv")).text()
    assert len(io.StringIO(csv_text).readlines()) == 1  # header only: nothing adopted yet
