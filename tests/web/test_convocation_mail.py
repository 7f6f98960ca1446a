"""Convocations sent by email with proof (issue 16 point 1, R6): a real SMTP server
(aiosmtpd, started here on loopback) receives them; the personal link is followed over
HTTP without login; the admin's page and the council store show the proof, and R6 is
counted from the recorded sending, not the typed date."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
import sqlite3
import ssl
import time
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from deliberation.audit import audit_file
from deliberation.journal import read_verified
from deliberation.minutes import french_date
from deliberation.register import ConvocationAcknowledged, ConvocationSent
from signaling.convocation_mail import ACK_DOMAIN
from signaling.council_store import CouncilStore
from signaling.mailer import Outcome, SmtpSettings, send_each
from signaling.sitting import council_key, journal_path
from tests.web.admin_session import admin_client, csrf, web_config
from tests.web.smtp_mailbox import REFUSED, Mailbox, free_port
from web.appkeys import SIGNER, SITTINGS
from web.config_file import ConfigError, parse
from web.publications import council_register
from web.tls import ensure_self_signed


async def convened_sitting(admin, day: date, ident: str = "cc-prochain") -> str:
    """A sitting created, given one item and convened in /admin, as a secretariat does."""
    data = {
        "csrf": await csrf(admin),
        "id": ident,
        "title": "Conseil communautaire de printemps",
        "date": day.isoformat(),
        "time": "18:30",
        "mode": "visio",
    }
    assert (await admin.post("/admin/seances", data=data, allow_redirects=False)).status == 303
    page = f"/admin/seances/{ident}"
    item = {"csrf": await csrf(admin, page), "title": "Programme de voirie 2027", "kind": "deliberation"}
    assert (await admin.post(page + "/points", data=item, allow_redirects=False)).status == 303
    r = await admin.post(page + "/convoquer", data={"csrf": await csrf(admin, page), "confirm": "on"})
    assert r.status == 200
    return page


def row(body: str, member_id: str) -> str:
    return re.search(rf'<tr data-member="{member_id}".*?</tr>', body, re.S).group(0)


async def test_convocations_reach_the_members_acknowledged_by_link_with_the_proof_and_R6(
    aiohttp_client, tmp_path, mailbox
):
    box, port = mailbox
    smtp = SmtpSettings("127.0.0.1", port, "convocations@cc-trois-rivieres.example.fr", security="none")
    config = web_config(tmp_path, smtp)
    admin = await admin_client(aiohttp_client, config)
    day = date.today() + timedelta(days=30)
    page = await convened_sitting(admin, day)
    body = await (await admin.get(page)).text()
    assert "R6 — convocation pas encore envoyée" in body and "Convocation pas encore envoyée" in body

    # one address entered through the member form, two more as the DSI would, one refused by the relay
    form = {
        "csrf": await csrf(admin),
        "id": "m03",
        "first_name": "Sophie",
        "last_name": "Garnier",
        "email": "sophie.garnier@belcourt.example.fr",
    }
    assert (await admin.post("/admin/membres/modifier", data=form, allow_redirects=False)).status == 303
    with CouncilStore.in_data_dir(config.data_dir) as store:
        cid = store.current().id
        store.set_email(cid, "m04", "karim.benali@belcourt.example.fr")
        store.set_email(cid, "m07", REFUSED)
    body = await (await admin.get(page)).text()
    assert "à envoyer" in row(body, "m03") and "convocation sur papier" in row(body, "m05")
    assert "Envoyer la convocation aux élus" in body

    r = await admin.post(page + "/envoyer", data={"csrf": await csrf(admin, page)}, allow_redirects=False)
    assert r.status == 303

    # the real SMTP server received one message per accepted address, none for the refused one
    received = {tuple(rcpt): message_from_bytes(raw, policy=policy.default) for rcpt, raw in box.messages}
    assert set(received) == {("sophie.garnier@belcourt.example.fr",), ("karim.benali@belcourt.example.fr",)}
    sophie = received[("sophie.garnier@belcourt.example.fr",)]
    assert sophie["Subject"].startswith("Convocation : Conseil communautaire de printemps")
    assert "convocations@cc-trois-rivieres.example.fr" in sophie["From"]
    text = sophie.get_content()
    assert "Madame Sophie Garnier" in text and "Programme de voirie 2027" in text
    for salle in ("Belcourt — salle du conseil (siège)", "Vaux-sur-Ance — salle des fêtes", "Saint-Ferréol — mairie"):
        assert salle in text  # a visioconference: every designated salle, with its address
    links = re.findall(r"http://\S+/convocation/accuse\?token=\S+", text)
    karim_links = re.findall(
        r"http://\S+/convocation/accuse\?token=\S+", received[("karim.benali@belcourt.example.fr",)].get_content()
    )
    assert len(links) == 1 and len(karim_links) == 1 and links != karim_links  # personal

    body = await (await admin.get(page)).text()
    assert row(body, "m03").count('data-state="sent"') == 1 and "envoyée le" in row(body, "m03")
    failed = row(body, "m07")
    assert 'data-state="failed"' in failed and "550" in failed and "Boite pleine" in failed
    assert "R6 — convocation" not in body  # counted from the journaled sending, today
    assert "Convocation envoyée par courriel le" in body and "respecté, 29 jours francs" in body

    # the personal link, followed without any session, records the acknowledgement
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(links[0]) as ack:
            assert ack.status == 200
            ack_page = await ack.text()
        assert "Sophie Garnier, la réception de votre convocation" in ack_page and "est enregistrée le" in ack_page
        async with anonymous.get(links[0][:-3] + "AAA") as forged:
            assert forged.status == 400 and "Lien d'accusé de réception invalide" in html.unescape(await forged.text())
    body = await (await admin.get(page)).text()
    assert 'data-state="acknowledged"' in row(body, "m03") and "accusé de réception le" in row(body, "m03")
    assert 'data-state="sent"' in row(body, "m04")

    # the sitting is served: the signed journal records who and when, verified with the council's key
    entries = read_verified(journal_path(config.data_dir, "cc-prochain"), council_key(config.data_dir).public_key())
    signed = b"\n".join(e.raw for e in entries)
    events = [e.data["event"] for e in entries if e.kind == "event"]
    sent = {(ev["data"]["member_id"], ev["data"]["sent"]) for ev in events if ev["type"] == "ConvocationSent"}
    assert sent == {("m03", True), ("m04", True), ("m07", False)}
    assert [ev["data"]["member_id"] for ev in events if ev["type"] == "ConvocationAcknowledged"] == ["m03"]
    assert b"550" in signed and b"@" not in signed.replace(b"convocations@", b"")  # no address in the journal
    assert "inscrit au journal signé" in row(body, "m03")
    # the auditor's independent check re-decides them like every command
    audit_file(str(journal_path(config.data_dir, "cc-prochain")), council_key(config.data_dir).public_key(), True)

    # the proof is durable: another connection to the store reads every attempt and the acknowledgement
    with CouncilStore.in_data_dir(config.data_dir) as store:
        sendings = store.sendings(cid, "cc-prochain")
        assert {(x.member_id, x.sent) for x in sendings} == {("m03", True), ("m04", True), ("m07", False)}
        assert set(store.acknowledgements(cid, "cc-prochain")) == {"m03"}

    # sending again reaches only the one who failed (the relay still refuses): nobody gets it twice
    r = await admin.post(page + "/envoyer", data={"csrf": await csrf(admin, page)}, allow_redirects=False)
    assert r.status == 303 and len(box.messages) == 2
    with CouncilStore.in_data_dir(config.data_dir) as store:
        assert [x.member_id for x in store.sendings(cid, "cc-prochain")][3:] == ["m07"]


async def test_R6_is_counted_from_the_journaled_sending_late_when_it_leaves_too_close(
    aiohttp_client, tmp_path, mailbox
):
    """R6 (L.2121-12): a sitting in four days, its convocation sent today through a real
    relay: three clear days, late, and the date shown is the signed journal's. The council
    store's copy of the sending, changed afterwards, changes nothing: the journal counts."""
    box, port = mailbox
    config = web_config(tmp_path, SmtpSettings("127.0.0.1", port, "c@cc.example.fr", security="none"))
    admin = await admin_client(aiohttp_client, config)
    day = date.today() + timedelta(days=4)
    page = await convened_sitting(admin, day, "cc-urgent")
    with CouncilStore.in_data_dir(tmp_path) as store:
        cid = store.current().id
        store.set_email(cid, "m03", "sophie.garnier@belcourt.example.fr")
    r = await admin.post(page + "/envoyer", data={"csrf": await csrf(admin, page)}, allow_redirects=False)
    assert r.status == 303 and len(box.messages) == 1
    entries = read_verified(journal_path(tmp_path, "cc-urgent"), council_key(tmp_path).public_key())
    [sent_at] = [
        e.data["event"]["at"]
        for e in entries
        if e.kind == "event" and e.data["event"]["type"] == "ConvocationSent" and e.data["event"]["data"]["sent"]
    ]
    # the store's record moved a month back (as a hand-edited database would): R6 still reads the journal
    with sqlite3.connect(tmp_path / "council.sqlite3") as db:
        db.execute("UPDATE convocation_sending SET at = ?", ((day - timedelta(days=30)).isoformat() + "T09:00:00",))
    body = html.unescape(await (await admin.get(page)).text())
    assert "R6 — convocation tardive : 3 jour(s) franc(s)" in body
    assert f"Convocation envoyée par courriel le {french_date(sent_at)}" in body
    assert "non respecté, 3 jour(s) franc(s)" in body
    printable = html.unescape(await (await admin.get(page + "/convocation")).text())
    assert "R6 — convocation tardive : 3 jour(s) franc(s)" in printable and f"Le {french_date(sent_at)}" in printable


