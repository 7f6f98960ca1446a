"""R21: the offline audit of the rehearsal's journal, and tampering detected and located."""

from __future__ import annotations

import json
import random

import pytest

from deliberation.audit import audit_bytes
from deliberation.canonical import canonical_bytes
from deliberation.journal import generate_key, load_public_pem
from deliberation.rehearsal import run_rehearsal
from tests.deliberation.forged_journal import entries_of, find_event, joined, journal_lines, reseal


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    out = tmp_path_factory.mktemp("rehearsal")
    key = generate_key()
    run_rehearsal(out, key)
    content = (out / "journal.jsonl").read_bytes()
    return out, key, content


def test_R21_rehearsal_journal_verifies_and_results_are_recomputed(rehearsal):
    _, key, content = rehearsal
    report = audit_bytes(content, key.public_key())
    assert report.ok, report.summary()
    assert [(v["item_id"], v["subject"], v["verdict"]) for v in report.votes] == [
        ("pv-precedent", "délibération", "adopté"),
        ("marche-collecte", "délibération", "adopté"),
        ("fonds-concours-vaux", "délibération", "adopté (voix prépondérante)"),
        ("dm-budget-2026", "amendement am-1", "adopté"),
        ("dm-budget-2026", "délibération", "adopté"),
        ("commission-environnement", "siège 2, tour 1", "personne n'est nommé"),
        ("commission-environnement", "siège 2, tour 2", "personne n'est nommé"),
        ("commission-environnement", "siège 2, tour 3", "nommé·e : Thierry Bonnet (au bénéfice de l'âge)"),
    ]


def test_R21_wrong_key_fails_at_first_checkpoint(rehearsal):
    _, _, content = rehearsal
    report = audit_bytes(content, generate_key().public_key())
    assert not report.ok and report.line == 2 and "signature" in report.reason


def _flip(content: bytes, pos: int, rng: random.Random) -> bytes:
    data = bytearray(content)
    data[pos] = (data[pos] + rng.randrange(1, 256)) % 256
    return bytes(data)


def test_R21_single_byte_change_on_every_line_is_located(rehearsal):
    _, key, content = rehearsal
    rng = random.Random(2026)
    lines = journal_lines(content)
    offset = 0
    for n, line in enumerate(lines, start=1):
        pos = offset + rng.randrange(len(line) + 1)  # any byte of the line, its newline included
        report = audit_bytes(_flip(content, pos, rng), key.public_key())
        assert not report.ok, (n, pos)
        assert report.line == n, (n, pos, report.summary())
        offset += len(line) + 1


def test_R21_single_byte_change_sample_of_positions(rehearsal):
    _, key, content = rehearsal
    rng = random.Random(17)
    starts = [0]
    for line in journal_lines(content):
        starts.append(starts[-1] + len(line) + 1)
    for pos in rng.sample(range(len(content)), 150):
        line = max(i for i, s in enumerate(starts) if s <= pos) + 1
        report = audit_bytes(_flip(content, pos, rng), key.public_key())
        assert not report.ok and report.line == line, (pos, line, report.summary())


@pytest.mark.parametrize("index", [0, 1, 5, 40, 87, -3, -2, -1])
def test_R21_removed_line_is_located(rehearsal, index):
    _, key, content = rehearsal
    lines = journal_lines(content)
    n = index % len(lines)
    kept = lines[:n] + lines[n + 1 :]
    report = audit_bytes(joined(kept), key.public_key())
    assert not report.ok
    if n == len(lines) - 1:  # the last signature removed: its batch is an unsigned tail (format 2)
        last_signed = max(i for i, x in enumerate(kept, start=1) if json.loads(x)["kind"] == "checkpoint")
        assert report.line == last_signed + 1 and "signature" in report.reason, report.summary()
    else:
        assert report.line == n + 1, report.summary()


