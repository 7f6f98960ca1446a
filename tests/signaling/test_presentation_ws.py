"""The item's documents on screen over the REAL WebSocket and HTTP (issue 15 point 8): the chair
shows an annex of the current item, the journal keeps its start and end with the file's
digest, pages turn on every screen, and the public fetches only the annex shown."""

from __future__ import annotations

import hashlib
import json
from html import unescape

import pytest

from deliberation.journal import events_of, load_public_pem, read_verified
from signaling import datadir
from signaling.council_store import Annex, CouncilStore
from signaling.roles import Role
from signaling.sitting import journal_path
from tests.signaling.sitting_ws import connect, make_app, service, transmission
from web.app import SIGNER
from web.session import SESSION_COOKIE

PLAN = b"%PDF-1.4\n% plan de collecte, 3 pages\n"
NOTE = b"%PDF-1.4\n% note de synthese\n"


def add_annex(data_dir, annex_id, item_id, label, filename, data):
    """An annex joined to the demo sitting's convocation, as web.admin.annexes stores it."""
    path = datadir.DataDir.of(data_dir).annex("demo", annex_id)
    datadir.private_dir(path.parent)
    path.write_bytes(data)
    annex = Annex(annex_id, item_id, label, filename, hashlib.sha256(data).hexdigest(), len(data), "2026-11-18")
    with CouncilStore.in_data_dir(data_dir) as store:
        (council_id, _name), *_ = store.councils()
        store.add_annex(council_id, "demo", annex)
    return annex


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    app = make_app(tmp_path)
    add_annex(tmp_path, "a1b2c3d4e5f60708", "marche-collecte", "plan", "Plan de collecte.pdf", PLAN)
    add_annex(tmp_path, "0f0e0d0c0b0a0908", "marche-collecte", "note", "Note de synthèse.pdf", NOTE)
    add_annex(tmp_path, "1111222233334444", "fonds-concours-vaux", "budget", "Budget école.pdf", NOTE)
    return await aiohttp_client(app)


async def open_sitting(client):
    pres = await connect(client, "president", Role.PRESIDENT, member="m01", salle="belcourt")
    agents = {s: await connect(client, f"agent-{s}", Role.AGENT, salle=s, agent=f"a-{s}") for s in ("belcourt", "vaux")}
    for m in ("m01", "m02", "m03", "m04", "m05"):
        await agents["belcourt"].ok(type="CheckIn", member_id=m, salle_id="belcourt")
    for m in ("m06", "m07", "m08", "m10"):
        await agents["vaux"].ok(type="CheckIn", member_id=m, salle_id="vaux")
    await transmission(client, "belcourt", True)
    await transmission(client, "vaux", True)
    await pres.ok(type="AppointSecretary", member_id="m03")
    return pres


def journaled(tmp_path):
    public_key = load_public_pem((tmp_path / "keys" / "council-ed25519.pub").read_bytes())
    events = events_of(read_verified(journal_path(tmp_path, "demo"), public_key))
    return [e for e in events if e.type in ("AnnexPresented", "PresentationEnded")]


