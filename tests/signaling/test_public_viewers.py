"""Issue 12 point 10, on the real server: anonymous public viewers are capped per address
and in all (``[web] public_viewers_per_address``, ``public_viewers_max``), with the one
error shape and a French message, and a viewer's peer whose ICE never completes is closed
after ``media_connect_timeout_s`` with its UDP sockets (40 replayed offers used to hold 40
Router peers 45 s later). The reaping runs on the REAL Router with a real aiortc client
that never applies the answer; a client that does is kept."""

from __future__ import annotations

import asyncio

import aioice
import pytest

from signaling.roles import Role
from tests.sfu.sfu_clients import Client
from tests.signaling.fake_router import fake_router_factory
from tests.signaling.sitting_ws import connect
from web.app import ROOMS, create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig

SHAPE = {"type", "code", "message", "field"}


def _app(tmp_path, real_router=False, **options):
    config = WebConfig(
        tls=False,
        data_dir=tmp_path,
        sittings=(demo_sitting(),),
        reconcile_after_s=None,
        ice_addresses=("127.0.0.1",),
        **options,
    )
    seed_demo(config.data_dir)
    return create_app(config) if real_router else create_app(config, router_factory=fake_router_factory)


async def _join(sock):
    await sock.ws.send_json({"type": "join", "as": "viewer", "id": "j"})
    return await sock.next("slots", "error")


async def test_public_viewers_are_capped_per_address(aiohttp_client, tmp_path):
    client = await aiohttp_client(_app(tmp_path, public_viewers_per_address=2, public_viewers_max=50))
    first, second, third = [await connect(client, f"public-{i}") for i in range(3)]
    assert (await _join(first))["type"] == "slots" and (await _join(second))["type"] == "slots"
    refused = await _join(third)
    assert set(refused) >= SHAPE and refused["code"] == "too_many_viewers" and refused["field"] == "as", refused
    assert "depuis votre réseau (2 au plus)" in refused["message"] and refused["re"] == "j"
    assert len(client.app[ROOMS]["demo"].viewers) == 2  # the refusal changed nothing
    # an élu watching from the same address is not the anonymous public: not counted, not refused
    elu = await connect(client, "m06", Role.COUNCILLOR, member="m06")
    assert (await _join(elu))["type"] == "slots"
    # one public viewer leaves: another may come
    await first.ws.close()
    for _ in range(100):
        if len(client.app[ROOMS]["demo"].viewers) == 2:
            break
        await asyncio.sleep(0.02)
    assert (await _join(third))["type"] == "slots"


async def test_public_viewers_are_capped_in_all(aiohttp_client, tmp_path):
    client = await aiohttp_client(_app(tmp_path, public_viewers_per_address=100, public_viewers_max=3))
    sockets = [await connect(client, f"public-{i}") for i in range(4)]
    replies = [await _join(s) for s in sockets]
    assert [r["type"] for r in replies] == ["slots", "slots", "slots", "error"]
    assert replies[-1]["code"] == "too_many_viewers" and "nombre de spectateurs (3)" in replies[-1]["message"]


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def test_a_viewer_whose_ice_never_completes_is_reaped_with_its_sockets(aiohttp_client, tmp_path, loopback):
    client = await aiohttp_client(_app(tmp_path, real_router=True, media_connect_timeout_s=2.0))
    router = client.app[ROOMS]["demo"].router
    stalled, kept = await connect(client, "stalled"), await connect(client, "kept")
    pcs = []
    try:
        for sock in (stalled, kept):
            slots = await _join(sock)
            pc = Client(sock.name, slots["layout"], publish=False)
            pcs.append(pc)
            await sock.ws.send_json({"type": "offer", "id": "o", "sdp": await pc.offer()})
            answer = await sock.next("answer")
            if sock is kept:
                await pc.answer(answer["sdp"])  # ICE and DTLS complete
            # the stalled one replays an offer and never answers: its ICE never completes
        assert router.stats()["peers_by_kind"]["viewer"] == 2
        error = await asyncio.wait_for(stalled.next("error"), 20.0)
        assert set(error) >= SHAPE and error["code"] == "media_timeout" and "rechargez la page" in error["message"]
        assert router.stats()["peers_by_kind"]["viewer"] == 1  # the stalled peer and its UDP sockets are gone
        (kept_peer,) = client.app[ROOMS]["demo"].viewers
        assert router.connected(kept_peer)
        await asyncio.sleep(2.5)  # past another timeout: the connected viewer stays
        assert router.stats()["peers_by_kind"]["viewer"] == 1 and router.connected(kept_peer)
        # the reaped socket may join again
        assert (await _join(stalled))["type"] == "slots"
    finally:
        for pc in pcs:
            await pc.close()
