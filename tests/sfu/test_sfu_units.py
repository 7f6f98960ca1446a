"""Unit tests: packet cache, speaker detection, health state machine, slot policy, ICE."""

import pytest

from sfu.config import HealthSettings, IceSettings, SpeakerSettings
from sfu.health import HealthMonitor
from sfu.ice import announced, gather_addresses, strip_mdns_candidates
from sfu.packet_cache import PacketCache
from sfu.slots import PolicyInput, assign_salle, assign_viewer, layout
from sfu.speaker import SpeakerDetector

# --- packet cache -------------------------------------------------------------------


def test_packet_cache_hits_and_misses():
    cache = PacketCache(8, max_age=1.0)
    for seq in range(65530, 65536):
        cache.put(seq, bytes([seq & 0xFF]), now=0.0)
    cache.put(0, b"zero", now=0.0)
    assert cache.get(65535) == bytes([0xFF])
    assert cache.get(0) == b"zero"
    assert cache.get(65530 + 8) is None  # same slot index, different sequence
    cache.put(8, b"eight", now=0.5)  # overwrites slot of 0
    assert cache.get(0) is None
    assert cache.get(8, now=1.4) == b"eight"
    assert cache.get(8, now=1.6) is None  # too old to be worth resending
    with pytest.raises(ValueError):
        PacketCache(100)


# --- speaker ------------------------------------------------------------------------


def run(det, levels_by_salle, start, duration, step=0.02):
    t = start
    while t < start + duration - 1e-9:
        for salle, level in levels_by_salle.items():
            det.observe(salle, level, t)
        det.update(t)
        t += step
    return t


def test_speaker_needs_margin_and_hold():
    det = SpeakerDetector(SpeakerSettings(smoothing=0.2, switch_margin=6, hold=0.8))
    t = run(det, {"a": 30, "b": 127, "c": 127}, 0.0, 2.0)  # a speaks (loudness 97)
    assert det.active == "a"
    t = run(det, {"a": 32, "b": 30, "c": 127}, t, 2.0)  # b as loud as a: no switch
    assert det.active == "a"
    t = run(det, {"a": 127, "b": 30, "c": 127}, t, 0.5)  # a stops: not yet (hold)
    assert det.active == "a"
    t = run(det, {"a": 127, "b": 30, "c": 127}, t, 1.0)
    assert det.active == "b"


def test_speaker_ignores_a_cough():
    det = SpeakerDetector(SpeakerSettings(smoothing=0.3, hold=0.8))
    t = run(det, {"a": 40, "b": 120}, 0.0, 2.0)
    assert det.active == "a"
    t = run(det, {"a": 40, "b": 5}, t, 0.3)  # a 300 ms burst from b
    t = run(det, {"a": 40, "b": 120}, t, 2.0)
    assert det.active == "a"


def test_silence_never_takes_the_floor_and_last_speaker_stays():
    det = SpeakerDetector(SpeakerSettings(silence_threshold=30))
    run(det, {"a": 127, "b": 120}, 0.0, 2.0)
    assert det.active is None
    t = run(det, {"a": 50, "b": 127}, 2.0, 2.0)
    assert det.active == "a"
    run(det, {"a": 127, "b": 127}, t, 3.0)
    assert det.active == "a"


def test_stale_salle_is_silent_and_forget_clears():
    det = SpeakerDetector(SpeakerSettings(stale_after=0.5, hold=0.2))
    run(det, {"a": 20}, 0.0, 1.0)
    assert det.active == "a"
    assert det.loudness("a", 1.0) > 50
    assert det.loudness("a", 2.0) == 0.0
    det.forget("a")
    assert det.active is None


def test_ineligible_salle_loses_the_floor():
    det = SpeakerDetector(SpeakerSettings(hold=0.2))
    run(det, {"a": 20, "b": 100}, 0.0, 1.0)
    assert det.active == "a"
    det.update(1.0, eligible={"b"})
    assert det.active != "a"


# --- health -------------------------------------------------------------------------


