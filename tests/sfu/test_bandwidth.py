"""sfu/bandwidth: the downlink estimate, the allocation of a subscriber's budget, the
uplink's demand and the audio-only fallback (issue 11), pure and with a clock passed in.

Examples first (each behaviour the module docstrings promise), then properties
(hypothesis) of the allocator over arbitrary slots, layers, budgets and losses."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfu import adaptation
from sfu.bandwidth import (
    Allocator,
    AllocatorSettings,
    BytesSent,
    DownlinkEstimator,
    EstimatorSettings,
    FallbackMachine,
    Layer,
    LinkSample,
    LossReport,
    ProducerLayers,
    Remb,
    RttSample,
    State,
    UplinkDemand,
    VideoSlot,
)
from sfu.bandwidth.allocator import ladder

Q, H, F = Layer(0, 0, 150_000), Layer(1, 0, 500_000), Layer(2, 0, 1_500_000)
MAX = {0: 200_000, 1: 700_000, 2: 2_000_000}


def producer(pid: str, *layers: Layer) -> ProducerLayers:
    return ProducerLayers(pid, layers or (Q, H, F), dict(MAX))


def two_slots(president="belcourt", speaker="vaux") -> list[VideoSlot]:
    return [VideoSlot("video-1", 1, producer(speaker)), VideoSlot("video-0", 0, producer(president))]


# --------------------------------------------------------------------------- estimator


def feed_sending(est: DownlinkEstimator, t0: float, seconds: float, bps: float, loss: float, step=0.5) -> float:
    """Send ``bps`` and get a receiver report of ``loss`` every ``step`` s; returns the end time."""
    t, sent = t0, 0
    while t < t0 + seconds:
        t += step
        sent += int(bps * step / 8)
        est.on_sent(t, BytesSent(sent))
        est.on_loss(t, [LossReport(loss, 100)])
    return t


def test_estimate_is_capped_by_a_fresh_remb_only():
    est = DownlinkEstimator(EstimatorSettings(initial_bps=800_000))
    est.on_remb(0.0, Remb(300_000))
    assert est.estimate(1.0) == 300_000
    assert est.estimate(5.0) == 300_000
    assert est.estimate(5.1) == 800_000  # older than 5 s: no longer a cap


def test_heavy_loss_decreases_at_most_once_per_interval_plus_rtt():
    est = DownlinkEstimator(EstimatorSettings(initial_bps=1_000_000))
    est.on_rtt(0.0, RttSample(0.2))
    est.on_loss(1.0, [LossReport(0.4, 100)])
    assert est.estimate(1.0) == pytest.approx(800_000)  # x (1 - 0.4 / 2)
    est.on_loss(1.3, [LossReport(0.4, 100)])  # within 300 ms + RTT of the last decrease
    assert est.estimate(1.3) == pytest.approx(800_000)
    est.on_loss(1.6, [LossReport(0.4, 100)])
    assert est.estimate(1.6) == pytest.approx(640_000)


def test_low_loss_grows_only_while_the_estimate_is_used():
    est = DownlinkEstimator(EstimatorSettings(initial_bps=500_000))
    feed_sending(est, 0.0, 10.0, bps=100_000, loss=0.0)  # sends a fifth of it: no evidence
    assert est.estimate(10.0) == 500_000
    est2 = DownlinkEstimator(EstimatorSettings(initial_bps=500_000))
    t = feed_sending(est2, 0.0, 3.0, bps=480_000, loss=0.0)  # sends near it: grows 8 % a second
    assert est2.estimate(t) == pytest.approx(500_000 * 1.08**3 + 3 * 1000, rel=0.01)
    t = feed_sending(est2, t, 10.0, bps=480_000, loss=0.0)  # ...until it is no longer used
    assert 640_000 <= est2.estimate(t) <= 640_000 * 1.08 + 1000  # 480 kbit/s is 3/4 of 640


def test_moderate_loss_holds_and_reports_are_weighted_by_packets():
    est = DownlinkEstimator(EstimatorSettings(initial_bps=500_000))
    feed_sending(est, 0.0, 5.0, bps=480_000, loss=0.05)
    assert est.estimate(5.0) == 500_000
    est.on_loss(6.0, [LossReport(0.5, 10), LossReport(0.0, 990)])  # 0.5 % overall
    assert est.loss == pytest.approx(0.005)


def test_garbage_feedback_is_ignored():
    est = DownlinkEstimator()
    est.on_remb(0.0, Remb(float("nan")))
    est.on_rtt(0.0, RttSample(-1.0))
    est.on_loss(0.0, [LossReport(float("inf"), 10)])
    assert est.remb is None and est.rtt is None and est.loss is None
    assert est.estimate(0.0) == EstimatorSettings().initial_bps


# --------------------------------------------------------------------------- allocator


def test_the_ladder_grants_every_lowest_layer_first_in_priority_order():
    rungs = [(r.slot, r.layer.spatial) for r in ladder(two_slots() + [VideoSlot("video-2", 2, None)])]
    assert rungs == [("video-0", 0), ("video-1", 0), ("video-0", 1), ("video-1", 1), ("video-0", 2), ("video-1", 2)]


def run(alloc: Allocator, budgets, audio=100_000, slots=None, loss=0.0, dt=1.0, t0=0.0):
    slots = slots or two_slots()
    out = []
    for i, b in enumerate(budgets):
        out.append(alloc.decide(t0 + i * dt, b, audio, slots, loss))
    return out


def test_a_large_budget_is_climbed_one_rung_at_a_time_to_the_top():
    alloc = Allocator()
    decisions = run(alloc, [10_000_000] * 20)
    changes = [d for d in decisions if d.change != "none"]
    assert [d.change for d in changes] == ["up"] * 6
    # one rung per up_interval_s (2 s)
    assert decisions[-1].slots == {"video-0": F, "video-1": F}


def test_a_shrinking_budget_lowers_layers_before_pausing_and_keeps_audio():
    alloc = Allocator()
    run(alloc, [10_000_000] * 14)
    assert alloc.current == {"video-0": F, "video-1": F}
    expectations = [
        (100_000 + 1_500_000 + 500_000, {"video-0": F, "video-1": H}),  # the speaker steps down first
        (100_000 + 500_000 + 500_000, {"video-0": H, "video-1": H}),
        (100_000 + 500_000 + 150_000, {"video-0": H, "video-1": Q}),
        (100_000 + 150_000 + 150_000, {"video-0": Q, "video-1": Q}),  # every layer lowered...
        (100_000 + 150_000, {"video-0": Q, "video-1": None}),  # ...before a slot is paused
        (100_000 + 100_000, {"video-0": None, "video-1": None}),
        (50_000, {"video-0": None, "video-1": None}),  # less than the audio: video gets nothing
    ]
    for i, (budget, slots) in enumerate(expectations):
        d = alloc.decide(100.0 + i, budget, 100_000, two_slots(), 0.0)
        assert d.slots == slots, (budget, d)
        assert d.change == ("down" if i < 6 else "none")
        assert d.video_bps <= max(0, budget - 100_000)
    assert d.paused == ("video-1", "video-0")


def test_a_rung_without_headroom_is_only_probed_and_a_failed_probe_backs_off():
    alloc = Allocator(AllocatorSettings(probe_interval_s=5.0, up_interval_s=2.0))
    budget = 100_000 + 150_000 + 150_000 + 360_000  # H for video-0 fits (+350 k) but not with 15 % headroom
    first = run(alloc, [budget] * 4)  # t = 0..3: Q for video-0 at 0, Q for video-1 at 2
    assert alloc.current == {"video-0": Q, "video-1": Q} and [d.change for d in first] == ["up", "none", "up", "none"]
    d = alloc.decide(6.5, budget, 100_000, two_slots(), 0.0)
    assert d.change == "none"  # 4.5 s since the last change: not yet
    d = alloc.decide(7.0, budget, 100_000, two_slots(), 0.0)
    assert d.change == "probe" and d.slots["video-0"] == H
    d = alloc.decide(8.0, budget - 20_000, 100_000, two_slots(), 0.0)  # the estimate fell: probe undone
    assert d.change == "down" and d.slots["video-0"] == Q
    assert alloc.probe_interval == 10.0
    d = alloc.decide(15.0, budget, 100_000, two_slots(), 0.0)
    assert d.change == "none"  # 7 s after the failure: the next probe waits 10 s
    assert alloc.decide(18.0, budget, 100_000, two_slots(), 0.0).change == "probe"
    d = alloc.decide(23.0, budget, 100_000, two_slots(), 0.0)  # held for probe_window_s: a success
    assert d.change == "none" and d.slots["video-0"] == H and alloc.probe_interval == 5.0


def test_no_step_up_while_loss_is_high():
    alloc = Allocator()
    decisions = run(alloc, [10_000_000] * 10, loss=0.05)
    assert all(d.change == "none" for d in decisions) and alloc.current == {"video-0": None, "video-1": None}


def test_a_slot_whose_source_changes_keeps_its_level():
    alloc = Allocator()
    run(alloc, [100_000 + 500_000 + 500_000 + 80_000] * 10)
    assert alloc.current == {"video-0": H, "video-1": H}
    d = alloc.decide(20.0, 1_180_000, 100_000, two_slots(speaker="saint-ferreol"), 0.0)
    assert d.slots == {"video-0": H, "video-1": H} and d.change == "none"


# --------------------------------------------------------------------------- demand


def test_uplink_demand_switches_unneeded_encodings_off_after_a_delay_and_on_at_once():
    demand = UplinkDemand()
    producers = {"vaux": producer("vaux")}
    d = demand.update(0.0, producers, [("vaux", Q), ("vaux", F)])["vaux"]
    assert d.highest == F and d.needed == {0, 2}
    assert d.active == {0: True, 1: True, 2: True}  # a new producer starts with everything on
    assert d.remb_bps == 2_500_000  # 2.9 Mbit/s of encodings, capped
    d = demand.update(3.0, producers, [("vaux", Q)])["vaux"]
    assert d.active == {0: True, 1: True, 2: True}  # F needed 3 s ago: still on
    d = demand.update(5.5, producers, [("vaux", Q)])["vaux"]
    assert d.active == {0: True, 1: False, 2: False} and d.switched_off == {1, 2}
    assert d.remb_bps == 200_000
    d = demand.update(6.0, producers, [("vaux", H)])["vaux"]
    assert d.active == {0: True, 1: True, 2: False} and d.remb_bps == 900_000
    d = demand.update(20.0, producers, [])["vaux"]
    assert d.highest is None and d.active == {0: True, 1: False, 2: False}  # the lowest stays on
    d = demand.update(21.0, producers, [("vaux", F)])["vaux"]
    d = demand.update(30.0, producers, [("vaux", F)])["vaux"]
    assert d.active == {0: True, 1: True, 2: True}  # below the highest received: kept on


# --------------------------------------------------------------------------- fallback


def sample(down, up=1_000_000, loss=0.0, down_need=130_000, up_need=200_000) -> LinkSample:
    return LinkSample(down, down_need, up, up_need, loss, 0.0)


def test_a_link_that_cannot_carry_the_lowest_layer_goes_audio_only_after_a_sustained_period():
    m = FallbackMachine()
    assert m.observe(0.0, sample(100_000)) is None
    assert m.observe(2.0, sample(500_000)) is None  # a dip, not sustained
    switches = [m.observe(t, sample(90_000, loss=0.3)) for t in (3.0, 4.0, 5.0, 6.0, 7.0)]
    (switch,) = [s for s in switches if s is not None]
    assert switch.audio_only and switch.at == 7.0 and switch.reason == "down"
    assert switch.figures["down_kbps"] == 90.0 and switch.figures["down_need_kbps"] == 130.0
    assert switch.figures["down_loss_pct"] == 30.0 and switch.figures["seconds"] == 4.0
    assert m.audio_only and not m.send_video


def test_uplink_too_weak_counts_too():
    m = FallbackMachine()
    switches = [m.observe(float(t), sample(1_000_000, up=120_000)) for t in range(6)]
    assert [(t, s.reason) for t, s in enumerate(switches) if s] == [(4, "up")]
    assert switches[4].figures["up_kbps"] == 120.0 and switches[4].figures["up_need_kbps"] == 200.0


def test_a_trial_brings_video_back_when_the_link_carries_it():
    m = FallbackMachine()
    for t in range(5):
        m.observe(float(t), sample(90_000))
    assert m.state is State.AUDIO_ONLY  # since t=4
    t = 4.0
    while m.state is State.AUDIO_ONLY:
        t += 1.0
        assert m.observe(t, sample(110_000)) is None  # audio-only: the estimate stays low, loss is low
    assert m.state is State.TRIAL and t == 14.0  # retry_after_s after the switch
    assert m.audio_only and m.send_video and m.probe_bps == 130_000
    switch = None
    while switch is None:
        t += 1.0
        switch = m.observe(t, sample(140_000 if t > 15 else 100_000))  # grace: the estimate rises
    assert switch.audio_only is False and switch.reason == "trial" and t == 19.0
    assert m.state is State.VIDEO and m.probe_bps == 0.0


def in_a_trial() -> tuple[FallbackMachine, float]:
    """A machine sent audio-only by a lossy link, then calm until its first trial: it and
    the time of that trial's first sample."""
    m = FallbackMachine()
    for t in range(5):
        m.observe(float(t), sample(90_000, loss=0.3))
    t = 4.0
    while m.state is not State.TRIAL:
        t += 1.0
        assert m.observe(t, sample(100_000)) is None
    return m, t


