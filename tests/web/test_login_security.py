"""Issue 12.3 and 12.8: the password check runs off the event loop, logins are throttled
per account (successes included) as well as per address, an IPv6 address counts for its
/64, the failure table stays bounded, and ``POST /login`` refuses a foreign ``Origin``.
Asserted structurally, never by a timing."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from signaling.accounts import AccountStore
from signaling.login_throttle import LoginThrottle, address_key
from signaling.roles import Role
from web.app import ACCOUNTS, create_app
from web.commands import demo
from web.config import WebConfig
from web.login import LOGIN_GATE


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    config = WebConfig(tls=False, data_dir=tmp_path, sittings=(demo.demo_sitting(),), ice_addresses=("127.0.0.1",))
    app = create_app(config)
    app[ACCOUNTS].set_account("secretaire", "pw-secret-1", Role.AUDITOR)
    return await aiohttp_client(app)


async def _login(client, password="pw-secret-1", login="secretaire", **headers):
    return await client.post(
        "/login", data={"login": login, "password": password}, allow_redirects=False, headers=headers
    )


async def test_the_password_is_checked_in_a_thread_while_the_loop_answers_a_ping(client, monkeypatch):
    started, release = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []
    real = AccountStore.authenticate

    def held(self, login, password):
        threads.append(threading.current_thread())
        started.set()
        assert release.wait(10), "never released"
        return real(self, login, password)

    monkeypatch.setattr(AccountStore, "authenticate", held)
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "sitting": "demo", "id": "h"})
    login = asyncio.create_task(_login(client))
    assert await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)  # hashing in progress…
    await ws.send_json({"type": "ping", "id": "p"})

    async def pong():
        while True:
            msg = json.loads((await ws.receive()).data)
            if msg["type"] == "pong":
                return msg

    assert (await asyncio.wait_for(pong(), 5))["re"] == "p" and not login.done()  # …and the loop answers
    release.set()
    assert (await login).status == 303
    assert threads and all(t is not threading.main_thread() for t in threads)
    await ws.close()


async def test_an_account_is_throttled_with_its_successful_logins_counted(client):
    limit = client.app[LOGIN_GATE].throttle.limits["try"]
    for _ in range(limit):
        assert (await _login(client)).status == 303  # each one a successful login, each one a hash
    refused = await _login(client)
    assert refused.status == 429 and "Patientez" in await refused.text()
    assert "seance_session" not in refused.cookies
    # another account from the same address is not concerned
    client.app[ACCOUNTS].set_account("autre", "pw-secret-2", Role.AUDITOR)
    assert (await _login(client, "pw-secret-2", "autre")).status == 303


async def test_failures_on_one_account_from_many_addresses_are_throttled():
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for n in range(throttle.limits["fail"]):
        assert throttle.refused(f"198.51.100.{n}", "maire") is None
        throttle.attempt("maire")
        throttle.failed(f"198.51.100.{n}", "maire")
    assert throttle.refused("203.0.113.7", "Maire ") == "account"  # a new address, the same account
    assert throttle.refused("203.0.113.7", "adjoint") is None
    now[0] += throttle.window_s
    assert throttle.refused("203.0.113.7", "maire") is None  # the window slid


def test_an_ipv6_address_counts_for_its_64():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == address_key("192.0.2.7") == "192.0.2.7"
    assert address_key(None) == "?"
    throttle = LoginThrottle(clock=lambda: 0.0)
    for n in range(throttle.limits["addr"]):
        throttle.failed(f"2001:db8:1:2::{n + 1:x}", f"compte{n}")
    assert throttle.refused("2001:db8:1:2:dead:beef:0:1", "nouveau") == "address"  # any address of the /64
    assert throttle.refused("2001:db8:1:3::1", "nouveau") is None


def test_the_failure_table_is_bounded_and_shrinks():
    now = [0.0]
    throttle = LoginThrottle(max_entries=100, clock=lambda: now[0])
    for n in range(1000):  # a flood of addresses and account names
        throttle.failed(f"10.{n // 256}.{n % 256}.1", f"x{n}")
        assert len(throttle) <= 100
    now[0] += throttle.window_s + 1
    throttle.failed("192.0.2.1", "y")  # the sweep runs when the table is full
    for n in range(200):
        throttle.failed(f"192.0.2.{n % 250}", "y")
    assert len(throttle) <= 100
    # and entries met after their window are dropped as they are read
    assert throttle.refused("10.0.0.1", "x0") is None


async def test_login_from_a_foreign_origin_is_refused_in_french(client):
    r = await _login(client, Origin="https://evil.example")
    assert r.status == 403 and "ne vient pas de ce site" in await r.text()
    assert "seance_session" not in r.cookies
    # what a browser sends from a foreign page whose referrer policy hides its origin
    r = await _login(client, Origin="null", **{"Sec-Fetch-Site": "cross-site"})
    assert r.status == 403 and "seance_session" not in r.cookies
    r = await _login(client, **{"Sec-Fetch-Site": "same-site"})  # a sibling subdomain
    assert r.status == 403
    # what Chromium sends from Séance's own login page (Referrer-Policy: no-referrer)
    r = await _login(client, Origin="null", **{"Sec-Fetch-Site": "same-origin"})
    assert r.status == 303 and "seance_session" in r.cookies
    r = await _login(client, Origin=f"http://{client.host}:{client.port}")
    assert r.status == 303
