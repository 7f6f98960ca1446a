"""R2, R3, R5, R7, R8, R11, R17, R19, R20: opening, quorum, continuity, closing."""

from __future__ import annotations

import dataclasses

from deliberation.commands import (
    AppointSecretary,
    CastBallot,
    CheckIn,
    CheckOut,
    CloseSitting,
    CloseVote,
    DecideFrozenVote,
    DeclareWithdrawal,
    MarkSensitive,
    ObjectToBroadcast,
    OpenSitting,
    OpenVote,
    RecordRecordingDigest,
    ReportPublicStream,
    ReportTransmission,
    Resume,
    SetAudioOnly,
    Suspend,
    TakeUpItem,
)
from deliberation.council import Reglement
from deliberation.demo import demo_seance
from deliberation.seance import Seance
from tests.deliberation.delib_support import (
    PRESIDENT,
    SYSTEM,
    Clock,
    agent,
    checked_in,
    councillor,
    ok,
    opened,
    refused,
)


def _ready(clock, present=None):
    s = checked_in(clock, present)
    ok(s, ReportPublicStream(clock(), True), SYSTEM)
    ok(s, AppointSecretary(clock(), "m03"), PRESIDENT)
    return s


def test_R7_opening_accepted_when_every_occupied_salle_transmits():
    clock = Clock()
    s = _ready(clock)
    events = ok(s, OpenSitting(clock()), PRESIDENT)
    assert s.state.status == "opened"
    assert set(events[0].data["salles"]) == {"belcourt", "vaux", "saint-ferreol"}
    assert all(v["transmitting"] for v in events[0].data["salles"].values())


def test_R7_opening_refused_when_an_occupied_salle_does_not_transmit():
    clock = Clock()
    s = _ready(clock)
    ok(s, ReportTransmission(clock(), "saint-ferreol", False), SYSTEM)
    r = refused(s, OpenSitting(clock()), PRESIDENT, "R7")
    assert "Saint-Ferréol" in r.message


def test_R7_unoccupied_salle_without_transmission_does_not_block():
    clock = Clock()
    present = {"belcourt": ["m01", "m02", "m03", "m04", "m05"], "vaux": ["m06", "m07", "m08", "m09"]}
    s = _ready(clock, present)
    ok(s, ReportTransmission(clock(), "saint-ferreol", False), SYSTEM)  # no-op: never reported up
    ok(s, OpenSitting(clock()), PRESIDENT)


def test_R7_transmission_is_measured_not_declared():
    clock = Clock()
    s = demo_seance()
    refused(s, ReportTransmission(clock(), "vaux", True), agent("vaux"), "ROLE")
    refused(s, ReportTransmission(clock(), "vaux", True), PRESIDENT, "ROLE")


def test_R7_only_the_president_opens():
    clock = Clock()
    s = _ready(clock)
    refused(s, OpenSitting(clock()), councillor("m02"), "ROLE")


def test_R2_opening_refused_without_public_stream():
    clock = Clock()
    s = _ready(clock)
    ok(s, ReportPublicStream(clock(), False), SYSTEM)
    refused(s, OpenSitting(clock()), PRESIDENT, "R2")


def test_R2_public_stream_interruptions_are_journaled():
    clock = Clock()
    s = opened(clock)
    events = ok(s, ReportPublicStream(clock(), False), SYSTEM)
    assert events[0].type == "PublicStreamChanged"
    assert s.state.media_log[-1] == {"at": events[0].at, "kind": "public_stream", "salle": None, "value": False}
    assert ok(s, ReportPublicStream(clock(), False), SYSTEM) == []  # no change, nothing journaled


def test_R3_audio_only_switch_by_salle_agent_is_journaled():
    clock = Clock()
    s = opened(clock)
    ok(s, SetAudioOnly(clock(), "vaux", True), agent("vaux"))
    assert s.state.audio_only["vaux"] is True
    refused(s, SetAudioOnly(clock(), "vaux", False), agent("belcourt"), "R4")
    refused(s, SetAudioOnly(clock(), "vaux", True), agent("vaux"), "R3")


def test_R8_quorum_refuses_opening_without_majority():
    clock = Clock()
    present = {"belcourt": ["m01", "m02", "m03", "m04"], "vaux": ["m06", "m07"], "saint-ferreol": ["m10", "m11"]}
    s = _ready(clock, present)
    r = refused(s, OpenSitting(clock()), PRESIDENT, "R8")
    assert r.message == "R8 — quorum non atteint : 8 présents sur 17 membres en exercice, il en faut 9."


def test_R8_quorum_accepts_opening_with_exact_majority():
    clock = Clock()
    present = {"belcourt": ["m01", "m02", "m03", "m04", "m05"], "vaux": ["m06", "m07"], "saint-ferreol": ["m10", "m11"]}
    s = _ready(clock, present)
    events = ok(s, OpenSitting(clock()), PRESIDENT)
    assert events[0].data["quorum"]["present"] == 9


