"""Real-browser fixtures: Debian's Chromium driven by Playwright for Python (no browser
download), and the app served on a free loopback port in the test's event loop.

Plain HTTP on 127.0.0.1 is a secure context, so getUserMedia works without TLS here.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.browser.chromium_options import CHROMIUM, CHROMIUM_ARGS
from tests.browser.live_server import LiveServer, start_server

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture
async def live_app(tmp_path) -> AsyncIterator[LiveServer]:
    from web.app import create_app
    from web.commands.demo import demo_sitting, seed_demo
    from web.config import WebConfig

    seed_demo(tmp_path)  # the demo council, entered and convened as in /admin
    config = WebConfig(
        host="127.0.0.1", port=0, tls=False, data_dir=tmp_path, ice_addresses=("127.0.0.1",), sittings=(demo_sitting(),)
    )
    app = create_app(config)
    runner, base = await start_server(app)
    try:
        yield LiveServer(app, base)
    finally:
        await asyncio.wait_for(runner.cleanup(), 15)


def _chromium_or_skip() -> str:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (make system-deps installs Debian's chromium)")
    return CHROMIUM


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    executable = _chromium_or_skip()
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def launch_chromium():
    """Launch Chromium with chosen flags (for the mDNS investigation)."""
    return _chromium_or_skip


@pytest.fixture
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
