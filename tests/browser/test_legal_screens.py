"""Issue 13 on the screens, in real Chromium: the president withdraws an item (R25), puts an
amendment to the vote before the motion it amends (R25), and runs a nomination to a
commission of the council — candidacies, a single candidacy appointed at once, the
unanimous decision to vote in public, two rounds (R24, L.2121-21); a councillor votes for
a candidate on /elu, for herself and for the proxy she holds; the results name the
person appointed and those who took no part in each vote (R13). axe-core scans each new
state of the president's, the councillor's and the public screens.

One kiosk (Belcourt) transmits; nine members are checked in there by its agent's socket
(as tests/browser/test_accessibility.py does); the councillors who are not on a page vote
over authenticated sockets speaking the screens' protocol.
"""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from signaling.council_store import CouncilStore
from signaling.roles import Role
from tests.browser.axe_checks import DESKTOP, PHONE, Scanner, axe_or_skip, new_person
from tests.browser.kiosk_helpers import open_kiosk, until
from tests.browser.sitting_driver import Socket, convene_with_quorum
from web.app import CONFIG, ROOMS, SITTINGS

pytestmark = pytest.mark.browser

T = 15_000
DM = "dm-budget-2026"
NOM = "commission-environnement"
WITHDRAWN = "groupement-electricite"


async def from_page(page, command: dict) -> dict:
    """The command through the page's own client: the server refuses it too."""
    return await page.evaluate("(c) => window.seanceSitting.command(c)", command)


