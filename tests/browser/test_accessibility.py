"""Accessibility of every screen, in real Chromium (issue 4: "keyboard usable, labels, contrast").

1. axe-core (npm, pinned in package.json; ``npm ci`` installs it into node_modules/) runs
   on each screen at a meaningful moment — the sitting convened, then opened with an
   electronic vote in progress (the president's, the councillor's and the public
   display's vote controls visible) — with the WCAG 2.0/2.1 A and AA rules; any violation
   of impact "serious" or "critical" fails, and the message lists every violation with
   its nodes.

   How axe gets into the page: the pages' CSP is ``script-src 'self'``, so Playwright's
   ``page.add_script_tag(path=…)`` (which inlines the file's content) is refused by the
   browser; ``context.add_init_script(path=…)`` is evaluated by the DevTools protocol
   (Page.addScriptToEvaluateOnNewDocument), outside the page's CSP, and works. The test
   checks both, so a change of either behaviour is noticed.

2. Keyboard only: the president opens the sitting, calls an item, chooses the method, opens
   and closes the vote with Tab / Shift+Tab / Enter / Space (no mouse click, no
   ``.click()``); a councillor on a phone-sized /elu casts both her ballots (her own and
   the proxy she holds) the same way. Each focused control shows a visible focus
   indicator (computed outline or box-shadow), and the sitting status, the vote and the
   refusals sit in live regions.

Screenshots go to ``test-output/a11y/``.
"""

from __future__ import annotations

import time

import aiohttp
import pytest
from playwright.async_api import expect

from signaling.roles import Role
from tests.browser.axe_checks import DESKTOP, PHONE, Scanner, axe_or_skip, new_person
from tests.browser.kiosk_helpers import open_kiosk, until
from tests.browser.sitting_driver import ITEM, Socket, convene_with_quorum
from web.app import ROOMS, SIGNER, SITTINGS

pytestmark = pytest.mark.browser

T = 15_000

# ------------------------------------------------------------------------------ helpers


async def open_kiosk_with_axe(browser, server, salle):
    """The salle's kiosk page (fake camera and microphone), axe preloaded."""
    context, page = await new_person(browser, server, None, viewport={"width": 1280, "height": 760})
    token = server.app[SIGNER].issue(Role.KIOSK, salle=salle, sitting="demo")
    await page.goto(f"{server.base_url}/salle/{salle}?token={token}")
    return context, page


async def focused(page) -> dict:
    return await page.evaluate("""() => {
        const el = document.activeElement;
        if (!el || el === document.body) return {tag: "body"};
        const cs = getComputedStyle(el);
        return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.textContent || "").trim().slice(0, 60),
                outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
                outlineStyle: cs.outlineStyle, outlineWidth: parseFloat(cs.outlineWidth) || 0,
                boxShadow: cs.boxShadow};
    }""")


async def tab_to(page, selector: str, *, back: bool = False, limit: int = 120) -> dict:
    """Press Tab (or Shift+Tab) until the focused element matches ``selector``; then check
    its focus indicator is visible. Fails after ``limit`` presses."""
    key = "Shift+Tab" if back else "Tab"
    for presses in range(limit):
        if await page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            info = await focused(page)
            print(f"  {key} ×{presses} → {selector}  (focus ring: {info['outline']}; {info['boxShadow']})")
            visible = (info["outlineStyle"] not in ("none", "") and info["outlineWidth"] > 0) or info[
                "boxShadow"
            ] not in ("none", "")
            assert visible, f"no visible focus indicator on {selector}: {info}"
            return info
        await page.keyboard.press(key)
    raise AssertionError(f"{selector} not reached with {key} in {limit} presses (focus on {await focused(page)})")


async def live_region(page, selector: str) -> str:
    """The politeness with which changes in ``selector`` are announced ('' if none)."""
    return await page.evaluate(
        """(s) => {
        for (let el = document.querySelector(s); el; el = el.parentElement) {
            const live = el.getAttribute("aria-live");
            if (live && live !== "off") return live;
            const role = el.getAttribute("role");
            if (role === "alert") return "assertive";
            if (role === "status" || role === "log") return "polite";
        }
        return "";
    }""",
        selector,
    )


# ------------------------------------------------------------------------------ tests


