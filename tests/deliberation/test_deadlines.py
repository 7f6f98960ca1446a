"""R5, R6, R8 (re-convocation), R22, R23: calendar rules as pure functions."""

from __future__ import annotations

from datetime import date

from deliberation.deadlines import (
    SittingSlot,
    clear_days_between,
    convocation_message,
    convocation_ok,
    publication_deadline,
    reconvocation_ok,
    retention_until,
    semester_standing,
    semester_warning,
)


def test_R6_convocation_five_clear_days_accepted():
    # sent on the 20th: 21, 22, 23, 24, 25 are clear; sitting on the 26th
    assert clear_days_between("2026-11-20", "2026-11-26T18:30:00+01:00") == 5
    assert convocation_ok("2026-11-20", "2026-11-26T18:30:00+01:00")
    assert convocation_message("2026-11-20", "2026-11-26") is None


def test_R6_convocation_four_clear_days_refused():
    assert not convocation_ok("2026-11-21", "2026-11-26")
    msg = convocation_message("2026-11-21", "2026-11-26")
    assert msg.startswith("R6") and "4 jour(s) franc(s)" in msg


def test_R8_reconvocation_three_clear_days():
    assert reconvocation_ok("2026-11-22", "2026-11-26")
    assert not reconvocation_ok("2026-11-23", "2026-11-26")


def test_R22_list_published_within_a_week():
    assert publication_deadline("2026-11-26T18:30:00+01:00") == date(2026, 12, 3)


def test_R5_retention_follows_reglement():
    assert retention_until("2026-11-26", 365) == date(2027, 11, 26)


def test_R23_semester_without_single_place_sitting_is_warned():
    held = [SittingSlot("2026-09-24", True)]
    msg = semester_warning(held, SittingSlot("2026-11-26", True))
    assert msg is not None and msg.startswith("R23") and "2e semestre 2026" in msg


def test_R23_semester_with_single_place_sitting_convened_is_not_warned():
    held = [SittingSlot("2026-09-24", True), SittingSlot("2026-12-17", False)]
    assert semester_warning(held, SittingSlot("2026-11-26", True)) is None
    assert semester_warning([], SittingSlot("2026-11-26", False)) is None
    assert semester_standing(held + [SittingSlot("2027-02-04", True)]) == {(2026, 2): True, (2027, 1): False}