async def test_the_acknowledgement_link_expires_at_the_sitting_and_says_whom_to_ask(aiohttp_client, tmp_path, mailbox):
    """The acknowledgement link works until the sitting starts (the message says so); after,
    410 in plain French or as the JSON error shape, and nothing is recorded nor journaled.
    A link sent before links carried their expiry gets the sitting's, checked by the server."""
    box, port = mailbox
    config = web_config(tmp_path, SmtpSettings("127.0.0.1", port, "c@cc.example.fr", security="none"))
    admin = await admin_client(aiohttp_client, config)
    day = date.today() + timedelta(days=30)
    page = await convened_sitting(admin, day)
    with CouncilStore.in_data_dir(tmp_path) as store:
        cid = store.current().id
        store.set_email(cid, "m03", "sophie.garnier@belcourt.example.fr")
    r = await admin.post(page + "/envoyer", data={"csrf": await csrf(admin, page)}, allow_redirects=False)
    assert r.status == 303
    text = message_from_bytes(box.messages[0][1], policy=policy.default).get_content()
    [link] = re.findall(r"http://\S+/convocation/accuse\?token=\S+", text)
    assert f"Il est valable jusqu'au début de la séance, le {french_date(day.isoformat())} à 18 h 30." in text
    base, token = link.split("token=", 1)
    claims = admin.app[SIGNER].unseal(token, ACK_DOMAIN)
    with CouncilStore.in_data_dir(tmp_path) as store:
        starts = datetime.fromisoformat(store.sitting(cid, "cc-prochain").scheduled_at)
    assert claims["x"] == int(starts.timestamp())

    expired = base + "token=" + admin.app[SIGNER].seal({**claims, "x": int(time.time()) - 60}, ACK_DOMAIN)
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(expired) as r:
            body = html.unescape(await r.text())
            assert r.status == 410 and "Lien expiré" in body and "secrétariat de la communauté" in body
        async with anonymous.get(expired, headers={"Accept": "application/json"}) as r:
            data = await r.json()
            assert r.status == 410 and (data["ok"], data["rule"], data["field"]) == (False, "R6", "token")
    # a link without an expiry, after the sitting has started (moved to yesterday): refused too
    legacy = base + "token=" + admin.app[SIGNER].seal({k: v for k, v in claims.items() if k != "x"}, ACK_DOMAIN)
    with sqlite3.connect(tmp_path / "council.sqlite3") as db:
        db.execute(
            "UPDATE sitting SET scheduled_at = ? WHERE id = 'cc-prochain'", ((starts - timedelta(days=31)).isoformat(),)
        )
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(legacy) as r:
            assert r.status == 410
    with CouncilStore.in_data_dir(tmp_path) as store:
        assert store.acknowledgements(cid, "cc-prochain") == {}  # nothing recorded
    events = [
        e.data["event"]["type"]
        for e in read_verified(journal_path(tmp_path, "cc-prochain"), council_key(tmp_path).public_key())
        if e.kind == "event"
    ]
    assert "ConvocationAcknowledged" not in events  # nor journaled


