"""The network lab computes what it claims, from samples whose answer is known.

Pure: no browser, no namespace. The samples have the shape :file:`netlab/sampler.js`
produces (one ``getStats()`` snapshot every 200 ms)."""

from __future__ import annotations

import pytest

from bench.netns import Direction
from tests.networks.netlab import figures
from tests.networks.netlab.coturn import Usage, parse_sessions
from tests.networks.netlab.lab import LinkSpec

T0 = 1_800_000_000_000  # epoch ms


def video(slot, frames, *, mid="2", ssrc=1, lost=0, received=None, size=(1280, 720), **extra):
    return {
        "kind": "video",
        "slot": slot,
        "mid": mid,
        "ssrc": ssrc,
        "framesDecoded": frames,
        "packetsLost": lost,
        "packetsReceived": frames * 3 if received is None else received,
        "bytesReceived": frames * 3000,
        "frameWidth": size[0],
        "frameHeight": size[1],
        **extra,
    }


def sample(ms, inbound=(), outbound=(), *, pc=1, slots=None, state="connected", rin=()):
    return {
        "t": T0 + ms,
        "pc": pc,
        "state": state,
        "in": list(inbound),
        "out": list(outbound),
        "rin": list(rin),
        "pair": {"currentRoundTripTime": 0.05, "availableOutgoingBitrate": 800_000},
        "local": {"candidateType": "host", "protocol": "udp"},
        "slots": slots or {"video-0": "belcourt"},
    }


def steady(seconds, fps=25, step_ms=200, slot="video-0", gap=None, start_frames=0, pc=1, t_start=0):
    """Samples of one video slot decoding ``fps``, except during ``gap`` (s, s)."""
    out, frames = [], start_frames
    for k in range(int(seconds * 1000 / step_ms) + 1):
        ms = t_start + k * step_ms
        if k and not (gap and gap[0] * 1000 < ms <= gap[1] * 1000):
            frames += fps * step_ms // 1000
        out.append(sample(ms, [video(slot, frames)], pc=pc))
    return out


def test_a_steady_slot_has_its_rate_and_no_freeze():
    k = figures.kiosk_figures("vaux", "salle", steady(10), T0, T0 + 10_000)
    (v,) = k.video
    assert k.seconds == 10.0 and k.samples == 51
    assert v.frames == 250 and v.fps == 25.0
    assert v.frozen_s == 0.0
    assert (v.width, v.height) == (1280, 720) and v.sources == ("belcourt",)


def test_a_gap_in_the_frames_is_counted_as_frozen_time():
    k = figures.kiosk_figures("vaux", "salle", steady(10, gap=(3.0, 5.0)), T0, T0 + 10_000)
    (v,) = k.video
    # frames were last seen at 3.0 s and again at 5.2 s: 2.2 s without a new frame
    assert v.frozen_s == pytest.approx(2.2)
    assert v.frames == 250 - 2 * 25


def test_a_slot_that_never_decodes_is_frozen_the_whole_window():
    samples = [sample(ms, [video("video-0", 0, received=0)]) for ms in range(0, 10_001, 200)]
    (v,) = figures.kiosk_figures("vaux", "salle", samples, T0, T0 + 10_000).video
    assert v.fps == 0.0 and v.frames == 0
    assert v.frozen_s == 10.0  # Chromium's totalFreezesDuration would say 0 here
    assert v.chromium_freeze_s == 0.0


def test_counters_restart_with_a_new_peer_connection_and_are_summed():
    first = steady(4, pc=1, start_frames=500)  # 100 frames on the first connection
    second = steady(4, pc=2, t_start=6000)  # a reconnection: counters from 0, 100 frames
    k = figures.kiosk_figures("vaux", "salle", first + second, T0, T0 + 10_000)
    (v,) = k.video
    assert v.frames == 200
    assert v.fps == 20.0
    # nothing new between 4.0 and 6.2 s (the second connection's first frames)
    assert v.frozen_s == pytest.approx(2.2)


