"""Issue 12.1 on the server (R18, R21): every ack comes after a signature, the signed head is
pushed to every screen, and a journal rewritten after its last signature is not resumed.

Driven over the real WebSocket of the app; the attacker edits the file between two runs.
"""

from __future__ import annotations

import hashlib
import json

from deliberation.canonical import canonical_bytes
from deliberation.journal import check_head, load_public_pem, read_verified
from signaling.roles import Role
from signaling.sitting import journal_path
from tests.signaling.sitting_ws import connect, make_app, service, transmission


async def _vote_with_ballots(client):
    """The demo sitting opened, a vote open, two ballots cast; returns the public socket."""
    pres = await connect(client, "president", Role.PRESIDENT, member="m01", salle="belcourt")
    public = await connect(client, "public")
    belcourt = await connect(client, "agent-belcourt", Role.AGENT, salle="belcourt", agent="a-belcourt")
    vaux = await connect(client, "agent-vaux", Role.AGENT, salle="vaux", agent="a-vaux")
    for m in ("m01", "m02", "m03", "m04", "m05"):
        await belcourt.ok(type="CheckIn", member_id=m, salle_id="belcourt")
    for m in ("m06", "m07", "m08", "m09"):
        await vaux.ok(type="CheckIn", member_id=m, salle_id="vaux")
    await transmission(client, "belcourt", True)
    await transmission(client, "vaux", True)
    await pres.ok(type="AppointSecretary", member_id="m03")
    await pres.ok(type="OpenSitting")
    await pres.ok(type="OpenVote", item_id="marche-collecte", method="electronique")
    m07 = await connect(client, "m07", Role.COUNCILLOR, member="m07")
    await m07.ok(type="CastBallot", item_id="marche-collecte", voter_id="m07", choice="pour")
    await pres.ok(type="CastBallot", item_id="marche-collecte", voter_id="m01", choice="pour")
    return public


async def test_R21_the_signed_head_reaches_every_screen_and_covers_the_last_ack(aiohttp_client, tmp_path):
    client = await aiohttp_client(make_app(tmp_path))
    public = await _vote_with_ballots(client)
    view = await public.latest_view()
    head = view["journal"]["signed_head"]
    # the head covers every line written: the last ack is signed, and the witness checks on its own
    assert head["kind"] == "checkpoint" and head["seq"] == view["journal"]["lines"]
    public_key = load_public_pem(service(client).public_key_pem.encode())
    entries = read_verified(journal_path(tmp_path, "demo"), public_key)
    check_head(entries, head, public_key)
    assert entries[-1].data["hash"] == head["hash"]


def _rechained(lines: list[dict]) -> bytes:
    out: list[bytes] = []
    for n, entry in enumerate(lines, start=1):
        entry = {**entry, "seq": n, "prev": hashlib.sha256(out[-1]).hexdigest() if out else "0" * 64}
        if entry["kind"] == "checkpoint":
            entry["head"] = entry["prev"]
        entry["hash"] = hashlib.sha256(canonical_bytes({k: v for k, v in entry.items() if k != "hash"})).hexdigest()
        out.append(canonical_bytes(entry))
    return b"".join(x + b"\n" for x in out)


async def test_R21_a_ballot_rewritten_after_the_last_signature_is_not_resumed(aiohttp_client, tmp_path):
    first = await aiohttp_client(make_app(tmp_path))
    await _vote_with_ballots(first)
    await first.close()
    path = journal_path(tmp_path, "demo")
    lines = [json.loads(x) for x in path.read_bytes().splitlines()]
    # the attacker turns the president's « pour » into « contre », drops the signature of that
    # batch (they cannot sign) and recomputes seq/prev/hash: the chain is whole again
    assert lines[-1]["kind"] == "checkpoint"
    lines = lines[:-1]
    command = max(n for n, e in enumerate(lines, start=1) if e["kind"] == "command")
    lines[command - 1]["command"]["choice"] = "contre"
    for e in lines[command:]:
        e["event"]["data"]["choice"] = "contre"
    path.write_bytes(_rechained(lines))
    client = await aiohttp_client(make_app(tmp_path))
    svc = service(client)
    assert svc.seance is None
    assert f"ligne {command} :" in svc.error and "non couvertes par une signature" in svc.error
    page = await client.get("/public/demo")
    assert page.status == 503


async def test_R21_the_public_page_shows_the_seal_of_the_journal(aiohttp_client, tmp_path):
    """The public page has the « Sceau du journal » detail its script fills from the view's signed head."""
    client = await aiohttp_client(make_app(tmp_path))
    page = await client.get("/public/demo")
    html = await page.text()
    assert page.status == 200 and "Sceau du journal" in html and 'id="public-seal-json"' in html
    script = await (await client.get("/static/public.js")).text()
    assert "signed_head" in script and "public-seal-json" in script
