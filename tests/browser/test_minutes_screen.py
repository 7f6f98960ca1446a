"""The secretariat's procès-verbal screen in real Chromium (issue 16 point 2, R22): from the
sitting's page, the secretary writes the substance of an item's debates, saves twice and
finds both versions dated; the speakers and their measured time are shown; the page
passes axe (WCAG 2.1 AA). Screenshot in test-output/admin/proces-verbal.png."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from signaling.council_store import CouncilStore
from signaling.roles import Role
from tests.browser.axe_checks import axe_or_skip, axe_violations, describe
from tests.browser.closed_demo_server import serve_closed_demo
from tests.browser.kiosk_helpers import log_in

pytestmark = pytest.mark.browser
T = 15_000


@pytest.fixture
async def served(tmp_path):
    async with serve_closed_demo(tmp_path, [("secretariat", "pw-admin-1", Role.ADMIN, "Secrétariat")]) as base:
        yield base


async def test_the_secretary_writes_the_substance_and_finds_each_version(browser, served, output_dir, tmp_path):
    axe = axe_or_skip()
    base = served
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    await context.add_init_script(path=str(axe))
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        await log_in(page, base, "secretariat", "pw-admin-1")
        await page.goto(f"{base}/admin/seances/demo")
        await page.click("#lien-pv")
        await expect(page.locator("h1")).to_contain_text("Procès-verbal de la séance du 26 novembre 2026", timeout=T)
        item = page.locator("#point-marche-collecte")
        await expect(item.locator(".intervenants")).to_have_text("Sophie Garnier (7 s), Isabelle Morel (10 s)")

        await item.get_by_label("Exposé et substance des débats").fill("Le président présente le rapport.")
        await item.get_by_role("button", name="Enregistrer le texte du point 2").click()
        await expect(page.locator("#enregistre")).to_have_text("Texte enregistré.", timeout=T)
        item = page.locator("#point-marche-collecte")
        await item.get_by_label("Exposé et substance des débats").fill(
            "Le président présente le rapport.\n\nM. Faure interroge sur le prix de la tonne."
        )
        await item.get_by_role("button", name="Enregistrer le texte du point 2").click()
        await expect(item.locator("summary")).to_contain_text("2 version(s) enregistrée(s)", timeout=T)
        await item.locator("summary").click()
        await expect(item.locator("li[data-version='1']")).to_contain_text("Le président présente le rapport.")
        assert "M. Faure interroge" in await item.get_by_label("Exposé et substance des débats").input_value()
        (output_dir / "admin").mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(output_dir / "admin" / "proces-verbal.png"), full_page=True)
        violations = await axe_violations(page)
        assert not violations, describe({"proces-verbal": violations})

        await page.click("#apercu")
        await expect(page.locator("#point-2 .substance")).to_contain_text("M. Faure interroge sur le prix de la tonne.")
        assert not errors, errors
    finally:
        await context.close()
    with CouncilStore.in_data_dir(tmp_path) as store:
        versions = store.text_versions(store.current().id, "demo")
    assert [v.version for v in versions] == [1, 2]