async def test_the_president_shows_an_annex_and_every_screen_gets_it_journaled_with_its_digest(client, tmp_path):
    pres = await open_sitting(client)
    moderator = await connect(client, "moderator", Role.MODERATOR, member="moderateur")
    public = await connect(client, "public")
    kiosk = await connect(client, "kiosk", Role.KIOSK, salle="vaux")

    async def present(sock, annex, pages):
        await sock.ws.send_json({"type": "present", "id": f"p-{annex}", "annex": annex, "pages": pages})
        return await sock.next("ack", "error")

    async def turn(sock, page):
        await sock.ws.send_json({"type": "page", "id": f"t-{page}", "page": page})
        return await sock.next("ack", "error")

    # R2: not before the opening
    err = await present(pres, "a1b2c3d4e5f60708", 3)
    assert err["type"] == "error" and err["code"] == "R2" and "ouverte" in err["message"]
    await pres.ok(type="OpenSitting")
    # R26: no item discussed yet, then an annex of another item
    err = await present(pres, "a1b2c3d4e5f60708", 3)
    assert err["code"] == "R26" and "aucun point" in err["message"]
    await pres.ok(type="TakeUpItem", item_id="marche-collecte")
    err = await present(pres, "1111222233334444", 2)
    assert err["code"] == "R26" and "Fonds de concours" in err["message"]
    err = await present(pres, "ffffffffffffffff", 2)
    assert err["code"] == "R26" and err["field"] == "annex"
    assert journaled(tmp_path) == []

    ack = await present(pres, "a1b2c3d4e5f60708", 3)
    assert ack["type"] == "ack" and [e["type"] for e in ack["events"]] == ["AnnexPresented"]
    shown = (await public.latest_view())["presentation"]
    assert shown["annex_id"] == "a1b2c3d4e5f60708" and shown["page"] == 1 and shown["pages"] == 3
    assert shown["sha256"] == hashlib.sha256(PLAN).hexdigest()
    assert shown["title"] == "Plan — Plan de collecte.pdf"
    board = await kiosk.next("board")
    while board["presentation"] is None:
        board = await kiosk.next("board")
    assert board["presentation"]["page"] == 1

    # pages: the moderator turns too; past the last page is refused, nothing changes
    assert (await turn(moderator, 2))["page"] == 2
    assert (await public.latest_view())["presentation"]["page"] == 2
    err = await turn(pres, 4)
    assert err["code"] == "SCHEMA" and err["field"] == "page" and "3 pages" in err["message"]
    assert (await public.latest_view())["presentation"]["page"] == 2
    board = await kiosk.next("board")
    while board["presentation"]["page"] != 2:
        board = await kiosk.next("board")

    # a councillor neither shows nor turns (the role table)
    elu = await connect(client, "m07", Role.COUNCILLOR, member="m07")
    await elu.ws.send_json({"type": "page", "id": "x", "page": 1})
    assert (await elu.next("error"))["code"] == "forbidden"

    await pres.ok(type="StopPresentation")
    assert (await public.latest_view())["presentation"] is None
    err = await turn(pres, 1)
    assert err["code"] == "UNKNOWN"
    lines = journaled(tmp_path)
    assert [(e.type, e.data["annex_id"]) for e in lines] == [
        ("AnnexPresented", "a1b2c3d4e5f60708"),
        ("PresentationEnded", "a1b2c3d4e5f60708"),
    ]
    assert lines[0].data["sha256"] == hashlib.sha256(PLAN).hexdigest()


async def test_an_annex_whose_file_changed_since_the_convocation_is_not_shown_R26(client, tmp_path):
    pres = await open_sitting(client)
    await pres.ok(type="OpenSitting")
    await pres.ok(type="TakeUpItem", item_id="marche-collecte")
    datadir.DataDir.of(tmp_path).annex("demo", "a1b2c3d4e5f60708").write_bytes(PLAN + b"% altered\n")
    await pres.ws.send_json({"type": "present", "id": "p", "annex": "a1b2c3d4e5f60708", "pages": 3})
    err = await pres.next("error")
    assert err["code"] == "R26" and "empreinte" in err["message"]
    assert service(client).seance.state.presentation is None


async def test_the_public_fetches_the_annex_shown_only(client, tmp_path):
    pres = await open_sitting(client)
    await pres.ok(type="OpenSitting")
    await pres.ok(type="TakeUpItem", item_id="marche-collecte")
    plan_url = f"/public/demo/documents/a1b2c3d4e5f60708?sha256={hashlib.sha256(PLAN).hexdigest()}"

    async def refused(url, status):
        resp = await client.get(url)
        assert resp.status == status
        body = json.loads(await resp.text())
        assert body["ok"] is False and body["message"] and set(body) == {"ok", "rule", "field", "message"}
        return body

    assert (await refused(plan_url, 403))["rule"] == "R2"  # not shown yet
    await pres.ws.send_json({"type": "present", "id": "p", "annex": "a1b2c3d4e5f60708", "pages": 3})
    assert (await pres.next("ack", "error"))["type"] == "ack"
    resp = await client.get(plan_url)
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/pdf"
    assert await resp.read() == PLAN and "no-store" in resp.headers["Cache-Control"]
    # the note de synthèse not shown is the members'; a digest that is not the one shown gets nothing
    await refused(f"/public/demo/documents/0f0e0d0c0b0a0908?sha256={hashlib.sha256(NOTE).hexdigest()}", 403)
    await refused("/public/demo/documents/a1b2c3d4e5f60708?sha256=" + "0" * 64, 403)
    await refused("/public/demo/documents/ffffffffffffffff", 404)
    await refused("/public/nulle-part/documents/a1b2c3d4e5f60708", 404)
    # a member of the council logged in reads any annex of the sitting
    member = client.app[SIGNER].issue(Role.COUNCILLOR, member="m07")
    resp = await client.get("/public/demo/documents/0f0e0d0c0b0a0908", cookies={SESSION_COOKIE: member})
    assert resp.status == 200 and await resp.read() == NOTE
    # taken off the displays: the public gets it no more
    await pres.ok(type="StopPresentation")
    await refused(plan_url, 403)


