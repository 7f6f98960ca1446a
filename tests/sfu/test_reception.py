"""sfu.reception: a salle's reception judged by quality, with its hysteresis (pure)."""

from sfu.reception import KioskFigures, Reception, ReceptionSettings

S = ReceptionSettings(audio_bad=0.2, audio_good=0.1, bad_for_s=10.0, good_for_s=3.0, stale_s=12.0)


def test_nothing_known_is_not_judged():
    r = Reception(S)
    assert r.audio_usable(0.0) is None and r.audio_loss(0.0) is None and r.video_fps(0.0) is None


def test_deaf_only_after_a_sustained_loss_and_back_with_hysteresis():
    r = Reception(S)
    r.audio_report(0.0, 0.01)
    assert r.audio_usable(0.0) is True
    for t in range(0, 10):  # a link that drowns for a few seconds is not deaf
        r.audio_report(float(t), 0.5)
        assert r.audio_usable(float(t)) is True
    r.audio_report(10.0, 0.5)
    assert r.audio_usable(10.0) is False
    r.audio_report(11.0, 0.15)  # between the thresholds: holds
    assert r.audio_usable(11.0) is False
    for t in (12.0, 13.0, 14.0):
        r.audio_report(t, 0.02)
        assert r.audio_usable(t) is False
    r.audio_report(15.0, 0.02)
    assert r.audio_usable(15.0) is True


def test_the_kiosk_concealment_counts_as_loss_and_its_pictures_as_fps():
    r = Reception(S)
    r.audio_report(0.0, 0.0)
    r.kiosk_report(0.0, KioskFigures(2.0, 40, 2, 96_000, 48_000, 250_000))  # half concealed
    assert r.audio_loss(0.0) == 0.5
    assert r.video_fps(0.0) == 10.0 and r.outgoing_bps(0.0) == 250_000
    assert r.audio_loss(13.0) is None  # stale: says nothing any more
    assert KioskFigures(2.0, 0, 0, 0, 0).fps is None and KioskFigures(2.0, 0, 0, 0, 0).concealment is None