async def test_withdrawal_amendment_and_nomination_on_the_screens(browser, live_app, output_dir):
    axe_or_skip()
    server = live_app
    room = server.app[ROOMS]["demo"]
    service = server.app[SITTINGS]["demo"]
    scanner = Scanner(output_dir / "legal")
    contexts = []
    session = aiohttp.ClientSession()
    sockets: list[Socket] = []
    try:
        kiosk_ctx, _ = await open_kiosk(browser, server, "belcourt")
        contexts.append(kiosk_ctx)
        sockets += await convene_with_quorum(server, session)  # m01-m04, m06-m08, m10, m11; m09's proxy to m07
        voters = {m: await Socket.connect(session, server, Role.COUNCILLOR, member=m) for m in ("m02", "m04", "m06")}
        voters["m03"] = await Socket.connect(session, server, Role.COUNCILLOR, member="m03")  # the secretary
        for m in ("m08", "m10", "m11"):
            voters[m] = await Socket.connect(session, server, Role.COUNCILLOR, member=m)
        sockets += voters.values()
        ctx, president = await new_person(
            browser, server, Role.PRESIDENT, member="m01", salle="belcourt", viewport=DESKTOP
        )
        contexts.append(ctx)
        ctx, elu = await new_person(browser, server, Role.COUNCILLOR, member="m07", viewport=PHONE)
        contexts.append(ctx)
        ctx, public = await new_person(browser, server, None, viewport={"width": 1600, "height": 900})
        contexts.append(ctx)
        for page, path in ((president, "/president"), (elu, "/elu"), (public, "/public/demo")):
            await page.goto(server.base_url + path)
        await until(lambda: room.transmitting.get("belcourt"), 30, what="belcourt transmitting")
        await expect(president.locator("#open-btn")).to_be_enabled(timeout=T)
        await president.locator("#open-btn").click()
        await expect(president.locator("#badge-sitting")).to_have_text("Séance ouverte", timeout=T)

        # ---- R25: an item withdrawn during the sitting; the agenda says so, nothing votes on it
        await president.locator("#withdraw-item summary").click()
        await president.select_option("#withdraw-select", WITHDRAWN)
        await president.fill("#withdraw-reason", "dossier de consultation incomplet")
        await scanner.scan(president, "/president (withdrawing an item)")
        await president.locator("#withdraw-form button[type=submit]").click()
        row = president.locator(f"#agenda li[data-item={WITHDRAWN}]")
        await expect(row).to_contain_text("retiré", timeout=T)
        await expect(row).to_contain_text("Retiré de l'ordre du jour (R25) : dossier de consultation incomplet")
        await expect(row.locator("button")).to_have_count(0)
        assert service.seance.state.item(WITHDRAWN)["status"] == "withdrawn"
        reply = await from_page(president, {"type": "OpenVote", "item_id": WITHDRAWN, "method": "electronique"})
        assert not reply["ok"] and reply["code"] == "R25", reply

        # ---- R25: an amendment, voted before the motion it amends
        await president.locator(f"#agenda li[data-item={DM}] button:has-text('Appeler ce point')").click()
        await president.select_option("#amendment-author", "m06")
        await president.fill("#amendment-text", "Réduire de 10 000 € les crédits de la ligne 6232.")
        await president.locator("button[data-key=amendment-add]").click()
        await expect(president.locator("#vote li[data-amendment=am-1]")).to_contain_text(
            "« am-1 » de Patrick Lemoine : Réduire de 10 000 € les crédits de la ligne 6232. — à voter.", timeout=T
        )
        await expect(president.locator("#open-vote-btn")).to_be_disabled()
        await expect(president.locator("#motion-hint")).to_contain_text("L'amendement « am-1 » se vote avant")
        reply = await from_page(president, {"type": "OpenVote", "item_id": DM, "method": "electronique"})
        assert not reply["ok"] and reply["code"] == "R25", reply
        await scanner.scan(president, "/president (amendment tabled)", shot="president-amendment")
        await president.locator("button[data-key=amendment-vote-am-1]").click()
        await expect(president.locator("#vote .vote-head")).to_contain_text(
            "Amendement « am-1 » de Patrick Lemoine", timeout=T
        )
        await expect(elu.locator("#ballot-item")).to_contain_text("Amendement « am-1 »", timeout=T)
        await elu.locator(".ballot[data-ballot=self] button[data-choice=pour]").click()
        await elu.locator(".ballot[data-ballot=m09] button[data-choice=pour]").click()
        for m in ("m02", "m06", "m10"):
            await voters[m].do({"type": "CastBallot", "item_id": DM, "voter_id": m, "choice": "pour"})
        await voters["m04"].do({"type": "CastBallot", "item_id": DM, "voter_id": "m04", "choice": "contre"})
        await president.locator("#close-vote-btn").click()
        await expect(president.locator("#vote li[data-amendment=am-1]")).to_contain_text("adopté", timeout=T)
        motion = president.locator("#open-vote-btn")
        await expect(motion).to_have_text("Ouvrir le vote sur la délibération amendée", timeout=T)
        await motion.click()
        await elu.locator(".ballot[data-ballot=self] button[data-choice=pour]").click()
        for m in ("m02", "m03", "m04", "m06", "m08", "m10"):
            await voters[m].do({"type": "CastBallot", "item_id": DM, "voter_id": m, "choice": "pour"})
        await president.locator("#vote .ballot[data-ballot=self] button[data-choice=pour]").click()
        await expect(president.locator("#vote-count")).to_contain_text("8 votes enregistrés sur 10", timeout=T)
        await president.locator("#close-vote-btn").click()
        result = president.locator(f"#results article[data-item={DM}]")
        await expect(result).to_contain_text("Amendement « am-1 » de Patrick Lemoine", timeout=T)
        await expect(result).to_contain_text("Délibération amendée")
        text = await result.inner_text()
        assert text.index("Amendement « am-1 »") < text.index("Délibération amendée")  # each vote, in order
        await expect(result).to_contain_text(
            "N'ont pas pris part au vote : Nathalie Rousseau pour Claire Dubois (pouvoir), Isabelle Morel."
        )
        await expect(public.locator(f"#public-results article[data-item={DM}]")).to_contain_text(
            "Délibération amendée", timeout=T
        )
        assert [v["subject"] for v in service.seance.state.item(DM)["votes"]] == ["amendment", "motion"]

        # ---- R24: a nomination to a commission of the council, with candidates
        await president.locator(f"#agenda li[data-item={NOM}] button:has-text('Appeler ce point')").click()
        await expect(president.locator("#vote h3")).to_contain_text(
            "Nomination — Commission environnement et mobilités", timeout=T
        )
        for seat, member in (("1", "m05"), ("2", "m08"), ("2", "m11")):
            await president.select_option("#candidacy-seat", seat)
            await president.select_option("#candidacy-member", member)
            await president.locator("button[data-key=candidacy-add]").click()
            await expect(president.locator(f"#vote li[data-seat='{seat}']")).to_contain_text(
                {"m05": "Odile Fournier", "m08": "Thierry Bonnet", "m11": "Isabelle Morel"}[member], timeout=T
            )
        await scanner.scan(president, "/president (nomination: candidacies)", shot="president-candidacies")
        await president.locator("button[data-key=candidacies-close]").click()
        await expect(president.locator("#vote li[data-seat='1']")).to_contain_text(
            "nommé·e : Odile Fournier (candidature unique", timeout=T
        )
        # no round before the council's unanimous decision to vote in public (R15, L.2121-21)
        await expect(president.locator("button[data-key=open-round-2]")).to_have_count(0)
        reply = await from_page(president, {"type": "OpenVote", "item_id": NOM, "method": "electronique", "seat": 2})
        assert not reply["ok"] and reply["code"] == "R15", reply
        await president.locator("button[data-key=appoint-public]").click()
        first = president.locator("button[data-key=open-round-2]")
        await expect(first).to_have_text("Ouvrir le 1er tour — siège 2", timeout=T)
        await first.click()
        # the councillor votes for a candidate, and casts a blank ballot for the proxy she holds
        own = elu.locator(".ballot[data-ballot=self]")
        await expect(own.locator("button")).to_have_text(
            ["Pour Thierry Bonnet", "Pour Isabelle Morel", "Blanc", "Ne prend pas part au vote"], timeout=T
        )
        await scanner.scan(elu, "/elu (nomination round, two ballots, phone)", shot="elu-round")
        await own.locator("button:has-text('Pour Isabelle Morel')").click()
        await expect(own).to_contain_text("Vote enregistré : pour isabelle morel.", timeout=T)
        await elu.locator(".ballot[data-ballot=m09] button:has-text('Blanc')").click()
        round1 = {"m02": "m11", "m03": "m11", "m04": "m08", "m06": "m08", "m08": "m08", "m10": "m11", "m11": "m08"}
        for m, candidate in round1.items():
            await voters[m].do(
                {"type": "CastBallot", "item_id": NOM, "voter_id": m, "choice": "pour", "candidate_id": candidate}
            )
        await president.locator("#vote .ballot[data-ballot=self] button:has-text('Ne prend pas part au vote')").click()
        await scanner.scan(president, "/president (nomination round open)", shot="president-round")
        await president.locator("#close-vote-btn").click()  # 4 against 4 of 8 exprimés: no absolute majority
        second = president.locator("button[data-key=open-round-2]")
        await expect(second).to_have_text("Ouvrir le 2e tour — siège 2", timeout=T)
        await expect(president.locator("#vote li[data-seat='2']")).to_contain_text("1 tour sans majorité")
        await second.click()
        await own.locator("button:has-text('Pour Isabelle Morel')").click()
        await elu.locator(".ballot[data-ballot=m09] button:has-text('Pour Isabelle Morel')").click()
        for m, candidate in {**round1, "m04": "m11", "m11": "m11"}.items():
            await voters[m].do(
                {"type": "CastBallot", "item_id": NOM, "voter_id": m, "choice": "pour", "candidate_id": candidate}
            )
        await president.locator("#close-vote-btn").click()
        result = president.locator(f"#results article[data-item={NOM}]")
        await expect(result).to_contain_text("Siège 2 — 2e tour", timeout=T)
        await expect(result).to_contain_text("Isabelle Morel est nommé·e")
        await expect(result).to_contain_text("N'ont pas pris part au vote : Hélène Marchand.")
        await expect(result).to_contain_text(
            "Nomination : Odile Fournier (siège 1, candidature unique : nomination immédiate, L.2121-21 al. 5) ; "
            "Isabelle Morel (siège 2, au 2e tour, à la majorité absolue des suffrages exprimés)."
        )
        await expect(president.locator(f"#agenda li[data-item={NOM}]")).to_contain_text("nomination faite")
        await expect(elu.locator("#last-result")).to_contain_text("Isabelle Morel est nommé·e", timeout=T)
        await expect(public.locator(f"#public-results article[data-item={NOM}]")).to_contain_text(
            "Isabelle Morel est nommé·e", timeout=T
        )
        seats = service.seance.state.item(NOM)["seats"]
        assert [(x["appointed"], x["how"]) for x in seats] == [
            ("m05", "candidature_unique"),
            ("m11", "majorite_absolue"),
        ]
        await scanner.scan(president, "/president (nomination done)", shot="president-nomination-done")
        await scanner.scan(public, "/public/demo (nomination and amendment proclaimed)", shot="public-results")
        await scanner.scan(elu, "/elu (nomination proclaimed, phone)")
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


