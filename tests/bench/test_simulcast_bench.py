"""``python -m bench --simulcast``: three layers per salle, to Séance and to Janus's VideoRoom.

The offer and the layers' packets are checked against the server's own parser
(``sfu.simulcast``) and aiortc's RTP parser; one short run (3 salles, 2-s window, real
processes, Janus in the benchmark's namespace when it can run here) checks what the
servers did with them: both answered the three rids, each (subscriber, video source)
pair received exactly one layer, and the packets of that layer add up to what its source
sent. Timings are never asserted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench import report as rep
from bench.janus import janus_available
from bench.simulcast import RID_EXT, RIDS, answered_rids, layer_header, layer_kind, rid_of_kind, simulcast_offer
from sfu.simulcast import simulcast_offers, with_simulcast

ROOT = Path(__file__).resolve().parents[2]
JANUS_SKIP = janus_available()
#: the suite runs in a loopback-only namespace (tests/conftest.py); the benchmark runs in
#: the host's, as in test_bench_smoke.py
HOST = ["nsenter", f"--net={os.environ['SEANCE_TEST_HOST_NETNS']}"] if os.environ.get("SEANCE_TEST_HOST_NETNS") else []


async def _aiortc_offer() -> str:
    from aiortc import RTCConfiguration, RTCPeerConnection

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio", direction="sendonly")
        pc.addTransceiver("video", direction="sendonly")
        pc.addTransceiver("video", direction="recvonly")
        offer = await pc.createOffer()
        return offer.sdp
    finally:
        await pc.close()


async def test_the_offer_is_read_by_the_server_as_three_layers() -> None:
    sdp, mid, mid_id = simulcast_offer(await _aiortc_offer())
    offers = simulcast_offers(sdp)  # Séance's own parser of a kiosk's offer
    assert list(offers) == [mid]
    assert offers[mid].rids == RIDS == ("q", "h", "f") and offers[mid].rid_id == RID_EXT
    video = sdp.split("m=video")[1]
    assert "a=ssrc:" not in video and "a=ssrc-group:" not in video  # as Chromium: SSRCs learned from the rids
    assert 0 < mid_id < 15
    # an answer that accepts them, and one that does not (aiortc's own, as before issue 11)
    plain = "\r\n".join(
        line.replace("a=sendonly", "a=recvonly")
        for line in sdp.split("\r\n")
        if not line.startswith(("a=rid:", "a=simulcast:"))
    )
    assert answered_rids(with_simulcast(plain, offers), mid) == RIDS
    assert answered_rids(plain, mid) == ()


def test_a_layer_packet_carries_its_mid_and_rid() -> None:
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap, RtpPacket

    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(id=RID_EXT, uri="urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
            ]
        )
    )
    for rid in RIDS:
        packet = RtpPacket.parse(bytes(layer_header(96, 0xCAFE, 4, "1", rid)) + b"\x90\x80\x01vp8", extensions)
        assert (packet.ssrc, packet.payload_type) == (0xCAFE, 96)
        assert packet.extensions.mid == "1" and packet.extensions.rtp_stream_id == rid
        assert packet.payload == b"\x90\x80\x01vp8"
        assert rid_of_kind(layer_kind(rid)) == rid
    assert rid_of_kind(0) is None and rid_of_kind(1) is None  # audio, video without simulcast


def test_simulcast_figures_add_up() -> None:
    """The accounting alone: one layer per pair, received against its source's sent."""
    q, f = layer_kind("q"), layer_kind("f")
    run = rep.TargetRun(salles=2, window_s=2.0, cpu_s=0.1, rss_idle=0, rss_loaded=0)
    run.per_salle = [
        {
            "salle": 0,
            "sent_by_kind": {str(q): 60, str(f): 280, "0": 100},
            "layers": {"1": {"f": 270}},
            "answered_rids": list(RIDS),
            "layer_switches": {"1": 0},
            "layer_span_s": {"1": 1.95},
        },
        {
            "salle": 1,
            "sent_by_kind": {str(q): 60, str(f): 300},
            "layers": {"0": {"q": 10, "f": 200}},
            "answered_rids": [],
            "layer_switches": {"0": 1},
        },
        {  # a speaker slot that showed salle 0 for 0.6 s of the 2-s window: left out of the ratio
            "salle": 2,
            "sent_by_kind": {},
            "layers": {"0": {"f": 100}},
            "answered_rids": list(RIDS),
            "layer_span_s": {"0": 0.6},
        },
    ]
    out = rep.simulcast_figures(run)
    assert out["sent_pps"] == {"q": 60.0, "h": 0.0, "f": 290.0}
    assert out["forwarded_pps"] == {"q": 5.0, "h": 0.0, "f": 285.0}
    assert out["layers_per_subscription"] == {"1": 2, "2": 1}
    # 270 of salle 1's 300 f packets; the pair with 2 layers and the partial one left out
    assert out["forwarded_over_sent"] == 0.9
    assert out["negotiated_salles"] == 2
    assert out["salles_sending"] == {"q": 2, "h": 0, "f": 2} and out["layer_switches_max"] == 1


# -- one short run, real processes -------------------------------------------------------


