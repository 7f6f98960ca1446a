"""The transport Séance owns (sfu.transport, issue 11 point 8), piece by piece, against
real aiortc clients over loopback: the answer it writes, the DTLS peer check, and what
its demultiplexer does with datagrams it did not expect. The Router's forwarding on it is
tested by tests/sfu/test_sfu_integration.py (every test on both transports)."""

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import aioice.ice
import pylibsrtp
import pytest
from aiortc import sdp as aiortc_sdp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfu import forwarding
from sfu.config import IceSettings, RouterConfig
from sfu.router import Router
from sfu.transport.certificate import Certificate, fingerprint
from sfu.transport.connection import Connection
from sfu.transport.dtls import fingerprints_match
from tests.sfu.sfu_clients import Client, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def loopback_clients(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


#: both forwarding paths of the consumers (sfu.forwarding) unless a test says otherwise
@pytest.fixture(params=["python", "native"])
async def router(loopback_clients, request):
    r = Router(
        RouterConfig(
            forwarding=request.param,
            ice=IceSettings(listen_addresses=("127.0.0.1",)),
            adaptation=False,
        )
    )
    clients = []
    r.test_clients = clients
    try:
        yield r
    finally:
        for c in clients:
            await c.close()
        await asyncio.wait_for(r.close(), 20)


#: where the forwarding path changes nothing this test checks (the answer, DTLS refusals made
#: before anything is forwarded): the default path only (``auto`` is native where built); the
#: tests of what is forwarded, dropped or retransmitted run on both, and
#: tests/sfu/test_native_forwarding.py proves both paths put the same bytes on the wire
DEFAULT_PATH_ONLY = pytest.mark.parametrize("router", ["native"], indirect=True)


async def join(router, salle, offer_edit=None):
    c = Client(salle, router.slot_layout("salle"))
    router.test_clients.append(c)
    offer = await c.offer()
    if offer_edit is not None:
        offer = offer_edit(offer)
    answer = await router.connect_salle(salle, offer)
    await c.answer(answer)
    return c, offer, answer


@DEFAULT_PATH_ONLY
async def test_the_answer_is_written_by_seance_for_each_offered_section(router):
    _, offer, answer = await join(router, "belcourt")
    peer = router.peers["belcourt"]
    assert isinstance(peer.connection, Connection)  # no RTCPeerConnection
    parsed_offer = aiortc_sdp.SessionDescription.parse(offer)
    parsed = aiortc_sdp.SessionDescription.parse(answer)
    assert [m.rtp.muxId for m in parsed.media] == [m.rtp.muxId for m in parsed_offer.media]
    assert parsed.group[0].semantic == "BUNDLE" and parsed.group[0].items == [m.rtp.muxId for m in parsed.media]
    # the salle's own tracks are received, the slots sent, each with its SSRC and RTX (RFC 4588)
    directions = [m.direction for m in parsed.media]
    assert directions[:2] == ["recvonly", "recvonly"] and set(directions[2:]) == {"sendonly"}
    for m in parsed.media[2:]:
        if m.kind == "video":
            fid = m.ssrc_group[0]
            assert fid.semantic == "FID" and [s.ssrc for s in m.ssrc] == fid.items
            assert any(c.name == "rtx" for c in m.rtp.codecs)
        assert m.msid.split()[0] in peer.slots
    # DTLS: Séance is the client (RFC 8842 section 5.3), its certificate's fingerprint announced
    assert all(m.dtls.role == "client" for m in parsed.media)
    assert {f.value for m in parsed.media for f in m.dtls.fingerprints} == {peer.connection.certificate.fingerprint}
    assert all(m.ice.usernameFragment == peer.connection.ice.local_username for m in parsed.media)
    assert all(c.ip == "127.0.0.1" for m in parsed.media for c in m.ice_candidates)
    # Opus in-band FEC (RFC 7587 section 7) on the audio Séance receives
    assert re.search(r"a=fmtp:\d+ minptime=10;useinbandfec=1", answer)
    assert await wait_for(lambda: router.connected("belcourt"), 10)
    assert await wait_for(lambda: set(peer.producers) == {"audio", "video"} and peer.consumers, 10)
    # one certificate per Router, not per join (its generation blocks the loop ~9 ms)
    await join(router, "vaux")
    assert router.peers["vaux"].connection.certificate is peer.connection.certificate is router.dtls_certificate


@DEFAULT_PATH_ONLY
async def test_a_browser_whose_certificate_is_not_the_offered_one_is_refused(router):
    """RFC 8122 section 5: the DTLS peer must present the certificate the offer's
    fingerprint names; another one ends the connection, nothing is forwarded."""
    other = Certificate.generate().fingerprint

    def forge(offer):
        return re.sub(r"a=fingerprint:sha-256 \S+", f"a=fingerprint:sha-256 {other}", offer)

    _, offer, _ = await join(router, "vaux", forge)
    assert other in offer
    # the server drops the peer once its DTLS check fails
    assert await wait_for(lambda: "vaux" not in router.peers, 15)
    assert not router.connected("vaux")


def test_fingerprints_match_only_every_known_hash():
    cert = Certificate.generate()
    right = fingerprint(cert.certificate)
    assert fingerprints_match(cert.certificate, [("sha-256", right)])
    assert fingerprints_match(cert.certificate, [("SHA-256", right.lower())])
    assert not fingerprints_match(cert.certificate, [("sha-256", right), ("sha-384", right)])
    assert not fingerprints_match(cert.certificate, [("md5", "00:11")])  # no hash we know
    assert not fingerprints_match(cert.certificate, [])


@DEFAULT_PATH_ONLY
async def test_an_offer_without_dtls_fingerprint_is_refused_and_changes_nothing(router):
    def strip(offer):
        return "\r\n".join(line for line in offer.split("\r\n") if not line.startswith("a=fingerprint"))

    with pytest.raises(ValueError):
        await join(router, "saint-ferreol", strip)
    assert not router.connected("saint-ferreol")


async def test_unexpected_datagrams_are_dropped_and_counted_and_forwarding_goes_on(router):
    belcourt, _, _ = await join(router, "belcourt")
    await join(router, "vaux")
    assert await wait_for(lambda: router.connected("belcourt") and router.connected("vaux"), 10)
    connection = router.peers["vaux"].connection
    slot = next(s for s, v in router.peers["belcourt"].assignments.items() if v == "vaux" and "video" in s)
    assert await wait_for(lambda: belcourt.count(slot) > 5, 10)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.binary(min_size=0, max_size=1600)
        | st.builds(lambda b, r: bytes([b]) + r, st.integers(0, 255), st.binary(max_size=1600))
    )
    def feed(data):
        connection.datagram_received(data)  # never raises, whatever arrives

    before = dict(router.stats()["dropped"])
    feed()
    connection.datagram_received(bytes([0x80, 0x60]) + os.urandom(200))  # SRTP with a bad tag
    after = router.stats()["dropped"]
    assert after.get("srtp", 0) > before.get("srtp", 0)
    assert router.stats()["hook_errors"] == {}
    start = belcourt.count(slot)
    assert await wait_for(lambda: belcourt.count(slot) > start + 5, 10)  # still forwarded
    assert router.connected("vaux")


