"""R6: the convocation's sending and acknowledgement, journaled by the system actor."""

from __future__ import annotations

from delib_support import PRESIDENT, SYSTEM, Clock, ok, opened, refused

from deliberation.commands import RecordConvocationReceipt, RecordConvocationSending
from deliberation.demo import demo_seance


def test_sending_and_receipt_are_recorded_per_member_the_first_receipt_counting():
    clock = Clock()
    s = demo_seance()
    failed_at = clock()
    ok(s, RecordConvocationSending(failed_at, "m05", False, "550 5.2.2 Boite pleine"), SYSTEM)
    sent_at = clock()
    events = ok(s, RecordConvocationSending(sent_at, "m05", True), SYSTEM)
    assert [e.type for e in events] == ["ConvocationSent"]
    acked_at = clock()
    assert [e.type for e in ok(s, RecordConvocationReceipt(acked_at, "m05"), SYSTEM)] == ["ConvocationAcknowledged"]
    assert ok(s, RecordConvocationReceipt(clock(), "m05"), SYSTEM) == []  # again: nothing changes
    assert s.state.convocations["m05"] == {
        "sent_at": sent_at,
        "failures": [{"at": failed_at, "reason": "550 5.2.2 Boite pleine"}],
        "acknowledged_at": acked_at,
    }


def test_refusals_name_R6_and_change_nothing():
    clock = Clock()
    s = demo_seance()
    refused(s, RecordConvocationSending(clock(), "m05", True), PRESIDENT, "ROLE")  # a person cannot record it
    refused(s, RecordConvocationSending(clock(), "inconnu", True), SYSTEM, "R6")
    refused(s, RecordConvocationReceipt(clock(), "m05"), SYSTEM, "R6")  # nothing was sent to m05
    refused(s, RecordConvocationSending(clock(), "m05", True, "pourquoi"), SYSTEM, "SCHEMA")
    s = opened(clock)
    refused(s, RecordConvocationSending(clock(), "m05", True), SYSTEM, "R6")  # convenes nobody once opened