async def test_every_screen_passes_axe(browser, live_app, output_dir):
    axe = axe_or_skip()
    server = live_app
    room = server.app[ROOMS]["demo"]
    scanner = Scanner(output_dir / "a11y")
    contexts = []
    session = aiohttp.ClientSession()
    sockets: list[Socket] = []
    t0 = time.monotonic()
    try:
        # How axe can (not) enter a page under this CSP: add_script_tag inlines the file and
        # the page refuses it; add_init_script (CDP) is outside the page's CSP.
        ctx = await browser.new_context()
        contexts.append(ctx)
        probe = await ctx.new_page()
        await probe.goto(server.base_url + "/login")
        with pytest.raises(Exception, match="Content Security Policy"):
            await probe.add_script_tag(path=str(axe))
        assert await probe.evaluate("typeof window.axe") == "undefined"

        kiosk_ctx, kiosk = await open_kiosk_with_axe(browser, server, "belcourt")
        contexts.append(kiosk_ctx)

        # ---- before anyone signs in
        ctx, anon = await new_person(browser, server, None)
        contexts.append(ctx)
        for path, name in (("/login", "login"), ("/confidentialite", "confidentialite")):
            await anon.goto(server.base_url + path)
            await scanner.scan(anon, path, shot=name if name == "login" else None)

        # ---- each role's home page, and the screens of a convened sitting
        people = {
            "president": (Role.PRESIDENT, {"member": "m01", "salle": "belcourt"}, DESKTOP),
            "agent": (Role.AGENT, {"member": "a-belcourt", "salle": "belcourt", "agent": "a-belcourt"}, DESKTOP),
            "elu": (Role.COUNCILLOR, {"member": "m07"}, PHONE),
            "moderateur": (Role.MODERATOR, {"member": "moderateur", "salle": "belcourt"}, DESKTOP),
            "auditeur": (Role.AUDITOR, {"member": "auditeur"}, DESKTOP),
            "admin": (Role.ADMIN, {"member": "dsi"}, DESKTOP),
        }
        pages = {}
        for who, (role, claims, viewport) in people.items():
            ctx, page = await new_person(browser, server, role, viewport=viewport, **claims)
            contexts.append(ctx)
            pages[who] = page
            await page.goto(server.base_url + "/")
            await scanner.scan(page, f"/ ({who})")

        sockets += await convene_with_quorum(server, session)
        await until(lambda: room.transmitting.get("belcourt"), 30, what="belcourt transmitting")

        admin = pages["admin"]
        for path in ("/admin", "/admin/seances/demo", "/admin/seances/demo/convocation"):
            await admin.goto(server.base_url + path)
            await scanner.scan(admin, path, shot="admin" if path == "/admin" else None)
        await admin.goto(server.base_url + "/admin")  # every form of the dashboard, unfolded
        await admin.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        await scanner.scan(admin, "/admin (forms open)")

        president = pages["president"]
        await president.goto(server.base_url + "/president")
        await expect(president.locator("#open-btn")).to_be_enabled(timeout=T)
        await scanner.scan(president, "/president (convened)", shot="president-convened")
        # a refusal on screen (R12: a banned item typed into the agenda)
        await president.locator("#add-item summary").click()
        await president.fill("#item-title", "Budget 2027")
        await president.select_option("#item-kind", "budget_primitif")  # R12: the nature decides
        await president.locator("#add-item-form button[type=submit]").click()
        await expect(president.locator("#alert")).to_contain_text("R12", timeout=T)
        await scanner.scan(president, "/president (refusal shown)", shot="president-refusal")

        agent = pages["agent"]
        await agent.goto(server.base_url + "/agent/belcourt")
        await expect(agent.locator("#members tr[data-member=m07]")).to_contain_text("Présente ici", timeout=T)
        await scanner.scan(agent, "/agent/belcourt (convened)", shot="agent-convened")

        moderator = pages["moderateur"]
        await moderator.goto(server.base_url + "/moderation")
        await expect(moderator.locator("#moderation .salle-tile").first).to_be_visible(timeout=T)
        await scanner.scan(moderator, "/moderation")

        elu = pages["elu"]
        await elu.goto(server.base_url + "/elu")
        await expect(elu.locator("#presence")).to_contain_text("présente depuis", timeout=T)
        await scanner.scan(elu, "/elu (convened, phone)")

        ctx, public = await new_person(browser, server, None, viewport={"width": 1600, "height": 900})
        contexts.append(ctx)
        await public.goto(server.base_url + "/public/demo")
        await expect(public.locator("#badge-sitting")).to_contain_text("convoquée", timeout=T)
        await scanner.scan(public, "/public/demo (convened)")

        await scanner.scan(kiosk, "/salle/belcourt (kiosk)", shot="kiosk")

        auditor = pages["auditeur"]
        # ---- the sitting opened, an electronic vote in progress: the vote controls visible
        await president.locator("#open-btn").click()
        await expect(president.locator("#badge-sitting")).to_have_text("Séance ouverte", timeout=T)
        await president.locator(f"#agenda li[data-item={ITEM}] button").click()
        await president.locator("#open-vote-btn").click()
        await expect(president.locator("#vote-count")).to_contain_text("0 vote enregistré", timeout=T)
        await expect(president.locator("#vote .ballot[data-ballot=self] button[data-choice=pour]")).to_be_visible()
        await scanner.scan(president, "/president (vote open)", shot="president-vote-open")

        await expect(elu.locator(".ballot[data-ballot=m09] button[data-choice=pour]")).to_be_visible(timeout=T)
        await scanner.scan(elu, "/elu (vote open, two ballots, phone)", shot="elu-two-ballots")

        await expect(public.locator("#public-vote")).to_be_visible(timeout=T)
        await scanner.scan(public, "/public/demo (vote open)", shot="public-vote-open")

        await expect(agent.locator("#badge-sitting")).to_have_text("Séance ouverte", timeout=T)
        await scanner.scan(agent, "/agent/belcourt (opened)")

        # suspended during the vote (R17: the vote frozen), and a sensitive passage (R19)
        chair = sockets[1]
        await chair.do({"type": "Suspend", "reason": "incident technique"})
        await chair.do({"type": "MarkSensitive", "on": True, "reason": "situation d'un agent"})
        await expect(president.locator("#vote .alert.frozen")).to_be_visible(timeout=T)
        await expect(elu.locator("#ballots")).to_contain_text("Vote gelé", timeout=T)
        await expect(public.locator("#public-notice")).to_be_visible(timeout=T)
        await scanner.scan(president, "/president (suspended, vote frozen)", shot="president-suspended")
        await scanner.scan(elu, "/elu (suspended, vote frozen, phone)")
        await scanner.scan(public, "/public/demo (suspended, sensitive passage)", shot="public-suspended")
        await chair.do({"type": "MarkSensitive", "on": False})
        await chair.do({"type": "Resume"})
        await expect(president.locator("#vote .alert.frozen")).to_have_count(0, timeout=T)

        # a result proclaimed: the nominative result on the public display and on /elu
        await president.locator("#vote .ballot[data-ballot=self] button[data-choice=pour]").click()
        await expect(president.locator("#vote-count")).to_contain_text("1 vote enregistré", timeout=T)
        await president.locator("#close-vote-btn").click()
        await expect(public.locator(f"#public-results article[data-item={ITEM}]")).to_be_visible(timeout=T)
        await expect(elu.locator("#last-result")).to_be_visible(timeout=T)
        await scanner.scan(public, "/public/demo (result proclaimed)", shot="public-result")
        await scanner.scan(elu, "/elu (result proclaimed, phone)")
        await scanner.scan(president, "/president (result proclaimed)")

        # a roll call (R13): the agent records the answers of the salle
        await chair.do({"type": "TakeUpItem", "item_id": "marche-collecte"})
        await chair.do({"type": "OpenVote", "item_id": "marche-collecte", "method": "appel_nominal"})
        await expect(agent.locator("#rollcall .rollcall-row").first).to_be_visible(timeout=T)
        await scanner.scan(agent, "/agent/belcourt (roll call)", shot="agent-roll-call")
        await scanner.scan(president, "/president (roll call)")

        await auditor.goto(server.base_url + "/audit/demo")
        await scanner.scan(auditor, "/audit/demo (sitting in progress)", shot="audit")
        print(f"scanned in {time.monotonic() - t0:.1f}s")
        scanner.check()
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            try:
                await c.close()
            except Exception:
                pass


