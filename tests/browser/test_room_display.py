"""The kiosk is the salle's room display (issue 15, point 3), in real Chromium.

Three real kiosks (fake camera and microphone) with the real Router; two of them on a
1080p and a 720p screen. The band says the sitting's state, the item discussed, the vote
open then its result, and who has the floor; the salle of whoever has the floor is shown
large with a banner naming them, the other salle smaller; the page fills the 16:9 screen
without scrolling. axe-core stays clean on the new display.
"""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from signaling.roles import Role
from tests.browser.axe_checks import BLOCKING, WCAG_TAGS, axe_violations, new_person
from tests.browser.kiosk_helpers import connected, until
from tests.browser.sitting_driver import ITEM, Socket, convene_with_quorum
from web.app import ROOMS, SIGNER

pytestmark = pytest.mark.browser

T = 15_000
SCREENS = {"vaux": {"width": 1920, "height": 1080}, "saint-ferreol": {"width": 1280, "height": 720}}

GEOMETRY = """() => {
    const box = (el) => { const r = el.getBoundingClientRect(); return {w: r.width, h: r.height, area: r.width * r.height}; };
    const tiles = [...document.querySelectorAll('#slots .tile')].map((t) => ({main: t.dataset.main, salle: t.dataset.salle, ...box(t)}));
    const se = document.scrollingElement;
    return {tiles, vw: innerWidth, vh: innerHeight, scrollH: se.scrollHeight, scrollW: se.scrollWidth,
            band: box(document.getElementById('band'))};
}"""


async def kiosk_on(browser, server, salle, viewport):
    ctx, page = await new_person(browser, server, None, viewport=viewport)
    token = server.app[SIGNER].issue(Role.KIOSK, salle=salle, sitting="demo")
    await page.goto(f"{server.base_url}/salle/{salle}?token={token}")
    return ctx, page


async def check_layout(page, main_salle: str) -> None:
    g = await page.evaluate(GEOMETRY)
    assert g["scrollH"] <= g["vh"] + 1 and g["scrollW"] <= g["vw"] + 1, f"the display scrolls: {g}"
    main = [t for t in g["tiles"] if t["main"] == "yes"]
    others = [t for t in g["tiles"] if t["main"] != "yes"]
    assert len(main) == 1 and main[0]["salle"] == main_salle, g
    screen = g["vw"] * g["vh"]
    assert main[0]["area"] >= 0.4 * screen, f"the speaker's tile uses too little of the screen: {g}"
    assert all(o["area"] * 4 <= main[0]["area"] for o in others), g


async def axe_clean(page, where: str) -> None:
    blocking = [v for v in await axe_violations(page) if v["impact"] in BLOCKING and set(v["tags"]) & set(WCAG_TAGS)]
    assert not blocking, f"{where}: " + "; ".join(f"{v['id']} ({v['help']}) {v['nodes'][:2]}" for v in blocking)


async def test_the_kiosk_shows_what_happens_and_who_speaks_on_the_whole_screen(browser, live_app, output_dir):
    server = live_app
    room = server.app[ROOMS]["demo"]
    session = aiohttp.ClientSession()
    contexts, sockets = [], []
    try:
        ctx, _ = await kiosk_on(browser, server, "belcourt", {"width": 1280, "height": 720})
        contexts.append(ctx)
        displays = {}
        for salle, viewport in SCREENS.items():
            ctx, displays[salle] = await kiosk_on(browser, server, salle, viewport)
            contexts.append(ctx)
        for salle, page in displays.items():
            await until(lambda page=page: connected(page), 25, what=f"{salle}'s kiosk connected")
        await until(lambda: all(room.transmitting.values()), 25, what="the three salles transmitting")

        for page in displays.values():
            await expect(page.locator("#band-state")).to_have_text("Séance pas encore ouverte", timeout=T)

        sockets += await convene_with_quorum(server, session)
        president = sockets[1]
        agent = await Socket.connect(
            session, server, Role.AGENT, member="a-saint-ferreol", salle="saint-ferreol", agent="a-saint-ferreol"
        )
        sockets.append(agent)
        await agent.do({"type": "CheckIn", "member_id": "m12", "salle_id": "saint-ferreol"})
        await president.do({"type": "OpenSitting"})
        await president.do({"type": "TakeUpItem", "item_id": ITEM})
        await president.do({"type": "GrantFloor", "member_id": "m12"})

        vaux = displays["vaux"]
        await expect(vaux.locator("#band-state")).to_have_text("Séance ouverte", timeout=T)
        await expect(vaux.locator("#band-item-text")).to_contain_text("1/7 — Approbation du procès-verbal", timeout=T)
        await expect(vaux.locator("#band-floor-text")).to_contain_text("Gérard Lefèvre — Saint-Ferréol", timeout=T)
        # the salle with the floor is large on vaux's screen, its banner names the speaker
        banner = vaux.locator(".tile[data-main=yes] .name-banner")
        await expect(banner).to_contain_text("Gérard Lefèvre", timeout=T)
        await expect(vaux.locator(".tile[data-main=yes]")).to_have_attribute("data-salle", "saint-ferreol")
        await check_layout(vaux, "saint-ferreol")
        await vaux.screenshot(path=str(output_dir / "kiosk-1080p-floor.png"))

        # the floor moves to belcourt: the main tile follows on both displays
        await president.do({"type": "GrantFloor", "member_id": "m04"})
        for page in displays.values():
            await expect(page.locator(".tile[data-main=yes]")).to_have_attribute("data-salle", "belcourt", timeout=T)
            await expect(page.locator(".tile[data-main=yes] .name-banner")).to_contain_text("Karim Benali")
            await check_layout(page, "belcourt")
        await axe_clean(displays["saint-ferreol"], "/salle/saint-ferreol (720p, floor given)")

        # a vote: open, then its result, in the band
        await president.do({"type": "OpenVote", "item_id": ITEM})
        sf = displays["saint-ferreol"]
        await expect(sf.locator("#band-vote")).to_contain_text("Vote en cours : 0 vote sur 11", timeout=T)
        await agent_vote(session, server, "m12", "pour")
        await expect(sf.locator("#band-vote")).to_contain_text("Vote en cours : 1 vote sur 11", timeout=T)
        await president.do({"type": "CloseVote", "item_id": ITEM})
        await expect(sf.locator("#band-vote")).to_contain_text("Point 1 : adopté — pour 1, contre 0", timeout=T)
        await sf.screenshot(path=str(output_dir / "kiosk-720p-result.png"))
        await axe_clean(sf, "/salle/saint-ferreol (720p, result)")

        await president.do({"type": "Suspend", "reason": "pause"})
        await expect(sf.locator("#band-state")).to_have_text("Séance suspendue", timeout=T)
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            await c.close()


async def agent_vote(session, server, member: str, choice: str) -> None:
    councillor = await Socket.connect(session, server, Role.COUNCILLOR, member=member)
    try:
        await councillor.do({"type": "CastBallot", "item_id": ITEM, "voter_id": member, "choice": choice})
    finally:
        await councillor.close()
