"""How the real-browser tests launch Debian's Chromium (a module of its own: a test that
imports ``conftest`` gets whichever conftest.py is first on sys.path)."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("SEANCE_CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]
