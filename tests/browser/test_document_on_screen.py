"""The item's documents on screen (issue 15 point 8), in real Chromium.

A real two-page PDF (WeasyPrint: a plan's table on page 1, a budget's bar on page 2) is an
annex of the item discussed. The president, on her page, presses « Présenter l'annexe »:
the salle's kiosk (real, fake camera and microphone, the real Router) and the public page
draw page 1 from the PDF with the vendored pdf.js (the canvas is not blank, at the device's
pixel ratio, « Page 1 / 2 »), the salles' pictures beside it; « Page suivante »: both draw
page 2, whose pixels differ. Meanwhile the public cannot fetch an annex not shown (403,
the JSON error shape), and « Arrêter la présentation » takes the page off both screens.
axe-core stays clean on the president's control and on the public page showing the page.
"""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect
from weasyprint import HTML

from signaling import datadir
from signaling.council_store import Annex, CouncilStore
from signaling.roles import Role
from tests.browser.annex_on_screen import TWO_PAGES, shown
from tests.browser.axe_checks import AXE, BLOCKING, WCAG_TAGS, axe_or_skip, axe_violations, new_person
from tests.browser.kiosk_helpers import connected, until
from tests.browser.sitting_driver import ITEM, convene_with_quorum, request
from tests.web.demo_annex import join_to_demo, sha
from web.app import ROOMS, SIGNER
from web.appkeys import CONFIG

pytestmark = pytest.mark.browser
T = 20_000

#: Whether the page has fetched pdf.js (its resource timing entries).
LOADED_PDFJS = (
    """() => performance.getEntriesByType('resource').some(e => e.name.includes('/vendor/pdfjs/pdf.min.mjs'))"""
)


def grid_distance(a, b) -> float:
    return sum(abs(x - y) for x, y in zip(a["grid"], b["grid"], strict=True)) / 64


async def axe_clean(page, where: str) -> None:
    blocking = [v for v in await axe_violations(page) if v["impact"] in BLOCKING and set(v["tags"]) & set(WCAG_TAGS)]
    assert not blocking, f"{where}: " + "; ".join(f"{v['id']} ({v['help']}) {v['nodes'][:2]}" for v in blocking)


