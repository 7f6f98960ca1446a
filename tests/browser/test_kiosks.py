"""Three kiosks of three salles in a real Chromium, through the real Router (issue 3).

Everything is checked from the browsers' own ``getStats()`` and from the server's
counters; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from signaling.roles import Role
from tests.browser.kiosk_helpers import connected, open_kiosk, stats, until
from tests.browser.sitting_driver import open_with_belcourt_transmitting
from web.app import ROOMS, SIGNER

pytestmark = pytest.mark.browser

SALLES = ("belcourt", "vaux", "saint-ferreol")
LAST: dict = {}


def by_salle(entries, kind):
    """salle -> (packetsReceived, framesDecoded) summed over the slots showing it."""
    out: dict[str, list[int]] = {}
    for e in entries:
        if e["kind"] == kind and e["salle"]:
            acc = out.setdefault(e["salle"], [0, 0])
            acc[0] += e["packetsReceived"]
            acc[1] += e["framesDecoded"]
    return out


async def receives_from_others(page, me) -> bool:
    """True when, over one second, audio packets and decoded video frames from every
    other salle rise in this browser."""
    a = await stats(page)
    await asyncio.sleep(1.0)
    b = await stats(page)
    others = [s for s in SALLES if s != me]
    va, vb = by_salle(a, "video"), by_salle(b, "video")
    aa, ab = by_salle(a, "audio"), by_salle(b, "audio")
    LAST[me] = (va, vb, aa, ab)
    return all(
        vb.get(s, [0, 0])[1] > va.get(s, [0, 0])[1] > 0 and ab.get(s, [0, 0])[0] > aa.get(s, [0, 0])[0] > 0
        for s in others
    )


def audio_packets_by_mid(entries):
    return {e["mid"]: (e["salle"], e["packetsReceived"]) for e in entries if e["kind"] == "audio"}


async def moderator_socket(session, server):
    token = server.app[SIGNER].issue(Role.MODERATOR, member="moderateur")
    ws = await session.ws_connect(server.base_url + "/ws")
    await ws.send_json({"type": "hello", "sitting": "demo", "token": token, "id": "h"})
    return ws


async def next_of(ws, predicate, timeout):
    async def loop():
        while True:
            msg = json.loads((await ws.receive()).data)
            if predicate(msg):
                return msg

    return await asyncio.wait_for(loop(), timeout)


async def test_three_kiosks_see_and_hear_each_other_mute_loss_and_return(browser, live_app, output_dir):
    server = live_app
    room = server.app[ROOMS]["demo"]
    started = time.monotonic()
    kiosks = {s: await open_kiosk(browser, server, s) for s in SALLES}

    # 1. Each kiosk connects and receives the two other salles' audio and video.
    for salle, (_, page) in kiosks.items():
        await until(lambda p=page: connected(p), 20, what=f"{salle} peer connection")
    for salle, (_, page) in kiosks.items():
        try:
            await until(
                lambda p=page, s=salle: receives_from_others(p, s),
                20,
                interval=0.1,
                what=f"{salle} receiving audio and video from the other salles",
            )
        except AssertionError as err:
            raise AssertionError(
                f"{err}; last samples (video, audio by salle): {LAST.get(salle)}; "
                f"router slots: {room.router.stats().get('slots')}"
            ) from None
    for salle in SALLES:
        await until(lambda s=salle: room.router.health(s).transmitting, 10, what=f"{salle} transmitting")
    join_s = time.monotonic() - started

    # 2. The packet path raised nothing (the server has no decoder: tests/sfu/test_never_decodes.py)
    async with aiohttp.ClientSession() as session:
        metrics = await (await session.get(server.base_url + "/metrics")).text()
    errors = [line for line in metrics.splitlines() if "hook_errors_total{" in line and not line.startswith("#")]
    assert all(float(line.rsplit(" ", 1)[1]) == 0 for line in errors), errors

    # A screenshot to look at (test-output/kiosk-belcourt.png).
    _, belcourt = kiosks["belcourt"]
    await belcourt.wait_for_function("document.body.dataset.transmitting === 'true'", timeout=10_000)
    await belcourt.screenshot(path=str(output_dir / "kiosk-belcourt.png"))

    async with aiohttp.ClientSession() as session:
        mod = await moderator_socket(session, server)
        await next_of(mod, lambda m: m["type"] == "welcome", 5)

        # 3. The moderator mutes vaux: its audio stops reaching the others; then unmutes.
        before = {s: audio_packets_by_mid(await stats(kiosks[s][1])) for s in ("belcourt", "saint-ferreol")}
        vaux_mids = {s: [mid for mid, (salle, _) in before[s].items() if salle == "vaux"] for s in before}
        assert all(vaux_mids.values()), vaux_mids
        await mod.send_json({"type": "mute", "salle": "vaux", "muted": True, "id": "m"})
        await next_of(
            mod, lambda m: m["type"] == "state" and any(x["id"] == "vaux" and x["muted"] for x in m["salles"]), 5
        )
        assert room.router is not None and "vaux" in room.muted
        await asyncio.sleep(1.0)  # packets in flight and jitter buffers
        listeners = ("belcourt", "saint-ferreol")  # both watched over the same 2-s window
        opening = {s: audio_packets_by_mid(await stats(kiosks[s][1])) for s in listeners}
        await asyncio.sleep(2.0)
        closing = {s: audio_packets_by_mid(await stats(kiosks[s][1])) for s in listeners}
        for s in listeners:
            a, b = opening[s], closing[s]
            for mid in vaux_mids[s]:
                assert b[mid][1] == a[mid][1], f"{s}: slot {mid} still receives audio after vaux was muted"
            assert all(salle != "vaux" or b[mid][1] == a[mid][1] for mid, (salle, _) in b.items())
            other = next(x for x in SALLES if x not in ("vaux", s))
            assert sum(p for m, (sl, p) in b.items() if sl == other) > sum(
                p for m, (sl, p) in a.items() if sl == other
            ), f"{s}: {other}'s audio must keep flowing"
        _, vaux_page = kiosks["vaux"]
        assert "micro coupé" in await belcourt.inner_text("#roster li[data-salle=vaux] .info")
        assert await vaux_page.inner_text("#badge-mute") == "Micro coupé par la modération"
        await vaux_page.screenshot(path=str(output_dir / "kiosk-vaux-muted.png"))
        await mod.send_json({"type": "mute", "salle": "vaux", "muted": False, "id": "u"})
        await until(
            lambda: receives_from_others(kiosks["belcourt"][1], "belcourt"),
            10,
            interval=0.1,
            what="vaux's audio back at belcourt after unmute",
        )

        # 4. Closing saint-ferreol's page turns its health to lost within a few seconds.
        t0 = time.monotonic()
        await kiosks["saint-ferreol"][0].close()
        lost = await next_of(
            mod, lambda m: m["type"] == "health" and m["salle"] == "saint-ferreol" and not m["transmitting"], 8
        )
        lost_s = time.monotonic() - t0
        assert lost["transmitting"] is False and not room.router.health("saint-ferreol").transmitting

        # Reopening it brings it back.
        t0 = time.monotonic()
        kiosks["saint-ferreol"] = await open_kiosk(browser, server, "saint-ferreol")
        await next_of(mod, lambda m: m["type"] == "health" and m["salle"] == "saint-ferreol" and m["transmitting"], 20)
        back_s = time.monotonic() - t0
        await until(
            lambda: receives_from_others(kiosks["saint-ferreol"][1], "saint-ferreol"),
            15,
            interval=0.1,
            what="reopened saint-ferreol receiving the others",
        )
        await mod.close()

    # 5. Reconnection without reload: the server drops vaux's socket; the page rejoins.
    await vaux_page.evaluate("() => { window.__sameDocument = true; }")
    generation = await vaux_page.evaluate("() => window.seance.generation")
    await room.kiosks["vaux"].close(code=1012, reason="test: service restart")
    await until(
        lambda: vaux_page.evaluate(f"() => window.seance.generation > {generation}"),
        10,
        what="vaux renegotiating after its socket dropped",
    )
    await until(lambda: connected(vaux_page), 15, what="vaux reconnected")
    await until(lambda: receives_from_others(vaux_page, "vaux"), 15, interval=0.1, what="vaux receiving again")
    assert await vaux_page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"

    # 6. The media path alone drops (the socket stays): the page notices and rejoins.
    generation = await vaux_page.evaluate("() => window.seance.generation")
    await room.router.disconnect("vaux")
    await until(
        lambda: vaux_page.evaluate(f"() => window.seance.generation > {generation}"),
        15,
        what="vaux renegotiating after its peer connection dropped",
    )
    await until(lambda: connected(vaux_page), 15, what="vaux media back")
    await until(lambda: receives_from_others(vaux_page, "vaux"), 15, interval=0.1, what="vaux receiving again")
    assert await vaux_page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"
    assert room.router.stats()["hook_errors"] == {}
    print(
        f"\njoin+media {join_s:.1f}s, health lost after close {lost_s:.1f}s, back after reopen {back_s:.1f}s, "
        f"total {time.monotonic() - started:.1f}s"
    )


async def test_public_page_receives_the_programme(browser, live_app, output_dir):
    """Once the sitting is open (before, the public gets no media: test_broadcast.py)."""
    server = live_app
    kiosks = {s: await open_kiosk(browser, server, s) for s in ("belcourt", "vaux")}
    await open_with_belcourt_transmitting(server, also=("vaux",))
    context = await browser.new_context(viewport={"width": 960, "height": 600})
    page = await context.new_page()
    await page.goto(f"{server.base_url}/public/demo")
    await until(lambda: connected(page), 20, what="public viewer connected")

    async def programme_frames_rising():
        a = [e for e in await stats(page) if e["kind"] == "video"]
        await asyncio.sleep(1.0)
        b = [e for e in await stats(page) if e["kind"] == "video"]
        return a and b and b[0]["framesDecoded"] > a[0]["framesDecoded"] > 0 and b[0]["salle"] in kiosks

    await until(programme_frames_rising, 20, interval=0.1, what="programme video decoded in the public page")
    await page.screenshot(path=str(output_dir / "public-demo.png"))
    assert server.app[ROOMS]["demo"].router.stats()["hook_errors"] == {}


async def test_moderator_mutes_a_salle_from_the_moderation_page(browser, live_app):
    from web.app import ACCOUNTS

    server = live_app
    server.app[ACCOUNTS].set_account("moderateur", "pw-moderation", Role.MODERATOR)
    page = await (await browser.new_context()).new_page()
    await page.goto(server.base_url + "/login")
    await page.fill("#login", "moderateur")
    await page.fill("#password", "pw-moderation")
    await page.click("button[type=submit]")
    await page.goto(server.base_url + "/moderation")
    await page.click(".salle-tile[data-salle=vaux] button:has-text('Couper le micro')", timeout=10_000)
    room = server.app[ROOMS]["demo"]
    await until(lambda: "vaux" in room.muted, 5, what="vaux muted from the moderation page")
    await page.wait_for_selector(".salle-tile[data-salle=vaux] button:has-text('Rétablir le micro')", timeout=5_000)
    assert not await page.locator(
        ".salle-tile[data-salle=vaux] button:has-text('Mettre à l')"
    ).count()  # pin: president only


async def outbound(page, kind) -> int:
    entries = await page.evaluate("() => window.seance ? window.seance.outboundStats() : []")
    return sum(e["packetsSent"] for e in entries if e["kind"] == kind)


async def test_R3_audio_only_stops_the_camera_at_the_kiosk_and_brings_it_back(browser, live_app):
    """R3: when its agent switches the salle to audio only, the kiosk itself stops sending
    video (the server does not merely drop it: no uplink is spent), audio keeps flowing,
    and the camera comes back when the switch is undone."""
    server = live_app
    ctx, page = await open_kiosk(browser, server, "vaux")
    try:
        await until(lambda: connected(page), 20, what="vaux kiosk connected")
        await until(lambda: outbound(page, "video"), 10, what="the camera is being sent")
        token = server.app[SIGNER].issue(Role.AGENT, salle="vaux", agent="a-vaux", sitting="demo")
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(server.base_url + "/ws")
            await ws.send_json({"type": "hello", "sitting": "demo", "token": token, "id": "h"})
            await next_of(ws, lambda m: m["type"] == "welcome", 5)

            await ws.send_json({"type": "audio_only", "salle": "vaux", "audio_only": True, "id": "a1"})
            await page.wait_for_function("() => document.body.dataset.audioOnly === 'true'", timeout=5_000)
            await asyncio.sleep(1.0)  # packets already in flight
            video_a, audio_a = await outbound(page, "video"), await outbound(page, "audio")
            await asyncio.sleep(2.0)
            video_b, audio_b = await outbound(page, "video"), await outbound(page, "audio")
            assert video_b == video_a, f"video still sent while audio only: {video_a} -> {video_b}"
            assert audio_b > audio_a, "the voice keeps flowing (R3: audio when video fails)"

            await ws.send_json({"type": "audio_only", "salle": "vaux", "audio_only": False, "id": "a2"})
            await page.wait_for_function("() => document.body.dataset.audioOnly === 'false'", timeout=5_000)
            await until(lambda: _rising(page, video_b), 10, what="the camera sent again")
            await ws.close()
    finally:
        await ctx.close()


async def _rising(page, before: int) -> bool:
    return await outbound(page, "video") > before
