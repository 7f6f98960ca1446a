"""Issue 12.7: hostile frames on the real WebSocket get the one error shape, and the socket
stays usable: a lone UTF-16 surrogate in ``id`` or ``type`` (valid JSON, no UTF-8 text: it
used to kill the socket's writer silently), and deeply nested JSON (it gave ``internal``
and a traceback, and on a rate-limited socket escaped the handler)."""

from __future__ import annotations

import asyncio
import json

import pytest

from signaling.protocol import MAX_MESSAGE_BYTES, ProtocolError, correlation_id, parse
from tests.signaling.hub_socket import hello, hub_app

SHAPE = {"type", "code", "message", "field"}


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(hub_app(tmp_path))


HOSTILE = {
    "surrogate in id": '{"type":"ping","id":"\\ud800"}',
    "surrogate in type": '{"type":"\\udc00ping","id":"x"}',
    "surrogate in a key": '{"type":"ping","\\ud83d":1}',
    "nested past the parser": "[" * 60000,
    "nested in a field": '{"type":"command","id":"n","command":' + "[" * 2000 + "]" * 2000 + "}",
    "nested a little too deep": '{"type":"ping","id":"d","x":' + '{"a":' * 20 + "1" + "}" * 20 + "}",
}


async def next_reply(ws, timeout=2.0):
    async def loop():
        while True:
            msg = json.loads((await ws.receive()).data)
            if msg["type"] in ("error", "pong"):
                return msg

    return await asyncio.wait_for(loop(), timeout)


@pytest.mark.parametrize("frame", list(HOSTILE.values()), ids=list(HOSTILE))
def test_parse_refuses_with_a_protocol_error(frame):
    assert len(frame) <= MAX_MESSAGE_BYTES
    with pytest.raises(ProtocolError) as err:
        parse(frame)
    assert err.value.code == "bad_json" and err.value.message.startswith("Message illisible")
    assert correlation_id(frame) is None  # nothing unsendable is echoed back


@pytest.mark.parametrize("frame", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_the_socket_refuses_in_the_one_shape_and_stays_usable(client, frame):
    ws, _ = await hello(client)
    await ws.send_str(frame)
    err = await next_reply(ws)
    assert set(err) >= SHAPE and err["code"] == "bad_json", err
    await ws.send_json({"type": "ping", "id": "after"})
    pong = await next_reply(ws)
    assert pong["type"] == "pong" and pong.get("re") == "after"


async def test_a_rate_limited_socket_refuses_nested_frames_and_recovers(client):
    ws, _ = await hello(client)
    frame = HOSTILE["nested past the parser"]
    for _ in range(60):  # past the bucket's burst: some are refused as rate_limited
        await ws.send_str(frame)
    codes = [(await next_reply(ws))["code"] for _ in range(60)]
    assert set(codes) <= {"bad_json", "rate_limited"} and "rate_limited" in codes, codes
    await asyncio.sleep(1.0)  # the bucket refills
    await ws.send_json({"type": "ping", "id": "after"})
    assert (await next_reply(ws))["type"] == "pong"
    assert not ws.closed
