"""The recording tests' real aiortc kiosks (tests/sfu/sfu_clients.py) gather on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import aioice.ice
import pytest

# the aiortc test kiosks live beside the sfu tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sfu"))


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
