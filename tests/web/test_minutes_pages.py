"""The procès-verbal finished in Séance (issue 16 point 2, R22, L.2121-15): on the demo
council served for real, the secretariat writes the substance of the debates (each version
kept and dated), submits the text to the « Approbation du procès-verbal » item of the next
sitting (its digest journaled there), the council adopts it by a vote, the PV is signed as
a PDF/A whose digest the signed journal holds, and ``seance audit pv`` checks it offline."""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import re
from datetime import date

import pikepdf

from deliberation.actors import Role
from deliberation.adoption import ATTACHMENT
from deliberation.minutes import french_date
from signaling.council_store import CouncilStore
from signaling.datadir import DataDir
from signaling.sitting import journal_path
from tests.minutes_support import closed_demo_sitting
from tests.web.minutes_admin import PRESIDENT, PV, admin_client, adopt, next_sitting, post, run
from web.app import ACCOUNTS
from web.appkeys import SITTINGS
from web.cli import main as seance_cli
from web.publications import council_register


def publications_row(dashboard: str) -> str:
    """The demo sitting's row of the dashboard's « Publication des actes »."""
    table = re.search(r'<table class="data" id="table-publications">.*?</table>', dashboard, re.S).group(0)
    return re.search(r'<tr data-seance="demo">.*?</tr>', table, re.S).group(0)


def publication_cells(dashboard: str) -> tuple[str, str]:
    """The demo sitting's liste and procès-verbal cells on the dashboard."""
    cells = re.findall(r"<td>(.*?)</td>", publications_row(dashboard), re.S)
    return cells[-2], cells[-1]


