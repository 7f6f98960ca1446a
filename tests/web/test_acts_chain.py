"""The acts of a sitting from convocation to publication, in one run on the demo council
served for real (issue 16, « How it is shown »; R6, R21, R22, R26; L.2121-10, L.2121-12,
L.2121-15, L.2121-25, L.2131-1 CGCT), each step by its production path:

1. the secretariat creates a sitting, joins an annex, convenes it and sends the
   convocations from /admin through a real SMTP server (aiosmtpd); a member follows the
   personal link taken from the email received, without login;
2. the sitting is held from the agents', the president's and the councillors' own
   sessions through the websocket (/ws), and closed;
3. the substance of the debates is written in /admin, the text frozen (« Arrêter le
   texte ») on the approval item of the next sitting, which the council adopts by its
   vote (over /ws too); that sitting is closed the same evening and the PV signed
   afterwards (« Signer »), the usual order: its journal closed (R11), the signature is
   entered in the council's signed register; a second « Signer » is refused;
4. offline checks: the PDF is PDF/A (pikepdf), ``seance audit pv --register`` verifies it
   with the approving sitting's journal, the register and the council's public key (the
   journal alone does not hold that signature), ``seance audit register``
   verifies the register against what was downloaded and the journals;
5. the public Actes pages and the Atom feed, fetched without login, show the dates the
   signed journal and the council's signed register hold."""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from email import message_from_bytes, policy

import aiohttp
import pikepdf

from deliberation.actors import Actor, Role
from deliberation.adoption import ATTACHMENT
from deliberation.journal import load_public_pem, read_verified
from deliberation.minutes import french_date, french_time
from deliberation.register import verify_register
from signaling.council_store import CouncilStore
from signaling.datadir import DataDir
from signaling.mailer import SmtpSettings
from signaling.roles import Role as SessionRole
from signaling.sitting import council_key, journal_path
from tests.web.admin_session import admin_client, csrf, web_config
from tests.web.demo_annex import PDF, sha
from tests.web.minutes_admin import PRESENT, run
from web.app import ACCOUNTS
from web.appkeys import SITTINGS
from web.cli import main as seance_cli

ATOM = "{http://www.w3.org/2005/Atom}"
HELD = "cc-printemps"
NEXT = "cc-ete"
ITEMS = ("Programme de voirie 2027", "Tarifs de la piscine intercommunale")
SUBSTANCE = "Le vice-président présente le programme.\n\nMme Garnier demande le coût des travaux."


async def form(client, path: str, page: str, **data):
    """A form of ``page`` posted as the browser does, with that page's CSRF token."""
    return await client.post(path, data={"csrf": await csrf(client, page), **data}, allow_redirects=False)


async def create_sitting(admin, ident: str, title: str, day: date, items: tuple[str, ...]) -> str:
    page = f"/admin/seances/{ident}"
    data = {"id": ident, "title": title, "date": day.isoformat(), "time": "18:30", "mode": "visio"}
    assert (await form(admin, "/admin/seances", "/admin", **data)).status == 303
    for item in items:
        assert (await form(admin, page + "/points", page, title=item, kind="deliberation")).status == 303
    return page


def journal_events(data_dir, sitting_id: str) -> list[dict]:
    entries = read_verified(journal_path(data_dir, sitting_id), council_key(data_dir).public_key())
    return [e.data["event"] for e in entries if e.kind == "event"]


def register(data_dir, council_id: str):
    """The council's register as an auditor reads it: verified with the public key only."""
    content = (data_dir / "registre.jsonl").read_bytes()
    key = load_public_pem(DataDir.of(data_dir).council_public_key.read_bytes())
    return verify_register(content, key, council_id)[1]


def feed_dates(feed: ET.Element) -> dict[str | None, str | None]:
    """Each Atom entry's link and its « updated » date (RFC 4287 §4.2.15)."""
    dates = {}
    for entry in feed.iter(f"{ATOM}entry"):
        link, updated = entry.find(f"{ATOM}link"), entry.find(f"{ATOM}updated")
        assert link is not None and updated is not None
        dates[link.get("href")] = updated.text
    return dates


