"""Issue 12 point 11 in real Chromium: the admin revokes one salle's kiosk link from the
sitting's page (« Révoquer ce lien »); the page says so in French, shows the salle's new
link and keeps the others; the old link, opened again, says in French that it was revoked.
A screenshot goes to test-output/admin/."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from signaling.roles import Role
from tests.browser.kiosk_helpers import log_in
from tests.browser.live_server import start_server

pytestmark = pytest.mark.browser


@pytest.fixture
async def served(tmp_path):
    from web.app import ACCOUNTS, create_app
    from web.commands.demo import demo_sitting, seed_demo
    from web.config import WebConfig

    seed_demo(tmp_path)  # the demo council, its sitting convened and hosted
    app = create_app(WebConfig(host="127.0.0.1", port=0, tls=False, data_dir=tmp_path, sittings=(demo_sitting(),)))
    app[ACCOUNTS].set_account("dsi", "pw-admin-1", Role.ADMIN, display_name="DSI")
    runner, base = await start_server(app)
    try:
        yield base
    finally:
        await asyncio.wait_for(runner.cleanup(), 15)


async def test_the_admin_revokes_a_kiosk_link(browser, served, output_dir):
    base = served
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    try:
        page = await context.new_page()
        await log_in(page, base, "dsi", "pw-admin-1")
        await page.goto(f"{base}/admin/seances/demo")
        rows = page.locator("#table-bornes-seance tbody tr")
        vaux = rows.filter(has_text="Vaux-sur-Ance")
        belcourt = rows.filter(has_text="Belcourt")
        old_vaux = await vaux.locator("a.kiosk-link").get_attribute("href")
        old_belcourt = await belcourt.locator("a.kiosk-link").get_attribute("href")

        await vaux.get_by_role("button", name="Révoquer ce lien").click()
        notice = page.locator("#borne-revoquee")
        await expect(notice).to_be_visible(timeout=15_000)
        await expect(notice).to_contain_text("Lien de la borne de Vaux-sur-Ance — salle des fêtes révoqué")
        await expect(notice).to_have_attribute("role", "status")
        new_vaux = await vaux.locator("a.kiosk-link").get_attribute("href")
        assert new_vaux != old_vaux and "/salle/vaux?token=" in new_vaux
        assert await belcourt.locator("a.kiosk-link").get_attribute("href") == old_belcourt
        (output_dir / "admin").mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(output_dir / "admin" / "borne-revoquee.png"), full_page=True)

        kiosk = await context.new_page()
        await kiosk.goto(old_vaux)
        await expect(kiosk.locator("body")).to_contain_text("révoqué par l'administrateur", timeout=15_000)
    finally:
        await asyncio.wait_for(context.close(), 20)
