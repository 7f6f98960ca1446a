"""Issue 12 point 6, on the real server and real sockets: the message rate is limited per
login session and per account over all their sockets (one session used to open 5 sockets
and have 510 commands acknowledged in 9 s); every text field of a command is bounded (a
60 KB objection was journaled); the same objection repeated records nothing (it was
journaled again). Each refusal is the one error shape, in French, and changes nothing;
every message gets its one answer (nothing accepted is lost)."""

from __future__ import annotations

import time

from deliberation.council import RULES_VERSION
from signaling.hub import SHARED_BURST, SHARED_RATE_PER_S, SharedLimits, TokenBucket
from signaling.roles import Role
from signaling.sitting import journal_path
from tests.signaling.sitting_ws import Socket, connect, make_app
from web.app import ACCOUNTS, SITTINGS

SHAPE = {"type", "code", "message", "field"}
PINGS_PER_SOCKET = 30  # under one socket's burst (40): only a shared limit refuses any


async def _login(client, login, password):
    """A fresh login session: its cookie, kept in the client's jar."""
    client.session.cookie_jar.clear()
    r = await client.post("/login", data={"login": login, "password": password}, allow_redirects=False)
    assert r.status == 303, await r.text()


async def _socket(client):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "sitting": "demo", "id": "h"})
    sock = Socket(ws, "s")
    await sock.next("welcome")
    return sock


async def _flood(sockets):
    """PINGS_PER_SOCKET pings on each socket at once; each ping's one answer by id, and the
    seconds it all took."""
    started = time.monotonic()
    for n, sock in enumerate(sockets):
        for i in range(PINGS_PER_SOCKET):
            await sock.ws.send_json({"type": "ping", "id": f"{n}-{i}"})
    answers: dict[str, dict] = {}
    for n, sock in enumerate(sockets):
        while sum(k.startswith(f"{n}-") for k in answers) < PINGS_PER_SOCKET:
            msg = await sock.next("pong", "error")
            assert msg["re"] not in answers, f"two answers to {msg['re']}"
            answers[msg["re"]] = msg
    return answers, time.monotonic() - started


def _check(answers, sockets, elapsed):
    assert len(answers) == PINGS_PER_SOCKET * len(sockets)  # each message its one answer
    pongs = [a for a in answers.values() if a["type"] == "pong"]
    refused = [a for a in answers.values() if a["type"] == "error"]
    assert refused, "a session's sockets together must be limited"
    for err in refused:
        assert set(err) >= SHAPE and err["code"] == "rate_limited" and "ralentissez" in err["message"], err
    assert len(pongs) <= SHARED_BURST + SHARED_RATE_PER_S * elapsed + 1, (len(pongs), elapsed)
    print(f"\n{len(sockets)} sockets: {len(pongs)} answered, {len(refused)} rate_limited in {elapsed:.2f} s")


async def test_the_sockets_of_one_session_share_its_rate(aiohttp_client, tmp_path):
    client = await aiohttp_client(make_app(tmp_path))
    client.app[ACCOUNTS].set_account("elu-m06", "secret-de-m06", Role.COUNCILLOR, member_id="m06")
    client.app[ACCOUNTS].set_account("elu-m07", "secret-de-m07", Role.COUNCILLOR, member_id="m07")
    await _login(client, "elu-m06", "secret-de-m06")
    five = [await _socket(client) for _ in range(5)]
    await _login(client, "elu-m07", "secret-de-m07")
    other = await _socket(client)
    answers, elapsed = await _flood(five)
    _check(answers, five, elapsed)
    # another person's session is not held back by it
    await other.ws.send_json({"type": "ping", "id": "autre"})
    assert (await other.next("pong"))["re"] == "autre"


async def test_the_sessions_of_one_account_share_its_rate(aiohttp_client, tmp_path):
    client = await aiohttp_client(make_app(tmp_path))
    client.app[ACCOUNTS].set_account("elu-m06", "secret-de-m06", Role.COUNCILLOR, member_id="m06")
    sockets = []
    for _ in range(3):  # three logins: three sessions of the same account
        await _login(client, "elu-m06", "secret-de-m06")
        sockets.append(await _socket(client))
    answers, elapsed = await _flood(sockets)
    _check(answers, sockets, elapsed)


def test_shared_buckets_refill_and_the_idle_ones_are_dropped():
    now = [0.0]
    limits = SharedLimits(rate=1.0, burst=2.0, clock=lambda: now[0], max_buckets=2)
    own = TokenBucket(rate=100.0, burst=100.0, clock=lambda: now[0])
    assert limits.admit(own, ("session:a",)) and limits.admit(own, ("session:a",))
    assert not limits.admit(own, ("session:a",))  # the session's two tokens are spent
    assert own.tokens == 98.0  # a refused message takes nothing from the socket either
    assert limits.admit(own, ("session:b",))
    now[0] = 5.0  # both full again: idle
    assert limits.admit(own, ("session:a",))
    assert limits.admit(own, ("session:c",))  # the third key: the idle ones are dropped
    assert len(limits) <= 2


def _lines(tmp_path):
    return journal_path(tmp_path, "demo").read_bytes().splitlines()


async def test_text_fields_are_bounded_and_a_repeated_objection_records_nothing(aiohttp_client, tmp_path):
    client = await aiohttp_client(make_app(tmp_path))
    assert client.app[SITTINGS]["demo"].seance.config.rules_version == RULES_VERSION == 3
    agent = await connect(client, "agent", Role.AGENT, salle="vaux", agent="a-vaux")
    before = _lines(tmp_path)
    # a 60 KB objection, as in the attack: refused, nothing journaled
    err = await agent.refused("SCHEMA", type="ObjectToBroadcast", salle_id="vaux", person="x" * 60_000)
    assert set(err) >= SHAPE and err["field"] == "person" and "200 caractères au plus" in err["message"]
    president = await connect(client, "president", Role.PRESIDENT, member="m01", salle="belcourt")
    err = await president.refused("SCHEMA", type="Suspend", reason="r" * 501)
    assert err["field"] == "reason"
    assert _lines(tmp_path) == before
    # the objection once: journaled; the same again: acknowledged, nothing journaled
    events = await agent.ok(type="ObjectToBroadcast", salle_id="vaux", person="Julien Robin")
    assert [e["type"] for e in events] == ["BroadcastObjection"]
    once = _lines(tmp_path)
    for _ in range(5):
        assert await agent.ok(type="ObjectToBroadcast", salle_id="vaux", person="Julien Robin") == []
    assert _lines(tmp_path) == once
    # withdrawn once, recorded; withdrawn again, nothing
    assert len(await agent.ok(type="ObjectToBroadcast", salle_id="vaux", person="Julien Robin", objecting=False)) == 1
    withdrawn = _lines(tmp_path)
    assert await agent.ok(type="ObjectToBroadcast", salle_id="vaux", person="Julien Robin", objecting=False) == []
    assert _lines(tmp_path) == withdrawn and len(withdrawn) > len(once)