class Screen:
    """One person's screen on the sitting: their own login session and its websocket (/ws),
    commands sent as the pages send them, each awaited until the server acknowledges it."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.sent = 0

    @classmethod
    async def open(cls, aiohttp_client, server, sitting_id: str, login: str, role: SessionRole, **claims) -> Screen:
        accounts = server.app[ACCOUNTS]
        accounts.set_account(login, "pw-secret-1", role, **claims)
        client = await aiohttp_client(server)
        r = await client.post("/login", data={"login": login, "password": "pw-secret-1"}, allow_redirects=False)
        assert r.status == 303
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "hello", "sitting": sitting_id, "id": "h"})
        screen = cls(ws)
        welcome = await screen.until(lambda m: m.get("type") in ("welcome", "error"))
        assert welcome["type"] == "welcome" and welcome["role"] == role.value, welcome
        return screen

    async def until(self, wanted) -> dict:
        """The first message ``wanted`` accepts, among the pushes of the sitting (bounded)."""
        for _ in range(500):
            msg = await self.ws.receive_json(timeout=10)
            if wanted(msg):
                return msg
        raise AssertionError("no such message among 500")

    async def command(self, command: dict) -> None:
        self.sent += 1
        ident = f"c{self.sent}"
        await self.ws.send_json({"type": "command", "id": ident, "command": command})
        reply = await self.until(lambda m: m.get("re") == ident and m.get("type") in ("ack", "error"))
        assert reply["type"] == "ack", (command, reply)


async def hold(aiohttp_client, server, sitting_id: str, items: list[str]) -> Screen:
    """The sitting held from the screens of the agents, the president and the councillors,
    through the websocket: presences, secretary, opening, each item voted « pour » by
    everyone present; the president's screen is returned, to close the sitting. The salles'
    transmission and the public stream are what the media plane reports (no screen sends them)."""
    service = server.app[SITTINGS][sitting_id]
    president = await Screen.open(
        aiohttp_client, server, sitting_id, "president", SessionRole.PRESIDENT, member_id="m01", salle_id="belcourt"
    )
    voters = {"m01": president}
    for salle, members in PRESENT.items():
        agent = await Screen.open(
            aiohttp_client,
            server,
            sitting_id,
            f"agent-{salle}",
            SessionRole.AGENT,
            salle_id=salle,
            agent_id=f"a-{salle}",
        )
        for m in members:
            await agent.command({"type": "CheckIn", "member_id": m, "salle_id": salle})
            if m != "m01":
                voters[m] = await Screen.open(
                    aiohttp_client, server, sitting_id, f"elu-{m}", SessionRole.COUNCILLOR, member_id=m
                )
        await run(service, Actor(Role.SYSTEM), {"type": "ReportTransmission", "salle_id": salle, "transmitting": True})
    await run(service, Actor(Role.SYSTEM), {"type": "ReportPublicStream", "up": True})
    await president.command({"type": "AppointSecretary", "member_id": "m03"})
    await president.command({"type": "OpenSitting"})
    for item_id in items:
        await president.command({"type": "TakeUpItem", "item_id": item_id})
        await president.command({"type": "OpenVote", "item_id": item_id})
        for m, screen in voters.items():
            await screen.command({"type": "CastBallot", "item_id": item_id, "voter_id": m, "choice": "pour"})
        await president.command({"type": "CloseVote", "item_id": item_id})
    return president


async def test_the_whole_chain_from_the_convocation_mailed_to_the_acts_published_and_audited(
    aiohttp_client, tmp_path, mailbox, capsys
):
    box, port = mailbox
    smtp = SmtpSettings("127.0.0.1", port, "convocations@cc-trois-rivieres.example.fr", security="none")
    config = web_config(tmp_path, smtp)
    admin = await admin_client(aiohttp_client, config)  # the demo council, the DSI logged in
    with CouncilStore.in_data_dir(tmp_path) as store:
        cid = store.current().id

    # 1. convened and sent: two addresses entered in the member form, an annex joined to item 1
    member = {
        "id": "m03",
        "first_name": "Sophie",
        "last_name": "Garnier",
        "email": "sophie.garnier@belcourt.example.fr",
    }
    assert (await form(admin, "/admin/membres/modifier", "/admin", **member)).status == 303
    member = {"id": "m04", "first_name": "Karim", "last_name": "Benali", "email": "karim.benali@belcourt.example.fr"}
    assert (await form(admin, "/admin/membres/modifier", "/admin", **member)).status == 303
    held_day = date.today() + timedelta(days=20)
    page = await create_sitting(admin, HELD, "Conseil communautaire de printemps", held_day, ITEMS)
    with CouncilStore.in_data_dir(tmp_path) as store:
        item_ids = [i.item_id for i in store.agenda(cid, HELD)]
    upload = aiohttp.FormData()
    for name, value in (("csrf", await csrf(admin, page)), ("point", item_ids[0]), ("nature", "note")):
        upload.add_field(name, value)
    upload.add_field("fichier", PDF, filename="Note de synthèse voirie.pdf", content_type="application/pdf")
    r = await admin.post(page + "/annexes", data=upload)
    assert r.status == 200 and "Annexe jointe." in html.unescape(await r.text())
    assert (await form(admin, page + "/convoquer", page, confirm="on")).status == 303
    assert (await form(admin, page + "/envoyer", page)).status == 303

    received = {rcpt[0]: message_from_bytes(raw, policy=policy.default) for rcpt, raw in box.messages}
    assert set(received) == {"sophie.garnier@belcourt.example.fr", "karim.benali@belcourt.example.fr"}
    sophie = received["sophie.garnier@belcourt.example.fr"]
    text = sophie.get_body(("plain",)).get_content()
    assert all(title in text for title in ITEMS) and "Madame Sophie Garnier" in text
    [annex] = list(sophie.iter_attachments())
    assert annex.get_filename().endswith(".pdf") and sha(annex.get_content()) == sha(PDF)
    [link] = re.findall(r"http://\S+/convocation/accuse\?token=\S+", text)
    async with aiohttp.ClientSession() as anonymous, anonymous.get(link) as ack:  # no session: from the email
        assert ack.status == 200
        ack_page = html.unescape(await ack.text())

    events = journal_events(tmp_path, HELD)
    sent = {ev["data"]["member_id"]: ev["at"] for ev in events if ev["type"] == "ConvocationSent"}
    acknowledged = {ev["data"]["member_id"]: ev["at"] for ev in events if ev["type"] == "ConvocationAcknowledged"}
    assert set(sent) == {"m03", "m04"} and set(acknowledged) == {"m03"}
    sent_at, ack_at = min(sent.values()), acknowledged["m03"]
    assert f"est enregistrée le {french_date(ack_at)} à {french_time(ack_at)}" in ack_page  # told, as journaled
    sitting_page = html.unescape(await (await admin.get(page)).text())
    sophie_row = re.search(r'<tr data-member="m03".*?</tr>', sitting_page, re.S).group(0)
    assert f"accusé de réception le {french_date(ack_at)}" in sophie_row
    assert f"Convocation envoyée par courriel le {french_date(sent_at)}" in sitting_page
    # R6 counted from the journaled sending: about twenty days ahead, the clear days between
    clear_days = (held_day - date.fromisoformat(sent_at[:10])).days - 1
    assert "R6 — convocation" not in sitting_page and f"respecté, {clear_days} jours francs" in sitting_page

    # the convocation published before the sitting, dated by the journaled sending
    base = str(admin.make_url("/actes"))
    async with aiohttp.ClientSession() as public:
        async with public.get(base) as r:
            index = await r.text()
        coming = re.search(rf'<li data-seance="{HELD}">.*?</li>', index, re.S).group(0)
        convened = register(tmp_path, cid).convocation(HELD)
        assert convened is not None and f"publiée le {french_date(convened.at)}" in coming
        async with public.get(f"{base}/{HELD}/convocation") as r:
            notice = html.unescape(await r.text())
        assert r.status == 200 and f'<p class="right">Le {french_date(sent_at)}</p>' in notice and ITEMS[1] in notice

    # 2. the sitting held and closed
    await (await hold(aiohttp_client, admin.server, HELD, item_ids)).command({"type": "CloseSitting"})
    assert admin.app[SITTINGS][HELD].seance.state.status == "closed"

    # 3. the procès-verbal written, frozen on the next sitting's approval item, adopted, signed
    pv = f"/admin/seances/{HELD}/proces-verbal"
    assert (await form(admin, pv + "/texte", pv, item=item_ids[0], text=SUBSTANCE)).status == 303
    approval = f"Approbation du procès-verbal de la séance du {french_date(held_day.isoformat())}"
    next_page = await create_sitting(
        admin, NEXT, "Conseil communautaire d'été", held_day + timedelta(days=30), (approval, "Rapport d'activité")
    )
    assert (await form(admin, next_page + "/convoquer", next_page, confirm="on")).status == 303
    body = html.unescape(await (await admin.get(pv)).text())
    option = re.search(rf'<option value="({NEXT}/[^"]+)" selected>', body)
    assert option, "the next sitting's approval item is offered, preselected"
    assert (await form(admin, pv + "/arreter", pv, approbation=option.group(1))).status == 303
    with CouncilStore.in_data_dir(tmp_path) as store:
        frozen = store.minutes_link(cid, HELD)
    assert "Mme Garnier demande le coût des travaux." in frozen.html
    approving = admin.app[SITTINGS][NEXT]
    approval_id = option.group(1).split("/")[1]
    assert approving.seance.state.minutes_links[approval_id]["sha256"] == frozen.sha256
    with CouncilStore.in_data_dir(tmp_path) as store:
        next_items = [i.item_id for i in store.agenda(cid, NEXT)]
    assert next_items[0] == approval_id
    president = await hold(aiohttp_client, admin.server, NEXT, next_items)  # the council adopts it by its vote
    await president.command({"type": "CloseSitting"})  # the adopting sitting closes that evening
    assert approving.seance.state.status == "closed"
    # days later, the PV is signed: its adopting journal closed (R11), the register takes the signature
    signed = await form(admin, pv + "/signer", pv)
    assert signed.status == 303, html.unescape(await signed.text())
    body = html.unescape(await (await admin.get(pv)).text())
    assert "Procès-verbal signé le" in body and "au registre signé du conseil" in body
    assert "MinutesSigned" not in [e["type"] for e in journal_events(tmp_path, NEXT)]
    signature = register(tmp_path, cid).minutes_signed(HELD)
    assert signature is not None and (signature.approving_sitting_id, signature.item_id) == (NEXT, approval_id)
    assert signature.by == "dsi"
    signed_file = DataDir.of(tmp_path).sittings / HELD / "proces-verbal-signe.pdf"
    assert hashlib.sha256(signed_file.read_bytes()).hexdigest() == signature.pdf_sha256
    # a second « Signer » is refused in plain French, nothing written (R22)
    before = ((tmp_path / "registre.jsonl").read_bytes(), signed_file.read_bytes())
    again = await form(admin, pv + "/signer", "/admin")  # the page has no button now: a stale tab
    assert again.status == 409 and "déjà signé" in html.unescape(await again.text())
    assert ((tmp_path / "registre.jsonl").read_bytes(), signed_file.read_bytes()) == before
    assert list(signed_file.parent.glob("*.tmp")) == []

    # 4. offline: PDF/A, its digest and signature against the adopting sitting's journal and the register
    async with aiohttp.ClientSession() as public, public.get(f"{base}/{HELD}/proces-verbal.pdf") as r:
        assert r.status == 200 and r.content_type == "application/pdf"
        pdf = await r.read()
    doc = pikepdf.open(io.BytesIO(pdf))
    with doc.open_metadata() as meta:
        assert meta.pdfa_status == "3B"
    attached = doc.attachments[ATTACHMENT].get_file().read_bytes()
    assert hashlib.sha256(attached).hexdigest() == frozen.sha256
    assert f"Convocation adressée le {french_date(sent_at)}" in attached.decode()  # the journaled sending
    (tmp_path / "pv.pdf").write_bytes(pdf)
    key = str(DataDir.of(tmp_path).council_public_key)
    held_journal, next_journal = str(journal_path(tmp_path, HELD)), str(journal_path(tmp_path, NEXT))
    audit_pv = ["audit", "pv", str(tmp_path / "pv.pdf"), "--key", key, "--journal"]
    with_register = ["--register", str(tmp_path / "registre.jsonl")]
    capsys.readouterr()
    # the CLI runs without an event loop of its own: in a thread (pyHanko's validation runs one)
    assert await asyncio.to_thread(seance_cli, [*audit_pv, next_journal, *with_register]) == 0
    out = capsys.readouterr().out
    assert "procès-verbal adopté et signé" in out and "signature PAdES (Ed25519) de la clé du conseil valide" in out
    assert await asyncio.to_thread(seance_cli, [*audit_pv, next_journal]) == 1  # signed in the register, not there
    assert "aucune signature de procès-verbal adopté" in capsys.readouterr().out
    # not the adopting journal, register or not
    assert await asyncio.to_thread(seance_cli, [*audit_pv, held_journal, *with_register]) == 1

    # 5. published without login, with the dates the register and the journals hold
    entered = register(tmp_path, cid)
    liste, minutes = entered.liste(HELD), entered.minutes(HELD)
    assert liste is not None and minutes is not None and minutes.approving_sitting_id == NEXT
    adoption_closed = next(
        v["closed_at"] for v in approving.seance.state.item(approval_id)["votes"] if v["subject"] == "motion"
    )
    async with aiohttp.ClientSession() as public:
        async with public.get(base) as r:
            assert r.status == 200
            index = await r.text()
        row = re.search(rf'<tr data-seance="{HELD}">.*?</tr>', index, re.S).group(0)
        assert f"publiée le {french_date(liste.at)}" in row and "Procès-verbal adopté (PDF)" in row
        assert f"adopté le {french_date(adoption_closed)}, publié le {french_date(minutes.at)}" in row

        async with public.get(f"{base}/{HELD}") as r:
            assert r.status == 200
            listing = await r.text()
        assert f"Publiée le {french_date(liste.at)} à {french_time(liste.at)}" in listing
        assert f'href="/actes/{HELD}/proces-verbal.pdf" id="lien-pv"' in listing
        assert f"publié le {french_date(minutes.at)}" in listing
        numbers = re.findall(rf'href="/actes/{HELD}/(\d{{8}}-\d{{2}})"', listing)
        assert len(numbers) == 2 and all(n.startswith(held_day.strftime("%Y%m%d")) for n in numbers)

        async with public.get(f"{base}/{HELD}/{numbers[0]}") as r:
            assert r.status == 200
            deliberation = await r.read()
        assert ITEMS[0] in deliberation.decode() and liste.journal_head in deliberation.decode()
        assert hashlib.sha256(deliberation).hexdigest() == liste.documents[numbers[0]]
        async with public.get(f"{base}/{HELD}/{numbers[0]}.pdf") as r:
            assert r.status == 200 and r.content_type == "application/pdf"
            with pikepdf.open(io.BytesIO(await r.read())).open_metadata() as meta:
                assert meta.pdfa_status == "3B"

        async with public.get(f"{base}/flux.atom") as r:
            assert r.status == 200 and r.content_type == "application/atom+xml"
            feed = ET.fromstring(await r.read())
    updated = feed_dates(feed)
    assert updated[f"{base}/{HELD}"] == liste.at
    assert updated[f"{base}/{HELD}/proces-verbal.pdf"] == minutes.at
    assert updated[f"{base}/{NEXT}/convocation"] == entered.convocation(NEXT).at

    # the register, what was downloaded and both journals agree, offline
    (tmp_path / "deliberation.html").write_bytes(deliberation)
    downloaded = [str(tmp_path / "deliberation.html"), str(tmp_path / "pv.pdf")]
    journals = ["--journal", held_journal, "--journal", next_journal]
    capsys.readouterr()
    code = await asyncio.to_thread(
        seance_cli, ["audit", "register", str(tmp_path / "registre.jsonl"), *downloaded, *journals, "--key", key]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"délibération n° {numbers[0]}" in out and f"procès-verbal de la séance « {HELD} »" in out
    assert "chaîne et signatures vérifiées" in out