def test_a_lossless_trial_brings_video_back_even_while_the_estimate_lags_the_need():
    # the lab's crawl-120, restored: the loss-based estimate rose from 198 to 209 kbit/s in
    # the 5 s of a trial needing 224 without any loss; judged on it, the trial failed and
    # video stayed off for the 30 s after the restore
    m, t = in_a_trial()
    switch = None
    while switch is None and t < 30:
        t += 1.0
        switch = m.observe(t, sample(110_000, down_need=224_000))
    assert switch is not None and switch.reason == "trial" and switch.audio_only is False
    assert m.state is State.VIDEO


def test_a_trial_the_link_cannot_carry_fails_on_its_loss():
    m, t = in_a_trial()
    t += 1.0
    assert m.observe(t, sample(100_000, loss=0.5)) is None  # 120 kbit/s: the picture is lost
    assert m.state is State.AUDIO_ONLY and m.retry_after == 20.0


def test_a_successful_trial_makes_its_need_the_downlinks_estimate():
    link = adaptation.SubscriberLink(EstimatorSettings(), AllocatorSettings())
    link.estimator.lower_to(0.0, 120_000)
    link.probe_failed_at = 1.0  # a probe failed while the link was weak
    assert adaptation.tested(link, 2.0)
    adaptation.proven(link, 2.0, 224_000)
    assert link.estimator.estimate(2.0) >= 224_000
    assert not adaptation.tested(link, 2.0)  # the old, low estimate is no longer evidence


