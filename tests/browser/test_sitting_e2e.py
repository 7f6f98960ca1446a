"""A whole sitting of the demo council, end to end, in real Chromium (issue 4).

The app runs in-process on a loopback port with the real Router; three kiosk pages make
the three salles transmit (fake camera and microphone). The president, the moderator,
the three salle agents, three councillors (``/elu``) and a public display each have
their own browser context and session; the other councillors' electronic ballots and
secret-ballot requests go through authenticated WebSockets speaking the same protocol.
Each step asserts what the screens show; every wait is bounded. With ``SEANCE_E2E_SHOTS=1``,
screenshots of each screen at its key moment go to ``test-output/e2e/`` (to look at; nothing
reads them, so the suite does not take them). The people arrive together (their pages load
concurrently, as in a real sitting); the moderator's page, a mosaic receiving every salle's
picture, is open only for the floor it gives.

Steps (issue 4): 1 opening refused (quorum short, then one occupied salle's kiosk
closed); 2 check-ins, a proxy, the secretary, opening; 3 an electronic vote with a proxy
ballot, adopted, nominative result on the public display; 4 a roll call ending in a tie
decided by the president's vote; 5 a secret-ballot request by one third of those present
postpones the item; 6 a banned item refused (R12) — run while the sitting is still
convened, since the agenda is frozen once it opens (R6); 7 a kiosk loses its connection:
suspended, vote frozen, back, resumed; 8 closing, the journal verifies, and the PV and
SCDL CSV downloaded from the auditor page match the journal.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import time
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect

from signaling.roles import Role
from tests.browser.kiosk_helpers import open_kiosk, person, until
from web.app import ROOMS, SIGNER, SITTINGS

pytestmark = pytest.mark.browser

T = 15_000  # ms: the bound of every on-screen wait

NAMES = {
    "m01": "Hélène Marchand",
    "m02": "Jean-Luc Perrin",
    "m03": "Sophie Garnier",
    "m04": "Karim Benali",
    "m06": "Patrick Lemoine",
    "m07": "Nathalie Rousseau",
    "m08": "Thierry Bonnet",
    "m09": "Claire Dubois",
    "m10": "Marc Chevalier",
    "m11": "Isabelle Morel",
    "m12": "Gérard Lefèvre",
}
PRESENT = {
    "belcourt": ["m01", "m02", "m03", "m04"],
    "vaux": ["m06", "m07", "m08"],
    "saint-ferreol": ["m10", "m11", "m12"],
}
ELUS = {"m03": "belcourt", "m07": "vaux", "m11": "saint-ferreol"}  # councillors on a real /elu page
SOCKET_VOTERS = ["m02", "m04", "m06", "m08", "m10", "m12"]  # the others, over authenticated sockets


class Shots:
    """The screens at their key moments, when ``SEANCE_E2E_SHOTS`` is set (else nothing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.on = bool(os.environ.get("SEANCE_E2E_SHOTS"))
        if self.on:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.png"):
                old.unlink()
        self.n = 0

    async def __call__(self, page, name: str, full_page: bool = True) -> None:
        self.n += 1
        if not self.on:
            return
        await page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=full_page)


class SocketCouncillor:
    """A councillor's authenticated socket: commands out, ack or error back (same protocol as /elu)."""

    def __init__(self, member: str, ws) -> None:
        self.member, self.ws = member, ws
        self.pending: dict[str, asyncio.Future] = {}
        self.n = 0
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, session, server, member: str) -> SocketCouncillor:
        ws = await session.ws_connect(server.base_url + "/ws")
        token = server.app[SIGNER].issue(Role.COUNCILLOR, member=member)
        await ws.send_json({"type": "hello", "sitting": "demo", "token": token, "id": "hello"})
        return cls(member, ws)

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            fut = self.pending.pop(data.get("re"), None) if data.get("type") in ("ack", "error") else None
            if fut is not None and not fut.done():
                fut.set_result(data)

    async def command(self, command: dict, timeout: float = 10.0) -> dict:
        self.n += 1
        cid = f"c{self.n}"
        fut = asyncio.get_running_loop().create_future()
        self.pending[cid] = fut
        await self.ws.send_json({"type": "command", "id": cid, "command": command})
        return await asyncio.wait_for(fut, timeout)

    async def vote(self, item: str, choice: str) -> None:
        reply = await self.command({"type": "CastBallot", "item_id": item, "voter_id": self.member, "choice": choice})
        assert reply["type"] == "ack", reply

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


