"""The report's sizing block (issue 17): memory per salle against its goal, and the cores
a 158-salle sitting would need, projected from given figures. Arithmetic only: no run,
no timing."""

from __future__ import annotations

import pytest

from bench import report as rep


def _per_salle(n: int, video: int, audio: int, voices: int) -> list[dict]:
    """``n`` salles, each receiving ``video`` packets on each of its video slots and
    ``audio`` on each audio slot, as their ``by_source`` would say."""
    v_slots, a_slots = rep.slots(n, voices)
    out = []
    for i in range(n):
        others = [(i + k) % n for k in range(1, n)]
        by_source = {f"{s}:v": video for s in others[:v_slots]}
        by_source |= {f"{s}:a": audio for s in others[:a_slots]}
        out.append({"salle": i, "by_source": by_source})
    return out


def test_slots_follow_the_layout_and_never_the_salle_itself() -> None:
    assert rep.slots(158, 3) == (2, 3)
    assert rep.slots(24, 12) == (2, 12)
    assert rep.slots(3, 3) == (2, 2)  # a salle of 3 has two others to hear
    assert rep.slots(2, 3) == (1, 1)


def test_slot_rates_divide_by_window_subscribers_and_slots() -> None:
    # 12 salles, 10 s: each video slot got 1,000 packets (100/s), each audio slot 500 (50/s)
    v, a = rep.slot_rates(_per_salle(12, 1000, 500, 3), 12, 3, 10.0)
    assert (v, a) == pytest.approx((100.0, 50.0))
    # three voices asked, two others only: the rate is per filled slot
    v, a = rep.slot_rates(_per_salle(3, 1000, 500, 3), 3, 3, 10.0)
    assert (v, a) == pytest.approx((100.0, 50.0))
    assert rep.slot_rates([], 12, 3, 10.0) == (0.0, 0.0)


def test_projection_arithmetic_for_158_salles() -> None:
    sz = rep.sizing(
        rss_mb_per_salle=1.5,
        cpu_us_per_forwarded_packet=20.0,
        video_pps_per_slot=100.0,
        audio_pps_per_slot=50.0,
        incoming_pps_per_salle=150.0,
        voices=3,
    )
    # 158 × (2 × 100 + 3 × 50) = 55,300 forwarded packets/s; × 20 µs = 1.106 core
    assert sz["projected_salles"] == 158
    assert (sz["video_slots"], sz["audio_slots"]) == (2, 3)
    assert sz["projected_forwarded_pps"] == 55_300.0
    assert sz["projected_incoming_pps"] == 23_700.0
    assert sz["projected_cores"] == pytest.approx(1.11, abs=0.005)
    assert sz["rss_within_goal"] is True
    assert "158" in sz["formula"]
    assert rep.validate({**rep.empty_figures(2, 1.0), "salles": 2, "sizing": sz}) == []


def test_projection_grows_with_voices_and_the_memory_goal_can_be_missed() -> None:
    sz = rep.sizing(2.5, 10.0, 100.0, 50.0, 150.0, voices=12, salles=50)
    assert sz["projected_forwarded_pps"] == 50 * (2 * 100 + 12 * 50)
    assert sz["projected_cores"] == pytest.approx(0.4)
    assert sz["rss_within_goal"] is False


def test_unmeasured_figures_stay_null() -> None:
    sz = rep.sizing(None, None, 100.0, 50.0, 150.0, voices=3)
    assert sz["projected_cores"] is None and sz["rss_within_goal"] is None
    assert sz["projected_forwarded_pps"] == 55_300.0  # the packet rates are still measured


def test_run_sizing_takes_a_runs_counts() -> None:
    run = rep.TargetRun(salles=12, window_s=10.0, cpu_s=1.0, rss_idle=100 * 2**20, rss_loaded=118 * 2**20)
    run.per_salle = _per_salle(12, 1000, 500, 3)
    run.received = sum(sum(r["by_source"].values()) for r in run.per_salle)
    run.sent = run.expected = run.received
    fig = rep.figures(run, 0.0)
    sz = rep.run_sizing(run, fig, 12, 3)
    assert sz["rss_mb_per_salle"] == 1.5
    assert (sz["video_pps_per_slot"], sz["audio_pps_per_slot"]) == (100.0, 50.0)
    # 1 s of CPU over 42,000 packets: 23.81 µs each; × 55,300/s at 158 salles
    assert sz["projected_cores"] == pytest.approx(fig["server_cpu_us_per_forwarded_packet"] * 55_300 / 1e6, abs=0.01)


def test_a_malformed_sizing_block_is_named() -> None:
    base = {**rep.empty_figures(2, 1.0)}
    good = rep.sizing(1.0, 10.0, 100.0, 50.0, 150.0, voices=3)
    assert rep.validate({**base, "sizing": {**good, "projected_cores": -1}}) == [
        "sizing.projected_cores: not a non-negative number"
    ]
    assert rep.validate({**base, "sizing": {k: v for k, v in good.items() if k != "formula"}})
    assert rep.validate({**base, "janus": {**base, "sizing": {**good, "rss_within_goal": "yes"}}}, janus=True) == [
        "janus.sizing.rss_within_goal: not a boolean"
    ]
    table = rep.table({**base, "sizing": good})
    assert "158 salles: projected_cores" in table and "rss goal ≤ 2 MB/salle met" in table