async def test_keyboard_only_sitting(browser, live_app, output_dir):
    axe_or_skip()
    server = live_app
    room = server.app[ROOMS]["demo"]
    service = server.app[SITTINGS]["demo"]
    contexts = []
    session = aiohttp.ClientSession()
    sockets: list[Socket] = []
    shots = output_dir / "a11y"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        kiosk_ctx, _ = await open_kiosk(browser, server, "belcourt")
        contexts.append(kiosk_ctx)
        sockets += await convene_with_quorum(server, session)
        ctx, president = await new_person(browser, server, Role.PRESIDENT, member="m01", salle="belcourt")
        contexts.append(ctx)
        ctx, elu = await new_person(browser, server, Role.COUNCILLOR, member="m07", viewport=PHONE)
        contexts.append(ctx)
        await president.goto(server.base_url + "/president")
        await elu.goto(server.base_url + "/elu")
        await until(lambda: room.transmitting.get("belcourt"), 30, what="belcourt transmitting")

        # Status changes are announced: the sitting status, the vote, the refusals.
        for page, status, vote in ((president, "#badge-sitting", "#vote"), (elu, "#sitting-line", "#ballots")):
            assert await live_region(page, status), f"{page.url}: {status} is in no live region"
            assert await live_region(page, vote), f"{page.url}: {vote} is in no live region"
            assert await live_region(page, "#alert") == "assertive", f"{page.url}: refusals (#alert) not role=alert"
            assert await live_region(page, "#notice"), f"{page.url}: confirmations (#notice) not announced"

        # ---- the president, keyboard only: open the sitting
        await expect(president.locator("#open-btn")).to_be_enabled(timeout=T)
        await president.locator("body").focus()
        await tab_to(president, "#open-btn")
        await president.keyboard.press("Enter")
        await expect(president.locator("#badge-sitting")).to_have_text("Séance ouverte", timeout=T)
        await expect(president.locator("#notice")).to_have_text("La séance est ouverte.", timeout=T)
        await expect(president.locator("#agenda-h")).to_be_focused()  # where the next step is

        # call the item (Shift+Tab works backwards too), choose the method, open the vote
        # repeated buttons say what they act on (the agenda's "Appeler ce point", per item)
        await expect(
            president.get_by_role("button", name="Appeler ce point : Approbation du procès-verbal", exact=False)
        ).to_have_count(1)
        await tab_to(president, f"#agenda li[data-item={ITEM}] button")
        await president.keyboard.press("Enter")
        await expect(president.locator("#method-electronique")).to_be_visible(timeout=T)
        await expect(president.locator("#vote-h")).to_be_focused()
        await tab_to(president, "#secretary-select", back=True)  # Shift+Tab goes back…
        await tab_to(president, "#method-electronique")  # Tab enters the radio group on the checked one…
        await president.keyboard.press("ArrowDown")  # …the arrows move (and select) within it
        await expect(president.locator("#method-appel_nominal")).to_be_focused()
        await expect(president.locator("#method-appel_nominal")).to_be_checked()
        await president.keyboard.press("ArrowUp")
        await expect(president.locator("#method-electronique")).to_be_checked()
        await tab_to(president, "#open-vote-btn")
        await president.keyboard.press("Enter")
        await expect(president.locator("#vote-count")).to_have_text("0 vote enregistré sur 10.", timeout=T)

        # the president's own ballot, with the keyboard
        await tab_to(president, "#vote .ballot[data-ballot=self] button[data-choice=pour]")
        await president.keyboard.press("Space")
        await expect(president.locator("#vote .ballot[data-ballot=self]")).to_contain_text("Vote enregistré", timeout=T)
        await expect(president.locator("#vote-h")).to_be_focused()  # not lost with the buttons

        # ---- the councillor on her phone, keyboard only: her ballot, then the proxy's
        await expect(elu.locator("#ballot-card")).to_be_visible(timeout=T)
        await elu.locator("body").focus()
        await tab_to(elu, ".ballot[data-ballot=self] button[data-choice=pour]")
        await elu.keyboard.press("Enter")
        await expect(elu.locator(".ballot[data-ballot=self]")).to_contain_text("Vote enregistré : pour.", timeout=T)
        await expect(elu.locator(".ballot[data-ballot=m09]")).to_be_focused()  # the next ballot, not a choice
        await tab_to(elu, ".ballot[data-ballot=m09] button[data-choice=contre]")
        await elu.keyboard.press("Space")
        await expect(elu.locator(".ballot[data-ballot=m09]")).to_contain_text("Vote enregistré : contre.", timeout=T)
        await elu.screenshot(path=str(shots / "keyboard-elu-ballots-cast.png"), full_page=True)
        await expect(president.locator("#vote-count")).to_have_text("3 votes enregistrés sur 10.", timeout=T)

        # ---- the president closes the vote: the result is proclaimed
        await tab_to(president, "#close-vote-btn")
        await president.screenshot(path=str(shots / "keyboard-president-focus-close-vote.png"))
        await president.keyboard.press("Enter")
        await expect(president.locator(f"#results article[data-item={ITEM}]")).to_contain_text("Adopté", timeout=T)
        await expect(elu.locator("#last-result")).to_contain_text("Adopté", timeout=T)
        await expect(president.locator(f"#results article[data-item={ITEM}]")).to_contain_text("pour 2, contre 1")
        await expect(president.locator("#results-h")).to_be_focused()
        assert service.seance.state.item(ITEM)["votes"][-1]["result"]["adopted"]

        # a button that stays keeps the focus while the server answers (disabling would blur it):
        # the sensitive passage is started and ended with two presses of Enter
        await tab_to(president, "#sensitive-btn")
        await president.keyboard.press("Enter")
        await expect(president.locator("#sensitive-btn")).to_have_attribute("aria-pressed", "true", timeout=T)
        await expect(president.locator("#sensitive-btn")).to_be_focused()
        await president.keyboard.press("Enter")
        await expect(president.locator("#sensitive-btn")).to_have_attribute("aria-pressed", "false", timeout=T)
        await expect(president.locator("#sensitive-btn")).to_be_focused()

    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            try:
                await c.close()
            except Exception:
                pass