async def public_display(browser, server):
    """The public page, as anyone opens it (no session)."""
    context = await browser.new_context(viewport={"width": 1600, "height": 900})
    page = await context.new_page()
    await page.goto(server.base_url + "/public/demo")
    return context, page


def _or_raise(results: list) -> list:
    """What ``asyncio.gather(..., return_exceptions=True)`` gave, or its first error raised."""
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


async def refused(page, rule: str, *fragments: str) -> None:
    """The screen shows the refusal, in French, naming the rule."""
    alert = page.locator("#alert")
    await expect(alert).to_be_visible(timeout=T)
    await expect(alert).to_contain_text(rule, timeout=T)
    for fragment in fragments:
        await expect(alert).to_contain_text(fragment, timeout=T)


async def command_from_page(page, command: dict) -> dict:
    """Send a command through the page's own client (to prove the server refuses too)."""
    return await page.evaluate("(c) => window.seanceSitting.command(c)", command)


async def test_a_whole_sitting_in_real_browsers(browser, live_app, output_dir):
    t0 = time.monotonic()
    marks: list[tuple[str, float]] = []
    mark = lambda name: marks.append((name, time.monotonic() - t0))  # noqa: E731
    server = live_app
    service = server.app[SITTINGS]["demo"]
    room = server.app[ROOMS]["demo"]
    shot = Shots(output_dir / "e2e")
    contexts = []
    session = aiohttp.ClientSession()
    sockets: dict[str, SocketCouncillor] = {}
    try:
        # ---- everyone arrives: three kiosks, the president, the agents, three councillors on
        # /elu and the public display (together), and six councillors' sockets.
        opened = await asyncio.gather(*(open_kiosk(browser, server, s) for s in PRESENT), return_exceptions=True)
        contexts += [o[0] for o in opened if not isinstance(o, BaseException)]
        kiosks = dict(zip(PRESENT, _or_raise(opened), strict=True))
        mark("kiosks opened")
        arrivals = [
            person(
                browser,
                server,
                Role.PRESIDENT,
                member="m01",
                salle="belcourt",
                path="/president",
                viewport={"width": 1440, "height": 1000},
            ),
            *(
                person(
                    browser,
                    server,
                    Role.AGENT,
                    member=f"a-{salle}",
                    salle=salle,
                    agent=f"a-{salle}",
                    path=f"/agent/{salle}",
                )
                for salle in PRESENT
            ),
            *(
                person(
                    browser, server, Role.COUNCILLOR, member=member, path="/elu", viewport={"width": 400, "height": 860}
                )
                for member in ELUS
            ),
            public_display(browser, server),
        ]
        opened = await asyncio.gather(*arrivals, return_exceptions=True)
        contexts += [o[0] for o in opened if not isinstance(o, BaseException)]
        pages = [page for _, page in _or_raise(opened)]
        president, agents = pages[0], dict(zip(PRESENT, pages[1:4], strict=True))
        elus, public = dict(zip(ELUS, pages[4:7], strict=True)), pages[7]
        for member in SOCKET_VOTERS:
            sockets[member] = await SocketCouncillor.connect(session, server, member)
        mark("people's pages opened")

        await expect(president.locator("#badge-sitting")).to_have_text(
            "Séance convoquée — pas encore ouverte", timeout=T
        )
        await until(lambda: all(room.transmitting.values()), 30, what="the three salles transmitting")
        mark("arrivals")

        # ---- 1. Opening refused while quorum is short (R8): the checklist says so, the button
        # stays disabled, and the server refuses the command itself.
        for member in ("m01", "m02"):
            await agents["belcourt"].click(
                f'#members tr[data-member={member}] button:has-text("Enregistrer l\'arrivée")'
            )
        await agents["vaux"].click('#members tr[data-member=m06] button:has-text("Enregistrer l\'arrivée")')
        r8 = president.locator("#checklist li[data-rule=R8]")
        await expect(r8).to_have_class("ko", timeout=T)
        await expect(r8).to_contain_text("3 présents sur 17 membres en exercice, 9 requis", timeout=T)
        await expect(president.locator("#open-btn")).to_be_disabled()
        reply = await command_from_page(president, {"type": "OpenSitting"})
        assert not reply["ok"] and reply["code"] == "R8", reply
        await expect(president.locator("#open-hint .blocker[data-rule=R8]")).to_contain_text(
            "Quorum non atteint", timeout=T
        )
        await shot(president, "president-quorum-short")
        mark("1 quorum short")

        # ---- 1 (second half) with 2. Saint-Ferréol's kiosk page is closed; its agent checks its
        # councillors in anyway: quorum is reached, the proxy and the secretary are recorded,
        # and the checklist names the one condition that fails (R7).
        await kiosks["saint-ferreol"][0].close()
        contexts.remove(kiosks["saint-ferreol"][0])
        await until(lambda: not room.transmitting["saint-ferreol"], 15, what="saint-ferreol lost")
        for salle, members in PRESENT.items():
            for member in members:
                row = agents[salle].locator(f"#members tr[data-member={member}]")
                if await row.locator('button:has-text("Enregistrer l\'arrivée")').count():
                    await row.locator('button:has-text("Enregistrer l\'arrivée")').click()
                await expect(row).to_contain_text(re.compile(r"Présente? ici depuis"), timeout=T)
        vaux = agents["vaux"]
        await vaux.select_option("#proxy-giver", "m09")
        await vaux.select_option("#proxy-holder", "m07")
        await vaux.fill("#proxy-ref", "Pouvoir écrit du 24 novembre 2026, n° PV-2026-031")
        await vaux.click("#proxy-form button[type=submit]")
        await expect(vaux.locator("#proxies")).to_contain_text("Claire Dubois → Nathalie Rousseau", timeout=T)
        await expect(vaux.locator("#log")).to_contain_text(
            "Pouvoir : Claire Dubois à Nathalie Rousseau (réf. Pouvoir écrit", timeout=T
        )
        await expect(president.locator("#checklist li[data-rule=R8]")).to_have_class("ok", timeout=T)
        await president.select_option("#secretary-select", "m03")
        await president.click("#secretary-btn")
        await expect(president.locator("#checklist li[data-rule=R10]")).to_contain_text("Sophie Garnier", timeout=T)
        sf = president.locator("#checklist li[data-key=salle-saint-ferreol]")
        await expect(sf).to_have_class("ko", timeout=T)
        await expect(sf).to_contain_text("transmission non établie", timeout=T)
        await expect(president.locator("#open-btn")).to_be_disabled()
        await expect(president.locator("#open-hint .blocker[data-rule=R7]")).to_contain_text(
            "Transmission non établie dans : Saint-Ferréol", timeout=T
        )
        reply = await command_from_page(president, {"type": "OpenSitting"})
        assert not reply["ok"] and reply["code"] == "R7", reply
        await shot(president, "president-checklist-R7-saint-ferreol-closed")
        await shot(vaux, "agent-vaux-checkins-and-proxy")
        await expect(elus["m07"].locator("#presence")).to_contain_text(
            "Vous êtes enregistrée présente depuis",
            timeout=T,  # Nathalie Rousseau: « Mme »
        )
        await expect(elus["m07"].locator("#presence-salle")).to_contain_text("Vaux-sur-Ance", timeout=T)
        await expect(elus["m07"].locator("#sitting-line")).to_contain_text("pouvoir de Claire Dubois", timeout=T)
        mark("1+2 check-ins, proxy, secretary; R7 refused")

        # ---- 6. A banned item is refused with the rule named (R12). Run now: once the sitting
        # opens, the agenda of the convocation no longer changes (R6).
        await president.click("#add-item summary")
        await president.fill("#item-title", "Budget 2027")
        await president.select_option("#item-kind", "budget_primitif")  # the nature decides, not the title
        await president.click("#add-item-form button[type=submit]")
        await refused(president, "R12", "budget primitif", "visioconférence")
        assert not any(i["title"] == "Budget 2027" for i in service.seance.state.agenda)
        await shot(president, "president-banned-item-R12")
        mark("6 banned item")

        # ---- 2 (end). The kiosk comes back: every condition holds, the president opens.
        ctx, _ = kiosks["saint-ferreol"] = await open_kiosk(browser, server, "saint-ferreol")
        contexts.append(ctx)
        await expect(sf).to_have_class("ok", timeout=30_000)
        await expect(president.locator("#open-btn")).to_be_enabled(timeout=T)
        await president.click("#open-btn")
        await expect(president.locator("#badge-sitting")).to_have_text("Séance ouverte", timeout=T)
        await expect(public.locator("#badge-sitting")).to_have_text("Séance ouverte", timeout=T)
        assert service.seance.state.status == "opened"
        mark("2 opened")

        # The floor: a councillor asks, the moderator grants it; the public display shows the speaker.
        # (The moderator's page is opened for this only: its mosaic receives every salle's picture.)
        moderator_ctx, moderator = await person(
            browser, server, Role.MODERATOR, member="moderateur", salle="belcourt", path="/moderation"
        )
        contexts.append(moderator_ctx)
        await elus["m11"].click("#floor-btn")
        await expect(moderator.locator("#floor li[data-member=m11]")).to_contain_text("Isabelle Morel", timeout=T)
        await expect(president.locator("#floor")).to_contain_text("Isabelle Morel", timeout=T)
        await shot(moderator, "moderation-floor-queue")
        await moderator.click("#floor li[data-member=m11] button:has-text('Donner la parole')")
        await expect(elus["m11"].locator("#floor-state")).to_contain_text("Vous avez la parole depuis", timeout=T)
        contexts.remove(moderator_ctx)
        await moderator_ctx.close()
        await expect(public.locator("#public-speaker")).to_have_text("À la parole : Isabelle Morel", timeout=T)
        await president.click('#floor button:has-text("Fin de l\'intervention")')
        await expect(public.locator("#public-speaker")).to_be_hidden(timeout=T)

        # ---- 3. An electronic vote with a proxy ballot, adopted; its nominative result on the
        # public display.
        item = "pv-precedent"
        await president.click(f"#agenda li[data-item={item}] button:has-text('Appeler ce point')")
        await expect(public.locator("#public-item")).to_contain_text("Approbation du procès-verbal", timeout=T)
        await president.click("#method-electronique")
        await president.click("#open-vote-btn")
        await expect(president.locator("#vote-count")).to_have_text("0 vote enregistré sur 11.", timeout=T)
        m07 = elus["m07"]
        await expect(m07.locator("#ballot-card")).to_be_visible(timeout=T)
        await expect(m07.locator(".ballot[data-ballot=m09]")).to_contain_text("Au nom de Claire Dubois (pouvoir)")
        await shot(m07, "elu-m07-two-ballots")
        await m07.click(".ballot[data-ballot=self] button[data-choice=pour]")
        await m07.click(".ballot[data-ballot=m09] button[data-choice=contre]")
        await expect(m07.locator(".ballot[data-ballot=m09]")).to_contain_text("Vote enregistré : contre.", timeout=T)
        await elus["m03"].click(".ballot[data-ballot=self] button[data-choice=pour]")
        await elus["m11"].click(".ballot[data-ballot=self] button[data-choice=abstention]")
        await president.click("#vote .ballot[data-ballot=self] button[data-choice=pour]")
        for member in SOCKET_VOTERS:
            await sockets[member].vote(item, "pour")
        await expect(president.locator("#vote-count")).to_have_text("11 votes enregistrés sur 11.", timeout=T)
        await expect(public.locator("#public-vote")).to_contain_text("11 votes enregistrés sur 11", timeout=T)
        await president.click("#close-vote-btn")
        result = public.locator(f"#public-results article[data-item={item}]")
        await expect(result).to_contain_text("Adopté", timeout=T)
        await expect(result).to_contain_text("pour 9, contre 1, abstention 1")
        await expect(result).to_contain_text("Nathalie Rousseau pour Claire Dubois (pouvoir)")
        await expect(result).to_contain_text("Isabelle Morel")
        await expect(president.locator(f"#results article[data-item={item}]")).to_contain_text("Adopté", timeout=T)
        await expect(m07.locator("#last-result")).to_contain_text("Adopté", timeout=T)
        await shot(public, "public-result-electronic-vote", full_page=False)
        await shot(president, "president-result-proclaimed")
        mark("3 electronic vote")

        # ---- 4. A roll call that ends in a tie, decided by the president's vote (R13, R14).
        # The secretary records the answers of Belcourt on her /elu page; the agents of Vaux and
        # Saint-Ferréol record their salles' answers on theirs.
        item = "marche-collecte"
        await president.click(f"#agenda li[data-item={item}] button:has-text('Appeler ce point')")
        await president.click("#method-appel_nominal")
        await president.click("#open-vote-btn")
        answers = {
            ("m01", ""): "pour",
            ("m02", ""): "pour",
            ("m03", ""): "pour",
            ("m04", ""): "pour",
            ("m06", ""): "pour",
            ("m07", ""): "contre",
            ("m07", "m09"): "contre",
            ("m08", ""): "contre",
            ("m10", ""): "contre",
            ("m11", ""): "contre",
            ("m12", ""): "abstention",
        }
        secretary = elus["m03"]
        await expect(secretary.locator("#rollcall-card")).to_be_visible(timeout=T)
        await expect(agents["vaux"].locator("#rollcall-card")).to_be_visible(timeout=T)
        await shot(agents["vaux"], "agent-vaux-roll-call")
        for (voter, behalf), choice in answers.items():
            if voter in PRESENT["belcourt"]:
                page, scope = secretary, "#rollcall"
            else:
                page = agents["vaux"] if voter in PRESENT["vaux"] else agents["saint-ferreol"]
                scope = "#rollcall"
            row = page.locator(f"{scope} .rollcall-row[data-voter={voter}][data-behalf='{behalf}']")
            await row.locator(f"button[data-choice={choice}]").click()
            await expect(row).to_contain_text("Réponse enregistrée", timeout=T)
        await expect(president.locator("#vote-count")).to_have_text("11 votes enregistrés sur 11.", timeout=T)
        await shot(secretary, "elu-secretary-roll-call")
        await president.click("#close-vote-btn")
        tie = president.locator(f"#results article[data-item={item}]")
        await expect(tie).to_contain_text("Adopté — pour 5, contre 5", timeout=T)
        await expect(tie).to_contain_text("la voix du président est prépondérante")
        await expect(public.locator(f"#public-results article[data-item={item}]")).to_contain_text(
            "prépondérante", timeout=T
        )
        voted = service.seance.state.item(item)["votes"][-1]
        assert voted["result"]["adopted"] and voted["result"]["casting_vote"], voted["result"]
        await shot(president, "president-tie-casting-vote")
        mark("4 roll call tie")

        # ---- 5. A secret ballot requested by one third of those present (R15): the item is
        # postponed and flagged for an in-person sitting.
        item = "fonds-concours-vaux"
        await president.click(f"#agenda li[data-item={item}] button:has-text('Appeler ce point')")
        for member in ("m03", "m07", "m11"):
            await elus[member].click("#secret-btn")
            await elus[member].click("#secret-confirm-btn")  # the request cannot be withdrawn: confirmed
            await expect(elus[member].locator("#secret")).to_contain_text(
                "Votre demande de scrutin secret est enregistrée", timeout=T
            )
        await expect(president.locator(f"#agenda li[data-item={item}]")).to_contain_text(
            "Scrutin secret demandé par 3 membres (report au tiers des présents : 4)", timeout=T
        )
        reply = await sockets["m12"].command({"type": "RequestSecretBallot", "item_id": item, "member_id": "m12"})
        assert reply["type"] == "ack", reply
        row = president.locator(f"#agenda li[data-item={item}]")
        await expect(row).to_contain_text("reporté — séance en présentiel", timeout=T)
        await expect(public.locator(f"#public-results article[data-item={item}]")).to_contain_text("Reporté", timeout=T)
        await expect(elus["m07"].locator("#secret")).to_contain_text("reporté à une séance en présentiel", timeout=T)
        assert service.seance.state.item(item)["status"] == "postponed"
        reply = await command_from_page(president, {"type": "OpenVote", "item_id": item, "method": "electronique"})
        assert not reply["ok"] and reply["code"] == "R15", reply
        await shot(elus["m07"], "elu-m07-secret-ballot-postponed")
        mark("5 secret ballot")

        # A sensitive passage (R19): the public display shows a notice, not the debate.
        await president.fill("#sensitive-reason", "situation d'un agent nommément désigné")
        await president.click("#sensitive-btn")
        await expect(public.locator("#public-notice")).to_contain_text("Passage non diffusé", timeout=T)
        await shot(public, "public-sensitive-passage", full_page=False)
        await president.click("#sensitive-btn")
        await expect(public.locator("#public-notice")).to_be_hidden(timeout=T)

        # ---- 7. Vaux's kiosk loses its connection during a vote: the sitting suspends, the
        # vote freezes (R17); Vaux comes back and the president resumes.
        item = "voirie-programme"
        await president.click(f"#agenda li[data-item={item}] button:has-text('Appeler ce point')")
        await president.click("#method-electronique")
        await president.click("#open-vote-btn")
        await elus["m03"].click(".ballot[data-ballot=self] button[data-choice=pour]")
        await sockets["m02"].vote(item, "pour")
        await expect(president.locator("#vote-count")).to_have_text("2 votes enregistrés sur 11.", timeout=T)
        await kiosks["vaux"][0].close()
        contexts.remove(kiosks["vaux"][0])
        await expect(president.locator("#badge-sitting")).to_have_text("Séance suspendue", timeout=20_000)
        await expect(president.locator("#vote .alert.frozen")).to_contain_text("Vote gelé (R17)", timeout=T)
        await expect(public.locator("#public-notice")).to_contain_text("Séance suspendue", timeout=T)
        await expect(elus["m11"].locator("#ballots")).to_contain_text("Vote gelé", timeout=T)
        await expect(agents["vaux"].locator("#badge-health")).to_contain_text("interrompue", timeout=T)
        reply = await sockets["m04"].command(
            {"type": "CastBallot", "item_id": item, "voter_id": "m04", "choice": "pour"}
        )
        assert reply["type"] == "error" and reply["code"] == "R17", reply
        await expect(president.locator("#close-vote-btn")).to_be_disabled()
        reply = await command_from_page(president, {"type": "CloseVote", "item_id": item})
        assert not reply["ok"] and reply["code"] == "R17", reply
        await president.click("#resume-btn")
        await refused(president, "R17", "Vaux-sur-Ance")
        await shot(president, "president-suspended-vote-frozen")
        await shot(public, "public-suspended", full_page=False)
        ctx, _ = kiosks["vaux"] = await open_kiosk(browser, server, "vaux")
        contexts.append(ctx)
        await expect(president.locator("#salles .salle-tile[data-salle=vaux] .badge")).to_have_text(
            "transmission établie", timeout=30_000
        )
        await president.click("#resume-btn")
        await expect(president.locator("#badge-sitting")).to_have_text("Séance ouverte", timeout=T)
        await expect(president.locator("#vote .alert.frozen")).to_have_count(0, timeout=T)
        await expect(public.locator("#public-notice")).to_be_hidden(timeout=T)
        for member in ("m04", "m06", "m08", "m10", "m12"):
            await sockets[member].vote(item, "pour")
        await elus["m07"].click(".ballot[data-ballot=self] button[data-choice=pour]")
        await elus["m07"].click(".ballot[data-ballot=m09] button[data-choice=pour]")
        await elus["m11"].click(".ballot[data-ballot=self] button[data-choice=contre]")
        await president.click("#vote .ballot[data-ballot=self] button[data-choice=pour]")
        await expect(president.locator("#vote-count")).to_have_text("11 votes enregistrés sur 11.", timeout=T)
        await president.click("#close-vote-btn")
        await expect(public.locator(f"#public-results article[data-item={item}]")).to_contain_text("Adopté", timeout=T)
        mark("7 loss, freeze, resume")

        # ---- 8. Closing (R11); then the journal verifies, and the auditor page's PV and CSV
        # match the journal.
        await president.click("#close-btn")
        await president.click("#close-confirm-btn")
        await expect(president.locator("#badge-sitting")).to_have_text("Séance close", timeout=T)
        await expect(public.locator("#public-notice")).to_contain_text("Séance close", timeout=T)
        await expect(elus["m07"].locator("#sitting-line")).to_contain_text("Séance close", timeout=T)
        reply = await sockets["m02"].command({"type": "RequestFloor", "member_id": "m02"})
        assert reply["type"] == "error" and reply["code"] == "R11", reply
        await shot(president, "president-closed")
        await shot(public, "public-closed", full_page=False)
        await service.idle()
        await check_journal_and_auditor_downloads(server, service, president, shot)
        mark("8 closed, audited")
    finally:
        for s in sockets.values():
            await s.close()
        await session.close()
        for c in contexts:
            try:
                await c.close()
            except Exception:
                pass
        print("\n" + " · ".join(f"{name} {t:.1f}s" for name, t in marks))


