"""The annexes of the agenda's items (issue 16 point 1, L.2121-12): PDFs joined in /admin
before the convocation, stored under the data directory with their digest, refused in
French when they are not PDFs, too large, or the sitting is convened; deleted before."""

from __future__ import annotations

import hashlib
import html
import re
import stat
import time
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy

import aiohttp

from deliberation.minutes import french_date
from signaling import convocation_mail, datadir
from signaling.council_store import CouncilStore
from signaling.mailer import SmtpSettings
from signaling.roles import Role
from tests.web.admin_session import admin_client, csrf, web_config
from tests.web.demo_annex import PDF, join_to_demo
from web.admin.annexes import MAX_ANNEX_BYTES
from web.app import create_app
from web.appkeys import SESSION_COOKIE, SIGNER
from web.commands.demo import seed_demo

PAGE = "/admin/seances/cc-annexes"


async def sitting_with_item(admin) -> None:
    day = date.today() + timedelta(days=30)
    data = {
        "csrf": await csrf(admin),
        "id": "cc-annexes",
        "title": "Conseil communautaire d'été",
        "date": day.isoformat(),
        "time": "18:30",
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


async def send_with_annexes(admin, config, annexes: list[bytes]) -> None:
    """Two annexes joined, the sitting convened, two members given addresses, the convocation sent."""
    point = await item_id(config)
    for n, content in enumerate(annexes):
        form = upload_form(await csrf(admin, PAGE), content, name=f"Annexe {n + 1} budget.pdf", point=point)
        assert (await admin.post(PAGE + "/annexes", data=form, allow_redirects=False)).status == 303
    r = await admin.post(PAGE + "/convoquer", data={"csrf": await csrf(admin, PAGE), "confirm": "on"})
    assert r.status == 200
    with CouncilStore.in_data_dir(config.data_dir) as store:
        cid = store.current().id
        store.set_email(cid, "m03", "sophie.garnier@belcourt.example.fr")
        store.set_email(cid, "m04", "karim.benali@belcourt.example.fr")
    r = await admin.post(PAGE + "/envoyer", data={"csrf": await csrf(admin, PAGE)}, allow_redirects=False)
    assert r.status == 303


async def test_the_convocation_carries_the_annexes_attached_with_their_digests(aiohttp_client, tmp_path, mailbox):
    box, port = mailbox
    smtp = SmtpSettings("127.0.0.1", port, "convocations@cc-trois-rivieres.example.fr", security="none")
    config = web_config(tmp_path, smtp)
    admin = await admin_client(aiohttp_client, config)
    await sitting_with_item(admin)
    second = PDF + b"% budget annexe\n" * 100
    await send_with_annexes(admin, config, [PDF, second])

    assert len(box.messages) == 2
    for _rcpt, raw in box.messages:
        mail = message_from_bytes(raw, policy=policy.default)
        parts = list(mail.iter_attachments())
        received = {p.get_filename(): hashlib.sha256(p.get_content()).hexdigest() for p in parts}
        assert received == {
            "Annexe 1 budget.pdf": hashlib.sha256(PDF).hexdigest(),
            "Annexe 2 budget.pdf": hashlib.sha256(second).hexdigest(),
        }
        assert all(p.get_content_type() == "application/pdf" for p in parts)
        text = mail.get_body(("plain",)).get_content()
        assert "Documents joints :" in text and hashlib.sha256(second).hexdigest() in text
        assert "/convocation/annexe" not in text


async def test_annexes_over_the_bound_are_personal_links(aiohttp_client, tmp_path, mailbox, monkeypatch):
    monkeypatch.setattr(convocation_mail, "MAX_ATTACHED_BYTES", len(PDF))  # two annexes: over it
    box, port = mailbox
    smtp = SmtpSettings("127.0.0.1", port, "convocations@cc-trois-rivieres.example.fr", security="none")
    config = web_config(tmp_path, smtp)
    admin = await admin_client(aiohttp_client, config)
    await sitting_with_item(admin)
    await send_with_annexes(admin, config, [PDF, PDF + b"%%\n"])

    links = {}
    for rcpt, raw in box.messages:
        mail = message_from_bytes(raw, policy=policy.default)
        assert list(mail.iter_attachments()) == []
        text = mail.get_body(("plain",)).get_content()
        assert "lien personnel, ne le transmettez pas" in text
        links[rcpt[0]] = re.findall(r"http://\S+/convocation/annexe\?token=\S+", text)
    sophie, karim = links["sophie.garnier@belcourt.example.fr"], links["karim.benali@belcourt.example.fr"]
    assert len(sophie) == 2 and not set(sophie) & set(karim)  # each member's own links
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(sophie[0]) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
            assert hashlib.sha256(await r.read()).hexdigest() == hashlib.sha256(PDF).hexdigest()
            assert r.headers["Content-Disposition"].startswith("inline; ")
        async with anonymous.get(sophie[0][:-3] + "AAA") as forged:
            assert forged.status == 400 and "Lien vers l'annexe invalide" in html.unescape(await forged.text())

    # each link carries its expiry, 15 days after the sitting, and the message says so
    day = date.today() + timedelta(days=30)
    token = sophie[0].split("token=", 1)[1]
    claims = admin.app[SIGNER].unseal(token, convocation_mail.ANNEX_DOMAIN)
    until = datetime.fromtimestamp(claims["x"]).astimezone()
    assert until.date() == day + timedelta(days=convocation_mail.ANNEX_LINK_DAYS)
    assert f"lien valable jusqu'au {french_date(until.isoformat())}" in text
    # the same link once expired (a token whose expiry is past, as the server would have sealed
    # it): refused in plain French, saying whom to ask, and as one JSON shape for a program
    expired = admin.app[SIGNER].seal({**claims, "x": int(time.time()) - 60}, convocation_mail.ANNEX_DOMAIN)
    url = sophie[0].split("token=", 1)[0] + "token=" + expired
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(url) as r:
            page = html.unescape(await r.text())
            assert r.status == 410 and r.content_type == "text/html"
            assert "Lien expiré" in page and "n'est plus valable depuis le" in page and "secrétariat" in page
        async with anonymous.get(url, headers={"Accept": "application/json"}) as r:
            body = await r.json()
            assert r.status == 410 and (body["ok"], body["rule"], body["field"]) == (False, "R6", "token")
            assert "secrétariat" in body["message"] and body["expired_at"]
    # a link sent before links carried an expiry gets the sitting's: still valid before it
    legacy = admin.app[SIGNER].seal({k: v for k, v in claims.items() if k != "x"}, convocation_mail.ANNEX_DOMAIN)
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(sophie[0].split("token=", 1)[0] + "token=" + legacy) as r:
            assert r.status == 200


async def test_the_councillors_page_lists_the_annexes_served_to_the_councils_members_only(aiohttp_client, tmp_path):
    config = web_config(tmp_path, None)
    seed_demo(config.data_dir)
    client = await aiohttp_client(create_app(config))
    annex = join_to_demo(config, PDF)
    url = f"/elu/annexes/demo/{annex.id}"
    signer = client.app[SIGNER]

    r = await client.get(url, allow_redirects=False)
    assert r.status in (302, 303) and r.headers["Location"].startswith("/login")  # no session: log in first

    client.session.cookie_jar.update_cookies({SESSION_COOKIE: signer.issue(Role.COUNCILLOR, member="m03")})
    page = html.unescape(await (await client.get("/elu?seance=demo")).text())
    assert f'href="{url}"' in page and "Plan de zonage.pdf" in page and "Ordre du jour et documents" in page
    r = await client.get(url)
    assert r.status == 200 and await r.read() == PDF and r.headers["Content-Type"] == "application/pdf"
    assert 'filename="Plan de zonage.pdf"' in r.headers["Content-Disposition"]

    client.session.cookie_jar.update_cookies({SESSION_COOKIE: signer.issue(Role.COUNCILLOR, member="x-autre")})
    r = await client.get(url)
    assert r.status == 403 and "réservées aux membres du conseil" in html.unescape(await r.text())

    client.session.cookie_jar.update_cookies({SESSION_COOKIE: signer.issue(Role.AUDITOR)})
    assert (await client.get(url)).status == 200  # the council's staff
    assert (await client.get("/elu/annexes/demo/0000000000000000")).status == 404
