"""Simulcast from a real Chromium kiosk (issue 11, point 1): three layers arrive at the
server, and a subscriber whose link shrinks is switched to a smaller layer, which its
Chromium decodes. Figures from the browsers' own ``getStats()`` and the Router; every
wait is bounded.
"""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

import pytest

from tests.browser.kiosk_helpers import open_kiosk, until
from web.app import ROOMS

pytestmark = pytest.mark.browser

SLOT_STATS = """(slot) => (async () => {
  const c = window.seance;
  if (!c || !c.pc) return null;
  const i = c.layout.findIndex((e) => e.slot === slot);
  const t = c.pc.getTransceivers()[i];
  let out = null;
  (await c.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && t && s.mid === t.mid) out = {width: s.frameWidth || 0, frames: s.framesDecoded || 0};
  });
  return out;
})()"""

ACTIVE_ENCODINGS = """(kept) => {
  const c = window.seance;
  const t = c && c.pc && c.pc.getTransceivers().find((x) => x.sender.track && x.sender.track.kind === "video");
  const e = t ? t.sender.getParameters().encodings : [];
  return e.length === 3 && e.every((x, i) => x.active === (i <= kept));
}"""

SENT_RIDS = """() => (async () => {
  const c = window.seance;
  if (!c || !c.pc) return {};
  const out = {};
  (await c.pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video" && s.rid) out[s.rid] = {bytes: s.bytesSent || 0, width: s.frameWidth || 0};
  });
  return out;
})()"""


async def open_belcourt_and_vaux(browser, server, contexts: list):
    """Belcourt's kiosk (the president's salle: every other salle's video-0), then vaux's,
    their contexts added to ``contexts`` (closed by the caller); vaux's page."""
    page = None
    for salle in ("belcourt", "vaux"):
        context, page = await open_kiosk(browser, server, salle)
        contexts.append(context)
    return page


def belcourt_video(router):
    """Belcourt's video track at the Router, None before it publishes one."""
    peer = router.peers.get("belcourt")
    return peer.producers.get("video") if peer is not None else None


async def test_a_chromium_kiosk_sends_three_layers_and_a_weak_subscriber_gets_a_smaller_one(live_app, browser):
    server = live_app
    router = server.app[ROOMS]["demo"].router
    contexts = []
    try:
        vaux = await open_belcourt_and_vaux(browser, server, contexts)

        def layers():
            track = belcourt_video(router)
            if track is None or not all(layer.ssrc is not None and layer.rate.bps() > 0 for layer in track.layers):
                return None
            return track

        # Chromium's send estimate ramps up before it turns its largest encoding on
        track = await until(layers, 60, what="three layers from belcourt's Chromium")
        assert [layer.rid for layer in track.layers] == ["q", "h", "f"]
        belcourt = await contexts[0].pages[0].evaluate(SENT_RIDS)
        assert sorted(belcourt) == ["f", "h", "q"] and all(r["bytes"] > 0 for r in belcourt.values()), belcourt
        consumer = router.peers["vaux"].consumers["video-0"]  # the president's salle: belcourt
        assert consumer.source_salle == "belcourt"
        await until(lambda: consumer.source is track.layers[2], 30, what="vaux on belcourt's largest layer")
        large = await until(lambda: _width_at_least(vaux, 640), 30, what="vaux decoding belcourt's largest layer")

        # vaux's link shrinks to the voices and the smallest layer's ceiling (the kiosk's
        # maxBitrate) with some room: a smaller layer (the middle one if a busy machine
        # starves belcourt's encoders below it), still a picture
        audio = sum(p.rate.bps() for p in (router.peers["belcourt"].producers.get("audio"),) if p is not None)
        budget = audio + 1.3 * router.config.simulcast_max_bps[0]
        router.peers["vaux"].downlink.estimator.lower_to(time.monotonic(), budget)
        await until(
            lambda: consumer.source in track.layers[:2] and consumer.pending is None,
            15,
            what="vaux switched to a smaller layer",
        )
        assert not consumer.paused
        kept = consumer.source.spatial
        small = await until(lambda: _width_below(vaux, large["width"]), 20, what="vaux decoding a smaller picture")
        assert small["frames"] > large["frames"]
        print(
            "layers kbit/s:",
            [round(layer.rate.bps() / 1000) for layer in track.layers],
            "vaux decodes",
            large["width"],
            "then",
            small["width"],
        )
        assert router.stats()["hook_errors"] == {}

        # uplink follows demand: nobody receives belcourt's two larger layers any more, so
        # its kiosk is told to switch them off (`layers`) and its Chromium stops them
        await until(
            lambda: contexts[0].pages[0].evaluate(ACTIVE_ENCODINGS, kept),
            30,
            what="belcourt's larger encodings switched off",
        )
        assert router.layers_sent["belcourt"] == [i <= kept for i in range(3)]
    finally:
        for context in contexts:
            await context.close()


