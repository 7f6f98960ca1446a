"""Chromium's mDNS host candidates against the server (the investigation of issue 3).

A real deployment runs Chromium without ``--use-fake-ui-for-media-stream``, and pages
without camera permission (the public page) always hide their host addresses behind
random ``<uuid>.local`` names. These tests launch Chromium that way (loopback only:
``--allow-loopback-in-peer-connection`` stays, since this machine's server is on
127.0.0.1) and show what the server does with such an offer.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from signaling.roles import Role
from tests.browser.chromium_options import CHROMIUM_ARGS
from tests.browser.kiosk_helpers import connected, stats, until
from tests.browser.sitting_driver import open_with_belcourt_transmitting
from web.app import ROOMS, SIGNER

pytestmark = pytest.mark.browser

REAL_DEPLOYMENT_ARGS = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]


async def test_public_page_with_mdns_only_candidates_connects_by_peer_reflexive(live_app, launch_chromium):
    from playwright.async_api import async_playwright

    server = live_app
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=launch_chromium(), headless=True, args=REAL_DEPLOYMENT_ARGS)
        try:
            # A kiosk publishes (camera permission granted as an operator would, once).
            kctx = await browser.new_context(permissions=["camera", "microphone"])
            kpage = await kctx.new_page()
            token = server.app[SIGNER].issue(Role.KIOSK, salle="belcourt", sitting="demo")
            await kpage.goto(f"{server.base_url}/salle/belcourt?token={token}")
            await until(lambda: connected(kpage), 20, what="kiosk connected")
            kiosk_sdp = await kpage.evaluate("() => window.seance.pc.localDescription.sdp")
            # the public is fed only while the sitting is open (tests/browser/test_broadcast.py)
            await open_with_belcourt_transmitting(server)

            # The public page: no getUserMedia, so Chromium hides its host candidates.
            ctx = await browser.new_context()
            page = await ctx.new_page()
            await page.goto(f"{server.base_url}/public/demo")
            await until(
                lambda: page.evaluate(
                    "() => !!(window.seance && window.seance.pc && window.seance.pc.localDescription)"
                ),
                10,
                what="public offer",
            )
            await until(
                lambda: page.evaluate("() => window.seance.pc.iceGatheringState === 'complete'"),
                10,
                what="gathering complete",
            )
            sdp = await page.evaluate("() => window.seance.pc.localDescription.sdp")
            hosts = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ host", sdp, re.I)
            print("\npublic page host candidates:", hosts)
            print(
                "kiosk (camera granted) host candidates:",
                re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ host", kiosk_sdp, re.I),
            )
            assert hosts and all(h.endswith(".local") for h in hosts), hosts

            await until(lambda: connected(page), 20, what="public page connected with mDNS-only candidates")

            async def frames_rising():
                a = sum(e["framesDecoded"] for e in await stats(page) if e["kind"] == "video")
                await asyncio.sleep(1.0)
                b = sum(e["framesDecoded"] for e in await stats(page) if e["kind"] == "video")
                return b > a > 0

            await until(frames_rising, 15, interval=0.1, what="video decoded in the public page")
            pair = await page.evaluate("""async () => {
                const r = await window.seance.pc.getStats(); let out = null;
                r.forEach(s => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
                    const l = r.get(s.localCandidateId), rm = r.get(s.remoteCandidateId);
                    out = {local: [l.candidateType, l.address], remote: [rm.candidateType, rm.address]}; } });
                return out; }""")
            print("public page selected pair (browser view):", pair)

            # The server's view: the viewer's peer dropped the .local candidates and its
            # nominated pair's remote candidate was learned from the browser's check.
            router = server.app[ROOMS]["demo"].router
            viewer = next(p for p in router.peers.values() if p.kind == "viewer")
            assert viewer.mdns_candidates_dropped >= 1
            ice = viewer.connection.ice  # its aioice Connection
            remote = [pair.remote_candidate for pair in ice._nominated.values()]
            print("server nominated remote candidates:", [(c.type, c.host) for c in remote])
            assert remote and all(c.type == "prflx" for c in remote)
        finally:
            await browser.close()


async def test_without_the_loopback_flag(live_app, launch_chromium):
    """What ``--allow-loopback-in-peer-connection`` changes, measured: the flag only lets
    Chromium *gather* loopback host candidates. Without it, a kiosk with camera
    permission still reaches a server announcing 127.0.0.1 (its checks leave from its LAN
    host candidate and the kernel delivers them over loopback), and a page without camera
    permission (mDNS names only) too, by peer-reflexive discovery on the server side."""
    from playwright.async_api import async_playwright

    args = [a for a in REAL_DEPLOYMENT_ARGS if a != "--allow-loopback-in-peer-connection"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=launch_chromium(), headless=True, args=args)
        try:
            kctx = await browser.new_context(permissions=["camera", "microphone"])
            kiosk = await kctx.new_page()
            token = live_app.app[SIGNER].issue(Role.KIOSK, salle="belcourt", sitting="demo")
            await kiosk.goto(f"{live_app.base_url}/salle/belcourt?token={token}")
            await until(lambda: connected(kiosk), 20, what="kiosk connected without the loopback flag")
            sdp = await kiosk.evaluate("() => window.seance.pc.localDescription.sdp")
            hosts = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ host", sdp, re.I)
            print("\nkiosk host candidates without the loopback flag:", hosts)
            assert "127.0.0.1" not in hosts and not any(h.endswith(".local") for h in hosts)

            page = await (await browser.new_context()).new_page()
            await page.goto(f"{live_app.base_url}/public/demo")
            await until(lambda: connected(page), 20, what="public page connected without the loopback flag")
        finally:
            await browser.close()