async def test_during_a_sensitive_passage_the_public_gets_no_annex_and_the_salles_still_do_R19(client, tmp_path):
    """R19: no image for the public during the passage, the document included; the sitting's
    kiosks (their token), members and staff still get it; the end of the passage gives it back."""
    pres = await open_sitting(client)
    await pres.ok(type="OpenSitting")
    await pres.ok(type="TakeUpItem", item_id="marche-collecte")
    await pres.ws.send_json({"type": "present", "id": "p", "annex": "a1b2c3d4e5f60708", "pages": 3})
    assert (await pres.next("ack", "error"))["type"] == "ack"
    plan_url = f"/public/demo/documents/a1b2c3d4e5f60708?sha256={hashlib.sha256(PLAN).hexdigest()}"
    assert (await client.get(plan_url)).status == 200
    await pres.ok(type="MarkSensitive", on=True, reason="situation d'un agent nommé")

    resp = await client.get(plan_url)
    body = json.loads(await resp.text())
    assert resp.status == 403 and set(body) == {"ok", "rule", "field", "message"}
    assert body["ok"] is False and body["rule"] == "R19" and "passage sensible" in body["message"]
    signer = client.app[SIGNER]
    kiosk = signer.issue(Role.KIOSK, salle="vaux", sitting="demo")
    resp = await client.get(plan_url, headers={"Authorization": f"Bearer {kiosk}"})
    assert resp.status == 200 and await resp.read() == PLAN
    member = signer.issue(Role.COUNCILLOR, member="m07")
    resp = await client.get(plan_url, cookies={SESSION_COOKIE: member})
    assert resp.status == 200 and await resp.read() == PLAN
    # a kiosk of another sitting, a token that is not a kiosk's, a forged one: the public's answer
    for token in (signer.issue(Role.KIOSK, salle="vaux", sitting="autre"), signer.issue(Role.PUBLIC), kiosk + "x"):
        resp = await client.get(plan_url, headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 403 and json.loads(await resp.text())["rule"] == "R19"

    await pres.ok(type="MarkSensitive", on=False, reason="")
    resp = await client.get(plan_url)
    assert resp.status == 200 and await resp.read() == PLAN


@pytest.mark.parametrize(("role", "page"), [(Role.PRESIDENT, "/president"), (Role.MODERATOR, "/moderation")])
async def test_the_chair_s_pages_carry_the_annexes_they_may_show(client, role, page):
    """« Document à l'écran » lists each item's annexes: the page carries them, by item."""
    token = client.app[SIGNER].issue(role, member="m01" if role is Role.PRESIDENT else "moderateur", salle="belcourt")
    resp = await client.get(page + "?seance=demo", cookies={SESSION_COOKIE: token})
    html = await resp.text()
    assert resp.status == 200 and 'id="presenting"' in html
    raw = html.split("data-annexes='")[1].split("'", 1)[0]
    annexes = json.loads(unescape(raw))
    assert [a["filename"] for a in annexes["marche-collecte"]] == ["Plan de collecte.pdf", "Note de synthèse.pdf"]
    assert annexes["fonds-concours-vaux"] == [
        {"id": "1111222233334444", "label": "Document budgétaire", "filename": "Budget école.pdf"}
    ]


async def test_after_a_restart_the_document_is_still_shown_from_the_journal_at_page_1_R18(
    client, aiohttp_client, tmp_path
):
    """The presentation is journaled, its page is not: a restarted server shows page 1 again."""
    pres = await open_sitting(client)
    await pres.ok(type="OpenSitting")
    await pres.ok(type="TakeUpItem", item_id="marche-collecte")
    await pres.ws.send_json({"type": "present", "id": "p", "annex": "a1b2c3d4e5f60708", "pages": 3})
    assert (await pres.next("ack", "error"))["type"] == "ack"
    await pres.ws.send_json({"type": "page", "id": "t", "page": 3})
    assert (await pres.next("ack", "error"))["page"] == 3
    assert service(client).view()["presentation"]["page"] == 3
    await client.close()
    again = await aiohttp_client(make_app(tmp_path))
    shown = service(again).view()["presentation"]
    assert shown["annex_id"] == "a1b2c3d4e5f60708" and shown["pages"] == 3 and shown["page"] == 1