def test_audio_loss_and_concealment():
    def audio(received, lost, samples_, concealed):
        return {
            "kind": "audio",
            "slot": "audio-0",
            "mid": "4",
            "ssrc": 9,
            "packetsReceived": received,
            "packetsLost": lost,
            "bytesReceived": received * 60,
            "totalSamplesReceived": samples_,
            "concealedSamples": concealed,
        }

    samples = [sample(0, [audio(100, 0, 96_000, 0)]), sample(10_000, [audio(590, 10, 576_000, 24_000)])]
    (a,) = figures.kiosk_figures("vaux", "salle", samples, T0, T0 + 10_000).audio
    assert a.packets == 490
    assert a.loss_pct == 2.0  # 10 lost of 500
    assert a.concealed_pct == 5.0  # 24,000 of 480,000 samples invented


def test_publisher_key_frames_per_minute_and_layers_apart():
    def out(rid, key_frames, plis, frames, sent):
        return {
            "kind": "video",
            "rid": rid,
            "ssrc": {"q": 1, "h": 2}[rid],
            "keyFramesEncoded": key_frames,
            "pliCount": plis,
            "framesEncoded": frames,
            "bytesSent": sent,
            "frameWidth": 320 if rid == "q" else 1280,
            "frameHeight": 180 if rid == "q" else 720,
        }

    samples = [
        sample(0, outbound=[out("q", 1, 0, 0, 0), out("h", 1, 0, 0, 0)]),
        sample(30_000, outbound=[out("q", 2, 0, 750, 375_000), out("h", 12, 11, 750, 3_750_000)]),
    ]
    pubs = {p.rid: p for p in figures.kiosk_figures("vaux", "salle", samples, T0, T0 + 30_000).publishers}
    assert pubs["h"].key_frames == 11 and pubs["h"].key_frames_per_min == 22.0 and pubs["h"].plis_received == 11
    assert pubs["q"].key_frames_per_min == 2.0
    assert pubs["h"].kbps == 1000.0 and pubs["q"].kbps == 100.0
    assert (pubs["q"].width, pubs["h"].width) == (320, 1280)


def test_link_figures_from_the_kernel_counters():
    before = {"down": {"bytes": 0, "packets": 0, "dropped": 0}, "up": {"bytes": 0, "packets": 0, "dropped": 0}}
    after = {
        "down": {"bytes": 750_000, "packets": 600, "dropped": 400},
        "up": {"bytes": 375_000, "packets": 300, "dropped": 0},
    }
    link = figures.link_figures(before, after, 10.0)
    assert (link.down_kbps, link.up_kbps) == (600.0, 300.0)
    assert link.down_dropped_pct == 40.0 and link.up_dropped_pct == 0.0


def test_server_figures_are_deltas_of_metrics():
    text = """# HELP seance_sfu_rtp_packets_out_total RTP packets forwarded
seance_sfu_rtp_packets_out_total{kind="audio"} 100.0
seance_sfu_rtp_packets_out_total{kind="video"} 1000.0
seance_sfu_rtp_bytes_out_total{kind="video"} 1.0e6
seance_sfu_retransmissions_total 10.0
seance_sfu_packets_dropped_total{reason="srtp"} 0.0
seance_sfu_salle_transmitting{salle="vaux"} 1.0
process_cpu_seconds_total 2.0
"""
    later = (
        text.replace('"video"} 1000.0', '"video"} 3000.0')
        .replace("1.0e6", "2.25e6")
        .replace("retransmissions_total 10.0", "retransmissions_total 210.0")
        .replace('salle="vaux"} 1.0', 'salle="vaux"} 0.0')
        .replace("process_cpu_seconds_total 2.0", "process_cpu_seconds_total 3.0")
    )
    s = figures.server_figures(figures.parse_metrics(text), figures.parse_metrics(later), 10.0)
    assert s.packets_out == {"video": 2000.0}
    assert s.kbps_out == {"video": 1000.0}
    assert s.retransmissions == 200.0 and s.retransmissions_per_s == 20.0
    assert s.transmitting == {"vaux": False}
    assert s.cpu_pct == 10.0
    assert s.dropped == {}