@pytest.fixture(scope="module")
def simulcast_run(tmp_path_factory, bench_samples) -> tuple[dict, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("bench-simulcast")
    out = tmp / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "--simulcast",
        "--salles",
        "3",
        "--seconds",
        "2",
        "--warmup",
        "1",
        "--zero-seconds",
        "1",
        "--cache",
        str(bench_samples),
        "--json",
        str(out),
    ]
    if JANUS_SKIP is None:
        cmd.append("--vs-janus")
    proc = subprocess.Popen([*HOST, *cmd], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the bench cleans up (servers, salles, namespace) on SIGTERM
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
    assert out.exists(), f"no report written (rc={proc.returncode})\n{stdout}\n{stderr}"
    return json.loads(out.read_text()), subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _check_simulcast(block: dict, salles: int) -> None:
    sc = block["simulcast"]
    assert sc["negotiated_salles"] == salles, sc  # every answer listed q;h;f in a=simulcast:recv
    assert sc["salles_sending"] == dict.fromkeys(RIDS, salles), sc  # three layers from every salle
    assert sc["sent_pps"]["q"] < sc["sent_pps"]["h"] < sc["sent_pps"]["f"]  # 150 k, 500 k, 1.2 Mbit/s
    # one layer at a time per subscriber and video source: each salle receives two
    # pictures; a pair may see a switch (the allocator reacting to a loss burst of this
    # shared machine), never two layers interleaved, which would alternate at every packet
    assert sum(sc["layers_per_subscription"].values()) >= 2 * salles, sc  # more when a slot changed source
    assert sc["layers_per_subscription"].get("1", 0) > 0 and sc["layer_switches_max"] <= 4, sc
    # that layer whole and nothing else: what a single-layer pair received against what
    # its source sent on that layer, less what was lost after the server
    lost = (block["loss_pct"] or 0) / 100
    assert sc["forwarded_over_sent"] is not None, sc  # some pair received one layer all the window
    assert 1 - lost - 0.1 <= sc["forwarded_over_sent"] <= 1.1, sc
    # the packet accounting: what was sent is audio plus the three layers, what was
    # forwarded is the voices plus one layer per picture
    layers_in = sum(sc["sent_pps"].values())
    layers_out = sum(sc["forwarded_pps"].values())
    audio_in = block["incoming_pps"] - layers_in
    audio_out = block["forwarded_pps"] - layers_out
    assert audio_in == pytest.approx(50 * salles, rel=0.1)  # Opus, 20 ms
    # each voice to the others (voices ≥ salles - 1), less what was lost
    assert audio_in * (salles - 1) * (1 - lost - 0.1) <= audio_out <= audio_in * (salles - 1) * 1.1
    assert block["server_cpu_us_per_forwarded_packet"] > 0


def test_seance_forwards_one_layer_per_subscriber(simulcast_run) -> None:
    report, proc = simulcast_run
    assert proc.returncode == 0, proc.stderr
    assert rep.validate(report, janus="janus" in report) == []
    _check_simulcast(report, 3)
    assert "simulcast forwarded_pps f" in proc.stdout  # in the printed table too


@pytest.mark.skipif(JANUS_SKIP is not None, reason=f"{JANUS_SKIP}")
def test_janus_negotiated_simulcast_and_forwards_the_layer_asked(simulcast_run) -> None:
    report, proc = simulcast_run
    assert proc.returncode == 0, proc.stderr
    _check_simulcast(report["janus"], 3)
    sc = report["janus"]["simulcast"]
    # the subscribers asked for substream 2 (f, the default --simulcast-layer): f came, and
    # a smaller one only where Janus fell back for want of f packets (its 250 ms rule)
    assert sc["forwarded_pps"]["f"] > 10 * (sc["forwarded_pps"]["q"] + sc["forwarded_pps"]["h"]), sc


def test_simulcast_is_refused_where_it_does_not_apply() -> None:
    from bench.cli import cli

    assert cli(["--simulcast", "--baseline", "mediarelay"]) == 2
    assert cli(["--simulcast", "--workers", "2"]) == 2


def test_dynacast_salles_stop_the_layers_seance_switches_off(tmp_path, simulcast_run, bench_samples) -> None:
    """--dynacast: a salle whose picture nobody receives is asked (``layers``, after 5 s
    without a subscriber) to keep its smallest layer only, and the synthetic salle, like
    the kiosk, stops the others; what is forwarded is still one layer per subscriber and
    source. Compared with the run where every salle sends every layer (same samples)."""
    out = tmp_path / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "--simulcast",
        "--dynacast",
        "--salles",
        "6",
        "--seconds",
        "2",
        "--warmup",
        "6",
        "--zero-seconds",
        "1",
        "--salles-per-process",
        "6",
        "--cache",
        str(bench_samples),
        "--json",
        str(out),
    ]
    proc = subprocess.run([*HOST, *cmd], cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr
    sc = json.loads(out.read_text())["simulcast"]
    all_on = simulcast_run[0]["simulcast"]["sent_pps"]
    assert sc["layer_changes"] >= 2, sc  # some salle was asked to stop h and f
    assert sc["salles_sending"]["q"] == 6, sc  # the smallest layer always stays on
    # 6 salles, 2 pictures each: not every salle's picture is watched, so fewer salles
    # send f than q (with every layer on, f/q is the samples' own ratio, about 4)
    assert sc["sent_pps"]["f"] / sc["sent_pps"]["q"] < 0.9 * all_on["f"] / all_on["q"], (sc, all_on)
    # one layer at a time per pair: a speaker slot moved to a salle whose f was off gets its
    # q, then h and f as they come back on (a few switches), never layers interleaved
    assert sc["layers_per_subscription"].get("1", 0) > 0 and sc["layer_switches_max"] <= 4, sc
