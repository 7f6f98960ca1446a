"""The media plane's port with the REAL Router: a kiosk (aiortc) publishes over the WebSocket,
the Router measures its transmission, and the sitting journals it (R7) and derives the
public stream (R2); when the kiosk goes away the loss is journaled too (R17)."""

from __future__ import annotations

import asyncio

import aioice
import pytest

from sfu.config import HealthSettings
from signaling.roles import Role
from tests.sfu.sfu_clients import Client
from tests.signaling.sitting_ws import connect
from web.app import SITTINGS, create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def wait_view(sock, predicate, timeout=15.0):
    async def loop():
        while sock.view is None or not predicate(sock.view):
            await sock.next("sitting")
        return sock.view

    return await asyncio.wait_for(loop(), timeout)


async def test_a_kiosk_transmitting_is_journaled_from_the_routers_measure(aiohttp_client, tmp_path, loopback):
    config = WebConfig(
        tls=False,
        data_dir=tmp_path,
        sittings=(demo_sitting(),),
        ice_addresses=("127.0.0.1",),
        reconcile_after_s=None,
        router_options={"health": HealthSettings(uplink_timeout=2.0, downlink_timeout=8.0, recover_after=0.5)},
    )
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    client = await aiohttp_client(create_app(config))
    public = await connect(client, "public")
    kiosk = await connect(client, "kiosk", Role.KIOSK, salle="vaux")
    await kiosk.ws.send_json({"type": "join", "as": "salle", "id": "j"})
    slots = await kiosk.next("slots")
    pc = Client("vaux", slots["layout"])
    try:
        await kiosk.ws.send_json({"type": "offer", "id": "o", "sdp": await pc.offer()})
        answer = await kiosk.next("answer")
        await pc.answer(answer["sdp"])
        view = await wait_view(public, lambda v: v["media"]["vaux"]["transmitting"] and v["public_stream_up"])
        assert next(s for s in view["salles"] if s["id"] == "vaux")["transmitting"] is True  # journaled (R7)
        svc = client.app[SITTINGS]["demo"]
        assert svc.seance.state.transmitting["vaux"] is True and svc.seance.state.public_stream_up is True
    finally:
        await pc.close()
    view = await wait_view(public, lambda v: not v["media"]["vaux"]["transmitting"], timeout=20.0)
    await client.app[SITTINGS]["demo"].idle()
    view = await public.latest_view()
    assert next(s for s in view["salles"] if s["id"] == "vaux")["transmitting"] is False
    assert view["public_stream_up"] is False