@pytest.mark.parametrize("index", [1, 10, 60, -3, -2])
def test_R21_swapped_lines_are_located(rehearsal, index):
    _, key, content = rehearsal
    lines = journal_lines(content)
    n = index % len(lines)
    lines[n], lines[n + 1] = lines[n + 1], lines[n]
    report = audit_bytes(joined(lines), key.public_key())
    assert not report.ok and report.line == n + 1, report.summary()


def test_R21_truncated_journal_is_incomplete(rehearsal):
    _, key, content = rehearsal
    lines = journal_lines(content)
    cut = next(i for i, x in enumerate(lines) if json.loads(x).get("reason") == "VoteClosed")
    report = audit_bytes(joined(lines[: cut + 1]), key.public_key())
    assert not report.ok and report.line == cut + 2 and "incomplet" in report.reason
    assert audit_bytes(joined(lines[: cut + 1]), key.public_key(), allow_open=True).ok


def test_R21_resealed_journal_without_tampering_verifies(rehearsal):
    _, key, content = rehearsal
    assert reseal(entries_of(content), key) == content


def test_R14_forged_result_with_valid_signatures_is_recomputed_and_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "VoteClosed", item_id="fonds-concours-vaux")
    entries[i]["event"]["data"]["adopted"] = False
    entries[i]["event"]["data"]["casting_vote"] = False
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R14")


def test_R14_forged_counts_are_recomputed_and_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "VoteClosed", item_id="marche-collecte")
    entries[i]["event"]["data"]["counts"]["pour"] += 1
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R14")


def test_R8_forged_quorum_at_opening_is_recomputed_and_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "SittingOpened")
    entries[i]["event"]["data"]["quorum"]["present"] = 13
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R8")


def test_R7_opening_without_transmission_is_refused_by_audit(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "TransmissionChanged", salle_id="vaux", transmitting=True)
    del entries[i - 1 : i + 1]  # the command and its event: vaux never reported up
    forged = reseal(entries, key)
    report = audit_bytes(forged, key.public_key())
    opened_at = find_event(entries, "SittingOpened") + 1
    assert not report.ok and "R7" in report.reason
    assert report.line in (opened_at - 1, opened_at)  # the OpenSitting command, or its event
    # the independent recomputation alone names the opening event
    from deliberation.audit import recompute
    from deliberation.journal import JournalError, verify_lines

    with pytest.raises(JournalError) as err:
        recompute(verify_lines(forged, key.public_key()))
    assert err.value.line == opened_at and err.value.reason.startswith("R7")


def test_R16_forged_extra_ballot_is_refused_by_audit(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "BallotCast", item_id="pv-precedent", voter_id="m02", on_behalf_of=None)
    forged = json.loads(canonical_bytes(entries[i]))
    forged["event"]["data"]["choice"] = "contre"
    entries.insert(i + 1, forged)
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 2 and report.reason.startswith("R16")


def test_R21_forged_event_that_the_command_does_not_produce_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "CheckedIn", member_id="m05")
    entries[i]["event"]["data"]["salle_id"] = "vaux"  # consistent for recomputation, not for the command
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1, report.summary()


def test_R21_public_key_pem_round_trip(rehearsal):
    out, _key, _ = rehearsal
    pub = load_public_pem((out / "journal.pub").read_bytes())
    assert audit_bytes((out / "journal.jsonl").read_bytes(), pub).ok


def test_R17_forged_ballot_during_frozen_vote_is_refused_by_recomputation(rehearsal):
    from deliberation.audit import recompute
    from deliberation.journal import JournalError, verify_lines

    _, key, content = rehearsal
    entries = entries_of(content)
    suspended = find_event(entries, "SittingSuspended")
    ballot = find_event(entries, "BallotCast", item_id="fonds-concours-vaux", voter_id="m08")
    moved = entries.pop(ballot)  # the m08 ballot, cast after the resumption, moved into the freeze
    entries.insert(suspended + 1, moved)
    forged = reseal(entries, key)
    with pytest.raises(JournalError) as err:
        recompute(verify_lines(forged, key.public_key()))
    assert err.value.line == suspended + 2 and err.value.reason.startswith("R17")
    assert not audit_bytes(forged, key.public_key()).ok


