"""The network lab's tests (issue 11): real Chromium kiosks in network namespaces behind
shaped links, ``seance serve``, coturn. Environment skips, with their reason: not root
or no namespaces/tc/nftables (:func:`netlab.lab.lab_unavailable`), no Chromium or no
``certutil`` (``make system-deps`` installs both), no coturn."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.networks.netlab.browsers import chromium_missing
from tests.networks.netlab.coturn import coturn_missing
from tests.networks.netlab.lab import lab_unavailable

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture
def lab_ready() -> None:
    """Skip (environment) when the lab cannot run here."""
    reason = lab_unavailable() or chromium_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def turn_ready(lab_ready) -> None:
    reason = coturn_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def output_dir() -> Path:
    """test-output/ (the reports of the runs, for reading after the suite)."""
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
