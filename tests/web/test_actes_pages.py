"""The public « Actes » pages without login (issue 16 point 3; R22, R26; L.2131-1,
L.2121-25, L.2121-15): the convocation of the coming sitting, the liste des délibérations
of the sitting held, each délibération as a page and a PDF/A, the adopted and signed
procès-verbal, the SCDL CSV of the year and the Atom feed; each traced to the signed
journal (its signed head), published at the date the council's signed register enters,
and served only as the register entered it."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import xml.etree.ElementTree as ET

import aiohttp
import pikepdf

from deliberation.journal import load_public_pem, read_verified
from deliberation.minutes import french_date, french_time
from deliberation.register import verify_register
from deliberation.scdl import deliberation_rows
from signaling.council_store import CouncilStore
from signaling.datadir import DataDir
from signaling.sitting import council_key, journal_path
from tests.minutes_support import closed_demo_sitting
from tests.web.minutes_admin import PV, admin_client, adopt, next_sitting, post
from web.appkeys import SITTINGS

ATOM = "{http://www.w3.org/2005/Atom}"


async def test_actes_published_without_login_and_traced_to_the_signed_journal(aiohttp_client, tmp_path):
    closed_demo_sitting(tmp_path)
    admin = await admin_client(aiohttp_client, tmp_path)
    await next_sitting(admin)
    base = str(admin.make_url("/actes"))

    async with aiohttp.ClientSession() as public:  # no session cookie: anyone on the website
        async with public.get(base) as r:
            assert r.status == 200
            body = await r.text()
        assert "Actes de la communauté" in body and 'data-seance="cc-suivant"' in body
        assert "/actes/cc-suivant/convocation" in body and 'href="/actes/demo"' in body
        assert "En attente d'approbation par le conseil" in body  # the PV is not adopted yet
        async with public.get(base + "/cc-suivant/convocation") as r:
            assert r.status == 200 and "Approbation du procès-verbal" in await r.text()
        # put online when convened, and so entered in the register by the secretariat
        convocation = register(tmp_path).convocation("cc-suivant")
        assert convocation is not None and convocation.by == "secretariat"
        async with public.get(base + "/cc-suivant") as r:
            assert r.status == 404  # not held yet: no liste

        # the liste, entered in the council's register with the journal's signed head, and
        # published at the register's date
        entries = read_verified(journal_path(tmp_path, "demo"), council_key(tmp_path).public_key())
        head = [e.data for e in entries if e.kind == "checkpoint"][-1]
        async with public.get(base + "/demo") as r:
            page = await r.text()
        entered = register(tmp_path).liste("demo")
        assert entered is not None and entered.journal_head == head["hash"]
        assert r.status == 200 and head["hash"] in page and f"ligne {head['seq']}" in page
        assert f"Publiée le {french_date(entered.at)} à {french_time(entered.at)}" in page
        assert "/actes/demo/20261126-02" in page

        # each délibération: its page (the very one the register digested) and its PDF/A
        async with public.get(base + "/demo/20261126-02") as r:
            delib = await r.text()
        assert r.status == 200 and "Attribution du marché de collecte" in delib and head["hash"] in delib
        assert hashlib.sha256(delib.encode()).hexdigest() == entered.documents["20261126-02"]
        async with public.get(base + "/demo/20261126-02.pdf") as r:
            assert r.status == 200 and r.content_type == "application/pdf"
            doc = pikepdf.open(io.BytesIO(await r.read()))
        with doc.open_metadata() as meta:
            assert meta.pdfa_status == "3B"
        async with public.get(base + "/demo/20261126-99") as r:
            assert r.status == 404
        # the page is frozen as published (a later template serves the same), and served only
        # while it is the one entered: changed on disk, it is no longer served
        frozen = DataDir.of(tmp_path).published("demo", "20261126-02")
        assert frozen.read_text(encoding="utf-8") == delib
        frozen.write_text(delib.replace("Pour", "Contre", 1), encoding="utf-8")
        async with public.get(base + "/demo/20261126-02") as r:
            assert r.status == 404
        frozen.write_text(delib, encoding="utf-8")

        # the open data of the year: one row per délibération of the journal
        async with public.get(base + "/donnees/deliberations-2026.csv") as r:
            rows = list(csv.DictReader(io.StringIO(await r.text())))
        service = admin.app[SITTINGS]["demo"]
        assert [x["DELIB_ID"] for x in rows] == [x["DELIB_ID"] for x in deliberation_rows(service.seance)]
        assert rows[0]["DELIB_URL"].startswith(base + "/demo/")

    # the PV adopted at the next sitting and signed: published, and in the feed
    option_value = "cc-suivant/" + next(
        i["id"] for i in admin.app[SITTINGS]["cc-suivant"].seance.state.agenda if "procès-verbal" in i["title"]
    )
    assert (await post(admin, PV + "/arreter", PV, approbation=option_value)).status == 303
    await adopt(admin.app[SITTINGS]["cc-suivant"], option_value.split("/")[1])
    assert (await post(admin, PV + "/signer", PV)).status == 303
    pdf_path = tmp_path / "sittings" / "demo" / "proces-verbal-signe.pdf"
    minutes = register(tmp_path).minutes("demo")
    assert minutes is not None and minutes.by == "secretariat" and minutes.approving_sitting_id == "cc-suivant"
    assert minutes.pdf_sha256 == hashlib.sha256(pdf_path.read_bytes()).hexdigest()
    async with aiohttp.ClientSession() as public:
        async with public.get(base) as r:
            assert "Procès-verbal adopté (PDF)" in await r.text()
        async with public.get(base + "/demo") as r:
            assert f"publié le {french_date(minutes.at)}" in await r.text()
        async with public.get(base + "/demo/proces-verbal.pdf") as r:
            assert r.status == 200 and (await r.read()) == pdf_path.read_bytes()
        async with public.get(base + "/flux.atom") as r:
            assert r.status == 200 and r.content_type == "application/atom+xml"
            feed = ET.fromstring(await r.read())
    updated = {e.find(f"{ATOM}link").get("href"): e.find(f"{ATOM}updated").text for e in feed.iter(f"{ATOM}entry")}
    assert {base + "/demo", base + "/demo/proces-verbal.pdf", base + "/cc-suivant/convocation"} <= set(updated)
    assert updated[base + "/demo"] == register(tmp_path).liste("demo").at
    assert updated[base + "/demo/proces-verbal.pdf"] == minutes.at
    assert updated[base + "/cc-suivant/convocation"] == register(tmp_path).convocation("cc-suivant").at

    # a signed PDF replaced on disk is not the one entered: no longer served, nothing entered again
    pdf_path.write_bytes(pdf_path.read_bytes() + b"\n% modifie\n")
    before = (tmp_path / "registre.jsonl").read_bytes()
    async with aiohttp.ClientSession() as public:
        async with public.get(base + "/demo/proces-verbal.pdf") as r:
            assert r.status == 404
        async with public.get(base) as r:
            assert "En attente d'approbation par le conseil" in await r.text()
    assert (tmp_path / "registre.jsonl").read_bytes() == before


def register(data_dir):
    """The council's register as an auditor reads it: verified with the public key."""
    with CouncilStore.in_data_dir(data_dir) as store:
        council_id = store.current().id
    content = (data_dir / "registre.jsonl").read_bytes()
    return verify_register(content, load_public_pem(DataDir.of(data_dir).council_public_key.read_bytes()), council_id)[
        1
    ]