def test_R8_proxies_never_count_toward_quorum():
    clock = Clock()
    present = {"belcourt": ["m01", "m02", "m03", "m04"], "vaux": ["m06", "m07"], "saint-ferreol": ["m10", "m11"]}
    s = _ready(clock, present)
    from deliberation.commands import RecordProxy

    ok(s, RecordProxy(clock(), "m05", "m02", "pouvoir-m05"), agent("belcourt"))
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir-m09"), agent("vaux"))
    assert s.quorum().present == 8
    refused(s, OpenSitting(clock()), PRESIDENT, "R8")


def test_R8_quorum_rechecked_at_each_vote_with_withdrawals():
    clock = Clock()
    present = {"belcourt": ["m01", "m02", "m03", "m04", "m05"], "vaux": ["m06", "m07"], "saint-ferreol": ["m10", "m11"]}
    s = _ready(clock, present)
    ok(s, OpenSitting(clock()), PRESIDENT)
    ok(s, DeclareWithdrawal(clock(), "fonds-concours-vaux", "m06"), councillor("m06"))
    r = refused(s, OpenVote(clock(), "fonds-concours-vaux"), PRESIDENT, "R8")
    assert "8 présents" in r.message
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)  # m06 counts for other items


def test_R8_quorum_lost_by_exits_refuses_the_next_vote():
    clock = Clock()
    s = opened(clock)  # 10 present
    ok(s, CheckOut(clock(), "m10", "saint-ferreol"), agent("saint-ferreol"))
    ok(s, CheckOut(clock(), "m11", "saint-ferreol"), agent("saint-ferreol"))
    refused(s, OpenVote(clock(), "marche-collecte"), PRESIDENT, "R8")


def test_R8_reconvened_sitting_of_rules_edition_1_deliberates_without_quorum_and_is_flagged():
    """Edition 1 (journals before issue 13): the failed sitting's date alone waived the quorum."""
    clock = Clock()
    base = demo_seance()
    cfg = dataclasses.replace(base.config, reconvened_after="2026-11-20", rules_version=1)  # 5 clear days before
    s = Seance(base.council, cfg)
    for item in base.state.agenda:
        s.state.agenda.append(dict(item))
    present = {"belcourt": ["m01", "m02", "m03"]}
    for m in present["belcourt"]:
        ok(s, CheckIn(clock(), m, "belcourt"), agent("belcourt"))
    ok(s, ReportTransmission(clock(), "belcourt", True), SYSTEM)
    ok(s, ReportPublicStream(clock(), True), SYSTEM)
    ok(s, AppointSecretary(clock(), "m03"), PRESIDENT)
    events = ok(s, OpenSitting(clock()), PRESIDENT)
    assert events[0].data["quorum"]["waived"] is True
    assert events[0].data["reconvened_after"] == "2026-11-20"


def test_R8_reconvened_too_soon_keeps_quorum_rule_in_rules_edition_1():
    clock = Clock()
    base = demo_seance()
    s = Seance(base.council, dataclasses.replace(base.config, reconvened_after="2026-11-24", rules_version=1))
    ok(s, CheckIn(clock(), "m01", "belcourt"), agent("belcourt"))
    ok(s, CheckIn(clock(), "m03", "belcourt"), agent("belcourt"))
    ok(s, ReportTransmission(clock(), "belcourt", True), SYSTEM)
    ok(s, ReportPublicStream(clock(), True), SYSTEM)
    ok(s, AppointSecretary(clock(), "m03"), PRESIDENT)
    refused(s, OpenSitting(clock()), PRESIDENT, "R8")


def test_R10_opening_refused_without_secretary():
    clock = Clock()
    s = checked_in(clock)
    ok(s, ReportPublicStream(clock(), True), SYSTEM)
    refused(s, OpenSitting(clock()), PRESIDENT, "R10")


def test_R10_opening_refused_when_secretary_left():
    clock = Clock()
    s = _ready(clock)
    ok(s, CheckOut(clock(), "m03", "belcourt"), agent("belcourt"))
    refused(s, OpenSitting(clock()), PRESIDENT, "R10")


def test_R11_closing_then_nothing_more():
    clock = Clock()
    s = opened(clock)
    refused(s, CloseSitting(clock()), councillor("m02"), "ROLE")
    ok(s, CloseSitting(clock()), PRESIDENT)
    assert s.state.status == "closed"
    refused(s, OpenVote(clock(), "marche-collecte"), PRESIDENT, "R11")
    refused(s, CheckIn(clock(), "m12", "saint-ferreol"), agent("saint-ferreol"), "R11")
    refused(s, ReportTransmission(clock(), "vaux", False), SYSTEM, "R11")


def test_R11_closing_refused_while_a_vote_is_open():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    refused(s, CloseSitting(clock()), PRESIDENT, "R11")
    ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CloseSitting(clock()), PRESIDENT)


