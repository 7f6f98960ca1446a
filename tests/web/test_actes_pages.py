"""The public « Actes » pages without login (issue 16 point 3; R22, R26; L.2131-1,
L.2121-25, L.2121-15): the convocation of the coming sitting, the liste des délibérations
of the sitting held (published at its journaled closing), each délibération as a page and
a PDF/A, the adopted and signed procès-verbal, the SCDL CSV of the year and the Atom feed;
each traced to the signed journal (its signed head)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import aiohttp
import pikepdf
from minutes_support import closed_demo_sitting
from test_minutes_pages import PV, admin_client, adopt, next_sitting, post

from deliberation.journal import read_verified
from deliberation.scdl import deliberation_rows
from signaling.sitting import council_key, journal_path
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
        async with public.get(base + "/cc-suivant") as r:
            assert r.status == 404  # not held yet: no liste

        # the liste, published at the journaled closing, traced to the journal's signed head
        entries = read_verified(journal_path(tmp_path, "demo"), council_key(tmp_path).public_key())
        head = [e.data for e in entries if e.kind == "checkpoint"][-1]
        closed_at = next(
            e.data["event"]["at"] for e in entries if e.kind == "event" and e.data["event"]["type"] == "SittingClosed"
        )
        async with public.get(base + "/demo") as r:
            page = await r.text()
        assert r.status == 200 and head["hash"] in page and f"ligne {head['seq']}" in page
        assert "Publiée le 26 novembre 2026" in page and closed_at.startswith("2026-11-26")
        assert "/actes/demo/20261126-02" in page

        # each délibération: its page and its PDF/A
        async with public.get(base + "/demo/20261126-02") as r:
            delib = await r.text()
        assert r.status == 200 and "Attribution du marché de collecte" in delib and head["hash"] in delib
        async with public.get(base + "/demo/20261126-02.pdf") as r:
            assert r.status == 200 and r.content_type == "application/pdf"
            doc = pikepdf.open(io.BytesIO(await r.read()))
        with doc.open_metadata() as meta:
            assert meta.pdfa_status == "3B"
        async with public.get(base + "/demo/20261126-99") as r:
            assert r.status == 404

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
    async with aiohttp.ClientSession() as public:
        async with public.get(base) as r:
            assert "Procès-verbal adopté (PDF)" in await r.text()
        async with public.get(base + "/demo/proces-verbal.pdf") as r:
            assert (
                r.status == 200
                and (await r.read()) == (tmp_path / "sittings" / "demo" / "proces-verbal-signe.pdf").read_bytes()
            )
        async with public.get(base + "/flux.atom") as r:
            assert r.status == 200 and r.content_type == "application/atom+xml"
            feed = ET.fromstring(await r.read())
    links = {e.find(f"{ATOM}link").get("href") for e in feed.iter(f"{ATOM}entry")}
    assert {base + "/demo", base + "/demo/proces-verbal.pdf", base + "/cc-suivant/convocation"} <= links
    assert all(e.find(f"{ATOM}updated").text for e in feed.iter(f"{ATOM}entry"))
