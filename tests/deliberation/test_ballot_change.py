"""R13 with the règlement intérieur: a councillor changes an electronic vote until the vote
closes (issue 15, point 5). Each change is journaled (``BallotChanged``), the last choice
counts, the audit's recount replays it; where the règlement forbids it, and at a roll
call, nobody votes twice (R16)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from deliberation.actors import Actor, Role
from deliberation.audit import audit_bytes, recompute
from deliberation.canonical import canonical_bytes
from deliberation.commands import CastBallot, CloseVote, OpenVote, ReportTransmission, Resume
from deliberation.council import Reglement
from deliberation.demo import demo_config, demo_council, demo_setup
from deliberation.journal import JournalError, generate_key, verify_lines
from deliberation.rehearsal import run_rehearsal
from deliberation.seance import Seance
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, agent, councillor, ok, opened, refused
from tests.deliberation.forged_journal import entries_of, find_event, reseal


def _convened(council) -> Seance:
    seance = Seance(council, demo_config())
    for command, actor in demo_setup():
        ok(seance, command, actor)
    return seance


def test_R13_a_councillor_changes_an_electronic_vote_before_the_close_and_the_last_choice_counts():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    for m in ("m02", "m04", "m05"):
        ok(s, CastBallot(clock(), "marche-collecte", m, "pour"), councillor(m))
    events = ok(s, CastBallot(clock(), "marche-collecte", "m02", "contre"), councillor("m02"))
    assert [(e.type, e.data["choice"], e.data["previous_choice"]) for e in events] == [
        ("BallotChanged", "contre", "pour")
    ]
    assert ok(s, CastBallot(clock(), "marche-collecte", "m02", "contre"), councillor("m02")) == []  # same choice
    ok(s, CastBallot(clock(), "marche-collecte", "m04", "abstention"), councillor("m04"))
    ok(s, CastBallot(clock(), "marche-collecte", "m04", "pour"), councillor("m04"))  # and back
    (closed,) = ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)
    counts = closed.data["counts"]
    assert (counts["pour"], counts["contre"], counts["abstention"], counts["cast"]) == (2, 1, 0, 3)
    refused(s, CastBallot(clock(), "marche-collecte", "m05", "contre"), councillor("m05"), "R16")  # closed


def test_R13_only_the_voter_changes_their_own_vote():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m02", "pour"), councillor("m02"))
    refused(s, CastBallot(clock(), "marche-collecte", "m02", "contre"), councillor("m04"), "R13")


def test_R16_nobody_votes_twice_where_the_reglement_forbids_changing_a_vote():
    clock = Clock()
    council = dataclasses.replace(demo_council(), reglement=Reglement(ballot_change=False))
    s = opened(clock, seance=_convened(council))
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m02", "pour"), councillor("m02"))
    refused(s, CastBallot(clock(), "marche-collecte", "m02", "contre"), councillor("m02"), "R16")


def test_R16_at_a_roll_call_the_answer_recorded_is_final():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte", "appel_nominal"), PRESIDENT)
    secretary = Actor(Role.SECRETARY, member_id="m03")
    ok(s, CastBallot(clock(), "marche-collecte", "m07", "pour"), secretary)
    refused(s, CastBallot(clock(), "marche-collecte", "m07", "contre"), secretary, "R16")
    refused(s, CastBallot(clock(), "marche-collecte", "m07", "contre"), agent("vaux"), "R16")


def test_R17_no_change_while_the_vote_is_frozen():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m02", "pour"), councillor("m02"))
    ok(s, ReportTransmission(clock(), "vaux", False), SYSTEM)
    refused(s, CastBallot(clock(), "marche-collecte", "m02", "contre"), councillor("m02"), "R17")
    ok(s, ReportTransmission(clock(), "vaux", True), SYSTEM)
    ok(s, Resume(clock()), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m02", "contre"), councillor("m02"))


# -- the audit replays the changes: its recount uses the last choice ------------------------------------
@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    out = tmp_path_factory.mktemp("rehearsal")
    key = generate_key()
    run_rehearsal(out, key)
    return out, key, (out / "journal.jsonl").read_bytes()


def test_R13_the_rehearsal_changes_a_vote_and_its_journal_verifies(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    changes = [e["event"]["data"] for e in entries if e["kind"] == "event" and e["event"]["type"] == "BallotChanged"]
    assert [(c["voter_id"], c["on_behalf_of"], c["previous_choice"], c["choice"]) for c in changes] == [
        ("m07", "m09", "pour", "contre"),
        ("m07", "m09", "contre", "pour"),
    ]
    assert audit_bytes(content, key.public_key()).ok


def test_R14_the_audit_counts_the_last_choice(rehearsal):
    """Drop the change back to « pour »: the declared counts (m09's proxy « pour ») no longer
    match the recount, which now reads « contre » as the last choice."""
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "BallotChanged", voter_id="m07", choice="pour")
    del entries[i - 1 : i + 1]  # the command and its event
    with pytest.raises(JournalError) as err:
        recompute(verify_lines(reseal(entries, key), key.public_key()))
    assert err.value.reason.startswith("R14"), err.value.reason


def test_R13_a_forged_change_at_a_roll_call_is_refused_by_the_audit(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "BallotCast", item_id="marche-collecte", voter_id="m06", on_behalf_of=None)
    forged = json.loads(canonical_bytes(entries[i]))
    forged["event"]["type"] = "BallotChanged"
    forged["event"]["data"].update(choice="pour", previous_choice="contre")
    entries.insert(i + 1, forged)
    with pytest.raises(JournalError) as err:
        recompute(verify_lines(reseal(entries, key), key.public_key()))
    assert err.value.line == i + 2 and err.value.reason.startswith("R13"), err.value.reason
