"""The agent's register (R4) in a real browser: an arrival, then a departure, recorded
from /agent/vaux; the departure stays on the screen with both times, also after the page
is reloaded (it comes from the server's view, not from the page's memory)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from signaling.roles import Role
from web.app import SESSION_COOKIE, SIGNER

pytestmark = pytest.mark.browser

T = 15_000


async def test_R4_a_departure_stays_in_the_register_with_its_times(browser, live_app):
    server = live_app
    context = await browser.new_context(locale="fr-FR")
    try:
        token = server.app[SIGNER].issue(Role.AGENT, member="a-vaux", salle="vaux", agent="a-vaux")
        await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": server.base_url}])
        page = await context.new_page()
        await page.goto(server.base_url + "/agent/vaux")
        row = page.locator("#members tr[data-member=m08]")
        await row.locator("button:has-text(\"Enregistrer l'arrivée\")").click(timeout=T)
        await expect(row).to_contain_text("Présent·e ici depuis", timeout=T)
        await row.locator("button:has-text(\"Enregistrer le départ\")").click(timeout=T)
        times = re.compile(r"Absent·e — parti·e à \d\d h \d\d \(arrivé·e à \d\d h \d\d\)")
        await expect(row).to_contain_text(times, timeout=T)
        await page.reload()
        await expect(page.locator("#members tr[data-member=m08]")).to_contain_text(times, timeout=T)
        # a member who never came here shows no departure
        await expect(page.locator("#members tr[data-member=m09]")).not_to_contain_text("parti·e", timeout=T)
    finally:
        await context.close()
