"""The recording tests' real aiortc kiosks (tests/sfu/sfu_clients.py) gather on loopback."""

from __future__ import annotations

import aioice.ice
import pytest


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
