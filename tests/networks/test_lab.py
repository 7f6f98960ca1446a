"""The network lab measures what it claims, with real Chromium kiosks and ``seance serve``.

One run of the demo sitting (three kiosks, each in its own namespace, the sitting
opened), three phases:

1. every link unshaped: every kiosk decodes the two other salles' pictures and hears
   their voices — the harness sees media where there is media;
2. vaux's link capped at 300 kbit/s down and 150 kbit/s up: the kernel's counters show
   the rate held under the cap, and what vaux's browser received fits under it — the
   media went through the lab's link (test_link.py shows with plain sockets that the
   link caps a flood; whether the sitting overflows it is the product's business);
3. vaux's link cut (every packet dropped, each way): vaux decodes no frame and hears
   nothing, and the sitting's view shows it not transmitting — the harness sees no
   media where there is none, and follows the sitting.

These are checks of the lab, not quality bounds of the product (those are in the
acceptance tests of issue 11). No timing is asserted; every wait is bounded.
"""

from __future__ import annotations

import json

import pytest

from tests.networks.netlab.lab import LinkSpec
from tests.networks.netlab.scenario import Phase, Scenario, run
from tests.networks.netlab.tables import report_markdown

pytestmark = pytest.mark.browser

CAP = LinkSpec.kbit(300, 150)
CUT = LinkSpec.kbit(None, None, loss_pct=100)
OTHERS = ("belcourt", "saint-ferreol")


def within_cap(kbps: float, cap_kbit: int, seconds: float) -> bool:
    """A token bucket sends at most its rate over a window, plus its burst once
    (3,028 bytes here, i.e. 2.4 kbit/s over 10 s); 2 % more for the Ethernet header
    bytes tbf counts and the counters' read not being atomic with the window's ends."""
    return kbps <= cap_kbit * 1.02 + 3028 * 8 / 1000 / seconds


async def test_the_lab_sees_media_caps_a_link_and_cuts_it(lab_ready, tmp_path, output_dir):
    scenario = Scenario(
        name="lab-self-check",
        description="unshaped, then vaux capped at 300/150 kbit/s, then vaux cut",
        settle_s=5,
        phases=(
            Phase("unshaped", 10),
            Phase("capped", 10, {"vaux": CAP}, settle_s=3),
            Phase("cut", 8, {"vaux": CUT}, settle_s=4),
        ),
    )
    report = await run(scenario, tmp_path)
    (output_dir / "networks-lab.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    print("\n" + report_markdown(report))
    assert report.opening == {"accepted": True, "code": None, "message": None}, report.opening

    # 1. unshaped: every kiosk receives both other salles, picture and voice
    phase = report.phase("unshaped")
    for name, kiosk in phase.kiosks.items():
        others = {s for s in ("belcourt", "vaux", "saint-ferreol") if s != name}
        shown = {src for v in kiosk.video if v.frames > 0 for src in v.sources}
        heard = {src for a in kiosk.audio if a.packets > 0 for src in a.sources}
        assert shown == others, f"{name} decoded pictures of {shown}, expected {others}"
        assert heard == others, f"{name} heard {heard}, expected {others}"
        assert kiosk.path.connected_pct == 100.0
        assert kiosk.link.down_kbps > 0 and kiosk.link.up_kbps > 0
        assert kiosk.camera() is not None and kiosk.camera().frames > 0

    # 2. capped: the kernel held vaux's link under the cap while it was saturated
    phase = report.phase("capped")
    vaux = phase.kiosks["vaux"]
    assert within_cap(vaux.link.down_kbps, 300, phase.seconds), vaux.link
    assert within_cap(vaux.link.up_kbps, 150, phase.seconds), vaux.link
    assert vaux.link.down_kbps > 0 and vaux.link.up_kbps > 0, vaux.link
    received = sum(v.kbps for v in vaux.video) + sum(a.kbps for a in vaux.audio)
    assert within_cap(received, 300, phase.seconds), f"vaux's browser received {received} kbit/s of media"
    for name in OTHERS:  # the others' links are not shaped: nothing dropped there
        assert phase.kiosks[name].link.down_dropped_pct == 0.0

    # 3. cut: nothing reaches vaux, and the sitting knows it
    phase = report.phase("cut")
    vaux = phase.kiosks["vaux"]
    assert sum(v.frames for v in vaux.video) == 0, vaux.video
    assert all(v.frozen_s == pytest.approx(vaux.seconds, abs=0.01) for v in vaux.video), vaux.video
    assert sum(a.packets for a in vaux.audio) == 0, vaux.audio
    assert phase.sitting.transmitting["vaux"] is False, phase.sitting
    assert phase.server.transmitting["vaux"] is False, phase.server
