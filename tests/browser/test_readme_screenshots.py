"""The README's screenshots, taken from a real run (issue 15: « made by a script from a
real run, so that they stay true »). ``make screenshots`` runs this file with
``SEANCE_SCREENSHOTS=docs/screenshots``; in the test suite it writes to test-output/readme.

The demo council served as ``make demo`` serves it, three real kiosks in Chromium (fake
camera and microphone), the quorum checked in, the sitting opened, an item taken up, the
floor given to a councillor in Saint-Ferréol and the vote open with a few ballots. Then
the president's page (the mosaic playing each salle), Vaux's kiosk (the room display:
the band and the salle that has the floor large) and the public page (« EN DIRECT », the
floor's salle on the picture) are photographed — each only once it shows that state.
Last, the president shows an annex of the item (a real two-page PDF) and Vaux's kiosk is
photographed drawing its first page beside the salles' pictures (issue 15 point 8).
"""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect
from weasyprint import HTML

from signaling.roles import Role
from tests.browser.annex_on_screen import TWO_PAGES, shown
from tests.browser.axe_checks import new_person
from tests.browser.kiosk_helpers import connected, playing, until
from tests.browser.sitting_driver import ITEM, Socket, convene_with_quorum, request
from tests.web.demo_annex import join_to_demo
from web.app import ROOMS, SIGNER
from web.appkeys import CONFIG

pytestmark = pytest.mark.browser

T = 20_000
SALLES = ("belcourt", "vaux", "saint-ferreol")
SCREEN = {"width": 1440, "height": 900}
TV = {"width": 1280, "height": 720}


def destination(output_dir: Path) -> Path:
    """docs/screenshots when ``make screenshots`` asks for it, else test-output/readme."""
    target = Path(os.environ.get("SEANCE_SCREENSHOTS") or output_dir / "readme")
    target.mkdir(parents=True, exist_ok=True)
    return target


async def test_readme_screenshots_from_a_real_sitting(browser, live_app, output_dir):
    server = live_app
    room = server.app[ROOMS]["demo"]
    out = destination(output_dir)
    plan = join_to_demo(server.app[CONFIG], HTML(string=TWO_PAGES).write_pdf())  # an annex of ITEM
    session = aiohttp.ClientSession()
    contexts, sockets, kiosks = [], [], {}
    try:
        for salle in SALLES:
            ctx, kiosks[salle] = await new_person(browser, server, None, viewport=TV)
            contexts.append(ctx)
            token = server.app[SIGNER].issue(Role.KIOSK, salle=salle, sitting="demo")
            await kiosks[salle].goto(f"{server.base_url}/salle/{salle}?token={token}")
        for salle, page in kiosks.items():
            await until(lambda page=page: connected(page), 30, what=f"{salle}'s kiosk connected")
        await until(lambda: all(room.transmitting[s] for s in SALLES), 30, what="the three salles transmitting")

        sockets += await convene_with_quorum(server, session)
        president_socket = sockets[1]
        sf_agent = await Socket.connect(
            session, server, Role.AGENT, member="a-saint-ferreol", salle="saint-ferreol", agent="a-saint-ferreol"
        )
        sockets.append(sf_agent)
        await sf_agent.do({"type": "CheckIn", "member_id": "m12", "salle_id": "saint-ferreol"})
        await president_socket.do({"type": "OpenSitting"})
        await president_socket.do({"type": "TakeUpItem", "item_id": ITEM})
        await president_socket.do({"type": "GrantFloor", "member_id": "m12"})
        await president_socket.do({"type": "OpenVote", "item_id": ITEM})
        for member, choice in (("m02", "pour"), ("m04", "pour"), ("m08", "abstention")):
            voter = await Socket.connect(session, server, Role.COUNCILLOR, member=member)
            sockets.append(voter)
            await voter.do({"type": "CastBallot", "item_id": ITEM, "voter_id": member, "choice": choice})

        ctx, president = await new_person(
            browser, server, Role.PRESIDENT, member="m01", salle="belcourt", viewport=SCREEN
        )
        contexts.append(ctx)
        await president.goto(server.base_url + "/president")
        await expect(president.locator("#vote-count")).to_have_text("3 votes enregistrés sur 11.", timeout=T)
        await expect(president.locator("#floor .speaker")).to_contain_text("Gérard Lefèvre", timeout=T)
        await until(lambda: _every_salle_playing(president), 40, 0.5, "a playing picture in each salle's tile")
        await president.screenshot(path=str(out / "president.png"))

        vaux = kiosks["vaux"]
        await expect(vaux.locator(".tile[data-main=yes]")).to_have_attribute("data-salle", "saint-ferreol", timeout=T)
        await expect(vaux.locator("#band-floor-text")).to_contain_text("Gérard Lefèvre", timeout=T)
        await vaux.screenshot(path=str(out / "kiosk.png"))

        ctx, public = await new_person(browser, server, None, viewport=SCREEN)
        contexts.append(ctx)
        await public.goto(server.base_url + "/public/demo")
        await expect(public.locator("#live-badge")).to_be_visible(timeout=T)
        programme = public.locator("#slots figure[data-slot=programme]")
        await expect(programme).to_have_attribute("data-salle", "saint-ferreol", timeout=T)
        await until(
            lambda: _plays(public, "#slots figure[data-slot=programme] video"), 30, 0.5, "the programme playing"
        )
        await public.screenshot(path=str(out / "public.png"))

        await request(president_socket, {"type": "present", "annex": plan.id, "pages": 2})
        await shown(vaux, 1)
        await vaux.screenshot(path=str(out / "document.png"))

        for name in ("president.png", "kiosk.png", "public.png", "document.png"):
            assert (out / name).stat().st_size > 10_000, name  # a picture, not an empty page
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            await c.close()


async def _every_salle_playing(page) -> bool:
    got = await playing(page)
    return all(got.get(s) for s in SALLES)


async def _plays(page, selector: str) -> bool:
    return await page.evaluate(
        """async (sel) => {
            const v = document.querySelector(sel);
            if (!v || !v.videoWidth) return false;
            const a = v.getVideoPlaybackQuality().totalVideoFrames;
            await new Promise((r) => setTimeout(r, 500));
            return v.getVideoPlaybackQuality().totalVideoFrames > a;
        }""",
        selector,
    )
