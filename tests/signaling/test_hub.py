"""The WebSocket protocol end to end through the app, with a test double of the Router
(the real Router is exercised in tests/web/test_ws_real_router.py and tests/browser/)."""

from __future__ import annotations

import asyncio
import json

import pytest

from signaling.roles import Role
from tests.signaling.hub_socket import hello, hub_app, recv, router, token


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(hub_app(tmp_path))


async def test_kiosk_joins_offers_and_gets_an_answer(client):
    ws, welcome = await hello(client, Role.KIOSK, salle="vaux", sitting="demo")
    assert welcome["role"] == "kiosk" and welcome["salle"] == "vaux" and welcome["names"]["vaux"] == "Vaux"
    assert "mute" not in welcome["allowed"]
    await ws.send_json({"type": "join", "as": "salle", "id": "j"})
    state = await recv(ws, "state")  # broadcast: vaux's kiosk is connected
    assert next(s for s in state["salles"] if s["id"] == "vaux")["connected"] is True
    slots = await recv(ws, "slots")
    assert slots["re"] == "j" and slots["as"] == "salle" and slots["layout"][0]["direction"] == "sendonly"
    await ws.send_json({"type": "offer", "sdp": "v=0\r\noffer", "id": "o"})
    answer = await recv(ws, "answer")
    assert answer == {"type": "answer", "re": "o", "sdp": "v=0\r\nanswer-for-vaux"}
    await ws.close()
    for _ in range(50):
        if ("disconnect", "vaux") in router(client).calls:
            break
        await asyncio.sleep(0.02)
    assert ("disconnect", "vaux") in router(client).calls


async def test_messages_before_hello_are_refused(client):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "mute", "salle": "vaux", "id": "x"})
    err = await recv(ws, "error")
    assert err["code"] == "not_authenticated" and err["re"] == "x"
    assert router(client).muted == {}


async def test_a_bad_message_changes_nothing_and_gets_one_error(client):
    ws, _ = await hello(client, Role.MODERATOR, member="moderateur")
    await ws.send_json({"type": "mute", "salle": "vaux", "muted": "oui", "id": "m1"})
    err = await recv(ws, "error")
    assert (err["code"], err["field"], err["re"]) == ("invalid_field", "muted", "m1")
    await ws.send_json({"type": "mute", "salle": "nowhere", "id": "m2"})
    assert (await recv(ws, "error"))["code"] == "unknown_salle"
    await ws.send_str("{not json")
    assert (await recv(ws, "error"))["code"] == "bad_json"
    assert router(client).muted == {}
    await ws.send_json({"type": "mute", "salle": "vaux", "id": "m3"})
    state = await recv(ws, "state")
    assert next(s for s in state["salles"] if s["id"] == "vaux")["muted"] is True
    assert router(client).muted == {"vaux": True}


@pytest.mark.parametrize(
    "role,kw,message",
    [
        (Role.KIOSK, {"salle": "vaux"}, {"type": "mute", "salle": "belcourt"}),
        (None, {}, {"type": "mute", "salle": "belcourt"}),
        (None, {}, {"type": "pin", "salle": "vaux"}),
        (Role.COUNCILLOR, {"member": "m1"}, {"type": "mute", "salle": "vaux"}),
        (Role.MODERATOR, {"member": "m"}, {"type": "pin", "salle": "vaux"}),
        (Role.AGENT, {"member": "a", "salle": "vaux"}, {"type": "mute", "salle": "vaux"}),
        (Role.PRESIDENT, {"member": "p"}, {"type": "audio_only", "salle": "vaux"}),
    ],
)
async def test_role_matrix_over_the_websocket(client, role, kw, message):
    """T2/T3: the role table is enforced on the real socket; nothing changes."""
    ws, _ = await hello(client, role, **kw)
    await ws.send_json({**message, "id": "r"})
    err = await recv(ws, "error")
    assert err["code"] == "forbidden" and err["re"] == "r"
    r = router(client)
    assert r.muted == {} and r.pinned is None and r.audio_only == {}


async def test_agent_acts_on_its_own_salle_only_and_audio_only_is_journaled_R3(client):
    ws, _ = await hello(client, Role.AGENT, salle="vaux", agent="a-vaux")
    await ws.send_json({"type": "audio_only", "salle": "belcourt", "id": "a"})
    assert (await recv(ws, "error"))["code"] == "R4"
    assert router(client).audio_only == {}
    await ws.send_json({"type": "audio_only", "salle": "vaux", "id": "b"})
    ack = await recv(ws, "ack")
    assert ack["re"] == "b" and [e["type"] for e in ack["events"]] == ["AudioOnlyChanged"]
    assert router(client).audio_only == {"vaux": True}
    view = (await recv(ws, "sitting"))["view"]
    assert next(s for s in view["salles"] if s["id"] == "vaux")["audio_only"] is True
    assert view["media"]["vaux"]["audio_only"] is True