def test_a_failed_trial_returns_to_audio_only_and_backs_off_up_to_a_bound():
    m = FallbackMachine()
    for t in range(5):
        m.observe(float(t), sample(90_000))
    trials = []
    t = 4.0
    while t < 120:
        t += 1.0
        was = m.state
        assert m.observe(t, sample(110_000, loss=0.25 if m.state is State.TRIAL else 0.0)) is None
        if was is not State.TRIAL and m.state is State.TRIAL:
            trials.append(t)
    assert m.audio_only
    gaps = [b - a for a, b in itertools.pairwise(trials)]
    assert trials[0] == 14.0 and gaps[0] == 21.0 and all(g == 21.0 for g in gaps)  # 20 s max, plus the trial


def test_an_estimate_that_recovers_by_itself_brings_video_back_without_a_trial():
    m = FallbackMachine()
    for t in range(5):
        m.observe(float(t), sample(90_000, loss=0.5))
    t, switch = 4.0, None
    while switch is None:
        t += 1.0
        switch = m.observe(t, sample(400_000, loss=0.0 if t > 5 else 0.5))
    assert switch.reason == "recovered" and t == 16.0


# --------------------------------------------------------------------------- properties

layer_sets = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(20_000, 2_000_000)),
    min_size=1,
    max_size=6,
    unique_by=lambda x: (x[0], x[1]),
).map(lambda xs: tuple(sorted(Layer(s, t, b) for s, t, b in xs)))


