"""Issue 12.1 in a real browser: the public page shows the journal's last signed head in its
« Sceau du journal » detail, follows it as the sitting goes on, and what it shows is a
witness ``seance audit verify --head`` accepts (R21)."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from deliberation.journal import check_head, load_public_pem, read_verified
from signaling.roles import Role
from web.app import SESSION_COOKIE, SIGNER, SITTINGS

pytestmark = pytest.mark.browser

T = 15_000


async def test_R21_the_public_page_shows_the_signed_head_and_it_is_a_witness(browser, live_app):
    service = live_app.app[SITTINGS]["demo"]
    public_key = load_public_pem(service.public_key_pem.encode())
    context = await browser.new_context(locale="fr-FR")
    try:
        page = await context.new_page()
        await page.goto(live_app.base_url + "/public/demo")
        await page.click("#public-seal summary")
        seq = page.locator("#public-seal-seq")
        await expect(seq).to_have_text(str(service.journal.lines), timeout=T)
        # a command journaled: the seal moves to its signature
        agent = await context.new_page()
        token = live_app.app[SIGNER].issue(Role.AGENT, member="a-vaux", salle="vaux", agent="a-vaux")
        await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_app.base_url}])
        await agent.goto(live_app.base_url + "/agent/vaux")
        row = agent.locator("#members tr[data-member=m08]")
        await row.locator('button:has-text("Enregistrer l\'arrivée")').click(timeout=T)
        await expect(seq).to_have_text(str(service.journal.lines), timeout=T)
        head = json.loads(await page.locator("#public-seal-json").text_content())
        assert head["seq"] == service.journal.lines and head["kind"] == "checkpoint"
        await expect(page.locator("#public-seal-hash")).to_have_text(head["hash"][:16] + "…")
        check_head(read_verified(service.journal_path, public_key), head, public_key)
    finally:
        await context.close()
