"""The annexes of the agenda's items (issue 16 point 1, L.2121-12): PDFs joined in /admin
before the convocation, stored under the data directory with their digest, refused in
French when they are not PDFs, too large, or the sitting is convened; deleted before."""

from __future__ import annotations

import hashlib
import html
import stat
from datetime import date, timedelta

import aiohttp

from signaling import datadir
from signaling.council_store import CouncilStore
from tests.web.test_convocation_mail import admin_client, csrf, web_config
from web.admin.annexes import MAX_ANNEX_BYTES

PAGE = "/admin/seances/cc-annexes"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + bytes(range(256)) * 40


async def sitting_with_item(admin) -> None:
    day = date.today() + timedelta(days=30)
    data = {
        "csrf": await csrf(admin),
        "id": "cc-annexes",
        "title": "Conseil communautaire d'été",
        "date": day.isoformat(),
        "time": "18:30",
        "convened_on": (day - timedelta(days=10)).isoformat(),
        "mode": "visio",
    }
    assert (await admin.post("/admin/seances", data=data, allow_redirects=False)).status == 303
    item = {"csrf": await csrf(admin, PAGE), "title": "Programme de voirie 2027", "kind": "deliberation"}
    assert (await admin.post(PAGE + "/points", data=item, allow_redirects=False)).status == 303


def upload_form(
    token: str, content: bytes, name: str = "Note de synthèse voirie.pdf", point: str = ""
) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("point", point)
    form.add_field("nature", "note")
    form.add_field("fichier", content, filename=name, content_type="application/pdf")
    return form


async def item_id(config) -> str:
    with CouncilStore.in_data_dir(config.data_dir) as store:
        return store.agenda(store.current().id, "cc-annexes")[0].item_id


def annex_files(config) -> list:
    folder = datadir.DataDir.of(config.data_dir).sitting("cc-annexes") / datadir.ANNEXES
    return sorted(folder.glob("*.pdf")) if folder.exists() else []


async def test_an_annex_is_joined_listed_served_and_deleted_before_the_convocation(aiohttp_client, tmp_path):
    config = web_config(tmp_path, None)
    admin = await admin_client(aiohttp_client, config)
    await sitting_with_item(admin)
    point = await item_id(config)

    r = await admin.post(PAGE + "/annexes", data=upload_form(await csrf(admin, PAGE), PDF, point=point))
    assert r.status == 200 and "Annexe jointe." in html.unescape(await r.text())
    body = html.unescape(await r.text())
    assert "Note de synthèse voirie.pdf" in body and hashlib.sha256(PDF).hexdigest()[:16] in body

    with CouncilStore.in_data_dir(config.data_dir) as store:
        [annex] = store.annexes(store.current().id, "cc-annexes")
    assert (annex.item_id, annex.label, annex.size) == (point, "note", len(PDF))
    assert annex.sha256 == hashlib.sha256(PDF).hexdigest()
    [path] = annex_files(config)
    assert path.read_bytes() == PDF and stat.S_IMODE(path.stat().st_mode) == datadir.FILE_MODE
    assert datadir.DataDir.of(config.data_dir).entry_of(path).kind is datadir.Kind.FILE  # backed up

    served = await admin.get(f"{PAGE}/annexes/{annex.id}")
    assert served.status == 200 and await served.read() == PDF
    assert served.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''Note%20de%20synth%C3%A8se%20voirie.pdf" in served.headers["Content-Disposition"]

    r = await admin.post(f"{PAGE}/annexes/{annex.id}/supprimer", data={"csrf": await csrf(admin, PAGE)})
    assert r.status == 200 and "Annexe supprimée." in html.unescape(await r.text())
    assert annex_files(config) == []
    with CouncilStore.in_data_dir(config.data_dir) as store:
        assert store.annexes(store.current().id, "cc-annexes") == []


async def test_refusals_change_nothing_in_french_and_one_json_shape(aiohttp_client, tmp_path):
    config = web_config(tmp_path, None)
    admin = await admin_client(aiohttp_client, config)
    await sitting_with_item(admin)
    point = await item_id(config)
    json = {"Accept": "application/json"}

    word = b"PK\x03\x04 un document de traitement de texte"
    r = await admin.post(PAGE + "/annexes", data=upload_form(await csrf(admin, PAGE), word, point=point), headers=json)
    assert r.status == 415
    refusal = await r.json()
    assert set(refusal) == {"ok", "rule", "field", "message"} and refusal["ok"] is False
    assert refusal["field"] == "fichier" and "n'est pas un PDF" in refusal["message"]

    r = await admin.post(PAGE + "/annexes", data=upload_form(await csrf(admin, PAGE), word, point=point))
    assert r.status == 415 and "Refusé, rien n'a été joint — Ce fichier n'est pas un PDF" in html.unescape(
        await r.text()
    )

    big = PDF + b"\0" * (MAX_ANNEX_BYTES + 1 - len(PDF))
    r = await admin.post(PAGE + "/annexes", data=upload_form(await csrf(admin, PAGE), big, point=point), headers=json)
    assert r.status == 413 and "dépasse 20 Mo" in (await r.json())["message"]

    r = await admin.post(
        PAGE + "/annexes", data=upload_form(await csrf(admin, PAGE), PDF, point="inconnu"), headers=json
    )
    assert r.status == 400 and (await r.json())["field"] == "point"

    r = await admin.post(PAGE + "/annexes", data=upload_form("0" * 64, PDF, point=point))
    assert r.status == 403  # a forged form: the CSRF token decides
    assert annex_files(config) == []

    # joined, then the sitting convened: neither a new annex nor a deletion is accepted any more
    ok = await admin.post(PAGE + "/annexes", data=upload_form(await csrf(admin, PAGE), PDF, point=point), headers=json)
    assert ok.status == 200 and (await ok.json())["sha256"] == hashlib.sha256(PDF).hexdigest()
    annex_id = (await ok.json())["id"]
    r = await admin.post(PAGE + "/convoquer", data={"csrf": await csrf(admin, PAGE), "confirm": "on"})
    assert r.status == 200
    r = await admin.post(PAGE + "/annexes", data=upload_form(await csrf(admin, PAGE), PDF, point=point), headers=json)
    assert r.status == 409 and (await r.json())["rule"] == "R6"
    r = await admin.post(f"{PAGE}/annexes/{annex_id}/supprimer", data={"csrf": await csrf(admin, PAGE)})
    assert r.status == 409 and "déjà convoquée" in html.unescape(await r.text())
    assert len(annex_files(config)) == 1
    with CouncilStore.in_data_dir(config.data_dir) as store:
        assert [a.id for a in store.annexes(store.current().id, "cc-annexes")] == [annex_id]