async def test_a_register_that_does_not_verify_publishes_nothing(aiohttp_client, tmp_path):
    """R21: the register rewritten by hand (a publication date moved earlier) and the Actes
    pages publish nothing from it; the server writes nothing to it either."""
    closed_demo_sitting(tmp_path)
    admin = await admin_client(aiohttp_client, tmp_path)
    base = str(admin.make_url("/actes"))
    async with aiohttp.ClientSession() as public:
        async with public.get(base + "/demo") as r:
            assert r.status == 200
    path = tmp_path / "registre.jsonl"
    lines = path.read_bytes().split(b"\n")
    n = next(i for i, raw in enumerate(lines) if b'"ListePublished"' in raw)
    lines[n] = lines[n].replace(b'"at":"', b'"at":"2026-11-27T09:00:00+01:00","x":"', 1)
    path.write_bytes(b"\n".join(lines))
    before = path.read_bytes()
    async with aiohttp.ClientSession() as public:
        async with public.get(base + "/demo") as r:
            assert r.status == 404
        async with public.get(base + "/demo/20261126-02") as r:
            assert r.status == 404
    assert path.read_bytes() == before
    # the dashboard tells the secretariat, in French, naming the line
    dashboard = html.unescape(await (await admin.get("/admin")).text())
    alert = re.search(r'<p class="alert" role="alert" id="registre-invalide">(.*?)</p>', dashboard, re.S)
    assert alert and f"ligne {n + 1}" in alert.group(1) and "plus aucun acte n'est publié" in alert.group(1)
    assert path.read_bytes() == before


async def test_the_register_read_back_after_a_restart_keeps_each_date(aiohttp_client, tmp_path):
    """A restarted server reads the register it wrote: the liste keeps the date entered the
    first time, and nothing is entered again."""
    closed_demo_sitting(tmp_path)
    first = await admin_client(aiohttp_client, tmp_path)
    async with aiohttp.ClientSession() as public:
        async with public.get(first.make_url("/actes/demo")) as r:
            assert r.status == 200
    entered = register(tmp_path).liste("demo")
    before = (tmp_path / "registre.jsonl").read_bytes()
    await first.close()  # the server stops (its sittings' journals closed)

    again = await admin_client(aiohttp_client, tmp_path)  # a new process on the same data dir
    async with aiohttp.ClientSession() as public:
        async with public.get(again.make_url("/actes/demo")) as r:
            page = await r.text()
    assert f"Publiée le {french_date(entered.at)} à {french_time(entered.at)}" in page
    assert (tmp_path / "registre.jsonl").read_bytes() == before
