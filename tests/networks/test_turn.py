"""TURN that gets through (issue 11, point 7): a salle whose network lets only TCP to
port 443 out joins through coturn over TLS and transmits.

vaux's namespace drops every UDP packet and every TCP connection but to port 443 (the
page's HTTPS on the server's address, TURN over TLS on coturn's: two addresses, as in
production beside nginx). coturn runs the shipped ``deploy/coturn/turnserver.conf``
(templated for the lab's addresses, ports and paths) with a self-signed certificate the
browsers trust as peers (they verify it, names included); Séance hands the browsers
TURN REST credentials from coturn's shared secret (``web/turn.py``), as in production.

What must hold:

- the sitting opens (R7: every occupied salle transmits both ways) and vaux stays
  transmitting the whole window, as the server measures it (/metrics) and as the
  sitting's view shows it;
- media flows both ways: vaux decodes the two other salles' pictures and hears them;
  the others decode vaux's picture and hear it;
- through the relay, over TLS: vaux's selected path is a ``relay`` candidate reached
  over TLS, and coturn's own log shows a TLS session that allocated and relayed bytes
  both ways between its relay address and the server.

The rate bounds are loose on purpose (at least a frame a second on average, thousands
of relayed bytes): they prove media kept flowing through the relay for the whole
window; the picture's quality on a loaded shared machine is not what is tested here.
"""

from __future__ import annotations

import json

import pytest

from tests.networks.netlab.scenario import Phase, Scenario, run
from tests.networks.netlab.scenarios import HTTPS_ONLY
from tests.networks.netlab.tables import report_markdown

pytestmark = pytest.mark.browser

SECONDS = 12


async def test_a_salle_behind_an_https_only_firewall_transmits_through_turn_over_tls(turn_ready, tmp_path, output_dir):
    scenario = Scenario(
        name="https-only",
        description="vaux's network lets only TCP to port 443 out",
        links={"vaux": HTTPS_ONLY},
        turn=True,
        settle_s=5,
        phases=(Phase("relayed", SECONDS),),
    )
    report = await run(scenario, tmp_path)
    (output_dir / "networks-turn.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    print("\n" + report_markdown(report))

    # R7 holds: the opening is accepted, vaux transmits the whole window
    assert report.opening == {"accepted": True, "code": None, "message": None}, (report.opening, report.notes)
    phase = report.phase("relayed")
    assert phase.sitting.status == "opened" and phase.sitting.statuses == ("opened",), phase.sitting
    assert "vaux" not in phase.sitting.not_transmitting_s, phase.sitting
    assert phase.server.transmitting["vaux"] is True, phase.server

    # through coturn, over TLS
    vaux = phase.kiosks["vaux"]
    assert (vaux.path.candidate_type, vaux.path.relay_protocol) == ("relay", "tls"), vaux.path
    assert vaux.path.connected_pct == 100.0
    # (the other kiosks allocate too, TURN being in everyone's iceServers, and only check
    # their relay candidates: vaux's session is the one that carried the media)
    relayed = [s for s in report.turn if s.tls and s.allocated and s.peer is not None]
    assert relayed, f"coturn relayed nothing over TLS: {report.turn}"
    peer = max(relayed, key=lambda s: s.peer.rb + s.peer.sb).peer
    assert peer.rb > 100_000 and peer.sb > 100_000, report.turn  # server -> relay, relay -> server

    # media both ways: vaux sees and hears the others, the others see and hear vaux
    for v in vaux.video:
        assert v.fps >= 1.0, f"vaux's {v.slot} (from {v.sources}) decoded {v.fps} frames/s"
    assert {src for v in vaux.video for src in v.sources} == {"belcourt", "saint-ferreol"}
    assert all(a.packets > 0 for a in vaux.audio if a.sources), vaux.audio
    for name in ("belcourt", "saint-ferreol"):
        k = phase.kiosks[name]
        from_vaux = [v for v in k.video if v.sources == ("vaux",)]
        assert from_vaux and from_vaux[0].fps >= 1.0, f"{name} decoded vaux at {from_vaux}"
        assert any(a.packets > 0 for a in k.audio if a.sources == ("vaux",)), k.audio
