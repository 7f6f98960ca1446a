"""Issue 12 point 10 in real Chromium: past the anonymous public's cap per address
(``[web] public_viewers_per_address``), the public page says so in French in its
connection badge instead of waiting for ever; the page still shows the sitting."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.browser.live_server import start_server

pytestmark = pytest.mark.browser

T = 15_000


@pytest.fixture
async def capped(tmp_path):
    from web.app import create_app
    from web.commands.demo import demo_sitting, seed_demo
    from web.config import WebConfig

    seed_demo(tmp_path)
    config = WebConfig(
        host="127.0.0.1",
        port=0,
        tls=False,
        data_dir=tmp_path,
        ice_addresses=("127.0.0.1",),
        sittings=(demo_sitting(),),
        public_viewers_per_address=1,
    )
    runner, base = await start_server(create_app(config))
    try:
        yield base
    finally:
        await asyncio.wait_for(runner.cleanup(), 15)


async def test_the_public_page_says_in_french_that_the_viewers_are_capped(browser, capped):
    context = await browser.new_context(locale="fr-FR")
    try:
        first = await context.new_page()
        await first.goto(capped + "/public/demo")
        badge = first.locator("#badge-connection")
        await expect(badge).not_to_have_text("Connexion…", timeout=T)  # the first viewer negotiates
        second = await context.new_page()
        await second.goto(capped + "/public/demo")
        refused = second.locator("#badge-connection")
        await expect(refused).to_contain_text("Trop de retransmissions ouvertes depuis votre réseau", timeout=T)
        await expect(refused).to_have_attribute("data-state", "lost")
        await expect(second.locator("#public-item")).not_to_have_text("", timeout=T)  # the sitting is still shown
        await expect(badge).not_to_contain_text("Trop de retransmissions")
    finally:
        await asyncio.wait_for(context.close(), 20)