def test_sitting_figures_follow_the_view():
    def view(status, vaux_transmitting, audio_only=False):
        return {
            "status": status,
            "salles": [
                {"id": "belcourt", "transmitting": True, "audio_only": False, "connected": True},
                {"id": "vaux", "transmitting": vaux_transmitting, "audio_only": audio_only, "connected": True},
            ],
        }

    views = [(90.0, view("opened", True)), (104.0, view("suspended", False)), (110.0, view("opened", True, True))]
    st = figures.sitting_figures(views, 100.0, 120.0)
    assert st.statuses == ("opened", "suspended", "opened")
    assert st.not_transmitting_s == {"vaux": 6.0}
    assert st.audio_only == {"belcourt": False, "vaux": True}
    assert {"t": 4.0, "salle": "vaux", "transmitting": False} in st.changes
    assert {"t": 10.0, "salle": "vaux", "audio_only": True} in st.changes


def test_coturn_sessions_sum_the_usage_lines():
    log = """7: : session 000000000000000002: realm <seance.lab> user <>: incoming packet message processed, error 401: Unauthorized
7: : session 000000000000000002: new, realm=<seance.lab>, username=<1796633169:kiosk-1>, lifetime=600, cipher=ECDHE-ECDSA-AES256-GCM-SHA384, method=TLSv1.2
7: : session 000000000000000002: realm <seance.lab> user <1796633169:kiosk-1>: incoming packet ALLOCATE processed, success
23: : session 000000000000000002: usage: realm=<seance.lab>, username=<1796633169:kiosk-1>, rp=1991, rb=1014963, sp=61, sb=5100
23: : session 000000000000000002: peer usage: realm=<seance.lab>, username=<1796633169:kiosk-1>, rp=57, rb=4227, sp=1987, sb=1006539
23: : session 000000000000000002: usage: realm=<seance.lab>, username=<1796633169:kiosk-1>, rp=28, rb=16065, sp=0, sb=0
1: : session 000000000000000001: usage: realm=<seance.lab>, username=<>, rp=0, rb=0, sp=0, sb=0
"""
    (s,) = parse_sessions(log)
    assert s.username == "1796633169:kiosk-1" and s.tls == "TLSv1.2" and s.allocated
    assert s.client == Usage(2019, 1031028, 61, 5100)
    assert s.peer == Usage(57, 4227, 1987, 1006539)


def test_a_link_direction_is_a_token_bucket_with_a_bounded_queue():
    assert Direction(600).tbf() == ["tbf", "rate", "600kbit", "burst", "3028", "latency", "200ms"]
    assert Direction(8000, queue_ms=50).tbf()[4] == "20000"  # 20 ms at 8 Mbit/s
    with pytest.raises(ValueError):
        Direction(600, loss_pct=101)
    assert LinkSpec.kbit(600, 300, loss_pct=2).describe() == "down 600 kbit/s, 2 % loss; up 300 kbit/s, 2 % loss"


def test_a_report_reads_back_from_its_json():
    import json

    kiosk = figures.kiosk_figures("vaux", "salle", steady(4, gap=(1.0, 2.0)), T0, T0 + 4000)
    views = [(T0 / 1000, {"status": "opened", "salles": [{"id": "vaux", "transmitting": True}]})]
    phase = figures.PhaseReport(
        name="p",
        seconds=4.0,
        links={"vaux": "down unshaped; up unshaped"},
        kiosks={"vaux": kiosk},
        server=None,
        sitting=figures.sitting_figures(views, T0 / 1000, T0 / 1000 + 4),
        machine=figures.MachineFigures(50.0, 1.0, {"vaux": 30.0}),
        journal=({"type": "SetAudioOnly", "salle_id": "vaux", "audio_only": True},),
    )
    report = figures.Report("s", "d", "2026-12-06", {"before": {}, "after": {}}, None, (phase,))
    assert figures.report_from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_a_slot_shown_as_paused_is_not_frozen():
    samples = steady(10, gap=(3.0, 7.0))
    for s in samples:
        if 3000 < s["t"] - T0 <= 7000:
            s["tiles"] = {"video-0": {"paused": True}}
    (v,) = figures.kiosk_figures("vaux", "salle", samples, T0, T0 + 10_000).video
    assert v.paused_s == pytest.approx(4.0)
    assert v.frozen_s == 0.0  # the notice, not a frozen picture
