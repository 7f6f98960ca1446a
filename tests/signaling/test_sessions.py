"""T10: sessions expire, logout revokes (server-side, across a restart), a password change
revokes every session, and an open WebSocket of a revoked session is closed."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import WSMsgType

from signaling.accounts import AccountStore
from signaling.auth import TokenError, TokenSigner
from signaling.roles import Role
from tests.signaling.fake_router import fake_router_factory
from web.app import ACCOUNTS, SESSION_COOKIE, SIGNER, create_app
from web.config import SalleSpec, SittingSpec, WebConfig

SITTING = SittingSpec(
    "demo",
    "CC des Trois Rivières",
    (SalleSpec("belcourt", "Belcourt"), SalleSpec("vaux", "Vaux")),
    president_salle="belcourt",
)


@pytest.fixture
def config(tmp_path):
    return WebConfig(tls=False, data_dir=tmp_path, sittings=(SITTING,), session_ttl_s=3600)


@pytest.fixture
async def client(aiohttp_client, config):
    app = create_app(config, router_factory=fake_router_factory)
    app[ACCOUNTS].set_account("mod", "pw-1", Role.MODERATOR, member_id="moderateur", display_name="Modération")
    return await aiohttp_client(app)


async def login(client, password="pw-1") -> str:
    r = await client.post("/login", data={"login": "mod", "password": password}, allow_redirects=False)
    assert r.status == 303
    return r.cookies[SESSION_COOKIE].value


def with_token(token: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def home_status(client, token: str) -> int:
    client.session.cookie_jar.clear()
    r = await client.get("/", headers=with_token(token), allow_redirects=False)
    return r.status


async def recv(ws, mtype, timeout=3.0):
    async def loop():
        while True:
            frame = await ws.receive()
            if frame.type != WSMsgType.TEXT:
                return {"type": "closed", "code": ws.close_code}
            msg = json.loads(frame.data)
            if msg["type"] == mtype:
                return msg

    return await asyncio.wait_for(loop(), timeout)


async def test_session_cookie_and_token_expire_with_the_configured_lifetime(client, config):
    r = await client.post("/login", data={"login": "mod", "password": "pw-1"}, allow_redirects=False)
    assert r.cookies[SESSION_COOKIE]["max-age"] == str(config.session_ttl_s)
    claims = client.app[SIGNER].verify(r.cookies[SESSION_COOKIE].value)
    assert claims.expires_at - claims.issued_at == config.session_ttl_s and claims.sid and claims.login == "mod"
    late = TokenSigner((config.data_dir / "session.key").read_bytes(), clock=lambda: claims.expires_at + 1)
    with pytest.raises(TokenError) as err:
        late.verify(r.cookies[SESSION_COOKIE].value)
    assert err.value.code == "token_expired"


async def test_logout_revokes_the_token_server_side(client):
    token = await login(client)
    assert await home_status(client, token) == 200
    r = await client.post("/logout", headers=with_token(token), allow_redirects=False)
    assert r.status == 303
    # the cookie was cleared in the browser, but a copy of the token (stolen, or kept) is refused
    assert await home_status(client, token) == 303
    with pytest.raises(TokenError) as err:
        client.app[SIGNER].verify(token)
    assert err.value.code == "token_revoked"
    # another session of the same account is untouched, and a new login works
    assert await home_status(client, await login(client)) == 200


async def test_revocation_survives_a_restart(client, config):
    token = await login(client)
    await client.post("/logout", headers=with_token(token), allow_redirects=False)
    signer, store = TokenSigner.from_data_dir(config.data_dir), AccountStore.in_data_dir(config.data_dir)
    try:
        signer.revocation = store.is_revoked
        with pytest.raises(TokenError):
            signer.verify(token)
    finally:
        store.close()


async def test_a_password_change_revokes_every_session_of_the_account(client):
    a, b = await login(client), await login(client)
    assert await home_status(client, a) == 200 and await home_status(client, b) == 200
    client.app[ACCOUNTS].set_account("mod", "pw-2", Role.MODERATOR, member_id="moderateur")
    assert await home_status(client, a) == 303 and await home_status(client, b) == 303
    assert (await client.post("/login", data={"login": "mod", "password": "pw-1"})).status == 401
    assert await home_status(client, await login(client, "pw-2")) == 200


async def test_logout_closes_the_open_websocket_of_that_session(client):
    token = await login(client)
    other = await login(client)
    client.session.cookie_jar.clear()
    ws = await client.ws_connect("/ws", headers=with_token(token))
    ws_other = await client.ws_connect("/ws", headers=with_token(other))
    for sock in (ws, ws_other):
        await sock.send_json({"type": "hello", "sitting": "demo", "id": "h"})
        assert (await recv(sock, "welcome"))["role"] == "moderator"
    await client.post("/logout", headers=with_token(token), allow_redirects=False)
    closed = await recv(ws, "never")
    assert closed["type"] == "closed" and closed["code"] == 1008
    await ws_other.send_json({"type": "ping", "id": "p"})
    assert (await recv(ws_other, "pong"))["re"] == "p"  # the other session is still open
    await ws_other.close()


async def test_hello_checks_revocation_for_cookies_and_tokens(client):
    token = await login(client)
    client.session.cookie_jar.clear()
    early = await client.ws_connect("/ws", headers=with_token(token))  # upgraded, no hello yet
    await client.post("/logout", headers=with_token(token), allow_redirects=False)
    assert (await recv(early, "never"))["code"] == 1008  # closed even before its hello
    # and if a socket escaped the closing (a race with the upgrade), its hello is refused
    token = await login(client)
    client.session.cookie_jar.clear()
    racing = await client.ws_connect("/ws", headers=with_token(token))
    listeners, client.app[ACCOUNTS].on_revoke[:] = list(client.app[ACCOUNTS].on_revoke), []
    await client.post("/logout", headers=with_token(token), allow_redirects=False)
    client.app[ACCOUNTS].on_revoke[:] = listeners
    await racing.send_json({"type": "hello", "sitting": "demo", "id": "h"})
    err = await recv(racing, "error")
    assert err["code"] == "token_revoked" and err["re"] == "h"
    late = await client.ws_connect("/ws")
    await late.send_json({"type": "hello", "sitting": "demo", "id": "h", "token": token})
    assert (await recv(late, "error"))["code"] == "token_revoked"
    # the old cookie on a new socket: refused, not silently taken for the public
    again = await client.ws_connect("/ws", headers=with_token(token))
    await again.send_json({"type": "hello", "sitting": "demo", "id": "h"})
    assert (await recv(again, "error"))["code"] == "token_revoked"
    for sock in (racing, late, again):
        await sock.close()


async def test_a_password_change_closes_the_open_websockets(client):
    token = await login(client)
    client.session.cookie_jar.clear()
    ws = await client.ws_connect("/ws", headers=with_token(token))
    await ws.send_json({"type": "hello", "sitting": "demo", "id": "h"})
    await recv(ws, "welcome")
    client.app[ACCOUNTS].revoke_all_sessions("mod")
    assert (await recv(ws, "never"))["code"] == 1008


async def test_kiosk_tokens_are_not_affected(client):
    kiosk = client.app[SIGNER].issue(Role.KIOSK, salle="vaux", sitting="demo")
    client.app[ACCOUNTS].revoke_all_sessions("mod")
    assert client.app[SIGNER].verify(kiosk).salle == "vaux"