async def _width_at_least(page, width: int):
    s = await page.evaluate(SLOT_STATS, "video-0")
    return s if s and s["width"] >= width else None


async def _width_below(page, width: int):
    s = await page.evaluate(SLOT_STATS, "video-0")
    return s if s and 0 < s["width"] < width else None


SCALABILITY = """() => (async () => {
  const c = window.seance;
  if (!c || !c.pc) return {};
  const out = {};
  (await c.pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video" && s.rid) out[s.rid] = s.scalabilityMode || null;
  });
  return out;
})()"""


async def test_a_chromium_kiosk_sends_temporal_layers_and_a_subscriber_below_its_smallest_keeps_decoding(
    live_app, browser
):
    """VP8 temporal layers (RFC 7741 section 4.2): the kiosk asks its Chromium for L1T3 on
    each encoding, and its packets carry TIDs 0-2; a salle whose budget cannot carry the
    smallest encoding whole gets it at a lower frame rate, and its Chromium keeps
    decoding it (framesDecoded rising, no freeze, no key-frame storm)."""
    server = live_app
    router = server.app[ROOMS]["demo"].router
    contexts = []
    try:
        vaux = await open_belcourt_and_vaux(browser, server, contexts)

        def temporal_layers():
            track = belcourt_video(router)
            now = time.monotonic()
            if track is None or not all(layer.temporal_top(now) == 2 for layer in track.layers):
                return None
            return track

        track = await until(temporal_layers, 60, what="TIDs 0-2 on belcourt's three encodings")
        modes = await contexts[0].pages[0].evaluate(SCALABILITY)
        assert modes == {"q": "L1T3", "h": "L1T3", "f": "L1T3"}, modes
        q = track.layers[0]
        await until(
            lambda: 0 < q.temporal_bps(1) < 0.85 * q.rate.bps(), 30, what="the smallest encoding's TIDs measured"
        )
        consumer = router.peers["vaux"].consumers["video-0"]  # the president's salle: belcourt
        assert consumer.source_salle == "belcourt"
        await until(lambda: _width_at_least(vaux, 1), 30, what="vaux decoding belcourt")
        before = await vaux.evaluate(SLOT_STATS, "video-0")
        await asyncio.sleep(3.0)
        full_fps = ((await vaux.evaluate(SLOT_STATS, "video-0"))["frames"] - before["frames"]) / 3.0

        # vaux's budget: its voices and the smallest encoding's TL0-TL1 with some room, not all of it
        audio = sum(p.rate.bps() for p in (router.peers["belcourt"].producers.get("audio"),) if p is not None)
        estimator = router.peers["vaux"].downlink.estimator
        budget = audio + 1.2 * q.temporal_bps(1)
        estimator.lower_to(time.monotonic(), budget)
        await until(
            lambda: consumer.source is q and consumer.pending is None and consumer.temporal.target < 3,
            20,
            what="vaux on belcourt's smallest encoding at a lower frame rate",
        )
        assert not consumer.paused
        await asyncio.sleep(2.0)  # the switch to the smallest encoding done, its picture shown
        plis = router.counters.plis_received
        first = await vaux.evaluate(SLOT_STATS, "video-0")
        started = time.monotonic()
        samples = []
        for _ in range(8):  # 8 s: the budget held (the estimate would grow back), frames counted
            estimator.lower_to(time.monotonic(), budget)
            await asyncio.sleep(1.0)
            samples.append((await vaux.evaluate(SLOT_STATS, "video-0"))["frames"])
        elapsed = time.monotonic() - started
        rates = [b - a for a, b in pairwise([first["frames"], *samples])]
        decoded_fps = (samples[-1] - first["frames"]) / elapsed
        print(
            f"vaux: {full_fps:.1f} frames/s decoded with every layer, then"
            f" at TL<={consumer.temporal.target} of q: {decoded_fps:.1f} frames/s decoded (per second {rates}),"
            f" q {q.rate.bps() / 1000:.0f} kbit/s whole, {q.temporal_bps(1) / 1000:.0f} at TL0-1,"
            f" PLIs from subscribers {router.counters.plis_received - plis}"
        )
        assert router.counters.dropped["temporal_layer"] > 0
        assert not consumer.paused and consumer.source is q
        assert min(rates) > 0, rates  # no second without a decoded picture: no freeze
        assert decoded_fps < 0.8 * full_fps  # fewer pictures: the higher TIDs left out
        assert router.counters.plis_received - plis <= 3  # no key-frame storm
        assert router.stats()["hook_errors"] == {}
    finally:
        for context in contexts:
            await context.close()