# -- issue 13: the new results are recomputed, and a forged one refused ------------------------------
def _recompute_error(forged: bytes, key):
    from deliberation.audit import recompute
    from deliberation.journal import JournalError, verify_lines

    with pytest.raises(JournalError) as err:
        recompute(verify_lines(forged, key.public_key()))
    return err.value


def test_R24_forged_appointment_of_a_round_is_recomputed_and_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "VoteClosed", item_id="commission-environnement", round=3)
    entries[i]["event"]["data"]["appointed"] = "m11"  # the younger of the two tied candidates
    entries[i]["event"]["data"]["tie_broken_by_age"] = False
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R24"), report.summary()


def test_R24_forged_absolute_majority_in_round_1_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "VoteClosed", item_id="commission-environnement", round=1)
    entries[i]["event"]["data"]["appointed"] = "m08"  # 5 votes of 13 exprimés: no absolute majority
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R24"), report.summary()


def test_R24_forged_immediate_appointment_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "CandidaciesClosed", item_id="commission-environnement")
    entries[i]["event"]["data"]["appointed"].append({"seat": 2, "member_id": "m08"})  # three candidates, no vote
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R24"), report.summary()


def test_R24_forged_ballot_for_someone_not_a_candidate_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "BallotCast", item_id="commission-environnement", voter_id="m01")
    entries[i]["event"]["data"]["candidate_id"] = "m12"
    assert _recompute_error(reseal(entries, key), key).line == i + 1
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R24"), report.summary()


def test_R25_forged_amendment_result_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "VoteClosed", item_id="dm-budget-2026", amendment_id="am-1")
    entries[i]["event"]["data"]["adopted"] = False
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R14"), report.summary()


def test_R25_motion_voted_before_its_amendment_is_refused(rehearsal):
    """The amendment's whole vote (opening, ballots, result, checkpoint) cut out of the journal."""
    _, key, content = rehearsal
    entries = entries_of(content)
    opened = find_event(entries, "VoteOpened", item_id="dm-budget-2026", amendment_id="am-1") - 1  # its command
    closed = find_event(entries, "VoteClosed", item_id="dm-budget-2026", amendment_id="am-1") + 1  # its checkpoint
    assert entries[closed]["kind"] == "checkpoint"
    del entries[opened : closed + 1]
    motion = find_event(entries, "VoteOpened", item_id="dm-budget-2026")
    forged = reseal(entries, key)
    err = _recompute_error(forged, key)
    assert err.line == motion + 1 and err.reason.startswith("R25"), err.reason
    report = audit_bytes(forged, key.public_key())
    assert not report.ok and report.line in (motion, motion + 1) and "R25" in report.reason, report.summary()


def test_R13_forged_list_of_members_who_did_not_vote_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "VoteClosed", item_id="dm-budget-2026", amendment_id=None)
    assert [n["voter"] for n in entries[i]["event"]["data"]["not_voting"]] == ["m07", "m12"]
    entries[i]["event"]["data"]["not_voting"].pop()  # Gérard Lefèvre took no part: hidden
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R13"), report.summary()


def test_R25_forged_withdrawal_of_a_voted_item_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "ItemWithdrawn", item_id="groupement-electricite")
    entries[i]["event"]["data"]["item_id"] = "pv-precedent"  # adopted an hour earlier
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R25"), report.summary()


def test_R12_forged_banned_item_on_the_agenda_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = entries_of(content)
    i = find_event(entries, "ItemAdded", item_id="commission-environnement")
    entries[i]["event"]["data"]["body"]["type"] = "organisme_exterieur"  # an office de tourisme's board
    report = audit_bytes(reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R12"), report.summary()
