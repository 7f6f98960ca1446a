"""Login returns to the page asked (issue 15, point 7), in real Chromium: a logged-out
visit to the president's page or to the audit page shows the login form, and once the
password is given the browser is back on that page."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from signaling.roles import Role
from web.app import ACCOUNTS

pytestmark = pytest.mark.browser

T = 15_000


@pytest.mark.parametrize(
    "path, role, extra, landmark",
    [
        ("/president", Role.PRESIDENT, {"member_id": "m01", "salle_id": "belcourt"}, "#opening-h"),
        ("/audit/demo", Role.AUDITOR, {}, "h1"),
    ],
)
async def test_a_logged_out_visit_logs_in_and_comes_back(browser, live_app, path, role, extra, landmark):
    server = live_app
    server.app[ACCOUNTS].set_account("personne", "pw-secret-1", role, **extra)
    context = await browser.new_context(locale="fr-FR")
    try:
        page = await context.new_page()
        await page.goto(server.base_url + path)
        await expect(page.locator("h1")).to_have_text("Connexion", timeout=T)
        assert "Accès refusé" not in await page.content()
        await page.fill("#login", "personne")
        await page.fill("#password", "pw-secret-1")
        await page.click("button[type=submit]")
        await page.wait_for_url(server.base_url + path, timeout=T)
        await expect(page.locator(landmark).first).to_be_visible(timeout=T)
    finally:
        await context.close()
