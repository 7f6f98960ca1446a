"""Helpers shared by the real-browser tests (polling with bounds, page probes)."""

from __future__ import annotations

import asyncio
import time

from signaling.roles import Role
from web.app import SIGNER


async def until(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    """Poll an async or sync predicate until truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


async def open_kiosk(browser, server, salle):
    context = await browser.new_context(viewport={"width": 1280, "height": 760})
    page = await context.new_page()
    page.on("console", lambda m: m.type == "error" and print(f"[{salle}] console: {m.text}"))
    token = server.app[SIGNER].issue(Role.KIOSK, salle=salle, sitting="demo")
    await page.goto(f"{server.base_url}/salle/{salle}?token={token}")
    return context, page


async def connected(page) -> bool:
    return await page.evaluate(
        "() => !!(window.seance && window.seance.pc && window.seance.pc.connectionState === 'connected')"
    )


async def stats(page) -> list[dict]:
    return await page.evaluate("() => window.seance ? window.seance.inboundStats() : []")