async def test_a_sending_by_a_worker_not_serving_the_sitting_is_entered_in_the_signed_register(
    aiohttp_client, tmp_path, mailbox
):
    """Several workers: the one that sends may not serve the sitting, whose journal then
    records nothing of it. The sending and the acknowledgement are entered, dated, in the
    council's signed register instead, and R6 reads the sending there; the page says so."""
    box, port = mailbox
    config = web_config(tmp_path, SmtpSettings("127.0.0.1", port, "c@cc.example.fr", security="none"))
    admin = await admin_client(aiohttp_client, config)
    day = date.today() + timedelta(days=30)
    page = await convened_sitting(admin, day)
    with CouncilStore.in_data_dir(tmp_path) as store:
        cid = store.current().id
        store.set_email(cid, "m03", "sophie.garnier@belcourt.example.fr")
    service = admin.app[SITTINGS].pop("cc-prochain")  # served by « another worker »
    try:
        r = await admin.post(page + "/envoyer", data={"csrf": await csrf(admin, page)}, allow_redirects=False)
        assert r.status == 303 and len(box.messages) == 1
        body = html.unescape(await (await admin.get(page)).text())
        [link] = re.findall(
            r"http://\S+/convocation/accuse\?token=\S+",
            message_from_bytes(box.messages[0][1], policy=policy.default).get_content(),
        )
        async with aiohttp.ClientSession() as anonymous, anonymous.get(link) as ack:
            assert ack.status == 200
    finally:
        admin.app[SITTINGS]["cc-prochain"] = service
    assert "date inscrite au registre signé du conseil" in body
    assert "R6 — convocation" not in body and "respecté, 29 jours francs" in body
    pub = council_register(tmp_path, cid).read()
    assert [(e.sitting_id, e.member_id) for e in pub.of_type(ConvocationSent)] == [("cc-prochain", "m03")]
    assert [(e.sitting_id, e.member_id) for e in pub.of_type(ConvocationAcknowledged)] == [("cc-prochain", "m03")]
    journaled = [
        e.kind for e in read_verified(journal_path(tmp_path, "cc-prochain"), council_key(tmp_path).public_key())
    ]
    assert journaled.count("command") == 1  # only the convocation's agenda: nothing of the sending


