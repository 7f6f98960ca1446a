"""People are told what a step does and what happened to them (issue 15, points 5 and 7),
in real Chromium.

- The secret-ballot request (R15) says, before it is sent, that it postpones the item to
  an in-person sitting and can be withdrawn only until one third have asked: a
  confirmation step; « Annuler » records nothing; the request is withdrawn from the page.
- The agent of a salle whose kiosk is offline is told what to do, step by step.
- The giver's arrival ends a proxy (R9, L.2121-20): the holder's page and the agent's
  page say so, and that the holder now votes in their own name only.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect

from signaling.roles import Role
from tests.browser.axe_checks import BLOCKING, WCAG_TAGS, axe_violations, new_person
from tests.browser.kiosk_helpers import connected, open_kiosk, until
from tests.browser.sitting_driver import ITEM, convene_with_quorum
from web.app import ROOMS, SITTINGS

pytestmark = pytest.mark.browser

T = 15_000
PHONE = {"width": 390, "height": 844}


async def axe_clean(page, where: str) -> None:
    blocking = [v for v in await axe_violations(page) if v["impact"] in BLOCKING and set(v["tags"]) & set(WCAG_TAGS)]
    assert not blocking, f"{where}: " + "; ".join(f"{v['id']} ({v['help']}) {v['nodes'][:2]}" for v in blocking)


async def test_the_secret_request_is_confirmed_the_agent_is_guided_and_a_proxy_s_end_is_told(
    browser, live_app, output_dir
):
    server = live_app
    room = server.app[ROOMS]["demo"]
    service = server.app[SITTINGS]["demo"]
    session = aiohttp.ClientSession()
    contexts, sockets = [], []
    try:
        ctx, kiosk = await open_kiosk(browser, server, "belcourt")
        contexts.append(ctx)
        await until(lambda: connected(kiosk), 25, what="belcourt's kiosk connected")
        await until(lambda: room.transmitting["belcourt"], 25, what="belcourt transmitting")
        sockets += await convene_with_quorum(server, session)  # with the proxy m09 → m07
        agent_socket, president_socket = sockets
        await president_socket.do({"type": "OpenSitting"})
        await president_socket.do({"type": "TakeUpItem", "item_id": ITEM})

        # --- the secret-ballot request: a confirmation that says what it does
        ctx, elu = await new_person(browser, server, Role.COUNCILLOR, member="m07", viewport=PHONE)
        contexts.append(ctx)
        await elu.goto(server.base_url + "/elu")
        await elu.click("#secret-btn")
        confirm = elu.locator("#secret-confirm-text")
        await expect(confirm).to_contain_text("Vous pourrez la retirer tant que ce tiers n'est pas atteint", timeout=T)
        await expect(confirm).to_contain_text("reporté à une séance en présentiel")
        await expect(elu.locator("#secret-confirm-btn")).to_be_focused()
        await axe_clean(elu, "/elu (secret ballot confirmation)")
        await elu.click("#secret-cancel-btn")
        await expect(elu.locator("#secret-btn")).to_be_visible(timeout=T)
        assert service.seance.state.item(ITEM)["secret_requests"] == []  # « Annuler » recorded nothing
        await elu.click("#secret-btn")
        await elu.click("#secret-confirm-btn")
        await expect(elu.locator("#secret")).to_contain_text(
            "Votre demande de scrutin secret est enregistrée.", timeout=T
        )
        assert [r["member"] for r in service.seance.state.item(ITEM)["secret_requests"]] == ["m07"]
        # withdrawn from the page while one third have not asked (R15): journaled, the button back
        await axe_clean(elu, "/elu (secret ballot requested, withdrawable)")
        await elu.locator("#secret").screenshot(path=str(output_dir / "elu-secret-withdrawable.png"))
        await elu.click("#secret-withdraw-btn")
        await expect(elu.locator("#secret-btn")).to_be_visible(timeout=T)
        assert service.seance.state.item(ITEM)["secret_requests"] == []
        assert "SecretBallotRequestWithdrawn" in Path(service.journal_path).read_text(encoding="utf-8")

        # --- the agent of a salle whose kiosk is offline is told what to do
        ctx, vaux = await new_person(browser, server, Role.AGENT, agent="a-vaux", salle="vaux")
        contexts.append(ctx)
        await vaux.goto(server.base_url + "/agent/vaux")
        help_box = vaux.locator("#health-help")
        await expect(help_box).to_be_visible(timeout=T)
        await expect(help_box).to_contain_text("La borne de la salle est hors ligne.")
        await expect(help_box.locator("li").first).to_contain_text("rechargez-la")
        await axe_clean(vaux, "/agent/vaux (kiosk offline, instructions)")
        await vaux.screenshot(path=str(output_dir / "agent-offline-help.png"), full_page=True)

        # --- the giver arrives: the proxy ends, the holder and the agent are told
        ctx, belcourt = await new_person(browser, server, Role.AGENT, agent="a-belcourt", salle="belcourt")
        contexts.append(ctx)
        await belcourt.goto(server.base_url + "/agent/belcourt")
        await expect(belcourt.locator("#proxies")).to_contain_text("Claire Dubois → Nathalie Rousseau", timeout=T)
        await expect(elu.locator("#sitting-line")).to_contain_text("vous détenez le pouvoir de Claire Dubois")
        await agent_socket.do({"type": "CheckIn", "member_id": "m09", "salle_id": "belcourt"})
        told = belcourt.locator("#proxies-ended li[data-giver=m09]")
        await expect(told).to_contain_text(
            "pouvoir de Claire Dubois à Nathalie Rousseau terminé : Claire Dubois est arrivée", timeout=T
        )
        await expect(told).to_contain_text("Nathalie Rousseau ne vote plus qu'en son nom.")
        holder = elu.locator("#proxy-ended")
        await expect(holder).to_be_visible(timeout=T)
        await expect(holder).to_contain_text("Le pouvoir de Claire Dubois a pris fin à")
        await expect(holder).to_contain_text("elle est arrivée en séance. Vous ne votez plus qu'en votre nom.")
        await axe_clean(belcourt, "/agent/belcourt (a proxy ended)")
        await axe_clean(elu, "/elu (the proxy held ended)")
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            await c.close()