@st.composite
def slot_sets(draw):
    n = draw(st.integers(1, 4))
    out = []
    for i in range(n):
        layers = draw(st.none() | layer_sets)
        source = None if layers is None else ProducerLayers(f"p{i}", layers)
        out.append(VideoSlot(f"video-{i}", draw(st.integers(0, 3)), source))
    return out


ticks = st.lists(
    st.tuples(st.integers(0, 5_000_000), st.integers(0, 300_000), st.sampled_from([0.0, 0.01, 0.05, 0.3])),
    min_size=1,
    max_size=40,
)


def order(layer):
    return (-1, -1) if layer is None else (layer.spatial, layer.temporal)


@settings(max_examples=200, deadline=None)
@given(slots=slot_sets(), ticks=ticks, dt=st.sampled_from([0.1, 0.5, 1.0, 3.0]))
def test_audio_is_never_starved_while_video_takes_budget(slots, ticks, dt):
    alloc = Allocator()
    for i, (budget, audio, loss) in enumerate(ticks):
        d = alloc.decide(i * dt, budget, audio, slots, loss)
        assert d.video_bps <= max(0, budget - audio)
        if d.video_bps > 0:
            assert budget - d.video_bps >= audio


@settings(max_examples=200, deadline=None)
@given(
    slots=slot_sets(),
    steps=st.lists(st.integers(0, 400_000), min_size=1, max_size=40),
    dt=st.sampled_from([0.5, 2.0, 6.0]),
)
def test_a_budget_that_grows_never_lowers_a_layer(slots, steps, dt):
    alloc = Allocator()
    budget, previous = 0, {}
    for i, step in enumerate(steps):
        budget += step
        d = alloc.decide(i * dt, budget, 100_000, slots, 0.0)
        for slot, layer in d.slots.items():
            assert order(layer) >= order(previous.get(slot)), (slot, previous.get(slot), layer)
        previous = dict(d.slots)