def test_a_router_rebinds_nothing_of_aiortc_or_aioice():
    """Issue 11 point 8: no rebinding of another library's classes. Run in a fresh
    process, so that nothing another test did is seen."""
    code = (
        "import asyncio, aioice.ice, aiortc.rtcpeerconnection as pc, aiortc.rtcrtpreceiver as rx\n"
        "import aiortc.rtcdtlstransport as d, aiortc.rtcrtpsender as s, aiortc.rtcicetransport as i\n"
        "stock = (pc.RTCDtlsTransport, pc.RTCRtpReceiver, pc.RTCRtpSender, pc.RTCIceGatherer,\n"
        "         aioice.ice.StunProtocol, rx.decoder_worker, rx.get_decoder)\n"
        "from sfu.config import RouterConfig\n"
        "from sfu.router import Router\n"
        "async def main():\n"
        "    router = Router(RouterConfig())\n"
        "    await router.close()\n"
        "asyncio.run(main())\n"
        "now = (pc.RTCDtlsTransport, pc.RTCRtpReceiver, pc.RTCRtpSender, pc.RTCIceGatherer,\n"
        "       aioice.ice.StunProtocol, rx.decoder_worker, rx.get_decoder)\n"
        "assert now == stock, now\n"
        "assert (pc.RTCDtlsTransport, pc.RTCRtpSender) == (d.RTCDtlsTransport, s.RTCRtpSender)\n"
        "print('untouched')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0 and "untouched" in done.stdout, done.stderr


def _rtp_header(first: int, pt: int, seq: int, ssrc: int) -> bytes:
    return bytes([first, pt]) + seq.to_bytes(2, "big") + (1234).to_bytes(4, "big") + ssrc.to_bytes(4, "big")


async def test_malformed_rtp_and_rtcp_inside_valid_srtp_are_dropped_and_forwarding_goes_on(router):
    """The fuzz of the owned transport's path behind SRTP: a real publisher (an aiortc
    client) protects with its real keys whatever hypothesis draws (RTP headers with wrong
    CSRC counts, extension and padding bits, unknown SSRCs and payload types; RTCP
    compounds of random bytes with an RTCP type), and sends it on its real DTLS transport.
    Nothing escapes (no hook error), what is malformed is counted, the salle's stream
    is still forwarded."""
    belcourt, _, _ = await join(router, "belcourt")
    vaux, _, _ = await join(router, "vaux")
    assert await wait_for(lambda: router.connected("belcourt") and router.connected("vaux"), 10)
    producer = router.peers["vaux"].producers["video"]
    slot = next(s for s, v in router.peers["belcourt"].assignments.items() if v == "vaux" and "video" in s)
    assert await wait_for(lambda: belcourt.count(slot) > 5 and producer.ssrc is not None, 10)
    # the client's DTLS transport (aiortc's, client side): protect with its keys and send
    dtls = vaux.pc.getTransceivers()[0].sender.transport
    drawn: list[bytes] = []

    rtp = st.builds(
        lambda first, pt, seq, ssrc, tail: _rtp_header(first, pt, seq, ssrc) + tail,
        st.integers(0x80, 0xBF),  # version 2, any padding/extension bit and CSRC count
        # payload types the offer did not negotiate: a stray SSRC on a negotiated one is
        # learned as the publisher's stream (aiortc's RtpRouter, as for simulcast layers)
        st.sampled_from([0, 13, 35, 0x7F]),
        st.integers(0, 0xFFFF),
        # not the stream's own SSRC: random sequence numbers on it would move the SRTP
        # replay window of the publisher's real stream (RFC 3711 3.3.2) and drop it
        st.sampled_from([1, 0xFFFFFFFF, 0x5EA7CE]),
        st.binary(max_size=300),
    )
    rtcp = st.builds(
        lambda count, pt, words, tail: bytes([0x80 | count, pt]) + words.to_bytes(2, "big") + tail,
        st.integers(0, 31),
        st.integers(192, 223),
        st.integers(0, 0xFFFF),
        st.binary(min_size=4, max_size=120),
    )

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rtp | rtcp)
    def draw(data):
        drawn.append(data)

    draw()
    before = dict(router.stats()["dropped"])
    sent = 0
    for data in drawn:
        try:
            await dtls._send_rtp(data)  # aiortc's client-side send (test side only)
            sent += 1
        except Exception:  # libsrtp refuses to protect some headers: not sent
            pass
        await asyncio.sleep(0)
    assert sent > 100
    start = belcourt.count(slot)
    forwarded = await wait_for(lambda: belcourt.count(slot) > start + 5, 10)  # still forwarded
    stats = router.stats()
    assert forwarded, (stats["dropped"], stats["hook_errors"])
    assert stats["hook_errors"] == {}
    after = stats["dropped"]
    grown = {k for k in after if after[k] > before.get(k, 0)}
    assert grown & {"malformed", "malformed_rtcp", "unroutable", "srtp"}, (before, after)
    assert router.connected("vaux")


