"""R18 and R21: the journal is written before acknowledgement, chained, signed, replayable."""

from __future__ import annotations

import hashlib
import json

import pytest

from deliberation.canonical import canonical_bytes
from deliberation.commands import (
    AppointSecretary,
    CastBallot,
    CheckIn,
    CloseSitting,
    CloseVote,
    OpenSitting,
    OpenVote,
    ReportPublicStream,
    ReportTransmission,
)
from deliberation.demo import demo_seance
from deliberation.journal import Journal, JournalError, generate_key, read_verified
from deliberation.refusal import Refusal
from deliberation.seance import Seance
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, agent, councillor


def _run(journal: Journal, seance: Seance, clock: Clock, *, close: bool = True) -> None:
    steps = [(ReportTransmission(clock(), s, True), SYSTEM) for s in ("belcourt", "vaux")]
    steps.append((ReportPublicStream(clock(), True), SYSTEM))
    for m in ("m01", "m02", "m03", "m04", "m05"):
        steps.append((CheckIn(clock(), m, "belcourt"), agent("belcourt")))
    for m in ("m06", "m07", "m08", "m09"):
        steps.append((CheckIn(clock(), m, "vaux"), agent("vaux")))
    steps += [
        (AppointSecretary(clock(), "m03"), PRESIDENT),
        (OpenSitting(clock()), PRESIDENT),
        (OpenVote(clock(), "marche-collecte"), PRESIDENT),
    ]
    steps += [(CastBallot(clock(), "marche-collecte", m, "pour"), councillor(m)) for m in ("m02", "m06", "m07")]
    steps.append((CloseVote(clock(), "marche-collecte"), PRESIDENT))
    if close:
        steps.append((CloseSitting(clock()), PRESIDENT))
    for command, actor in steps:
        assert not isinstance(journal.handle(seance, command, actor), Refusal), command


def _fresh(tmp_path):
    key = generate_key()
    seance = Seance(demo_seance().council, demo_seance().config)
    path = tmp_path / "journal.jsonl"
    return key, seance, path


def _with_agenda(seance: Seance, journal: Journal, clock: Clock) -> None:
    from deliberation.actors import ADMIN
    from deliberation.demo import demo_agenda

    for command in demo_agenda(clock()):
        assert not isinstance(journal.handle(seance, command, ADMIN), Refusal)


def test_R18_replay_of_journal_rebuilds_exact_state(tmp_path):
    key, seance, path = _fresh(tmp_path)
    clock = Clock()
    with Journal.create(path, seance, key) as journal:
        _with_agenda(seance, journal, clock)
        _run(journal, seance, clock)
    replayed = Journal.replay(path, key.public_key())
    assert replayed.canonical() == seance.canonical()
    assert replayed.state.status == "closed"


def test_R18_command_journaled_and_fsynced_before_acknowledgement(tmp_path, monkeypatch):
    key, seance, path = _fresh(tmp_path)
    clock = Clock()
    synced: list[int] = []
    import deliberation.journal as jmod

    real_fsync = jmod.os.fsync
    monkeypatch.setattr(jmod.os, "fsync", lambda fd: (synced.append(path.stat().st_size), real_fsync(fd))[1])
    journal = Journal.create(path, seance, key)
    before = len(synced)
    _with_agenda(seance, journal, clock)
    result = journal.handle(seance, CheckIn(clock(), "m01", "belcourt"), agent("belcourt"))
    assert not isinstance(result, Refusal)
    assert len(synced) == before + 8  # one fsync per accepted command: the 7 items of the agenda, the check-in
    *_, event, last = (json.loads(x) for x in path.read_bytes().splitlines())
    assert event["kind"] == "event" and event["event"]["type"] == "CheckedIn"
    assert last["kind"] == "checkpoint" and last["reason"] == "batch"  # signed before the ack
    assert synced[-1] == path.stat().st_size  # the fsync came after the last byte was written
    journal.close()


def test_R18_refused_command_is_not_journaled(tmp_path):
    key, seance, path = _fresh(tmp_path)
    clock = Clock()
    with Journal.create(path, seance, key) as journal:
        size = path.stat().st_size
        result = journal.handle(seance, CheckIn(clock(), "m01", "belcourt"), agent("vaux"))
        assert isinstance(result, Refusal) and result.rule == "R4"
        assert path.stat().st_size == size


def test_R18_resume_after_crash_continues_the_chain(tmp_path):
    key, seance, path = _fresh(tmp_path)
    clock = Clock()
    journal = Journal.create(path, seance, key)
    _with_agenda(seance, journal, clock)
    assert journal.handle(seance, ReportTransmission(clock(), "saint-ferreol", True), SYSTEM)
    assert journal.handle(seance, CheckIn(clock(), "m10", "saint-ferreol"), agent("saint-ferreol"))
    journal.close()  # the process dies here
    journal2, resumed = Journal.open(path, key)
    assert resumed.canonical() == seance.canonical()
    _run(journal2, resumed, clock)
    journal2.close()
    from deliberation.audit import audit_file

    report = audit_file(str(path), key.public_key())
    assert report.ok, report.summary()


def test_R21_each_line_chains_the_previous_and_checkpoints_sign_results(tmp_path):
    key, seance, path = _fresh(tmp_path)
    clock = Clock()
    with Journal.create(path, seance, key) as journal:
        _with_agenda(seance, journal, clock)
        _run(journal, seance, clock)
    raw = path.read_bytes().split(b"\n")[:-1]
    prev = "0" * 64
    for n, line in enumerate(raw, start=1):
        obj = json.loads(line)
        assert line == canonical_bytes(obj)
        assert obj["seq"] == n and obj["prev"] == prev
        assert obj["hash"] == hashlib.sha256(canonical_bytes({k: v for k, v in obj.items() if k != "hash"})).hexdigest()
        prev = hashlib.sha256(line).hexdigest()
    reasons = [json.loads(x)["reason"] for x in raw if json.loads(x)["kind"] == "checkpoint"]
    assert [r for r in reasons if r != "batch"] == ["genesis", "VoteClosed", "SittingClosed"]
    # format 2: every batch (a command and its events) ends with its own signed checkpoint
    kinds = [json.loads(x)["kind"] for x in raw]
    assert kinds.count("command") == reasons.count("batch") + 2
    for n, kind in enumerate(kinds):
        if kind == "command":
            assert kinds[n - 1] == "checkpoint", f"line {n + 1}: the previous batch is not signed"
    assert kinds[-1] == "checkpoint"


def test_R21_journal_that_does_not_verify_refuses_to_load(tmp_path):
    key, seance, path = _fresh(tmp_path)
    clock = Clock()
    with Journal.create(path, seance, key) as journal:
        _with_agenda(seance, journal, clock)
        _run(journal, seance, clock, close=False)
    data = bytearray(path.read_bytes())
    pos = data.index(b'"m06"')
    data[pos + 3] = ord("7")
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError) as err:
        Journal.open(path, key)
    assert err.value.line == data[:pos].count(b"\n") + 1


def test_R21_journal_signed_by_another_key_refuses_to_load(tmp_path):
    key, seance, path = _fresh(tmp_path)
    with Journal.create(path, seance, key):
        pass
    with pytest.raises(JournalError) as err:
        Journal.open(path, generate_key())
    assert err.value.line == 2  # the genesis checkpoint's signature


def test_R21_create_refuses_to_overwrite(tmp_path):
    key, seance, path = _fresh(tmp_path)
    with Journal.create(path, seance, key):
        pass
    with pytest.raises(FileExistsError):
        Journal.create(path, seance, key)
    assert len(read_verified(path, key.public_key())) == 2