async def test_only_a_kiosk_publishes_and_only_its_own_salle(client):
    ws, _ = await hello(client, Role.PRESIDENT, member="president")
    await ws.send_json({"type": "join", "as": "salle"})
    assert (await recv(ws, "error"))["code"] == "forbidden"
    ws2, _ = await hello(client)  # anonymous public
    await ws2.send_json({"type": "join", "as": "viewer"})
    slots = await recv(ws2, "slots")
    assert slots["as"] == "viewer" and slots["peer"].startswith("viewer-")
    await ws2.send_json({"type": "offer", "sdp": "v=0\r\n"})
    assert (await recv(ws2, "answer"))["sdp"] == "v=0\r\nanswer-for-viewer"


async def test_the_president_and_the_moderator_watch_every_salle_others_may_not(client):
    """``join as monitor``: the mosaic of the president's and the moderator's screens
    (every salle's picture, no audio) and the ``voices`` the Router measures."""
    for role, kw in ((Role.COUNCILLOR, {"member": "m03"}), (Role.AGENT, {"salle": "vaux", "agent": "a"})):
        ws, _ = await hello(client, role, **kw)
        await ws.send_json({"type": "join", "as": "monitor"})
        assert (await recv(ws, "error"))["code"] == "forbidden"
    anonymous, _ = await hello(client)
    await anonymous.send_json({"type": "join", "as": "monitor"})
    assert (await recv(anonymous, "error"))["code"] == "forbidden"
    for role, kw in ((Role.PRESIDENT, {"member": "m01", "salle": "belcourt"}), (Role.MODERATOR, {"member": "mod"})):
        ws, _ = await hello(client, role, **kw)
        await ws.send_json({"type": "join", "as": "monitor", "id": "j"})
        slots = await recv(ws, "slots")
        assert slots["as"] == "monitor" and slots["peer"].startswith("monitor-")
        assert (await recv(ws, "voices")) == {"type": "voices", "active": None, "speaking": []}
        await ws.send_json({"type": "offer", "sdp": "v=0\r\n"})
        assert (await recv(ws, "answer"))["sdp"] == "v=0\r\nanswer-for-monitor"
    router(client).voices = {"active": "vaux", "speaking": ["vaux"]}
    assert (await recv(ws, "voices")) == {"type": "voices", "active": "vaux", "speaking": ["vaux"]}


async def test_offer_before_join_and_bad_sdp(client):
    ws, _ = await hello(client, Role.KIOSK, salle="belcourt")
    await ws.send_json({"type": "offer", "sdp": "v=0\r\n"})
    assert (await recv(ws, "error"))["code"] == "not_joined"
    await ws.send_json({"type": "join", "as": "salle"})
    await recv(ws, "slots")
    await ws.send_json({"type": "offer", "sdp": "hello"})
    assert (await recv(ws, "error"))["field"] == "sdp"
    await ws.send_json({"type": "offer", "sdp": "v=0\r\nbad"})
    assert (await recv(ws, "error"))["code"] == "bad_offer"


async def test_token_problems(client):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "sitting": "demo", "token": "abc.def"})
    assert (await recv(ws, "error"))["code"] == "bad_token"
    await ws.send_json({"type": "hello", "sitting": "other"})
    assert (await recv(ws, "error"))["code"] == "unknown_sitting"
    t = token(client, Role.KIOSK, salle="vaux", sitting="another")
    await ws.send_json({"type": "hello", "sitting": "demo", "token": t})
    assert (await recv(ws, "error"))["code"] == "forbidden"
    await ws.send_json({"type": "ping", "id": "p"})
    assert (await recv(ws, "error"))["code"] == "not_authenticated"


async def test_second_kiosk_of_a_salle_replaces_the_first(client):
    ws1, _ = await hello(client, Role.KIOSK, salle="vaux")
    await ws1.send_json({"type": "join", "as": "salle"})
    await recv(ws1, "slots")
    ws2, _ = await hello(client, Role.KIOSK, salle="vaux")
    await ws2.send_json({"type": "join", "as": "salle"})
    assert (await recv(ws1, "error"))["code"] == "replaced"
    await recv(ws2, "slots")
    await ws1.close()
    await asyncio.sleep(0.1)
    assert ("disconnect", "vaux") not in router(client).calls  # the newer kiosk keeps its peer


