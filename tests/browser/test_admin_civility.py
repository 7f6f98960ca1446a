"""The admin sets a member's civilité (issue 15, point 6), in real Chromium: added as
« Madame », corrected to « Monsieur », shown in the members' table; the screens' words
agree with it (deliberation.french). axe-core stays clean on the form."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from signaling.council_store import CouncilStore
from signaling.roles import Role
from tests.browser.axe_checks import BLOCKING, WCAG_TAGS, axe_violations, new_person
from web.app import CONFIG

pytestmark = pytest.mark.browser

T = 15_000


def member(server, member_id: str):
    with CouncilStore.in_data_dir(server.app[CONFIG].data_dir) as store:
        return store.current().member(member_id)


async def test_the_admin_sets_and_corrects_a_member_s_civility(browser, live_app, output_dir):
    server = live_app
    ctx, page = await new_person(browser, server, Role.ADMIN, member="dsi")
    try:
        await page.goto(server.base_url + "/admin")
        await page.click("summary:has-text('Ajouter un membre')")
        await page.fill("#m-id", "m30")
        await page.select_option("#m-civility", "Mme")
        await page.fill("#m-first", "Hélène")
        await page.fill("#m-last", "Arnaud")
        await page.select_option("#m-commune", "vaux")
        blocking = [
            v for v in await axe_violations(page) if v["impact"] in BLOCKING and set(v["tags"]) & set(WCAG_TAGS)
        ]
        assert not blocking, blocking
        async with page.expect_navigation():
            await page.click("form[aria-label='Ajouter un membre'] button[type=submit]")
        row = page.locator("#membres tr", has_text="Hélène Arnaud")
        await expect(row).to_contain_text("Madame", timeout=T)
        assert member(server, "m30").feminine is True

        await page.click("summary:has-text('Modifier un membre')")
        await page.select_option("#e-id", "m30")
        await page.select_option("#e-civility", "M.")
        await page.fill("#e-first", "Hélène")
        await page.fill("#e-last", "Arnaud")
        async with page.expect_navigation():
            await page.click("form[aria-label='Modifier un membre'] button[type=submit]")
        await expect(page.locator("#membres tr", has_text="Hélène Arnaud")).to_contain_text("Monsieur", timeout=T)
        assert member(server, "m30").feminine is False
    finally:
        await ctx.close()
