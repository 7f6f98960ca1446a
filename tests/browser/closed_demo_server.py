"""The demo sitting held and closed (tests/minutes_support.py), served for real on
loopback with the accounts a screen's test logs in with: the PV, Actes and replay screens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from signaling.roles import Role
from tests.browser.live_server import start_server
from tests.minutes_support import closed_demo_sitting
from web.app import ACCOUNTS, create_app
from web.commands.demo import demo_sitting
from web.config import WebConfig


@asynccontextmanager
async def serve_closed_demo(data_dir, accounts: Iterable[tuple[str, str, Role, str]] = ()) -> AsyncIterator[str]:
    """The server's base URL; ``accounts``: (login, password, role, display name)."""
    closed_demo_sitting(data_dir)
    app = create_app(
        WebConfig(
            host="127.0.0.1",
            port=0,
            tls=False,
            data_dir=data_dir,
            ice_addresses=("127.0.0.1",),
            sittings=(demo_sitting(),),
        )
    )
    for login, password, role, name in accounts:
        app[ACCOUNTS].set_account(login, password, role, display_name=name)
    runner, base = await start_server(app)
    try:
        yield base
    finally:
        await asyncio.wait_for(runner.cleanup(), 15)
