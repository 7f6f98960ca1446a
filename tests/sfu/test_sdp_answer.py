"""Opus in-band FEC in the Router's answer (issue 11, point 4), on a real aiortc exchange."""

import asyncio

import aioice.ice
from aiortc import sdp as aiortc_sdp
from prometheus_client import CollectorRegistry

from sfu.config import IceSettings, RouterConfig
from sfu.router import Router
from sfu.sdp_answer import with_opus_fec
from tests.sfu.sfu_clients import Client, wait_for


def test_fec_is_added_to_opus_only_and_kept_once():
    sdp = "\r\n".join(
        [
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 0",
            "a=rtpmap:111 opus/48000/2",
            "a=rtpmap:0 PCMU/8000",
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
            "a=rtpmap:96 VP8/90000",
            "a=rtpmap:97 rtx/90000",
            "a=fmtp:97 apt=96",
            "m=audio 9 UDP/TLS/RTP/SAVPF 109",
            "a=rtpmap:109 opus/48000/2",
            "a=fmtp:109 minptime=20",
            "",
        ]
    )
    out = with_opus_fec(sdp)
    assert "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" in out
    assert "a=fmtp:109 minptime=20;useinbandfec=1\r\n" in out
    assert "a=fmtp:97 apt=96\r\n" in out and "a=fmtp:0" not in out and "a=fmtp:96" not in out
    assert with_opus_fec(out) == out


async def test_the_routers_answer_negotiates_opus_fec(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    router = Router(RouterConfig(ice=IceSettings(listen_addresses=("127.0.0.1",))), registry=CollectorRegistry())
    client = Client("vaux", router.slot_layout("salle"))
    try:
        answer = await router.connect_salle("vaux", await client.offer())
        audio = [m for m in aiortc_sdp.SessionDescription.parse(answer).media if m.kind == "audio"]
        assert audio and all(
            c.parameters.get("useinbandfec") == 1 for m in audio for c in m.rtp.codecs if c.name.lower() == "opus"
        )
        await client.answer(answer)  # a browser-side stack accepts it and media flows
        assert await wait_for(lambda: "audio" in router.peers["vaux"].producers, 10)
    finally:
        await client.close()
        await asyncio.wait_for(router.close(), 20)
