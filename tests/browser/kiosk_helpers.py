"""Helpers shared by the real-browser tests (polling with bounds, page probes)."""

from __future__ import annotations

import asyncio
import time

from signaling.roles import Role
from web.app import SESSION_COOKIE, SIGNER


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


#: per tile: its salle, whether its <video> plays a decoded picture (frames advance)
PLAYING = """async () => {
    const probe = () => [...document.querySelectorAll('#salles .salle-tile')].map((t) => {
        const v = t.querySelector('video');
        return {salle: t.dataset.salle, time: v.currentTime, width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames};
    });
    const a = probe();
    await new Promise((r) => setTimeout(r, 700));
    const b = probe();
    return Object.fromEntries(a.map((x, i) => [x.salle, x.width > 0 && b[i].frames > x.frames && b[i].time > x.time]));
}"""


async def playing(page) -> dict[str, bool]:
    return await page.evaluate(PLAYING)


async def person(browser, server, role: Role, *, member=None, salle=None, agent=None, path="/", viewport=None):
    """A browser context holding this person's session cookie, opened on ``path``."""
    context = await browser.new_context(viewport=viewport or {"width": 1360, "height": 900}, locale="fr-FR")
    token = server.app[SIGNER].issue(role, member=member, salle=salle, agent=agent)
    await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": server.base_url}])
    page = await context.new_page()
    label = member or agent or role.value
    page.on("console", lambda m: m.type == "error" and print(f"[{label}] console: {m.text}"))
    page.on("pageerror", lambda e: print(f"[{label}] page error: {e}"))
    await page.goto(server.base_url + path)
    return context, page


async def log_in(page, base: str, login: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#login", login)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/")
