"""Rule codes are never the main words, and buttons that cannot act say why (issue 15,
points 6 and 7), on the president's page in real Chromium.

The opening's refusals read as plain French with the rule as a detail after them; the
public stream is « prête » before the opening, not « active » (nothing goes out before it,
R2 and R11); a refusal in the alert starts with what to do; during a suspension the
opening card says « suspendue », not « ouverte »; after the closing « Désigner » and
« Mettre à l'image » are disabled with the reason shown. axe-core stays clean.
"""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import expect

from signaling.roles import Role
from tests.browser.axe_checks import BLOCKING, WCAG_TAGS, axe_violations, new_person
from tests.browser.kiosk_helpers import connected, open_kiosk, until
from tests.browser.sitting_driver import ITEM, convene_with_quorum
from web.app import ROOMS

pytestmark = pytest.mark.browser

T = 15_000
RULE_FIRST = re.compile(r"^\s*R\d+\s*[—–-]")


async def axe_clean(page, where: str) -> None:
    blocking = [v for v in await axe_violations(page) if v["impact"] in BLOCKING and set(v["tags"]) & set(WCAG_TAGS)]
    assert not blocking, f"{where}: " + "; ".join(f"{v['id']} ({v['help']}) {v['nodes'][:2]}" for v in blocking)


async def test_the_president_reads_plain_words_and_disabled_buttons_say_why(browser, live_app, output_dir):
    server = live_app
    room = server.app[ROOMS]["demo"]
    session = aiohttp.ClientSession()
    contexts, sockets = [], []
    try:
        ctx, president = await new_person(browser, server, Role.PRESIDENT, member="m01", salle="belcourt")
        contexts.append(ctx)
        await president.goto(server.base_url + "/president")

        # nobody present: « Désigner » cannot act, and says why
        await expect(president.locator("#secretary-btn")).to_be_disabled(timeout=T)
        await expect(president.locator("#secretary-reason")).to_have_text(
            "Aucun membre n'est présent : le secrétaire se désigne parmi les présents."
        )
        # no salle transmits: the public stream is not ready (and never said « active » before the opening)
        stream = president.locator("#checklist li[data-key=stream]")
        await expect(stream).to_contain_text("pas prête, aucune salle ne transmet encore", timeout=T)
        # the reasons the sitting cannot open: the words first, the rule after
        r8 = president.locator("#open-hint .blocker[data-rule=R8]")
        await expect(r8).to_contain_text("Quorum non atteint", timeout=T)
        await expect(r8.locator(".rule-ref")).to_have_text(" (règle R8)")
        for text in await president.locator("#open-hint .blocker").all_text_contents():
            assert not RULE_FIRST.match(text), f"a rule code is the first word: {text!r}"
        quorum = president.locator("#checklist li[data-rule=R8]")
        assert (await quorum.locator(".check-text").text_content()).startswith("Quorum : 0 présent")
        await axe_clean(president, "/president (cannot open, plain words)")

        sockets += await convene_with_quorum(server, session)
        president_socket = sockets[1]
        # a refusal in the alert starts with what to do, the rule after it
        await expect(president.locator("#secretary-btn")).to_be_enabled(timeout=T)
        await president.select_option("#secretary-select", "")
        await president.click("#secretary-btn")
        alert = president.locator("#alert")
        await expect(alert).to_be_visible(timeout=T)
        await expect(alert).to_have_text("Refusé : Choisissez un membre présent. (règle R10)")

        ctx, kiosk = await open_kiosk(browser, server, "belcourt")
        contexts.append(ctx)
        await until(lambda: connected(kiosk), 25, what="belcourt's kiosk connected")
        await until(lambda: room.transmitting["belcourt"], 25, what="belcourt transmitting")
        await expect(stream).to_contain_text("prête, la diffusion commencera à l'ouverture", timeout=T)
        await expect(stream).to_have_class("ok")
        await president.click("#open-btn")
        await expect(president.locator("#open-hint")).to_contain_text("La séance est ouverte.", timeout=T)

        await expect(president.locator("#notice")).to_have_text("La séance est ouverte.")  # its own change: kept

        # a suspension: the card says so too (the header said « suspendue », the card « ouverte »),
        # and the confirmation of the step before (« Point appelé ») no longer shows
        await president.click(f"#agenda li[data-item={ITEM}] button:has-text('Appeler ce point')")
        await expect(president.locator("#notice")).to_contain_text("Point appelé", timeout=T)
        await president_socket.do({"type": "Suspend", "reason": "pause"})
        hint = president.locator("#open-hint")
        await expect(hint).to_contain_text("La séance est suspendue", timeout=T)
        await expect(hint).not_to_contain_text("ouverte")
        await expect(president.locator("#notice")).to_have_text("")
        await axe_clean(president, "/president (suspended)")
        await president_socket.do({"type": "Resume"})

        # after the closing, « Désigner » and « Mettre à l'image » are disabled, with the reason
        await president_socket.do({"type": "CloseSitting"})
        await expect(president.locator("#secretary-btn")).to_be_disabled(timeout=T)
        await expect(president.locator("#secretary-reason")).to_have_text(
            "La séance est close : le secrétaire ne se désigne plus."
        )
        pin = president.locator(".salle-tile[data-salle=vaux] button[data-key=pin-vaux]")
        await expect(pin).to_be_disabled(timeout=T)
        await expect(pin).to_have_attribute("aria-describedby", "pin-reason-vaux")
        await expect(president.locator("#pin-reason-vaux")).to_have_text("Séance close : plus rien n'est diffusé.")
        await axe_clean(president, "/president (closed)")
        await president.screenshot(path=str(output_dir / "president-closed.png"), full_page=True)
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            await c.close()