def test_R17_loss_of_transmission_suspends_and_freezes_the_vote():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m02", "pour"), councillor("m02"))
    events = ok(s, ReportTransmission(clock(), "saint-ferreol", False), SYSTEM)
    assert [e.type for e in events] == ["TransmissionChanged", "SittingSuspended"]
    assert events[1].data["frozen_vote"] == "marche-collecte"
    assert s.state.status == "suspended"
    refused(s, CastBallot(clock(), "marche-collecte", "m04", "pour"), councillor("m04"), "R17")
    refused(s, CloseVote(clock(), "marche-collecte"), PRESIDENT, "R17")
    refused(s, Resume(clock()), PRESIDENT, "R17")


def test_R17_salle_back_then_resume_unfreezes():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, ReportTransmission(clock(), "vaux", False), SYSTEM)
    ok(s, ReportTransmission(clock(), "vaux", True), SYSTEM)
    ok(s, Resume(clock()), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m06", "contre"), councillor("m06"))
    ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)


def test_R17_exits_recorded_then_quorum_rechecked_on_resume():
    clock = Clock()
    s = opened(clock)  # 10 present, 2 in saint-ferreol
    ok(s, ReportTransmission(clock(), "saint-ferreol", False), SYSTEM)
    ok(s, CheckOut(clock(), "m10", "saint-ferreol"), agent("saint-ferreol"))
    refused(s, Resume(clock()), PRESIDENT, "R17")  # m11 still there, salle silent
    ok(s, CheckOut(clock(), "m11", "saint-ferreol"), agent("saint-ferreol"))
    refused(s, Resume(clock()), PRESIDENT, "R8")  # 8 present now
    ok(s, CheckIn(clock(), "m09", "vaux"), agent("vaux"))
    ok(s, Resume(clock()), PRESIDENT)
    assert s.state.status == "opened"


def test_R17_president_decision_lets_frozen_vote_close_without_the_salle():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, ReportTransmission(clock(), "saint-ferreol", False), SYSTEM)
    refused(s, DecideFrozenVote(clock(), "marche-collecte", " "), PRESIDENT, "R17")
    ok(s, DecideFrozenVote(clock(), "marche-collecte", "panne prolongée, vote poursuivi sans Saint-Ferréol"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m02", "pour"), councillor("m02"))
    refused(s, CastBallot(clock(), "marche-collecte", "m10", "pour"), councillor("m10"), "R16")  # salle still down
    ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)
    assert s.state.decisions[0]["salles"] == ["saint-ferreol"]


def test_R17_no_vote_opens_while_suspended():
    clock = Clock()
    s = opened(clock)
    ok(s, Suspend(clock(), "pause"), PRESIDENT)
    refused(s, OpenVote(clock(), "marche-collecte"), PRESIDENT, "R17")
    refused(s, DecideFrozenVote(clock(), "marche-collecte", "x"), PRESIDENT, "R16")
    ok(s, Resume(clock()), PRESIDENT)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    refused(s, DecideFrozenVote(clock(), "marche-collecte", "x"), PRESIDENT, "R17")  # not frozen


def test_R19_sensitive_passage_on_off_by_president():
    clock = Clock()
    s = opened(clock)
    refused(s, MarkSensitive(clock(), True, "situation d'un agent"), councillor("m02"), "ROLE")
    ok(s, MarkSensitive(clock(), True, "situation d'un agent"), PRESIDENT)
    assert s.state.sensitive
    refused(s, MarkSensitive(clock(), True), PRESIDENT, "R19")
    ok(s, MarkSensitive(clock(), False), PRESIDENT)
    assert s.state.sensitive_spans[0]["to"] is not None and not s.state.sensitive


def test_R20_objection_to_broadcast_recorded_by_salle_agent():
    clock = Clock()
    s = opened(clock)
    ok(s, ObjectToBroadcast(clock(), "vaux", "Julien Robin"), agent("vaux"))
    assert s.state.broadcast_objections["vaux"] == ["Julien Robin"]
    refused(s, ObjectToBroadcast(clock(), "vaux", "X"), agent("belcourt"), "R4")


def test_R5_recording_digest_only_when_reglement_records():
    clock = Clock()
    s = opened(clock)
    digest = "ab" * 32
    ok(s, RecordRecordingDigest(clock(), digest, "segment 1"), SYSTEM)
    s2 = Seance(dataclasses.replace(s.council, reglement=Reglement(recording=False)), s.config, s.state)
    refused(s2, RecordRecordingDigest(clock(), digest), SYSTEM, "R5")
    refused(s, RecordRecordingDigest(clock(), "zz"), SYSTEM, "SCHEMA")


def test_take_up_item_sets_current_item():
    clock = Clock()
    s = opened(clock)
    ok(s, TakeUpItem(clock(), "pv-precedent"), PRESIDENT)
    assert s.state.current_item == "pv-precedent"
