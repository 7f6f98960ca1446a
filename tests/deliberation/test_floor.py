"""The floor (la parole): requests by councillors present, granted and ended by the chair."""

from __future__ import annotations

from deliberation.actors import Actor, Role
from deliberation.commands import (
    CheckOut,
    CloseSitting,
    EndFloor,
    GrantFloor,
    ReportTransmission,
    RequestFloor,
    WithdrawFloorRequest,
)
from deliberation.demo import demo_seance
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, agent, councillor, ok, opened, refused

MODERATOR = Actor(Role.MODERATOR)


def test_a_councillor_present_asks_for_the_floor_and_joins_the_queue_in_order():
    clock = Clock()
    s = opened(clock)
    ok(s, RequestFloor(clock(), "m07"), councillor("m07"))
    ok(s, RequestFloor(clock(), "m10"), councillor("m10"))
    assert [q["member"] for q in s.state.floor_queue] == ["m07", "m10"]


def test_asking_twice_changes_nothing_and_is_not_an_error():
    clock = Clock()
    s = opened(clock)
    ok(s, RequestFloor(clock(), "m07"), councillor("m07"))
    before = s.canonical()
    assert ok(s, RequestFloor(clock(), "m07"), councillor("m07")) == []
    assert s.canonical() == before


def test_a_councillor_asks_only_for_self_ROLE():
    clock = Clock()
    s = opened(clock)
    refused(s, RequestFloor(clock(), "m07"), councillor("m08"), "ROLE")
    refused(s, RequestFloor(clock(), "m07"), agent("vaux"), "ROLE")


def test_a_member_not_checked_in_cannot_ask_for_the_floor_R1():
    clock = Clock()
    s = opened(clock)
    refused(s, RequestFloor(clock(), "m09"), councillor("m09"), "R1")


def test_no_floor_before_the_sitting_opens_R7():
    clock = Clock()
    s = demo_seance()
    refused(s, RequestFloor(clock(), "m07"), councillor("m07"), "R7")


def test_president_or_moderator_grants_the_floor_which_leaves_the_queue():
    clock = Clock()
    s = opened(clock)
    ok(s, RequestFloor(clock(), "m07"), councillor("m07"))
    ok(s, RequestFloor(clock(), "m10"), councillor("m10"))
    events = ok(s, GrantFloor(clock(), "m07"), MODERATOR)
    assert events[0].data == {"member_id": "m07", "previous": None}
    assert s.state.speaker["member"] == "m07" and [q["member"] for q in s.state.floor_queue] == ["m10"]
    events = ok(s, GrantFloor(clock(), "m10"), PRESIDENT)
    assert events[0].data["previous"] == "m07" and s.state.floor_queue == []
    ok(s, EndFloor(clock()), MODERATOR)
    assert s.state.speaker is None


def test_only_the_chair_grants_or_ends_the_floor_ROLE():
    clock = Clock()
    s = opened(clock)
    refused(s, GrantFloor(clock(), "m07"), councillor("m07"), "ROLE")
    refused(s, GrantFloor(clock(), "m07"), agent("vaux"), "ROLE")
    refused(s, GrantFloor(clock(), "m07"), Actor(Role.PRESIDENT, member_id="m02"), "ROLE")
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    refused(s, EndFloor(clock()), councillor("m10"), "ROLE")  # another councillor does not end m07's turn
    refused(s, EndFloor(clock()), agent("vaux"), "ROLE")


def test_the_councillor_who_has_the_floor_ends_their_own_turn():
    clock = Clock()
    s = opened(clock)
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    events = ok(s, EndFloor(clock()), councillor("m07"))
    assert [e.type for e in events] == ["FloorEnded"] and events[0].data == {"member_id": "m07"}
    assert s.state.speaker is None
    refused(s, EndFloor(clock()), councillor("m07"), "ROLE")  # once ended, it is not theirs to end


