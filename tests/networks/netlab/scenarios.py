"""The scenarios of issue 11 ("Real networks"), with the length of their phases as a
parameter: the baseline command runs them for a minute a phase, the tests for less.

The weak salle is ``vaux`` (not the siège: the president's salle stays well connected,
as in the issue's measurements); the two others, ``belcourt`` (siège) and
``saint-ferreol``, stay unshaped.
"""

from __future__ import annotations

from tests.networks.netlab.lab import UNLIMITED, LinkSpec
from tests.networks.netlab.scenario import Phase, Scenario

WEAK = "vaux"
GOOD = ("belcourt", "saint-ferreol")
VIEWER = "public"

ADSL = LinkSpec.kbit(600, 300)  #: a rural ADSL line shared with the mairie's office
CRAWL = LinkSpec.kbit(120, 120)  #: a 4G box at the edge of the cell
LOSSY = LinkSpec.kbit(None, None, loss_pct=2.0)  #: 2 % random loss each way, no rate limit
#: too narrow for the sitting's voices (two Opus streams, ~90 kbit/s with headers)
DEAF = LinkSpec.kbit(48, 300)
VIEWER_LINK = LinkSpec.kbit(400, 400)  #: a phone watching the public stream
HTTPS_ONLY = LinkSpec(tcp_only=(443,))  #: a mairie network that lets only TCP 443 out


def adsl(seconds: float) -> Scenario:
    return Scenario(
        name="adsl-600-300",
        description=f"{WEAK} behind 600 kbit/s down, 300 kbit/s up (after a phase with every link unshaped)",
        phases=(
            Phase("unshaped", seconds),
            Phase("adsl", seconds, {WEAK: ADSL}),
        ),
    )


def lossy(seconds: float) -> Scenario:
    return Scenario(
        name="loss-2pct",
        description=f"{WEAK} with 2 % random loss each way (no rate limit)",
        phases=(Phase("loss", seconds, {WEAK: LOSSY}),),
    )


def crawl(seconds: float, restore_s: float | None = None) -> Scenario:
    """The first ten seconds after the degradation apart (the issue: audio-only within
    10 s), then the degraded link, then the link restored (video back within 30 s)."""
    return Scenario(
        name="crawl-120",
        description=f"{WEAK} degraded to 120 kbit/s each way, then restored",
        phases=(
            Phase("degrading", 10, {WEAK: CRAWL}),
            Phase("crawl", seconds),
            Phase("restored", max(restore_s or seconds, 30), {WEAK: UNLIMITED}),
        ),
    )


def viewer(seconds: float) -> Scenario:
    return Scenario(
        name="viewer-400",
        description="a public viewer, unshaped, then behind 400 kbit/s each way; the salles unshaped",
        viewers=(VIEWER,),
        phases=(
            Phase("viewer-unshaped", seconds),
            Phase("viewer-400", seconds, {VIEWER: VIEWER_LINK}, settle_s=5),
        ),
    )


def deaf_from_start(seconds: float) -> Scenario:
    return Scenario(
        name="deaf-from-start",
        description=f"{WEAK} behind 48 kbit/s down (less than the sitting's voices), 300 up, from the start, "
        "when the president asks to open the sitting; then its link restored and the opening asked again",
        links={WEAK: DEAF},
        phases=(
            Phase("deaf", seconds),
            Phase("restored", seconds, {WEAK: UNLIMITED}, settle_s=5, open_at_end=True),
        ),
    )


def https_only(seconds: float) -> Scenario:
    return Scenario(
        name="https-only",
        description=f"{WEAK}'s network lets only TCP to port 443 out (UDP dropped): TURN over TLS",
        links={WEAK: HTTPS_ONLY},
        turn=True,
        phases=(Phase("relayed", seconds),),
    )


ALL = {
    "adsl-600-300": adsl,
    "loss-2pct": lossy,
    "crawl-120": crawl,
    "viewer-400": viewer,
    "deaf-from-start": deaf_from_start,
    "https-only": https_only,
}
