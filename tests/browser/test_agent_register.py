"""The agent's register in a real browser: an arrival, then a departure, recorded from
/agent/vaux; the departure stays on the screen with both times, also after the page is
reloaded (it comes from the server's view, not from the page's memory) (R4). A suppléant
is refused until the titulaire's information of the president is recorded, then sits
(L.5211-6, R9)."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import expect

from signaling.roles import Role
from web.app import SESSION_COOKIE, SIGNER

pytestmark = pytest.mark.browser

T = 15_000


@asynccontextmanager
async def agent_page(browser, server, salle: str):
    """The /agent/<salle> page, logged in as that salle's agent of the demo council."""
    context = await browser.new_context(locale="fr-FR")
    try:
        token = server.app[SIGNER].issue(Role.AGENT, member=f"a-{salle}", salle=salle, agent=f"a-{salle}")
        await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": server.base_url}])
        page = await context.new_page()
        await page.goto(server.base_url + f"/agent/{salle}")
        yield page
    finally:
        await context.close()


async def test_R4_a_departure_stays_in_the_register_with_its_times(browser, live_app):
    async with agent_page(browser, live_app, "vaux") as page:
        row = page.locator("#members tr[data-member=m08]")
        await row.locator('button:has-text("Enregistrer l\'arrivée")').click(timeout=T)
        await expect(row).to_contain_text("Présent ici depuis", timeout=T)  # Thierry Bonnet: « M. »
        await row.locator('button:has-text("Enregistrer le départ")').click(timeout=T)
        times = re.compile(r"Absent — parti à \d\d h \d\d \(arrivé à \d\d h \d\d\)")
        await expect(row).to_contain_text(times, timeout=T)
        await page.reload()
        await expect(page.locator("#members tr[data-member=m08]")).to_contain_text(times, timeout=T)
        # a member who never came here shows no departure
        await expect(page.locator("#members tr[data-member=m09]")).not_to_contain_text("partie à", timeout=T)


async def test_R9_suppleant_sits_once_the_suppleance_is_recorded(browser, live_app):
    async with agent_page(browser, live_app, "belcourt") as page:
        suppleant = page.locator("#members tr[data-member=s17]")
        await expect(suppleant).to_contain_text("suppléante de Bernard Roux", timeout=T)  # Martine Faure: « Mme »
        # before the suppléance is recorded: refused, with the rule, and nothing changes
        await suppleant.locator('button:has-text("Enregistrer l\'arrivée")').click(timeout=T)
        await expect(page.locator("#alert")).to_contain_text("R9", timeout=T)
        await expect(suppleant).to_contain_text("Absente", timeout=T)
        # the form offers the absent titulaire who has a suppléant, and only such
        options = page.locator("#suppleance-titulaire option")
        await expect(options).to_have_count(2, timeout=T)  # the placeholder and Bernard Roux
        await page.select_option("#suppleance-titulaire", "m17")
        await page.fill("#suppleance-ref", "courriel au président du 24/11/2026")
        await page.locator("#suppleance-form button[type=submit]").click(timeout=T)
        await expect(page.locator("#suppleances li[data-titulaire=m17]")).to_contain_text(
            "Bernard Roux → Martine Faure (réf. courriel au président du 24/11/2026)", timeout=T
        )
        await expect(page.locator("#members tr[data-member=m17]")).to_contain_text(
            "remplacé par Martine Faure", timeout=T
        )
        await suppleant.locator('button:has-text("Enregistrer l\'arrivée")').click(timeout=T)
        await expect(suppleant).to_contain_text("Présente ici depuis", timeout=T)
        await page.reload()
        await expect(page.locator("#suppleances li[data-titulaire=m17]")).to_contain_text("réf. courriel", timeout=T)
        await expect(page.locator("#members tr[data-member=s17]")).to_contain_text("Présente ici depuis", timeout=T)