def flow(mon, start, end, step=0.02, out=True, ack_every=1.0):
    t = start
    last_ack = start
    while t < end:
        mon.packet_in(t)
        if out:
            mon.packet_out(t)
            if t - last_ack >= ack_every:
                mon.acknowledged(50, t)
                last_ack = t
        mon.evaluate(t)
        t += step
    return t


def test_health_goes_transmitting_after_recover_delay():
    mon = HealthMonitor(HealthSettings(uplink_timeout=2.5, downlink_timeout=10, recover_after=1.0))
    mon.connect()
    assert mon.evaluate(0.0) is None and not mon.transmitting
    flow(mon, 0.0, 0.9)
    assert not mon.transmitting
    flow(mon, 0.9, 1.2)
    assert mon.transmitting


def test_one_lost_packet_does_not_flip_state():
    mon = HealthMonitor(HealthSettings())
    mon.connect()
    t = flow(mon, 0.0, 3.0)
    assert mon.transmitting
    # a 1 s hole in the uplink (well under the grace period)
    for i in range(50):
        assert mon.evaluate(t + i * 0.02) is None
    t = flow(mon, t + 1.0, t + 2.0)
    assert mon.transmitting


def test_uplink_silence_loses_then_recovers():
    mon = HealthMonitor(HealthSettings(uplink_timeout=2.5, recover_after=1.0))
    mon.connect()
    t = flow(mon, 0.0, 3.0)
    changes = [mon.evaluate(t + 0.5 * i) for i in range(1, 7)]
    assert False in changes and not mon.transmitting
    t = t + 3.0
    flow(mon, t, t + 0.5)
    assert not mon.transmitting  # hysteresis: needs 1 s of flow
    flow(mon, t + 0.5, t + 1.6)
    assert mon.transmitting


def test_downlink_unacknowledged_loses():
    mon = HealthMonitor(HealthSettings(downlink_timeout=3.0))
    mon.connect()
    t = flow(mon, 0.0, 2.0)
    assert mon.transmitting
    # the salle keeps sending but never acknowledges what we send it
    t2 = t
    while t2 < t + 5.0:
        mon.packet_in(t2)
        mon.packet_out(t2)
        mon.evaluate(t2)
        t2 += 0.02
    assert not mon.transmitting


def test_nothing_to_deliver_is_not_a_downlink_failure():
    mon = HealthMonitor(HealthSettings())
    mon.connect()
    flow(mon, 0.0, 20.0, out=False)
    assert mon.transmitting


def test_disconnect_is_lost_at_once_and_snapshot():
    mon = HealthMonitor(HealthSettings())
    mon.connect()
    flow(mon, 0.0, 2.0)
    assert mon.lost() is False
    assert mon.evaluate(2.0) is None and not mon.transmitting
    snap = mon.snapshot(mono_now=2.0, wall_now=1000.0)
    assert snap.transmitting is False and snap.packets_in > 0
    assert snap.last_packet_at == pytest.approx(1000.0, abs=0.1)


# --- slots --------------------------------------------------------------------------

S3 = ["belcourt", "vaux", "saint-ferreol"]


def test_layouts():
    salle = layout("salle", 2, 3)
    assert [(e["kind"], e["direction"]) for e in salle] == [
        ("audio", "sendonly"),
        ("video", "sendonly"),
        ("video", "recvonly"),
        ("video", "recvonly"),
        ("audio", "recvonly"),
        ("audio", "recvonly"),
        ("audio", "recvonly"),
    ]
    viewer = layout("viewer", 2, 3)
    assert [e["slot"] for e in viewer] == ["programme", "audio-0", "audio-1", "audio-2"]
    assert all(e["direction"] == "recvonly" for e in viewer)


def test_three_salles_each_see_the_two_others():
    inp = PolicyInput(
        set(S3),
        set(S3),
        president="belcourt",
        speaker="vaux",
        recency=["vaux"],
        loudest=["vaux", "belcourt", "saint-ferreol"],
    )
    for me in S3:
        a = assign_salle(me, inp, {})
        assert {a["video-0"], a["video-1"]} == set(S3) - {me}
        assert {a["audio-0"], a["audio-1"]} == set(S3) - {me}
        assert a["audio-2"] is None
    assert assign_salle("vaux", inp, {})["video-0"] == "belcourt"