async def test_the_president_shows_an_annex_page_by_page_on_the_kiosk_and_the_public_page(
    browser, live_app, output_dir
):
    axe_or_skip()
    server = live_app
    config = server.app[CONFIG]
    pdf = HTML(string=TWO_PAGES).write_pdf()
    plan = join_to_demo(config, pdf)  # « Plan de zonage.pdf », an annex of the first item (ITEM)
    note_bytes = b"%PDF-1.7\n% note de synthese, pour les membres\n"
    note = Annex("0a0b0c0d0e0f1011", plan.item_id, "note", "Note de synthèse.pdf", sha(note_bytes), 40, "")
    path = datadir.DataDir.of(config.data_dir).annex("demo", note.id)
    path.write_bytes(note_bytes)
    with CouncilStore.in_data_dir(config.data_dir) as store:
        store.add_annex(store.current().id, "demo", note)
    assert plan.item_id == ITEM

    room = server.app[ROOMS]["demo"]
    session = aiohttp.ClientSession()
    contexts, sockets, errors = [], [], []
    try:
        # belcourt's kiosk: a real salle (it transmits, so the sitting opens) and its room display
        kiosk_ctx = await browser.new_context(viewport={"width": 1280, "height": 720}, locale="fr-FR")
        contexts.append(kiosk_ctx)
        kiosk = await kiosk_ctx.new_page()
        kiosk.on("pageerror", lambda e: errors.append(f"kiosk: {e}"))
        token = server.app[SIGNER].issue(Role.KIOSK, salle="belcourt", sitting="demo")
        await kiosk.goto(f"{server.base_url}/salle/belcourt?token={token}")
        await until(lambda: connected(kiosk), 25, what="belcourt's kiosk connected")
        await until(lambda: room.transmitting.get("belcourt"), 25, what="belcourt transmitting")
        # a kiosk on a weak link does not download pdf.js (474 kB) before a document is shown
        assert not await kiosk.evaluate(LOADED_PDFJS), "the kiosk loaded pdf.js with the page"

        # the public page on a screen of device pixel ratio 2
        public_ctx = await browser.new_context(
            viewport={"width": 1280, "height": 720}, device_scale_factor=2, locale="fr-FR"
        )
        contexts.append(public_ctx)
        await public_ctx.add_init_script(path=str(AXE))
        public = await public_ctx.new_page()
        public.on("pageerror", lambda e: errors.append(f"public: {e}"))
        await public.goto(f"{server.base_url}/public/demo")

        president_ctx, president = await new_person(browser, server, Role.PRESIDENT, member="m01", salle="belcourt")
        contexts.append(president_ctx)
        president.on("pageerror", lambda e: errors.append(f"president: {e}"))
        await president.goto(f"{server.base_url}/president")
        control = president.locator("#presenting")
        await expect(control).to_contain_text("La séance n'est pas encore ouverte", timeout=T)

        plan_url = f"{server.base_url}/public/demo/documents/{plan.id}?sha256={plan.sha256}"
        refused = await public_ctx.request.get(plan_url)
        assert refused.status == 403 and (await refused.json())["ok"] is False  # not shown yet

        sockets += await convene_with_quorum(server, session)
        chair = sockets[1]
        await chair.do({"type": "OpenSitting"})
        await chair.do({"type": "TakeUpItem", "item_id": ITEM})

        present = control.get_by_role("button", name="Présenter l'annexe Plan de zonage.pdf")
        await expect(present).to_be_enabled(timeout=T)
        await present.click()
        await expect(control.locator("#presenting-page")).to_have_text("Page 1 / 2", timeout=T)
        await expect(president.locator("#notice")).to_contain_text("Plan de zonage.pdf", timeout=T)
        await expect(control.get_by_role("button", name="Page précédente")).to_be_disabled()

        kiosk_1 = await shown(kiosk, 1)
        assert await kiosk.evaluate(LOADED_PDFJS), "the kiosk drew the page without pdf.js?"
        public_1 = await shown(public, 1)
        await expect(kiosk.locator("#document .document-title")).to_have_text("Plan — Plan de zonage.pdf")
        # drawn at the device's pixel ratio: twice as many canvas pixels as CSS pixels on the public screen
        assert abs(public_1["width"] - 2 * public_1["cssWidth"]) <= 2, public_1
        assert abs(kiosk_1["width"] - kiosk_1["cssWidth"]) <= 2, kiosk_1
        # the salles' pictures shrink beside the page, not hidden
        tiles = kiosk.locator("#slots .tile")
        assert await tiles.count() >= 1 and await tiles.first.is_visible()
        tile_box = await tiles.first.bounding_box()
        assert tile_box["width"] * tile_box["height"] * 2 < kiosk_1["area"], (tile_box, kiosk_1)
        await expect(public.locator("#slots .tile").first).to_be_visible()
        await kiosk.screenshot(path=str(output_dir / "kiosk-document.png"))
        await public.screenshot(path=str(output_dir / "public-document.png"))

        # the public gets the annex shown, not the note de synthèse nor another digest
        assert (await public_ctx.request.get(plan_url)).status == 200
        note_refused = await public_ctx.request.get(
            f"{server.base_url}/public/demo/documents/{note.id}?sha256={note.sha256}"
        )
        body = await note_refused.json()
        assert note_refused.status == 403 and set(body) == {"ok", "rule", "field", "message"} and body["message"]
        unknown = await public_ctx.request.get(f"{server.base_url}/public/demo/documents/ffffffffffffffff")
        assert unknown.status == 404 and (await unknown.json())["ok"] is False

        await control.get_by_role("button", name="Page suivante").click()
        await expect(control.locator("#presenting-page")).to_have_text("Page 2 / 2", timeout=T)
        await expect(control.get_by_role("button", name="Page suivante")).to_be_disabled()
        kiosk_2 = await shown(kiosk, 2)
        public_2 = await shown(public, 2)
        assert grid_distance(kiosk_1, kiosk_2) > 8, "page 2 looks like page 1 on the kiosk"
        assert grid_distance(public_1, public_2) > 8, "page 2 looks like page 1 on the public page"
        await president.screenshot(path=str(output_dir / "president-document.png"), full_page=True)
        await axe_clean(president, "/president (document shown)")
        await axe_clean(public, "/public/demo (document shown)")

        # a page past the last is refused, with the words for people
        await control.locator("#page-number").fill("3")
        await control.get_by_role("button", name="Afficher la page").click()
        await expect(president.locator("#alert")).to_contain_text("la page 3 n'existe pas", timeout=T)
        await expect(kiosk.locator("#document")).to_have_attribute("data-page", "2")

        # R19: a sensitive passage hides the document from the public (page and route), not
        # from the salles: a kiosk still fetches and draws it, with its token
        await chair.do({"type": "MarkSensitive", "on": True, "reason": "situation d'un agent nommé"})
        await expect(public.locator("#document")).to_be_hidden(timeout=T)
        await expect(public.locator("#public-notice")).to_contain_text("Le document présenté est masqué", timeout=T)
        hidden = await public_ctx.request.get(plan_url)
        assert hidden.status == 403 and (await hidden.json())["rule"] == "R19"
        # the note, then the plan again: the kiosk fetches the plan anew during the passage
        await request(chair, {"type": "present", "annex": note.id, "pages": 1})
        await expect(kiosk.locator("#document .document-title")).to_contain_text("Note de synthèse.pdf", timeout=T)
        # (the note here is no real PDF: pdf.js cannot draw it)
        await expect(kiosk.locator("#document .document-indicator")).to_have_text(
            "Document indisponible pour le moment.", timeout=T
        )
        await request(chair, {"type": "present", "annex": plan.id, "pages": 2})
        await shown(kiosk, 1)
        assert (await public_ctx.request.get(plan_url)).status == 403
        await chair.do({"type": "MarkSensitive", "on": False, "reason": ""})
        await shown(public, 1)

        await control.get_by_role("button", name="Arrêter la présentation").click()
        await expect(kiosk.locator("#document")).to_be_hidden(timeout=T)
        await expect(public.locator("#document")).to_be_hidden(timeout=T)
        assert (await public_ctx.request.get(plan_url)).status == 403
        assert not errors, errors
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for ctx in contexts:
            await ctx.close()
