"""SittingService on disk: key files, resume, and a journal that does not verify is never served (R18, R21)."""

from __future__ import annotations

import logging

import pytest

from deliberation.demo import demo_agenda
from deliberation.journal import load_public_pem
from signaling.roles import Role
from signaling.sitting import council_key, journal_path
from tests.signaling.sitting_ws import connect, make_app
from web.app import SIGNER, SITTINGS


def test_council_key_is_created_once_private_0600_with_its_public_half(tmp_path):
    key = council_key(tmp_path)
    pem, pub = tmp_path / "keys" / "council-ed25519.pem", tmp_path / "keys" / "council-ed25519.pub"
    assert pem.stat().st_mode & 0o777 == 0o600
    assert load_public_pem(pub.read_bytes()).public_bytes_raw() == key.public_key().public_bytes_raw()
    assert council_key(tmp_path).private_bytes_raw() == key.private_bytes_raw()


async def test_the_demo_sitting_journal_is_created_then_resumed(aiohttp_client, tmp_path):
    client = await aiohttp_client(make_app(tmp_path))
    svc = client.app[SITTINGS]["demo"]
    assert journal_path(tmp_path, "demo").is_file() and len(svc.seance.state.agenda) == len(demo_agenda())
    ws = await connect(client, "agent", Role.AGENT, salle="vaux", agent="a-vaux")
    await ws.ok(type="CheckIn", member_id="m06", salle_id="vaux")
    lines = svc.journal.lines
    await client.close()
    again = await aiohttp_client(make_app(tmp_path))
    svc2 = again.app[SITTINGS]["demo"]
    assert svc2.seance.state.presence == {"m06": "vaux"} and svc2.journal.lines == lines


@pytest.mark.parametrize("damage", ["byte", "truncate"])
async def test_a_journal_that_does_not_verify_is_refused_in_the_log_the_socket_and_the_page(
    aiohttp_client, tmp_path, caplog, damage
):
    first = await aiohttp_client(make_app(tmp_path))
    await first.close()
    path = journal_path(tmp_path, "demo")
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Vaux", b"Vaud", 1) if damage == "byte" else data[:-10])
    with caplog.at_level(logging.ERROR, logger="signaling.sitting"):
        client = await aiohttp_client(make_app(tmp_path))
    svc = client.app[SITTINGS]["demo"]
    assert svc.seance is None and "ne se vérifie pas" in svc.error and "ligne" in svc.error
    assert any("ne se vérifie pas" in r.getMessage() for r in caplog.records)
    ws = await client.ws_connect("/ws")
    token = client.app[SIGNER].issue(Role.PRESIDENT, member="m01", salle="belcourt", sitting="demo")
    await ws.send_json({"type": "hello", "sitting": "demo", "token": token})
    seen = []
    while not seen or seen[-1]["type"] != "error":
        seen.append(await ws.receive_json(timeout=3))
    assert seen[-1]["code"] == "journal_invalid" and "ne se vérifie pas" in seen[-1]["message"]
    assert "sitting" not in {m["type"] for m in seen}
    await ws.send_json({"type": "command", "id": "c", "command": {"type": "OpenSitting"}})
    reply = await ws.receive_json(timeout=3)
    assert reply["code"] == "JOURNAL"
    page = await client.get("/public/demo")
    assert page.status == 503 and "ne se vérifie pas" in await page.text()
    assert path.read_bytes() == (data.replace(b"Vaux", b"Vaud", 1) if damage == "byte" else data[:-10])