async def test_health_and_slot_callbacks_are_pushed(client):
    ws, _ = await hello(client, Role.KIOSK, salle="vaux")
    await ws.send_json({"type": "join", "as": "salle"})
    await recv(ws, "slots")
    router(client).on_slots("vaux", {"speaker": "belcourt", "voice-0": "saint-ferreol"})
    assert (await recv(ws, "slots"))["assignments"] == {"speaker": "belcourt", "voice-0": "saint-ferreol"}
    router(client).on_health("belcourt", True)
    health = await recv(ws, "health")
    assert health["salle"] == "belcourt" and health["transmitting"] is True
    state = await recv(ws, "state")
    assert next(s for s in state["salles"] if s["id"] == "belcourt")["transmitting"] is True


async def test_paused_slots_are_pushed_to_that_subscriber_only(client):
    ws, _ = await hello(client, Role.KIOSK, salle="vaux")
    await ws.send_json({"type": "join", "as": "salle"})
    await recv(ws, "slots")
    other, _ = await hello(client, Role.KIOSK, salle="belcourt")
    await other.send_json({"type": "join", "as": "salle"})
    await recv(other, "slots")
    router(client).on_paused("vaux", ["video-1"])
    assert (await recv(ws, "paused"))["slots"] == ["video-1"]
    router(client).on_paused("vaux", [])
    assert (await recv(ws, "paused"))["slots"] == []
    with pytest.raises(asyncio.TimeoutError):
        await recv(other, "paused", timeout=0.3)


async def test_the_simulcast_layers_a_salle_keeps_are_pushed_to_its_kiosk_only(client):
    """Dynacast (docs/protocol.md, `layers`): the router names the encodings to keep."""
    ws, _ = await hello(client, Role.KIOSK, salle="vaux")
    await ws.send_json({"type": "join", "as": "salle"})
    await recv(ws, "slots")
    other, _ = await hello(client, Role.KIOSK, salle="belcourt")
    await other.send_json({"type": "join", "as": "salle"})
    await recv(other, "slots")
    router(client).on_layers("vaux", [True, False, False])
    assert (await recv(ws, "layers"))["active"] == [True, False, False]
    with pytest.raises(asyncio.TimeoutError):
        await recv(other, "layers", timeout=0.3)


async def test_a_kiosk_reports_what_it_receives_to_the_router(client):
    ws, _ = await hello(client, Role.KIOSK, salle="vaux")
    figures = {"period_ms": 2000, "video_frames": 40, "video_slots": 2, "audio_samples": 192000}
    await ws.send_json({"type": "reception", **figures, "audio_concealed": 960, "outgoing_kbps": 800})
    await asyncio.sleep(0.2)
    assert not [c for c in router(client).calls if c[0] == "report_reception"]  # no media joined yet: ignored
    await ws.send_json({"type": "join", "as": "salle"})
    await recv(ws, "slots")
    await ws.send_json({"type": "reception", **figures, "audio_concealed": 960, "outgoing_kbps": 800})
    await asyncio.sleep(0.2)
    [call] = [c for c in router(client).calls if c[0] == "report_reception"]
    assert call[1] == "vaux" and call[2]["seconds"] == 2.0 and call[2]["outgoing_bps"] == 800_000
    assert call[2]["video_frames"] == 40 and call[2]["audio_concealed"] == 960
    # bad figures are refused, in the one error shape, and change nothing
    await ws.send_json({"type": "reception", "id": "r1", "period_ms": -5})
    error = await recv(ws, "error")
    assert error["code"] == "invalid_field" and error["field"] == "period_ms" and error["re"] == "r1"
    assert len([c for c in router(client).calls if c[0] == "report_reception"]) == 1


async def test_flooding_is_rate_limited(client):
    ws, _ = await hello(client, Role.KIOSK, salle="vaux")
    for i in range(60):
        await ws.send_json({"type": "ping", "id": str(i)})
    codes = []
    for _ in range(60):
        msg = json.loads((await asyncio.wait_for(ws.receive(), 2)).data)
        codes.append(msg.get("code") or msg["type"])
    assert "rate_limited" in codes and codes.count("pong") >= 30


async def test_ping_pong(client):
    ws, _ = await hello(client, Role.KIOSK, salle="vaux")
    await ws.send_json({"type": "ping", "id": "p1"})
    assert await recv(ws, "pong") == {"type": "pong", "re": "p1"}