def test_ending_when_nobody_speaks_is_refused_UNKNOWN():
    clock = Clock()
    s = opened(clock)
    refused(s, EndFloor(clock()), PRESIDENT, "UNKNOWN")


def test_withdrawal_by_self_or_dropped_by_the_chair_but_not_by_another_councillor():
    clock = Clock()
    s = opened(clock)
    ok(s, RequestFloor(clock(), "m07"), councillor("m07"))
    ok(s, RequestFloor(clock(), "m10"), councillor("m10"))
    refused(s, WithdrawFloorRequest(clock(), "m07"), councillor("m10"), "ROLE")
    ok(s, WithdrawFloorRequest(clock(), "m07"), councillor("m07"))
    ok(s, WithdrawFloorRequest(clock(), "m10"), MODERATOR)
    assert s.state.floor_queue == []
    refused(s, WithdrawFloorRequest(clock(), "m10"), councillor("m10"), "UNKNOWN")


def test_no_floor_given_while_suspended_R17_but_requests_wait():
    clock = Clock()
    s = opened(clock)
    ok(s, ReportTransmission(clock(), "vaux", False), SYSTEM)
    assert s.state.status == "suspended"
    ok(s, RequestFloor(clock(), "m10"), councillor("m10"))
    refused(s, GrantFloor(clock(), "m10"), PRESIDENT, "R17")


def test_checking_out_leaves_the_floor_and_the_queue():
    clock = Clock()
    s = opened(clock)
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    ok(s, RequestFloor(clock(), "m08"), councillor("m08"))
    ok(s, CheckOut(clock(), "m07", "vaux"), agent("vaux"))
    ok(s, CheckOut(clock(), "m08", "vaux"), agent("vaux"))
    assert s.state.speaker is None and s.state.floor_queue == []


def test_closing_clears_the_floor_R11():
    clock = Clock()
    s = opened(clock)
    ok(s, GrantFloor(clock(), "m07"), PRESIDENT)
    ok(s, RequestFloor(clock(), "m08"), councillor("m08"))
    ok(s, CloseSitting(clock()), PRESIDENT)
    assert s.state.speaker is None and s.state.floor_queue == []
    refused(s, RequestFloor(clock(), "m08"), councillor("m08"), "R11")


def test_floor_commands_journal_replay_and_pass_the_audit(tmp_path):
    from deliberation.audit import audit_file
    from deliberation.journal import Journal, generate_key

    clock = Clock()
    key = generate_key()
    s = demo_seance()
    fresh = type(s)(s.council, s.config)
    path = tmp_path / "j.jsonl"
    journal = Journal.create(path, fresh, key)
    from deliberation.commands import AppointSecretary, CheckIn, OpenSitting, ReportPublicStream
    from tests.deliberation.delib_support import DEFAULT_PRESENT

    script = [(CheckIn(clock(), m, salle), agent(salle)) for salle, ms in DEFAULT_PRESENT.items() for m in ms]
    script += [(ReportTransmission(clock(), salle, True), SYSTEM) for salle in DEFAULT_PRESENT]
    script += [
        (ReportPublicStream(clock(), True), SYSTEM),
        (AppointSecretary(clock(), "m03"), PRESIDENT),
        (OpenSitting(clock()), PRESIDENT),
        (RequestFloor(clock(), "m07"), councillor("m07")),
        (RequestFloor(clock(), "m10"), councillor("m10")),
        (WithdrawFloorRequest(clock(), "m10"), councillor("m10")),
        (GrantFloor(clock(), "m07"), MODERATOR),
        (EndFloor(clock()), PRESIDENT),
        (CloseSitting(clock()), PRESIDENT),
    ]
    for command, actor in script:
        assert isinstance(journal.handle(fresh, command, actor), list)
    journal.close()
    report = audit_file(str(path), key.public_key())
    assert report.ok, report.summary()
    assert Journal.replay(path, key.public_key()).canonical() == fresh.canonical()
