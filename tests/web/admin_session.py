"""The demo council's app with a DSI logged in, and the CSRF token of a page's forms: how
the admin pages' tests sign in."""

from __future__ import annotations

import re

from signaling.mailer import SmtpSettings
from signaling.roles import Role
from web.app import ACCOUNTS, create_app
from web.commands import demo
from web.commands.demo import seed_demo
from web.config import WebConfig


def web_config(tmp_path, smtp: SmtpSettings | None) -> WebConfig:
    """The demo sitting on loopback, its data in ``tmp_path``, mail through ``smtp`` (None: no relay)."""
    return WebConfig(
        tls=False, data_dir=tmp_path, sittings=(demo.demo_sitting(),), ice_addresses=("127.0.0.1",), smtp=smtp
    )


async def admin_client(aiohttp_client, config):
    """The demo council seeded, the app served, and the DSI ("dsi") logged in."""
    seed_demo(config.data_dir)
    client = await aiohttp_client(create_app(config))
    client.app[ACCOUNTS].set_account("dsi", "pw-secret-1", Role.ADMIN)
    r = await client.post("/login", data={"login": "dsi", "password": "pw-secret-1"}, allow_redirects=False)
    assert r.status == 303
    return client


async def csrf(client, path: str = "/admin") -> str:
    body = await (await client.get(path)).text()
    return re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)


async def login(client, role: Role, login: str, **kw) -> None:
    client.app[ACCOUNTS].set_account(login, "pw-secret-1", role, **kw)
    r = await client.post("/login", data={"login": login, "password": "pw-secret-1"}, allow_redirects=False)
    assert r.status == 303
