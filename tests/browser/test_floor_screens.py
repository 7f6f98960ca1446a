"""The floor drives the picture (issue 15, point 2), in real Chromium.

Two real kiosks (fake camera and microphone) with the real Router, the public page, the
moderator's page and the page of a councillor sitting in Vaux. Vaux's microphone is cut by
the moderator, so the Router's voice activity never puts Vaux on the public picture: only
the floor can. The councillor asks for the floor; the moderator's queue says from which
salle; given the floor, Vaux goes on the public programme, the moderator sees who speaks,
from where and for how long, and the councillor sees their time and a « Terminer »
button; a pin still wins over the floor; « Terminer » gives the picture back.
"""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

from signaling.roles import Role
from tests.browser.axe_checks import BLOCKING, WCAG_TAGS, axe_violations, new_person
from tests.browser.kiosk_helpers import connected, open_kiosk, until
from tests.browser.sitting_driver import Socket, convene_with_quorum
from web.app import ROOMS

pytestmark = pytest.mark.browser

T = 15_000
PHONE = {"width": 390, "height": 844}
SPEAKER = "m12"  # Gérard Lefèvre, checked in at Vaux for this test


async def axe_clean(page, where: str) -> None:
    blocking = [v for v in await axe_violations(page) if v["impact"] in BLOCKING and set(v["tags"]) & set(WCAG_TAGS)]
    assert not blocking, f"{where}: " + "; ".join(f"{v['id']} ({v['help']}) {v['nodes'][:2]}" for v in blocking)


async def send(sock: Socket, message: dict) -> None:
    await sock.ws.send_json(message)


async def test_the_floor_puts_the_speaker_s_salle_on_the_public_picture(browser, live_app, output_dir):
    server = live_app
    room = server.app[ROOMS]["demo"]
    session = aiohttp.ClientSession()
    contexts, sockets = [], []
    try:
        kiosks = {}
        for salle in ("belcourt", "vaux"):
            ctx, kiosks[salle] = await open_kiosk(browser, server, salle)
            contexts.append(ctx)
        for salle, page in kiosks.items():
            await until(lambda page=page: connected(page), 25, what=f"{salle}'s kiosk connected")
        await until(lambda: room.transmitting["belcourt"] and room.transmitting["vaux"], 25, what="both transmitting")

        sockets += await convene_with_quorum(server, session)
        president = sockets[1]
        vaux_agent = await Socket.connect(session, server, Role.AGENT, member="a-vaux", salle="vaux", agent="a-vaux")
        sockets.append(vaux_agent)
        await vaux_agent.do({"type": "CheckIn", "member_id": SPEAKER, "salle_id": "vaux"})
        await president.do({"type": "OpenSitting"})
        moderator_socket = await Socket.connect(session, server, Role.MODERATOR, member="moderateur")
        sockets.append(moderator_socket)
        await send(moderator_socket, {"type": "mute", "salle": "vaux", "muted": True})
        await until(lambda: "vaux" in room.muted, 5, what="vaux muted")

        ctx, public = await new_person(browser, server, None)
        contexts.append(ctx)
        await public.goto(server.base_url + "/public/demo")
        programme = public.locator("#slots figure[data-slot=programme]")
        await expect(programme).to_have_attribute("data-salle", "belcourt", timeout=T)

        ctx, elu = await new_person(browser, server, Role.COUNCILLOR, member=SPEAKER, viewport=PHONE)
        contexts.append(ctx)
        await elu.goto(server.base_url + "/elu")
        ctx, moderator = await new_person(browser, server, Role.MODERATOR, member="moderateur")
        contexts.append(ctx)
        await moderator.goto(server.base_url + "/moderation")

        # the request, and the salle it comes from in the moderator's queue
        await elu.locator("#floor-btn:has-text('Demander la parole')").click()
        request = moderator.locator(f"#floor li[data-member={SPEAKER}]")
        await expect(request).to_contain_text("Gérard Lefèvre — Vaux-sur-Ance", timeout=T)
        await axe_clean(moderator, "/moderation (a request for the floor)")
        await request.locator("button:has-text('Donner la parole')").click()

        # Vaux goes on the public picture: only the floor can put it there (its microphone is cut)
        await expect(programme).to_have_attribute("data-salle", "vaux", timeout=T)
        assert room.state_message()["floor_salle"] == "vaux"
        speaker = moderator.locator("#floor .speaker")
        await expect(speaker).to_contain_text("Gérard Lefèvre (Vaux-sur-Ance", timeout=T)
        await expect(speaker.locator(".elapsed")).to_have_text(re.compile(r"^\d+ s$"))
        first = await speaker.locator(".elapsed").text_content()
        await expect(speaker.locator(".elapsed")).not_to_have_text(first, timeout=T)  # the time runs

        state = elu.locator("#floor-state")
        await expect(state).to_contain_text("Vous avez la parole depuis", timeout=T)
        end = elu.locator("#floor-btn")
        await expect(end).to_have_text("Terminer mon intervention")
        await axe_clean(elu, "/elu (the floor given)")
        await elu.screenshot(path=str(output_dir / "elu-floor.png"), full_page=True)

        # the president's pin still wins over the floor; unpinned, the floor's salle comes back
        await send(president, {"type": "pin", "salle": "belcourt"})
        await expect(programme).to_have_attribute("data-salle", "belcourt", timeout=T)
        await send(president, {"type": "pin", "salle": None})
        await expect(programme).to_have_attribute("data-salle", "vaux", timeout=T)

        # « Terminer »: the turn ends, the picture goes back to the president's salle
        await end.click()
        await expect(state).to_contain_text("Personne n'a la parole.", timeout=T)
        await expect(moderator.locator("#floor")).to_contain_text("Personne n'a la parole.", timeout=T)
        await expect(programme).to_have_attribute("data-salle", "belcourt", timeout=T)
        assert room.state_message()["floor_salle"] is None
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            await c.close()