async def test_the_lack_of_quorum_recorded_then_the_new_convocation_linked_to_it(browser, live_app, output_dir):
    """R8 (L.2121-17): the president records the lack of quorum on the served sitting; the admin
    then convenes the council again, three clear days later, linked to that sitting's journal."""
    axe_or_skip()
    server = live_app
    service = server.app[SITTINGS]["demo"]
    scanner = Scanner(output_dir / "legal")
    contexts = []
    try:
        ctx, president = await new_person(
            browser, server, Role.PRESIDENT, member="m01", salle="belcourt", viewport=DESKTOP
        )
        contexts.append(ctx)
        await president.goto(server.base_url + "/president")
        await expect(president.locator("#quorum-failure")).to_be_visible(timeout=T)  # nobody checked in: 0 of 17
        await president.locator("#quorum-failure-btn").click()
        await expect(president.locator("#quorum-failure-confirm-btn")).to_be_focused()
        await scanner.scan(president, "/president (lack of quorum, to confirm)", shot="president-quorum-failure")
        await president.locator("#quorum-failure-confirm-btn").click()
        await expect(president.locator("#badge-sitting")).to_have_text("Séance close", timeout=T)
        await expect(president.locator("#quorum-failure")).to_be_hidden()
        assert service.seance.state.quorum_failure["quorum"]["present"] == 0

        ctx, admin = await new_person(browser, server, Role.ADMIN, member="dsi", viewport=DESKTOP)
        contexts.append(ctx)
        await admin.goto(server.base_url + "/admin")
        await admin.locator("#seances summary").click()
        await admin.fill("#se-id", "demo-bis")
        await admin.fill("#se-title", "Conseil communautaire du 1er décembre 2026 (nouvelle convocation)")
        await admin.fill("#se-date", "2026-12-01")
        await admin.select_option("#se-after", "demo")
        async with admin.expect_navigation():
            await admin.locator("#seances button[type=submit]").click()
        await expect(admin.locator("h1")).to_contain_text("nouvelle convocation", timeout=T)
        with CouncilStore.in_data_dir(server.app[CONFIG].data_dir) as store:
            sitting = next(s for s in store.sittings(store.current().id) if s.id == "demo-bis")
        rc = sitting.reconvened_from
        assert rc.sitting_id == "demo" and len(rc.items) == len(service.seance.state.agenda)
        scanner.check()
    finally:
        for c in contexts:
            try:
                await c.close()
            except Exception:
                pass
