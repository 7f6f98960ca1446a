"""The public broadcast follows the sitting (issue 15, point 4; R2, R11).

The real Router, a real kiosk (Chromium's fake camera and microphone) and a real public
page: before the opening, during a suspension and after the closing the public page shows
a card and its inbound RTP byte counters (``getStats``) stop growing, since the server
forwards nothing from the salles to public viewers then; while the sitting is open the
bytes flow and an « EN DIRECT » badge shows.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.kiosk_helpers import connected, open_kiosk, until
from tests.browser.sitting_driver import convene_with_quorum
from web.app import ROOMS

pytestmark = pytest.mark.browser

T = 15_000


async def received(page) -> int:
    """Bytes of RTP the public page has received so far, over all its inbound streams."""
    return sum(s["bytesReceived"] for s in await page.evaluate("() => window.seance.inboundStats()"))


async def stays_still(page, what: str) -> None:
    """The page's inbound bytes settle (what was in flight lands) and then do not grow."""
    deadline = time.monotonic() + 20
    before = await received(page)
    while True:
        await asyncio.sleep(2.0)
        now = await received(page)
        if now == before:
            break
        assert time.monotonic() < deadline, f"{what}: the public page still receives media ({before} → {now} bytes)"
        before = now
    await asyncio.sleep(2.0)
    assert await received(page) == before, f"{what}: the public page received media again"


async def flows(page) -> bool:
    start = await received(page)
    return await until(lambda: _grew(page, start), 15, 0.5, "the public page receiving media")


async def _grew(page, start: int) -> bool:
    return await received(page) > start + 5000


async def test_R2_R11_public_gets_no_media_before_opening_during_suspension_or_after_closing(browser, live_app):
    server = live_app
    room = server.app[ROOMS]["demo"]
    session = aiohttp.ClientSession()
    contexts = []
    sockets = []
    try:
        kiosk_ctx, kiosk = await open_kiosk(browser, server, "belcourt")
        contexts.append(kiosk_ctx)
        await until(lambda: connected(kiosk), 20, what="belcourt's kiosk connected")
        await until(lambda: room.transmitting["belcourt"], 20, what="belcourt transmitting")

        public_ctx = await browser.new_context(viewport={"width": 1280, "height": 720})
        contexts.append(public_ctx)
        public = await public_ctx.new_page()
        await public.goto(server.base_url + "/public/demo")
        await until(lambda: connected(public), 20, what="the public page's media connected")

        # before the opening: a card, no badge, no media
        await expect(public.locator("#public-notice")).to_contain_text("pas encore ouverte", timeout=T)
        await expect(public.locator("#live-badge")).to_be_hidden()
        await stays_still(public, "before the opening")
        assert await received(public) == 0

        sockets += await convene_with_quorum(server, session)
        president = sockets[1]
        await president.do({"type": "OpenSitting"})
        await expect(public.locator("#live-badge")).to_have_text("EN DIRECT", timeout=T)
        await expect(public.locator("#public-notice")).to_be_hidden(timeout=T)
        assert await flows(public)

        await president.do({"type": "Suspend", "reason": "pause"})
        await expect(public.locator("#public-notice")).to_contain_text("Séance suspendue", timeout=T)
        await expect(public.locator("#live-badge")).to_be_hidden()
        await stays_still(public, "during the suspension")
        # the salles themselves are not cut off: belcourt's kiosk still transmits
        assert room.transmitting["belcourt"]

        await president.do({"type": "Resume"})
        await expect(public.locator("#live-badge")).to_be_visible(timeout=T)
        assert await flows(public)

        await president.do({"type": "CloseSitting"})
        await expect(public.locator("#public-notice")).to_contain_text("Séance close", timeout=T)
        await expect(public.locator("#live-badge")).to_be_hidden()
        await stays_still(public, "after the closing")
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            await c.close()
