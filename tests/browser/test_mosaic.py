"""The president's and the moderator's screens show every salle (issue 15, point 1).

Real Router, three real kiosks (Chromium's fake camera and microphone: a moving picture
and a periodic beep): the president's page plays one video per transmitting salle, in
that salle's tile; a tile's ring lights while the server hears the salle (the RFC 6464
levels of its beep) and stays dark once the salle is muted; an audio-only salle's tile
has no picture and says so; mute and « Mettre à l'image » act from the tile.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import expect

from signaling.roles import Role
from tests.browser.kiosk_helpers import connected, open_kiosk, person, playing, until
from web.app import ROOMS

pytestmark = pytest.mark.browser

T = 20_000
SALLES = ("belcourt", "vaux", "saint-ferreol")


async def test_the_president_sees_every_salle_and_who_speaks(browser, live_app, output_dir):
    server = live_app
    room = server.app[ROOMS]["demo"]
    contexts = []
    try:
        kiosks = {}
        for salle in SALLES:
            ctx, kiosks[salle] = await open_kiosk(browser, server, salle)
            contexts.append(ctx)
        for salle, page in kiosks.items():
            await until(lambda page=page: connected(page), 25, what=f"{salle}'s kiosk connected")
        await until(lambda: all(room.transmitting[s] for s in SALLES), 25, what="the three salles transmitting")

        ctx, president = await person(
            browser,
            server,
            Role.PRESIDENT,
            member="m01",
            salle="belcourt",
            path="/president",
            viewport={"width": 1440, "height": 1000},
        )
        contexts.append(ctx)
        tiles = president.locator("#salles .salle-tile")
        await expect(tiles).to_have_count(len(SALLES), timeout=T)
        for salle in SALLES:
            await expect(president.locator(f".salle-tile[data-salle={salle}] .badge")).to_have_text(
                "transmission établie", timeout=T
            )
        # one playing video per transmitting salle, each in its own salle's tile
        await until(lambda: _all_playing(president), 30, 0.5, "a playing video in each salle's tile")
        sources = await president.evaluate(
            "() => [...document.querySelectorAll('#salles video')].map((v) => v.srcObject && v.srcObject.id)"
        )
        assert len(set(sources)) == len(SALLES) and None not in sources
        await president.screenshot(path=str(output_dir / "president-mosaic.png"), full_page=True)

        # who speaks: the fake microphones beep; the server hears them and the rings light
        await until(lambda: president.locator(".salle-tile[data-speaking=yes]").count(), 20, 0.1, "a speaking ring lit")
        await president.click(".salle-tile[data-salle=vaux] button:has-text('Couper le micro')")
        await until(lambda: "vaux" in room.muted, 5, what="vaux muted from its tile")
        await expect(president.locator(".salle-tile[data-salle=vaux] .flag-muted")).to_have_text("micro coupé")
        await asyncio.sleep(1.0)  # the last levels before the mute fade
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:  # muted: the server hears nothing from vaux
            assert await president.get_attribute(".salle-tile[data-salle=vaux]", "data-speaking") == "no"
            await asyncio.sleep(0.2)
        await until(
            lambda: _speaking_among(president, ("belcourt", "saint-ferreol")), 20, 0.1, "the others still heard"
        )

        # « Mettre à l'image » from the tile: the president's pin reaches the Router
        await president.click(".salle-tile[data-salle=saint-ferreol] button:has-text('Mettre à l')")
        await until(lambda: room.pinned == "saint-ferreol", 5, what="saint-ferreol pinned from its tile")
        await expect(president.locator(".salle-tile[data-salle=saint-ferreol] .flag-pinned")).to_be_visible()

        # R3: an audio-only salle keeps its tile, without picture, and says so
        room.set_audio_only("vaux", True)
        await expect(president.locator(".salle-tile[data-salle=vaux] .flag-audio-only")).to_have_text(
            "audio seul", timeout=T
        )
        await expect(president.locator(".salle-tile[data-salle=vaux]")).to_have_attribute(
            "data-picture", "no", timeout=T
        )
        await expect(president.locator(".salle-tile[data-salle=vaux] .salle-nopicture")).to_be_visible()

        # the moderator's page shows the same mosaic, with the microphones and without the pin
        ctx, moderator = await person(browser, server, Role.MODERATOR, member="moderateur", path="/moderation")
        contexts.append(ctx)
        await expect(moderator.locator("#moderation .salle-tile")).to_have_count(len(SALLES), timeout=T)
        await expect(moderator.locator(".salle-tile[data-salle=belcourt]")).to_have_attribute(
            "data-picture", "yes", timeout=T
        )
        await expect(
            moderator.locator(".salle-tile[data-salle=vaux] button:has-text('Rétablir le micro')")
        ).to_be_visible()
        assert not await moderator.locator("#moderation button:has-text('Mettre à l')").count()
    finally:
        for c in contexts:
            await c.close()


async def _all_playing(page) -> bool:
    got = await playing(page)
    return all(got.get(s) for s in SALLES)


async def _speaking_among(page, salles) -> bool:
    for salle in salles:
        if await page.get_attribute(f".salle-tile[data-salle={salle}]", "data-speaking") == "yes":
            return True
    return False
