"""Issue 12.11: the journal's actor carries the login session, so that an admin who resets
an élu's password and acts as them leaves a trace (a new session generation) in the journal."""

from __future__ import annotations

import json

from signaling.auth import session_ref
from signaling.roles import Role
from signaling.sitting import journal_path
from tests.signaling.sitting_ws import Socket, make_app
from web.app import ACCOUNTS


async def _login_and_check_in(client, login, password, member):
    client.session.cookie_jar.clear()
    r = await client.post("/login", data={"login": login, "password": password}, allow_redirects=False)
    assert r.status == 303
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "sitting": "demo", "id": "h"})
    sock = Socket(ws, login)
    await sock.next("welcome")
    await sock.ok(type="CheckIn", member_id=member, salle_id="vaux")
    await ws.close()


async def test_R4_each_journaled_command_names_its_session_and_a_password_reset_shows(aiohttp_client, tmp_path):
    client = await aiohttp_client(make_app(tmp_path))
    accounts = client.app[ACCOUNTS]
    accounts.set_account("agent-vaux", "ancien-secret-1", Role.AGENT, salle_id="vaux", agent_id="a-vaux")
    await _login_and_check_in(client, "agent-vaux", "ancien-secret-1", "m06")
    # the admin resets the password and uses the account
    accounts.set_account("agent-vaux", "nouveau-secret-2", Role.AGENT, salle_id="vaux", agent_id="a-vaux")
    await _login_and_check_in(client, "agent-vaux", "nouveau-secret-2", "m07")
    lines = [json.loads(x) for x in journal_path(tmp_path, "demo").read_bytes().splitlines()]
    actors = [e["actor"] for e in lines if e["kind"] == "command" and e["command"]["type"] == "CheckIn"]
    assert [a["agent_id"] for a in actors] == ["a-vaux", "a-vaux"]
    first, second = actors
    assert len(first["session"]) == 16 and first["session"] != second["session"]
    assert second["session_gen"] == first["session_gen"] + 1  # the reset shows
    assert session_ref("abc") != "abc" and len(session_ref("abc")) == 16  # never the id itself