def test_pin_takes_main_slot_and_sticky_slots_do_not_swap():
    inp = PolicyInput(set(S3) | {"d"}, set(S3), president="belcourt", speaker="vaux", recency=["vaux", "d"])
    a = assign_salle("belcourt", inp, {})
    assert (a["video-0"], a["video-1"]) == ("vaux", "d")
    inp.speaker, inp.recency = "d", ["d", "vaux"]
    b = assign_salle("belcourt", inp, a)
    assert (b["video-0"], b["video-1"]) == ("vaux", "d")  # same set: no swap
    inp.pinned = "saint-ferreol"
    c = assign_salle("vaux", inp, {})
    assert c["video-0"] == "saint-ferreol" and c["video-1"] == "d"


def test_audio_only_and_muted_salles():
    inp = PolicyInput({"belcourt"}, {"belcourt", "vaux"}, president="belcourt", loudest=["vaux", "belcourt"])
    a = assign_salle("saint-ferreol", inp, {})
    assert a["video-0"] == "belcourt" and a["video-1"] is None
    assert {a["audio-0"], a["audio-1"]} == {"belcourt", "vaux"}
    none = assign_salle("saint-ferreol", inp, {}, receives_video=False)
    assert none["video-0"] is None and none["video-1"] is None


def test_the_floor_drives_the_programme_unless_a_salle_is_pinned():
    """Issue 15, point 2: the chair gives the floor to a councillor in saint-ferreol while
    vaux is the loudest: the public picture is the floor's salle; a pin still wins."""
    inp = PolicyInput(set(S3), set(S3), president="belcourt", speaker="vaux", floor="saint-ferreol")
    assert assign_viewer(inp, {})["programme"] == "saint-ferreol"
    inp.pinned = "belcourt"
    assert assign_viewer(inp, {})["programme"] == "belcourt"


def test_the_floor_s_salle_is_in_every_kiosk_s_slots():
    """With more salles than slots, the floor's salle takes the speaker slot of every kiosk
    (the kiosk shows it large), ahead of the loudest salle."""
    salles = {"belcourt", "vaux", "saint-ferreol", "lanterne"}
    inp = PolicyInput(salles, salles, president="belcourt", speaker="vaux", floor="lanterne", recency=["vaux"])
    for me in ("vaux", "saint-ferreol"):
        got = assign_salle(me, inp, {}, video_slots=2)
        assert got["video-0"] == "belcourt" and got["video-1"] == "lanterne", (me, got)
    assert "lanterne" not in assign_salle("lanterne", inp, {}, video_slots=2).values()  # never its own salle


def test_viewer_programme():
    inp = PolicyInput(set(S3), set(S3), president="belcourt", speaker="vaux")
    assert assign_viewer(inp, {})["programme"] == "vaux"
    inp.pinned = "saint-ferreol"
    assert assign_viewer(inp, {})["programme"] == "saint-ferreol"
    inp.pinned, inp.speaker = None, None
    assert assign_viewer(inp, {})["programme"] == "belcourt"
    v = assign_viewer(inp, {}, audio_slots=3)
    assert {v["audio-0"], v["audio-1"], v["audio-2"]} == set(S3)


# --- ICE ----------------------------------------------------------------------------


def test_strip_mdns_candidates():
    sdp = (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        "a=candidate:1 1 udp 2122260223 1f0c7c9e-0e4a-4c1e-9b4e-2f1b0d1c2e3f.local 54400 typ host generation 0\r\n"
        "a=candidate:2 1 udp 2122260223 192.0.2.7 54401 typ host\r\n"
    )
    out, n = strip_mdns_candidates(sdp)
    assert n == 1 and ".local" not in out and "192.0.2.7" in out


def test_ice_addresses_and_announcement():
    assert gather_addresses(IceSettings(listen_addresses=("127.0.0.1",))) == ["127.0.0.1"]
    assert "127.0.0.1" in gather_addresses(IceSettings())
    assert "127.0.0.1" not in gather_addresses(IceSettings(include_loopback=False))
    s = IceSettings(announced_address="203.0.113.5")
    assert announced("10.0.0.5", s) == "203.0.113.5"
    assert announced("127.0.0.1", s) == "127.0.0.1"
    assert announced("10.0.0.5", IceSettings()) == "10.0.0.5"


