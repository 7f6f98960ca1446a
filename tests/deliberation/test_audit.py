"""R21: the offline audit of the rehearsal's journal, and tampering detected and located."""

from __future__ import annotations

import json
import random

import pytest

from deliberation.audit import audit_bytes
from deliberation.canonical import canonical_bytes
from deliberation.journal import ZERO, generate_key, load_public_pem, seal, sha256_hex
from deliberation.rehearsal import run_rehearsal


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    out = tmp_path_factory.mktemp("rehearsal")
    key = generate_key()
    run_rehearsal(out, key)
    content = (out / "journal.jsonl").read_bytes()
    return out, key, content


def _lines(content: bytes) -> list[bytes]:
    return content.split(b"\n")[:-1]


def _join(lines: list[bytes]) -> bytes:
    return b"".join(x + b"\n" for x in lines)


def test_R21_rehearsal_journal_verifies_and_results_are_recomputed(rehearsal):
    _, key, content = rehearsal
    report = audit_bytes(content, key.public_key())
    assert report.ok, report.summary()
    assert [(v["item_id"], v["adopted"], v["casting_vote"]) for v in report.votes] == [
        ("pv-precedent", True, False),
        ("marche-collecte", True, False),
        ("fonds-concours-vaux", True, True),
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
    lines = _lines(content)
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
    for line in _lines(content):
        starts.append(starts[-1] + len(line) + 1)
    for pos in rng.sample(range(len(content)), 150):
        line = max(i for i, s in enumerate(starts) if s <= pos) + 1
        report = audit_bytes(_flip(content, pos, rng), key.public_key())
        assert not report.ok and report.line == line, (pos, line, report.summary())


@pytest.mark.parametrize("index", [0, 1, 5, 40, 87, -3, -2, -1])
def test_R21_removed_line_is_located(rehearsal, index):
    _, key, content = rehearsal
    lines = _lines(content)
    n = index % len(lines)
    report = audit_bytes(_join(lines[:n] + lines[n + 1 :]), key.public_key())
    assert not report.ok
    assert report.line == n + 1, report.summary()


@pytest.mark.parametrize("index", [1, 10, 60, -3, -2])
def test_R21_swapped_lines_are_located(rehearsal, index):
    _, key, content = rehearsal
    lines = _lines(content)
    n = index % len(lines)
    lines[n], lines[n + 1] = lines[n + 1], lines[n]
    report = audit_bytes(_join(lines), key.public_key())
    assert not report.ok and report.line == n + 1, report.summary()


def test_R21_truncated_journal_is_incomplete(rehearsal):
    _, key, content = rehearsal
    lines = _lines(content)
    cut = next(i for i, x in enumerate(lines) if json.loads(x).get("reason") == "VoteClosed")
    report = audit_bytes(_join(lines[: cut + 1]), key.public_key())
    assert not report.ok and report.line == cut + 2 and "incomplet" in report.reason
    assert audit_bytes(_join(lines[: cut + 1]), key.public_key(), allow_open=True).ok


def _reseal(entries: list[dict], key) -> bytes:
    """What a server with the key (or a bug) would write: valid chain and signatures."""
    out, prev_raw = [], None
    renumber = {e["seq"]: n for n, e in enumerate(entries, start=1) if "seq" in e}
    for n, e in enumerate(entries, start=1):
        e = {k: v for k, v in e.items() if k not in ("hash", "signature")}
        if "cause" in e:
            e["cause"] = renumber.get(e["cause"], e["cause"])
        e["seq"], e["prev"] = n, sha256_hex(prev_raw) if prev_raw else ZERO
        if e["kind"] == "checkpoint":
            e["head"] = e["prev"]
        raw = seal(e, key)
        out.append(raw)
        prev_raw = raw
    return _join(out)


def _entries(content: bytes) -> list[dict]:
    return [json.loads(x) for x in _lines(content)]


def _find(entries, type_, **data):
    return next(
        i
        for i, e in enumerate(entries)
        if e["kind"] == "event"
        and e["event"]["type"] == type_
        and all(e["event"]["data"].get(k) == v for k, v in data.items())
    )


def test_R21_resealed_journal_without_tampering_verifies(rehearsal):
    _, key, content = rehearsal
    assert _reseal(_entries(content), key) == content


def test_R14_forged_result_with_valid_signatures_is_recomputed_and_refused(rehearsal):
    _, key, content = rehearsal
    entries = _entries(content)
    i = _find(entries, "VoteClosed", item_id="fonds-concours-vaux")
    entries[i]["event"]["data"]["adopted"] = False
    entries[i]["event"]["data"]["casting_vote"] = False
    report = audit_bytes(_reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R14")


def test_R14_forged_counts_are_recomputed_and_refused(rehearsal):
    _, key, content = rehearsal
    entries = _entries(content)
    i = _find(entries, "VoteClosed", item_id="marche-collecte")
    entries[i]["event"]["data"]["counts"]["pour"] += 1
    report = audit_bytes(_reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R14")


def test_R8_forged_quorum_at_opening_is_recomputed_and_refused(rehearsal):
    _, key, content = rehearsal
    entries = _entries(content)
    i = _find(entries, "SittingOpened")
    entries[i]["event"]["data"]["quorum"]["present"] = 13
    report = audit_bytes(_reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1 and report.reason.startswith("R8")


def test_R7_opening_without_transmission_is_refused_by_audit(rehearsal):
    _, key, content = rehearsal
    entries = _entries(content)
    i = _find(entries, "TransmissionChanged", salle_id="vaux", transmitting=True)
    del entries[i - 1 : i + 1]  # the command and its event: vaux never reported up
    forged = _reseal(entries, key)
    report = audit_bytes(forged, key.public_key())
    opened_at = _find(entries, "SittingOpened") + 1
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
    entries = _entries(content)
    i = _find(entries, "BallotCast", item_id="pv-precedent", voter_id="m02", on_behalf_of=None)
    forged = json.loads(canonical_bytes(entries[i]))
    forged["event"]["data"]["choice"] = "contre"
    entries.insert(i + 1, forged)
    report = audit_bytes(_reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 2 and report.reason.startswith("R16")


def test_R21_forged_event_that_the_command_does_not_produce_is_refused(rehearsal):
    _, key, content = rehearsal
    entries = _entries(content)
    i = _find(entries, "CheckedIn", member_id="m05")
    entries[i]["event"]["data"]["salle_id"] = "vaux"  # consistent for recomputation, not for the command
    report = audit_bytes(_reseal(entries, key), key.public_key())
    assert not report.ok and report.line == i + 1, report.summary()


def test_R21_public_key_pem_round_trip(rehearsal):
    out, _key, _ = rehearsal
    pub = load_public_pem((out / "journal.pub").read_bytes())
    assert audit_bytes((out / "journal.jsonl").read_bytes(), pub).ok


def test_R17_forged_ballot_during_frozen_vote_is_refused_by_recomputation(rehearsal):
    from deliberation.audit import recompute
    from deliberation.journal import JournalError, verify_lines

    _, key, content = rehearsal
    entries = _entries(content)
    suspended = _find(entries, "SittingSuspended")
    ballot = _find(entries, "BallotCast", item_id="fonds-concours-vaux", voter_id="m08")
    moved = entries.pop(ballot)  # the m08 ballot, cast after the resumption, moved into the freeze
    entries.insert(suspended + 1, moved)
    forged = _reseal(entries, key)
    with pytest.raises(JournalError) as err:
        recompute(verify_lines(forged, key.public_key()))
    assert err.value.line == suspended + 2 and err.value.reason.startswith("R17")
    assert not audit_bytes(forged, key.public_key()).ok