@settings(max_examples=200, deadline=None)
@given(
    slots=slot_sets(),
    budget=st.integers(0, 5_000_000),
    audio=st.integers(0, 200_000),
    loss=st.sampled_from([0.0, 0.05]),
    dt=st.sampled_from([0.2, 1.0, 5.0]),
)
def test_no_oscillation_under_a_steady_budget(slots, budget, audio, loss, dt):
    alloc = Allocator()
    rungs = len(ladder(slots))
    history = [alloc.decide(i * dt, budget, audio, slots, loss).slots for i in range(200)]
    changes = sum(1 for a, b in itertools.pairwise(history) if a != b)
    assert changes <= rungs
    assert all(h == history[-1] for h in history[-50:])  # settled, and stays


@settings(max_examples=100, deadline=None)
@given(slots=slot_sets(), ticks=ticks)
def test_decisions_are_deterministic_given_the_inputs(slots, ticks):
    def replay():
        alloc, est, fb, demand = Allocator(), DownlinkEstimator(), FallbackMachine(), UplinkDemand()
        out = []
        producers = {s.source.producer: s.source for s in slots if s.source}
        for i, (budget, audio, loss) in enumerate(ticks):
            now = i * 0.7
            est.on_remb(now, Remb(budget))
            est.on_loss(now, [LossReport(loss, 50)])
            est.on_sent(now, BytesSent(i * 40_000))
            d = alloc.decide(now, est.estimate(now), audio, slots, est.loss)
            switch = fb.observe(now, LinkSample(est.estimate(now), audio + 100_000, budget, 200_000, loss, loss))
            dem = demand.update(now, producers, [(s.source.producer, d.slots[s.slot]) for s in slots if s.source])
            out.append((est.estimate(now), dict(d.slots), d.change, switch, fb.state, dem))
        return out

    assert replay() == replay()