async def check_journal_and_auditor_downloads(server, service, president, shot) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from deliberation.audit import audit_file, rebuild
    from deliberation.journal import verify_lines
    from deliberation.minutes import proces_verbal_html
    from deliberation.scdl import deliberations_csv

    public_key = load_pem_public_key(service.public_key_pem.encode())
    report = audit_file(str(service.journal_path), public_key)
    assert report.ok, report.summary()
    assert len(report.votes) == 3, report.votes

    seance = rebuild(verify_lines(Path(service.journal_path).read_bytes(), public_key))
    assert seance.state.status == "closed"

    # The auditor page (the president may read it): downloads equal what the journal gives.
    await president.goto(server.base_url + "/audit/demo")
    await expect(president.locator("body")).to_contain_text("vérifi", timeout=T)
    await shot(president, "audit-page", full_page=False)
    csv_response = await president.request.get(server.base_url + "/audit/demo/deliberations.csv")
    assert csv_response.ok, csv_response.status
    downloaded_csv = (await csv_response.body()).decode("utf-8")
    assert downloaded_csv == deliberations_csv(seance)
    rows = list(csv.DictReader(io.StringIO(downloaded_csv)))
    by_object = {r["DELIB_OBJET"]: r for r in rows}
    pv_row = by_object["Approbation du procès-verbal de la séance du 24 septembre 2026"]
    assert (pv_row["VOTE_POUR"], pv_row["VOTE_CONTRE"], pv_row["VOTE_ABSTENTION"]) == ("9", "1", "1")
    tie_row = by_object["Attribution du marché de collecte des déchets ménagers 2027-2030"]
    assert (tie_row["VOTE_POUR"], tie_row["VOTE_CONTRE"], tie_row["VOTE_ABSTENTION"]) == ("5", "5", "1")
    assert not any("Fonds de concours" in r["DELIB_OBJET"] for r in rows)  # postponed, not deliberated
    pv_response = await president.request.get(server.base_url + "/audit/demo/proces-verbal.html")
    assert pv_response.ok, pv_response.status
    downloaded_pv = (await pv_response.body()).decode("utf-8")
    assert downloaded_pv == proces_verbal_html(seance)
    for name in ("Nathalie Rousseau", "Claire Dubois", "Sophie Garnier"):
        assert name in downloaded_pv
    assert "reporté — séance en présentiel" in downloaded_pv