async def test_without_smtp_the_admin_is_told_and_can_still_print(aiohttp_client, tmp_path):
    admin = await admin_client(aiohttp_client, web_config(tmp_path, None))
    day = date.today() + timedelta(days=30)
    page = await convened_sitting(admin, day)
    with CouncilStore.in_data_dir(tmp_path) as store:
        store.set_email(store.current().id, "m03", "sophie.garnier@belcourt.example.fr")
    body = html.unescape(await (await admin.get(page)).text())
    assert "L'envoi par courriel n'est pas configuré" in body and "Envoyer la convocation aux élus" not in body
    r = await admin.post(page + "/envoyer", data={"csrf": await csrf(admin)})
    assert r.status == 409 and "Refusé, rien n'a été envoyé" in html.unescape(await r.text())
    printable = await admin.get(page + "/convocation")
    assert printable.status == 200 and "Programme de voirie 2027" in await printable.text()
    with CouncilStore.in_data_dir(tmp_path) as store:
        assert store.sendings(store.current().id, "cc-prochain") == []


async def test_sending_before_the_convocation_is_refused_naming_R6(aiohttp_client, tmp_path, mailbox):
    box, port = mailbox
    config = web_config(tmp_path, SmtpSettings("127.0.0.1", port, "c@cc.example.fr", security="none"))
    admin = await admin_client(aiohttp_client, config)
    day = date.today() + timedelta(days=30)
    data = {
        "csrf": await csrf(admin),
        "id": "cc-prochain",
        "title": "Conseil",
        "date": day.isoformat(),
        "time": "18:30",
        "mode": "visio",
    }
    assert (await admin.post("/admin/seances", data=data, allow_redirects=False)).status == 303
    with CouncilStore.in_data_dir(tmp_path) as store:
        store.set_email(store.current().id, "m03", "sophie.garnier@belcourt.example.fr")
    page = "/admin/seances/cc-prochain"
    r = await admin.post(page + "/envoyer", data={"csrf": await csrf(admin, page)})
    assert r.status == 409 and "R6 — convoquez d'abord la séance" in html.unescape(await r.text())
    assert box.messages == []


async def test_a_bad_address_is_refused_in_french_and_changes_nothing(aiohttp_client, tmp_path):
    admin = await admin_client(aiohttp_client, web_config(tmp_path, None))
    form = {"csrf": await csrf(admin), "id": "m03", "first_name": "Sophie", "last_name": "Garnier", "email": "sophie@"}
    r = await admin.post("/admin/membres/modifier", data=form)
    assert r.status == 400 and "Champ « adresse électronique » : adresse attendue" in await r.text()
    with CouncilStore.in_data_dir(tmp_path) as store:
        assert store.emails(store.current().id) == {}


SERVER = '[server]\ndata_dir = "data"\n[proxy]\ntrusted = ["127.0.0.1"]\n'


