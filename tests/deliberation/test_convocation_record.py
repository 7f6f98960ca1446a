"""R6: the convocation's sending and acknowledgement, journaled by the system actor."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from deliberation.commands import RecordConvocationReceipt, RecordConvocationSending
from deliberation.convocation_date import journaled, sent_on
from deliberation.council import SittingConfig
from deliberation.demo import demo_config, demo_council, demo_seance, demo_setup
from deliberation.journal import load_public_pem, read_verified, replay_entries
from deliberation.seance import Seance
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, ok, opened, refused

V1 = Path(__file__).resolve().parents[1] / "data" / "journal-v1-rehearsal"


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


def test_R6_counts_from_the_journaled_sending_the_last_member_reached():
    """L.2121-12: the five clear days run from the day the last member's convocation left
    (each member's first successful sending); a failure does not count, a second sending to
    a member already reached does not move it; the date typed in the genesis is not read."""
    for typed in (None, "2026-11-01"):  # a date typed in the genesis never outweighs a journaled sending
        s = Seance(demo_council(), replace(demo_config(), convened_on=typed))
        for command, actor in demo_setup():
            ok(s, command, actor)
        assert sent_on(s) == (None if typed is None else date(2026, 11, 1)) and not journaled(s)
        ok(s, RecordConvocationSending("2026-11-16T09:00:00+01:00", "m03", True), SYSTEM)
        ok(s, RecordConvocationSending("2026-11-17T09:00:00+01:00", "m04", False, "550 Boite pleine"), SYSTEM)
        assert sent_on(s) == date(2026, 11, 16) and journaled(s)
        ok(s, RecordConvocationSending("2026-11-19T10:00:00+01:00", "m04", True), SYSTEM)  # reached on the 19th
        ok(s, RecordConvocationSending("2026-11-20T10:00:00+01:00", "m03", True), SYSTEM)  # again: still the 16th
        assert sent_on(s) == date(2026, 11, 19)  # 6 clear days before the 26th


def test_a_journal_written_before_issue_16_still_reads_its_typed_date():
    """The journal format is a promise to auditors: a genesis carrying the date the admin
    typed (``convened_on``) replays, and with no sending journaled R6 counts from that date;
    a genesis written now carries no such key."""
    entries = read_verified(V1 / "journal.jsonl", load_public_pem((V1 / "journal.pub").read_bytes()))
    seance = replay_entries(entries)
    assert seance.config.convened_on == "2026-11-18"
    assert sent_on(seance) == date(2026, 11, 18) and not journaled(seance)
    old = entries[0].data["config"]
    assert SittingConfig.from_dict(old).to_dict()["convened_on"] == "2026-11-18"  # kept as it was written
    assert "convened_on" not in replace(demo_config(), convened_on=None).to_dict()