async def test_pv_written_with_versions_adopted_at_the_next_sitting_signed_and_audited(
    aiohttp_client, tmp_path, capsys
):
    closed_demo_sitting(tmp_path)
    admin = await admin_client(aiohttp_client, tmp_path)

    body = html.unescape(await (await admin.get(PV)).text())
    assert "Procès-verbal de la séance du 26 novembre 2026" in body and "Projet en cours de rédaction" in body
    assert "Sophie Garnier (7 s)" in body and "(10 s)" in body  # the floor events, measured
    assert "est nommé·e" in body  # the nomination names the persons appointed

    # two versions of item 2's text, each kept and dated; a bad item changes nothing
    for text in ("Le président présente le rapport.", "Le président présente le rapport.\n\nM. Faure interroge."):
        r = await post(admin, PV + "/texte", PV, item="marche-collecte", text=text)
        assert r.status == 303
    r = await post(admin, PV + "/texte", PV, item="inconnu", text="x")
    assert r.status == 400 and "n'est pas à l'ordre du jour" in html.unescape(await r.text())
    with CouncilStore.in_data_dir(tmp_path) as store:
        cid = store.current().id
        versions = store.text_versions(cid, "demo")
    assert [(v.item_id, v.version, v.saved_by) for v in versions] == [
        ("marche-collecte", 1, "secretariat"),
        ("marche-collecte", 2, "secretariat"),
    ]
    body = html.unescape(await (await admin.get(PV)).text())
    assert "2 version(s) enregistrée(s)" in body and "Version 1, le" in body
    preview = await (await admin.get(PV + "/apercu.html")).text()
    assert "<p>M. Faure interroge.</p>" in preview

    # the next sitting: its approval item is offered; nothing can be signed before the vote
    page = await next_sitting(admin)
    body = html.unescape(await (await admin.get(PV)).text())
    option = re.search(r'<option value="(cc-suivant/[^"]+)" selected>', body)
    assert option, "the approval item of the next sitting is offered, preselected"
    r = await post(admin, PV + "/signer", PV)
    assert r.status == 409 and "rien à signer" in html.unescape(await r.text())
    r = await post(admin, PV + "/arreter", PV, approbation="demo/pv-precedent")  # not a later sitting
    assert r.status == 400 and "Choisissez le point" in html.unescape(await r.text())
    assert (await post(admin, PV + "/arreter", PV, approbation=option.group(1))).status == 303
    r = await post(admin, PV + "/texte", PV, item="marche-collecte", text="Changé après coup.")
    assert r.status == 409 and "ne change plus" in html.unescape(await r.text())
    with CouncilStore.in_data_dir(tmp_path) as store:
        link = store.minutes_link(cid, "demo")
        assert len(store.text_versions(cid, "demo")) == 2  # the refusal changed nothing
    assert link.sha256 == hashlib.sha256(link.html.encode()).hexdigest() and "M. Faure interroge." in link.html

    service = admin.app[SITTINGS]["cc-suivant"]
    item_id = option.group(1).split("/")[1]
    assert service.seance.state.minutes_links[item_id]["sha256"] == link.sha256  # journaled before the vote
    r = await post(admin, PV + "/signer", PV)
    assert r.status == 409 and "pas encore adopté" in html.unescape(await r.text())

    await adopt(service, item_id)
    body = html.unescape(await (await admin.get(PV)).text())
    assert "Adopté par le conseil, à signer." in body and "pour 9, contre 0" in body
    dashboard = html.unescape(await (await admin.get("/admin")).text())
    assert 'id="registre-invalide"' not in dashboard  # the register verifies
    liste_cell, pv_cell = publication_cells(dashboard)
    # the dates the dashboard judges are the council's signed register's: the liste of the
    # 26 November sitting entered when this server first saw it closed, after its week
    entered = council_register(tmp_path, cid).read().liste("demo")
    assert entered is not None and f"publiée le {french_date(entered.at)}" in liste_cell
    assert ("en retard" in liste_cell) == (date.fromisoformat(entered.at[:10]) > date(2026, 12, 3))
    assert "adopté, à signer et publier avant le" in pv_cell
    assert "en retard" not in pv_cell  # adopted today: a week to publish it
    assert (await post(admin, PV + "/signer", PV)).status == 303
    body = html.unescape(await (await admin.get(PV)).text())
    assert "Procès-verbal signé le" in body and "Adopté et signé." in body
    dashboard = html.unescape(await (await admin.get("/admin")).text())
    published = council_register(tmp_path, cid).read().minutes("demo")
    assert published is not None and f"publié le {french_date(published.at)}" in publication_cells(dashboard)[1]

    r = await admin.get(PV + ".pdf")
    assert r.status == 200 and r.content_type == "application/pdf"
    pdf = await r.read()
    r = await post(admin, PV + "/signer", PV)  # a second click: refused, the signed file unchanged
    assert r.status == 409 and "déjà signé" in html.unescape(await r.text())
    assert (await (await admin.get(PV + ".pdf")).read()) == pdf
    assert [p.name for p in (tmp_path / "sittings" / "demo").glob("*.tmp")] == []
    doc = pikepdf.open(io.BytesIO(pdf))
    with doc.open_metadata() as meta:
        assert meta.pdfa_status == "3B"
    attached = doc.attachments[ATTACHMENT].get_file().read_bytes()
    assert hashlib.sha256(attached).hexdigest() == link.sha256

    # offline: the PDF against the journal of the sitting that adopted it
    pdf_path = tmp_path / "pv.pdf"
    pdf_path.write_bytes(pdf)
    key = str(DataDir.of(tmp_path).council_public_key)
    journal = str(journal_path(tmp_path, "cc-suivant"))
    capsys.readouterr()
    # the CLI runs as its own process, without an event loop: in a thread here (pyHanko's
    # validation runs its own loop)
    audit = ["audit", "pv", str(pdf_path), "--journal", journal, "--key", key, "--allow-open"]
    assert await asyncio.to_thread(seance_cli, audit) == 0
    assert "signature PAdES (Ed25519) de la clé du conseil valide" in capsys.readouterr().out  # inside the PDF
    other = tmp_path / "autre.pdf"
    other.write_bytes(pdf[:-10] + b"%%EOF\n\n\n\n\n")
    audit = ["audit", "pv", str(other), "--journal", journal, "--key", key, "--allow-open"]
    assert await asyncio.to_thread(seance_cli, audit) == 1
    assert page


