"""A simulcast publisher's uplink sheds its larger encodings before R3 judges it
(sfu.bandwidth.uplink_fit), as a pure machine driven by the test's clock."""

from sfu.bandwidth import UplinkFit, UplinkFitSettings

S = UplinkFitSettings(
    shed_loss=0.06,
    shed_after_s=2.0,
    severe_loss=0.3,
    severe_after_s=1.0,
    settle_s=2.0,
    calm_loss=0.03,
    calm_s=10.0,
    max_calm_s=40.0,
    trial_s=4.0,
)


def run(fit: UplinkFit, start: float, seconds: float, loss: float | None, step: float = 0.5) -> list[int]:
    """The tops observed every ``step`` from ``start`` for ``seconds`` at ``loss``."""
    n = int(seconds / step)
    return [fit.observe(start + i * step, loss) for i in range(n)]


def test_a_congested_uplink_sheds_one_encoding_at_a_time_down_to_the_smallest():
    fit = UplinkFit(3, S)
    assert fit.top == 2 and not fit.carries_lowest_alone
    tops = run(fit, 0.0, 10.0, 0.15)
    # 2 s of loss sheds the largest, 2 s more the middle one; the smallest is never shed
    assert tops[:4] == [2, 2, 2, 2] and tops[4] == 1, tops
    assert tops[8] == 0 and set(tops[8:]) == {0}, tops
    assert fit.carries_lowest_alone


def test_random_loss_below_the_threshold_keeps_every_encoding():
    fit = UplinkFit(3, S)
    assert set(run(fit, 0.0, 60.0, 0.02)) == {2}


def test_a_short_burst_sheds_nothing():
    fit = UplinkFit(3, S)
    tops = run(fit, 0.0, 1.5, 0.3) + run(fit, 1.5, 5.0, 0.0)
    assert set(tops) == {2}, tops


def test_the_way_back_is_a_trial_after_calm_and_a_failed_trial_doubles_the_wait():
    fit = UplinkFit(3, S)
    run(fit, 0.0, 10.0, 0.15)
    assert fit.top == 0
    # calm: after calm_s the middle encoding is tried
    tops = run(fit, 10.0, 10.5, 0.0)
    assert tops[-1] == 1 and fit.trial_since is not None, tops
    # the trial loses: shed at once, and the next trial waits twice as long
    assert fit.observe(21.0, 0.2) == 0 and fit.calm_s == 20.0
    tops = run(fit, 21.5, 15.0, 0.0)
    assert set(tops) == {0}, "tried again before the doubled wait"
    tops = run(fit, 36.5, 6.0, 0.0)
    assert tops[-1] == 1, tops
    # a trial that holds for trial_s is kept, and the wait is back to calm_s for the next
    run(fit, 42.5, S.trial_s + 0.5, 0.0)
    assert fit.top == 1 and fit.trial_since is None and fit.calm_s == S.calm_s
    tops = run(fit, 47.5, 11.0, 0.0)
    assert tops[-1] == 2


def test_the_wait_is_bounded():
    fit = UplinkFit(2, S)
    run(fit, 0.0, 3.0, 0.5)
    assert fit.top == 0
    t, waits = 3.0, []
    for _ in range(5):  # fail trial after trial
        began = t
        while fit.top == 0 and t < 1000:
            t += 0.5
            fit.observe(t, 0.0)
        waits.append(t - began)
        t += 0.5
        assert fit.observe(t, 0.5) == 0
    assert [round(w) for w in waits] == [10, 20, 40, 40, 40], waits


def test_no_report_changes_nothing():
    fit = UplinkFit(3, S)
    assert set(run(fit, 0.0, 30.0, None)) == {2}


def test_a_severe_loss_sheds_every_larger_encoding_at_once_and_r3_judges_the_smallest_once_settled():
    fit = UplinkFit(3, S)
    assert fit.judged_loss(0.0, 0.5) is None  # shed first: R3 waits for the smallest alone
    tops = run(fit, 0.0, 3.0, 0.5)
    # after severe_after_s (1 s), straight to the smallest
    assert tops[:2] == [2, 2] and tops[2] == 0 and set(tops[2:]) == {0}, tops
    # judged once the smallest has been alone for settle_s (the encoders stopped, the queue drained)
    assert fit.judged_loss(2.0, 0.5) is None
    assert fit.judged_loss(3.0, 0.5) == 0.5 and fit.judged_loss(3.0, None) is None
