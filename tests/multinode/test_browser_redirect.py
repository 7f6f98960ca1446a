"""Chromium on the public page follows the sitting when it moves to another node (rtc.js)."""

from __future__ import annotations

import os

import pytest

from tests.multinode.multinode_support import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.browser, pytest.mark.timeout(120)]

CHROMIUM = os.environ.get("SEANCE_CHROMIUM", "/usr/lib/chromium/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]


async def test_the_public_page_follows_its_sitting_to_another_node(cluster):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.async_api import async_playwright

    a = cluster.add("a")
    wait_for(lambda: a.cluster()["sittings"]["demo"]["here"], 15, "node a to hold the sitting")
    b = cluster.add("b")
    b_id = b.cluster()["node"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(a.url + "/public/demo")
            await page.wait_for_selector("body[data-status='convened']", state="attached", timeout=15000)

            # The sitting moves to b (as after a handover): a closes it, the page's socket is
            # closed, reconnects to a, gets `redirect`, and the page loads again on b.
            cluster.redis.client().set("seance:lease:demo", b_id, px=10000)
            await page.wait_for_url(b.url + "/public/demo?via=*", timeout=20000)
            await page.wait_for_selector("body[data-status='convened']", state="attached", timeout=20000)
            assert b.cluster()["sittings"]["demo"]["here"] and not a.cluster()["sittings"]["demo"]["here"]
        finally:
            await browser.close()