def test_smtp_settings_are_read_and_checked_with_french_messages(tmp_path):
    import tomllib

    (tmp_path / "smtp-password").write_text("s3cret\n")
    good = tomllib.loads(
        SERVER + '[smtp]\nhost = "smtp.cc.example.fr"\nuser = "seance"\npassword_file = "smtp-password"\n'
        'from = "convocations@cc.example.fr"\n'
    )
    smtp = parse(good, base_dir=tmp_path).web.smtp
    assert smtp == SmtpSettings("smtp.cc.example.fr", 587, "convocations@cc.example.fr", "starttls", "seance", "s3cret")
    assert parse(tomllib.loads(SERVER), base_dir=tmp_path).web.smtp is None
    bad = tomllib.loads(
        SERVER + '[smtp]\nhost = "smtp.cc.example.fr"\nsecurity = "ssl"\nuser = "seance"\nfrom = "convocations"\n'
    )
    with pytest.raises(ConfigError) as err:
        parse(bad, base_dir=tmp_path)
    problems = {key: fr for key, fr, _ in err.value.problems}
    assert problems["smtp.security"] == "starttls, tls ou none attendu"
    assert "n'est pas une adresse électronique" in problems["smtp.from"]
    assert problems["smtp.password_file"] == "obligatoire avec smtp.user"


async def test_an_unreachable_relay_records_each_convocation_as_failed_with_the_reason(aiohttp_client, tmp_path):
    closed = free_port()  # nothing listens there: the connection is refused
    config = web_config(tmp_path, SmtpSettings("127.0.0.1", closed, "c@cc.example.fr", security="none"))
    admin = await admin_client(aiohttp_client, config)
    day = date.today() + timedelta(days=30)
    page = await convened_sitting(admin, day)
    with CouncilStore.in_data_dir(tmp_path) as store:
        cid = store.current().id
        store.set_email(cid, "m03", "sophie.garnier@belcourt.example.fr")
        store.set_email(cid, "m04", "karim.benali@belcourt.example.fr")
    r = await admin.post(page + "/envoyer", data={"csrf": await csrf(admin, page)}, allow_redirects=False)
    assert r.status == 303 and "envoyee=0&echec=2" in r.headers["Location"]
    body = html.unescape(await (await admin.get(page)).text())
    for member_id in ("m03", "m04"):
        assert 'data-state="failed"' in row(body, member_id) and "relais injoignable" in row(body, member_id)
    assert "R6 — convocation pas encore envoyée" in body  # nothing left: no sending journaled, R6 not met
    with CouncilStore.in_data_dir(tmp_path) as store:
        assert [(x.member_id, x.sent) for x in store.sendings(cid, "cc-prochain")] == [("m03", False), ("m04", False)]


def test_starttls_and_authentication_against_a_real_relay(tmp_path):
    """The relay as a council's usually is: STARTTLS required (RFC 3207), then AUTH
    (RFC 4954), its certificate checked against the authority configured (ca_file)."""
    cert, key = ensure_self_signed(tmp_path / "tls")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    box = Mailbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"seance", b"s3cret")
        return AuthResult(success=ok)

    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="localhost",
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        msg = EmailMessage()
        msg["To"], msg["Subject"] = "sophie.garnier@belcourt.example.fr", "Convocation"
        msg.set_content("Ordre du jour")
        good = SmtpSettings(
            "localhost", controller.port, "c@cc.example.fr", "starttls", "seance", "s3cret", ca_file=cert
        )
        assert send_each(good, [("m03", msg)]) == [Outcome("m03", "sophie.garnier@belcourt.example.fr", True)]
        assert [rcpt for rcpt, _ in box.messages] == [["sophie.garnier@belcourt.example.fr"]]
        untrusted = dataclasses.replace(good, ca_file=None)  # the system's authorities do not know this relay
        [unverified] = send_each(untrusted, [("m03", msg)])
        assert not unverified.sent and "CERTIFICATE_VERIFY_FAILED" in unverified.reason
        assert len(box.messages) == 1
    finally:
        controller.stop()


async def test_two_clicks_at_once_send_each_convocation_once(aiohttp_client, tmp_path, mailbox):
    box, port = mailbox
    config = web_config(tmp_path, SmtpSettings("127.0.0.1", port, "c@cc.example.fr", security="none"))
    admin = await admin_client(aiohttp_client, config)
    day = date.today() + timedelta(days=30)
    page = await convened_sitting(admin, day)
    with CouncilStore.in_data_dir(tmp_path) as store:
        cid = store.current().id
        for n in range(3, 9):
            store.set_email(cid, f"m0{n}", f"elu{n}@cc.example.fr")
    token = await csrf(admin, page)
    first, second = await asyncio.gather(
        admin.post(page + "/envoyer", data={"csrf": token}, allow_redirects=False),
        admin.post(page + "/envoyer", data={"csrf": token}, allow_redirects=False),
    )
    assert sorted([first.status, second.status]) == [303, 400]
    assert sorted(rcpt[0] for rcpt, _ in box.messages) == [f"elu{n}@cc.example.fr" for n in range(3, 9)]
