"""Simulcast from a real Chromium kiosk (issue 11, point 1): three layers arrive at the
server, and a subscriber whose link shrinks is switched to a smaller layer, which its
Chromium decodes. Figures from the browsers' own ``getStats()`` and the Router; every
wait is bounded.
"""

from __future__ import annotations

import time

import pytest
from kiosk_helpers import open_kiosk, until

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

ACTIVE_ENCODINGS = """() => {
  const c = window.seance;
  const t = c && c.pc && c.pc.getTransceivers().find((x) => x.sender.track && x.sender.track.kind === "video");
  const e = t ? t.sender.getParameters().encodings : [];
  return e.length === 3 && e[0].active && !e[1].active && !e[2].active;
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


async def test_a_chromium_kiosk_sends_three_layers_and_a_weak_subscriber_gets_a_smaller_one(live_app, browser):
    server = live_app
    router = server.app[ROOMS]["demo"].router
    contexts = []
    try:
        for salle in ("belcourt", "vaux"):
            context, page = await open_kiosk(browser, server, salle)
            contexts.append(context)
        vaux = page

        def layers():
            peer = router.peers.get("belcourt")
            track = peer.producers.get("video") if peer is not None else None
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

        # vaux's link shrinks below belcourt's middle layer: the smallest one, still a picture
        # (once the layers' rates are apart: Chromium's estimate ramps up its larger encodings)
        def rates_apart():
            q, h, _ = (layer.rate.bps() for layer in track.layers)
            return 0 < 1.5 * q + 50_000 < 0.8 * h

        await until(rates_apart, 30, what=f"layers' rates apart ({[layer.rate.bps() for layer in track.layers]})")
        audio = sum(p.rate.bps() for p in (router.peers["belcourt"].producers.get("audio"),) if p is not None)
        budget = audio + track.layers[0].rate.bps() * 1.5 + 50_000
        router.peers["vaux"].downlink.estimator.lower_to(time.monotonic(), budget)
        await until(lambda: consumer.source is track.layers[0], 15, what="vaux switched to the smallest layer")
        assert not consumer.paused
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
        assert router.stats()["frames_decoded"] == 0

        # uplink follows demand: nobody receives belcourt's two larger layers any more, so
        # its kiosk is told to switch them off (`layers`) and its Chromium stops them
        await until(
            lambda: contexts[0].pages[0].evaluate(ACTIVE_ENCODINGS),
            30,
            what="belcourt's larger encodings switched off",
        )
        assert router.layers_sent["belcourt"] == [True, False, False]
    finally:
        for context in contexts:
            await context.close()


async def _width_at_least(page, width: int):
    s = await page.evaluate(SLOT_STATS, "video-0")
    return s if s and s["width"] >= width else None


async def _width_below(page, width: int):
    s = await page.evaluate(SLOT_STATS, "video-0")
    return s if s and 0 < s["width"] < width else None
