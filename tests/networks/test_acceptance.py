"""Issue 11's acceptance bounds that hold, measured with the network lab: real Chromium
kiosks of the demo sitting in network namespaces behind shaped links, ``seance serve``.

Only the bounds this branch achieves are asserted; the others (a lower simulcast layer
at 600/300 kbit/s with ≥ 10 frames/s, the good cameras' key frames within 20 % of the
unshaped run, a low layer for a viewer on 400 kbit/s) need simulcast and are stated as
not met in docs/media.md ("Real networks", after). The phases are shorter than the
documented runs (30 s instead of 60); no timing is asserted beyond the scenario's own
phases (the switch to audio-only must be journaled during the first 10 s of the
degradation, the return to video during the 30 s after the link is restored).
Run one at a time, on a machine that is not saturated (``uptime``).
"""

from __future__ import annotations

import json

import pytest
from netlab import scenarios
from netlab.scenario import run
from netlab.tables import report_markdown

pytestmark = pytest.mark.browser

WEAK, GOOD = scenarios.WEAK, scenarios.GOOD
SECONDS = 30.0


def switches(phase, salle, audio_only):
    return [
        c
        for c in phase.journal
        if c.get("type") == "SetAudioOnly" and c.get("salle_id") == salle and c.get("audio_only") is audio_only
    ]


async def measure(scenario, tmp_path, output_dir):
    report = await run(scenario, tmp_path)
    (output_dir / f"networks-{scenario.name}.json").write_text(
        json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    )
    print("\n" + report_markdown(report))
    return report


async def test_120_kbits_goes_audio_only_by_itself_keeps_the_sitting_and_comes_back(lab_ready, tmp_path, output_dir):
    report = await measure(scenarios.crawl(SECONDS), tmp_path, output_dir)
    # within the first 10 s of the degradation: audio-only by itself, journaled with its figures
    [switch] = switches(report.phase("degrading"), WEAK, True)
    assert "kbit/s" in switch["figures"], switch
    crawl = report.phase("crawl")
    # its voices still come through (the issue: < 2 %), and it still takes part (R17)
    vaux = crawl.kiosks[WEAK]
    assert max(a.loss_pct for a in vaux.audio) < 2.0, vaux.audio
    assert crawl.sitting.audio_only[WEAK] is True
    assert crawl.sitting.not_transmitting_s.get(WEAK, 0.0) == 0.0, crawl.sitting
    assert not [c for c in crawl.journal if c.get("type") == "ReportTransmission" and c.get("salle_id") == WEAK]
    # the link restored: video back by itself within 30 s, journaled
    restored = report.phase("restored")
    assert switches(restored, WEAK, False), restored.journal
    assert restored.sitting.audio_only[WEAK] is False


async def test_a_salle_that_cannot_hear_the_sitting_is_refused_the_opening_R7(lab_ready, tmp_path, output_dir):
    report = await measure(scenarios.deaf_from_start(SECONDS), tmp_path, output_dir)
    assert report.opening["accepted"] is False and report.opening["code"] == "R7", report.opening
    assert report.phase("deaf").sitting.transmitting[WEAK] is False
    assert report.phase("restored").opening["accepted"] is True, report.phase("restored").opening


async def test_600_300_keeps_the_weak_salles_voices_and_the_others_pictures(lab_ready, tmp_path, output_dir):
    report = await measure(scenarios.adsl(SECONDS), tmp_path, output_dir)
    adsl = report.phase("adsl")
    vaux = adsl.kiosks[WEAK]
    # the weak salle hears the sitting (the issue: audio loss < 1 %; 10.6 % before)
    assert max(a.loss_pct for a in vaux.audio) < 1.0, vaux.audio
    # the good salles still see each other move and hear everyone
    for name in GOOD:
        other = next(g for g in GOOD if g != name)
        shown = [v for v in adsl.kiosks[name].video if other in v.sources]
        assert shown and max(v.fps for v in shown) >= 5.0, (name, adsl.kiosks[name].video)
        assert max(a.loss_pct for a in adsl.kiosks[name].audio) < 1.0, adsl.kiosks[name].audio