def test_R19_sensitive_passage_empties_every_public_slot_but_not_the_salles():
    inp = PolicyInput(
        set(S3),
        set(S3),
        president="belcourt",
        speaker="vaux",
        loudest=["vaux", "belcourt", "saint-ferreol"],
        public_silenced=True,
    )
    assert set(assign_viewer(inp, {}, 3).values()) == {None}
    salle = assign_salle("belcourt", inp, {}, 2, 3)
    assert "vaux" in salle.values()  # the salles still see and hear each other (R2)


def test_R20_objection_keeps_a_salle_off_the_public_picture_but_not_its_voice():
    inp = PolicyInput(
        set(S3),
        set(S3),
        president="belcourt",
        speaker="vaux",
        pinned="vaux",
        loudest=["vaux", "belcourt", "saint-ferreol"],
        no_broadcast=frozenset({"vaux"}),
    )
    viewer = assign_viewer(inp, {}, 3)
    assert viewer["programme"] not in (None, "vaux")
    assert "vaux" in [viewer[f"audio-{i}"] for i in range(3)]
    only = PolicyInput({"vaux"}, {"vaux"}, speaker="vaux", no_broadcast=frozenset({"vaux"}))
    assert assign_viewer(only, {}, 3)["programme"] is None


# --- the linear policy decides as the first (quadratic) one did -----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sfu.slots import _sticky, audio_slot, video_slot  # noqa: E402


def _reference_assign_salle(me, inp, previous, video_slots=2, audio_slots=3, receives_video=True):
    """sfu.slots.assign_salle as first written (before 2026-11-25): O(N) per subscriber
    with a quadratic dedupe, so O(N^2..N^3) per tick (73 ms at 158 salles)."""

    def dedupe(items):
        seen = []
        for i in items:
            if i is not None and i not in seen:
                seen.append(i)
        return seen

    vslots = [video_slot(i) for i in range(video_slots)]
    out = {}
    if receives_video and vslots:
        designated = inp.pinned or inp.president
        prefs = dedupe([designated, inp.speaker, *inp.recency, *sorted(inp.video_sources)])
        valid = [s for s in prefs if s != me and s in inp.video_sources]
        if designated in valid:
            out[vslots[0]] = designated
            out.update(_sticky(vslots[1:], [v for v in valid if v != designated], previous))
        else:
            out.update(_sticky(vslots, valid, previous))
    else:
        out.update(dict.fromkeys(vslots))
    aslots = [audio_slot(i) for i in range(audio_slots)]
    voices = [s for s in dedupe([*inp.loudest, *sorted(inp.audio_sources)]) if s != me and s in inp.audio_sources]
    out.update(_sticky(aslots, voices, previous))
    return out


NAMES = [f"s{i}" for i in range(9)]
name = st.sampled_from(NAMES)


@settings(max_examples=300, deadline=None)
@given(
    video=st.sets(name),
    audio=st.sets(name),
    president=st.none() | name,
    pinned=st.none() | name,
    speaker=st.none() | name,
    recency=st.lists(name, unique=True),
    loudest=st.permutations(NAMES),
    prev=st.dictionaries(st.sampled_from(["video-0", "video-1", "audio-0", "audio-1", "audio-2"]), st.none() | name),
    vs=st.integers(1, 3),
    aus=st.integers(1, 4),
    receives=st.booleans(),
)
def test_policy_is_unchanged_by_the_linear_rewrite(
    video, audio, president, pinned, speaker, recency, loudest, prev, vs, aus, receives
):
    inp = PolicyInput(
        video, audio, president=president, pinned=pinned, speaker=speaker, recency=recency, loudest=list(loudest)
    )
    for me in NAMES[:4]:
        assert assign_salle(me, inp, prev, vs, aus, receives) == _reference_assign_salle(
            me, inp, prev, vs, aus, receives
        )