async def test_a_packet_libsrtp_refuses_to_protect_is_dropped_and_counted_not_logged(router, monkeypatch):
    """libsrtp refuses an index more than its replay window behind (RFC 3711 3.3.2): a
    publisher's very late or forged sequence number, rewritten for a subscriber. Found by
    the fuzz above when it used the stream's own SSRC: every such packet was a hook error,
    logged with its traceback. It is a drop by reason ``srtp_refused``."""

    def refused(self, packet):
        raise pylibsrtp.Error("replay check failed (index too old)")

    fan_out = forwarding.fan_out

    def refused_native(jobs, vp8, now):  # the native step's answer when libsrtp2 refuses
        held = [(sender, False, *rest) for sender, _, *rest in jobs]  # protected, not sent
        statuses, entries, _ = fan_out(held, vp8, now)
        refused = bytes(s if e is None else forwarding.SRTP_REFUSED for s, e in zip(statuses, entries, strict=True))
        return refused, entries, [None] * len(entries)

    monkeypatch.setattr(Connection, "send_rtp", refused)
    monkeypatch.setattr(forwarding, "fan_out", refused_native)
    await join(router, "belcourt")
    await join(router, "vaux")
    assert await wait_for(lambda: router.stats()["dropped"].get("srtp_refused", 0) > 20, 10)
    assert router.stats()["hook_errors"] == {}


async def test_the_consumers_forward_and_retransmit_on_the_configured_path(router):
    """``forwarding = "native"``: every consumer of the connection forwards through the
    native step, whose SRTP session has the DTLS keys (the browser decrypts what it gets),
    and a NACK's answer is protected by that same session; ``"python"``: none does."""
    belcourt, _, _ = await join(router, "belcourt")
    await join(router, "vaux")
    assert await wait_for(lambda: router.connected("belcourt") and router.connected("vaux"), 10)
    slot = next(s for s, v in router.peers["belcourt"].assignments.items() if v == "vaux" and "video" in s)
    assert await wait_for(lambda: belcourt.count(slot) > 20, 10)
    native = router.config.forwarding == "native"
    peer = router.peers["belcourt"]
    assert (peer.connection.native_tx is not None) == native
    consumers = list(peer.consumers.values())
    assert consumers and all((c.native_link is not None) == native for c in consumers)
    consumer = peer.consumers[slot]
    last = belcourt.packets[slot][-1][0]  # an output sequence number the browser received
    repaired = belcourt.rtx[slot]
    assert consumer.retransmit([last]) == 1
    assert await wait_for(lambda: belcourt.rtx[slot] > repaired, 10)  # its RTX decrypted
    start = belcourt.count(slot)
    assert await wait_for(lambda: belcourt.count(slot) > start + 5, 10)  # and it goes on
    assert router.stats()["hook_errors"] == {}