async def test_the_secretary_of_the_sitting_writes_from_their_own_session_another_councillor_cannot(
    aiohttp_client, tmp_path
):
    closed_demo_sitting(tmp_path)  # the rehearsal appoints Sophie Garnier (m03) secretary (R10)
    admin = await admin_client(aiohttp_client, tmp_path)
    accounts = admin.app[ACCOUNTS]
    accounts.set_account("s.garnier", "pw-secret-2", Role.COUNCILLOR, member_id="m03")
    accounts.set_account("k.benali", "pw-secret-3", Role.COUNCILLOR, member_id="m04")

    other = await aiohttp_client(admin.server)
    r = await other.post("/login", data={"login": "k.benali", "password": "pw-secret-3"}, allow_redirects=False)
    assert r.status == 303
    r = await other.get(PV)
    assert r.status == 403 and "secrétaire de séance" in html.unescape(await r.text())

    secretary = await aiohttp_client(admin.server)
    r = await secretary.post("/login", data={"login": "s.garnier", "password": "pw-secret-2"}, allow_redirects=False)
    assert r.status == 303
    body = html.unescape(await (await secretary.get(PV)).text())
    assert "Exposé et substance des débats" in body and "Arrêter le texte" not in body  # the secretariat's
    r = await post(secretary, PV + "/texte", PV, item="pv-precedent", text="Adopté sans observation.")
    assert r.status == 303
    # the other councillor's post, with a token of their own session, changes nothing
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', await (await admin.get("/admin")).text()).group(1)
    r = await other.post(
        PV + "/texte", data={"csrf": token, "item": "pv-precedent", "text": "x"}, allow_redirects=False
    )
    assert r.status == 403
    r = await post(secretary, PV + "/signer", PV)  # signing is the secretariat's
    assert r.status == 403
    with CouncilStore.in_data_dir(tmp_path) as store:
        versions = store.text_versions(store.current().id, "demo")
    assert [(v.item_id, v.text, v.saved_by) for v in versions] == [
        ("pv-precedent", "Adopté sans observation.", "s.garnier")
    ]


async def test_a_pv_signed_in_the_open_adopting_journal_is_not_signed_again_in_the_register_once_it_closes(
    aiohttp_client, tmp_path
):
    """R11, R22: while the adopting sitting is open, the signature is journaled there; once it
    is closed a signature goes into the council's register instead, but a PV already signed in
    that journal is signed once: a second « Signer » after the closing is refused in plain
    French, and neither the register nor the signed file changes."""
    closed_demo_sitting(tmp_path)
    admin = await admin_client(aiohttp_client, tmp_path)
    await next_sitting(admin)
    option = re.search(r'<option value="(cc-suivant/[^"]+)" selected>', await (await admin.get(PV)).text())
    assert (await post(admin, PV + "/arreter", PV, approbation=option.group(1))).status == 303
    service = admin.app[SITTINGS]["cc-suivant"]
    item_id = option.group(1).split("/")[1]
    await adopt(service, item_id)
    body = html.unescape(await (await admin.get(PV)).text())
    assert 'id="signer"' in body and "au registre signé du conseil une fois cette séance close" in body
    assert (await post(admin, PV + "/signer", PV)).status == 303  # the sitting still open: its journal
    body = html.unescape(await (await admin.get(PV)).text())
    assert "inscrite au journal signé de la séance « Conseil communautaire suivant »" in body
    assert len(service.seance.state.minutes_links[item_id]["signed"]) == 1

    await run(service, PRESIDENT, {"type": "CloseSitting"})
    register_file = DataDir.of(tmp_path).register
    folder = tmp_path / "sittings" / "demo"
    # the dashboard enters the liste of the sitting just closed: taken before the snapshot
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', await (await admin.get("/admin")).text()).group(1)
    before = (register_file.read_bytes(), (folder / "proces-verbal-signe.pdf").read_bytes())
    r = await admin.post(PV + "/signer", data={"csrf": token}, allow_redirects=False)
    assert r.status == 409 and "Le procès-verbal adopté est déjà signé, le" in html.unescape(await r.text())
    assert (register_file.read_bytes(), (folder / "proces-verbal-signe.pdf").read_bytes()) == before
    with CouncilStore.in_data_dir(tmp_path) as store:
        cid = store.current().id
    assert council_register(tmp_path, cid).read().minutes_signed("demo") is None
    assert list(folder.glob("*.tmp")) == []
