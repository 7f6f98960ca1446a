"""Votes people can trust (issue 15, point 5), in real Chromium with the real Router.

A councillor sees the secret-ballot request explained before using it, sees their choice
confirmed, changes it before the close (journaled as ``BallotChanged``; the vote counts
once, with the last choice); the president sees who has not voted before closing, and
they are recorded as « n'a pas pris part au vote »; closing the sitting lists the items
not treated, and the PV records them. axe-core stays clean on each new state.
"""

from __future__ import annotations

import json

import aiohttp
import pytest
from playwright.async_api import expect

from deliberation.minutes import proces_verbal_html
from signaling.roles import Role
from tests.browser.axe_checks import BLOCKING, PHONE, WCAG_TAGS, axe_violations, new_person
from tests.browser.kiosk_helpers import connected, open_kiosk, until
from tests.browser.sitting_driver import ITEM, convene_with_quorum
from web.app import ROOMS, SITTINGS

pytestmark = pytest.mark.browser

T = 15_000


async def axe_clean(page, where: str) -> None:
    blocking = [v for v in await axe_violations(page) if v["impact"] in BLOCKING and set(v["tags"]) & set(WCAG_TAGS)]
    assert not blocking, f"{where}: " + "; ".join(f"{v['id']} ({v['help']}) {v['nodes'][:2]}" for v in blocking)


def journal_events(service, type_: str) -> list[dict]:
    out = []
    for line in service.journal_path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("kind") == "event" and entry["event"]["type"] == type_:
            out.append(entry["event"]["data"])
    return out


async def test_a_changed_vote_counts_once_non_voters_and_untreated_items_reach_the_pv(browser, live_app, output_dir):
    server = live_app
    room = server.app[ROOMS]["demo"]
    service = server.app[SITTINGS]["demo"]
    session = aiohttp.ClientSession()
    contexts, sockets = [], []
    try:
        ctx, kiosk = await open_kiosk(browser, server, "belcourt")
        contexts.append(ctx)
        await until(lambda: connected(kiosk), 20, what="belcourt's kiosk connected")
        await until(lambda: room.transmitting["belcourt"], 20, what="belcourt transmitting")
        sockets += await convene_with_quorum(server, session)
        president_socket = sockets[1]
        await president_socket.do({"type": "OpenSitting"})
        await president_socket.do({"type": "TakeUpItem", "item_id": ITEM})

        ctx, elu = await new_person(browser, server, Role.COUNCILLOR, member="m07", viewport=PHONE)
        contexts.append(ctx)
        await elu.goto(server.base_url + "/elu")
        ctx, president = await new_person(browser, server, Role.PRESIDENT, member="m01", salle="belcourt")
        contexts.append(ctx)
        await president.goto(server.base_url + "/president")

        # the secret-ballot request says what it does before anyone uses it
        help_text = elu.locator("#secret-help")
        await expect(help_text).to_contain_text("reporté à une séance en présentiel", timeout=T)
        await expect(help_text).to_contain_text("peut être retirée tant que ce tiers n'est pas atteint")
        assert await elu.get_attribute("#secret-btn", "aria-describedby") == "secret-help"
        await axe_clean(elu, "/elu (secret ballot explained)")

        await president_socket.do({"type": "OpenVote", "item_id": ITEM})
        own = elu.locator("#ballots [data-ballot=self]")
        await own.locator("button.choice[data-choice=pour]").click()
        await expect(own.locator(".cast")).to_have_text("Vote enregistré : pour.", timeout=T)

        # changing it: the current choice is shown pressed, the new one confirmed
        await own.locator("button:has-text('Modifier mon vote')").click()
        await expect(own.locator("button.choice[data-choice=pour]")).to_have_attribute("aria-pressed", "true")
        await axe_clean(elu, "/elu (changing a vote)")
        await elu.screenshot(path=str(output_dir / "elu-change-vote.png"), full_page=True)
        await own.locator("button.choice[data-choice=contre]").click()
        await expect(own.locator(".cast")).to_have_text("Vote enregistré : contre.", timeout=T)
        await expect(elu.locator("#notice")).to_contain_text("vote modifié")
        changed = journal_events(service, "BallotChanged")
        assert [(c["voter_id"], c["on_behalf_of"], c["previous_choice"], c["choice"]) for c in changed] == [
            ("m07", None, "pour", "contre")
        ]

        # the president sees who has not voted (here everyone else, and m07's proxy for m09)
        note = president.locator("#not-voted")
        await expect(note).to_contain_text("9 votes manquent", timeout=T)
        await expect(note).to_contain_text("n'a pas pris part au vote")
        await axe_clean(president, "/president (votes missing before the close)")
        await president.locator("#close-vote-btn").click()
        await expect(president.locator(f"#results [data-item={ITEM}]")).to_be_visible(timeout=T)

        (closed,) = journal_events(service, "VoteClosed")
        counts = closed["counts"]
        assert (counts["pour"], counts["contre"], counts["cast"]) == (0, 1, 1)  # the change counted once
        assert len(closed["not_voting"]) == 9
        pv = proces_verbal_html(service.seance)
        assert "N'ont pas pris part au vote" in pv

        # closing the sitting: the items not treated are listed, then recorded in the PV
        await president.locator("#close-btn").click()
        untreated = president.locator("#close-untreated")
        await expect(untreated).to_be_visible(timeout=T)
        await expect(untreated).to_contain_text("points ne sont pas traités")
        await expect(untreated).to_contain_text("Programme de voirie intercommunale 2027")
        await axe_clean(president, "/president (closing with items not treated)")
        await president.screenshot(path=str(output_dir / "president-close-untreated.png"), full_page=True)
        await president.locator("#close-confirm-btn").click()
        await until(lambda: service.seance.state.status == "closed", 10, what="the sitting closed")
        pv = proces_verbal_html(service.seance)
        assert "non traité" in pv and "la séance a été close sans qu'il soit mis aux voix" in pv
    finally:
        for s in sockets:
            await s.close()
        await session.close()
        for c in contexts:
            await c.close()
