"""Issue 12.1 (R18, R21): every acknowledged command is covered by a signature, and a signed
head kept elsewhere (a witness) detects a journal cut or rolled back.

The attack: whoever can write the data directory changes a ballot of the open vote,
recomputes ``seq``/``prev``/``hash`` with the public hash function, and lets the server
resume. In format 1 the lines after the last checkpoint were protected by the unkeyed
chain only, so this verified; in format 2 every batch ends with a signed checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from deliberation.actors import ADMIN
from deliberation.audit import audit_bytes
from deliberation.canonical import canonical_bytes
from deliberation.commands import (
    AppointSecretary,
    CastBallot,
    CheckIn,
    OpenSitting,
    OpenVote,
    ReportPublicStream,
    ReportTransmission,
)
from deliberation.demo import demo_agenda, demo_seance
from deliberation.journal import (
    FORMAT,
    Journal,
    JournalError,
    check_head,
    generate_key,
    last_signed_head,
    public_pem,
    verify_lines,
)
from deliberation.refusal import Refusal
from deliberation.seance import Seance
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, agent, councillor
from web.cli import main

V1 = Path(__file__).resolve().parents[1] / "data" / "journal-v1-rehearsal"


def _open_vote_journal(tmp_path: Path):
    """A sitting with a vote open and three ballots cast, journaled in format 2."""
    key, clock = generate_key(), Clock()
    seance = Seance(demo_seance().council, demo_seance().config)
    path = tmp_path / "journal.jsonl"
    journal = Journal.create(path, seance, key)
    steps = [(c, ADMIN) for c in demo_agenda(clock())]
    steps += [(ReportTransmission(clock(), s, True), SYSTEM) for s in ("belcourt", "vaux")]
    steps.append((ReportPublicStream(clock(), True), SYSTEM))
    steps += [(CheckIn(clock(), m, "belcourt"), agent("belcourt")) for m in ("m01", "m02", "m03", "m04", "m05")]
    steps += [(CheckIn(clock(), m, "vaux"), agent("vaux")) for m in ("m06", "m07", "m08", "m09")]
    steps += [(AppointSecretary(clock(), "m03"), PRESIDENT), (OpenSitting(clock()), PRESIDENT)]
    steps.append((OpenVote(clock(), "marche-collecte"), PRESIDENT))
    steps += [(CastBallot(clock(), "marche-collecte", m, "pour"), councillor(m)) for m in ("m02", "m06", "m07")]
    for command, actor in steps:
        assert not isinstance(journal.handle(seance, command, actor), Refusal), command
        # before the ack, the batch is covered: the file ends with a signed checkpoint
        assert json.loads(path.read_bytes().splitlines()[-1])["kind"] == "checkpoint"
    journal.close()
    pub = tmp_path / "journal.pub"
    pub.write_bytes(public_pem(key))
    return key, path, pub


def _rechain(lines: list[dict], start: int) -> bytes:
    """What the attacker does: recompute seq/prev/hash from line ``start`` on (1-based),
    leaving each checkpoint's signature as it was (the key is not theirs)."""
    out: list[bytes] = []
    for n, entry in enumerate(lines, start=1):
        entry = dict(entry)
        if n >= start:
            entry["seq"] = n
            entry["prev"] = hashlib.sha256(out[-1]).hexdigest() if out else "0" * 64
            if entry["kind"] == "checkpoint":
                entry["head"] = entry["prev"]
            entry["hash"] = hashlib.sha256(canonical_bytes({k: v for k, v in entry.items() if k != "hash"})).hexdigest()
        out.append(canonical_bytes(entry))
    return b"".join(x + b"\n" for x in out)


def _forge_last_ballot(path: Path) -> tuple[list[dict], int]:
    lines = [json.loads(x) for x in path.read_bytes().splitlines()]
    n = max(i for i, e in enumerate(lines, start=1) if e["kind"] == "event" and e["event"]["type"] == "BallotCast")
    lines[n - 1]["event"]["data"]["choice"] = "contre"
    cmd = lines[n - 1]["cause"]
    lines[cmd - 1]["command"]["choice"] = "contre"
    return lines, cmd


def test_R21_the_format_is_2_and_every_batch_ends_with_its_signature(tmp_path):
    key, path, _pub = _open_vote_journal(tmp_path)
    entries = verify_lines(path.read_bytes(), key.public_key())
    assert entries[0].data["format"] == FORMAT == "seance-journal/2"
    for e in entries:
        if e.kind == "command":
            assert entries[e.line - 2].kind == "checkpoint", f"line {e.line}: the batch before is unsigned"


def test_R21_a_ballot_rewritten_and_rechained_with_the_signatures_kept_is_refused_at_the_next_signature(
    tmp_path, capsys
):
    key, path, pub = _open_vote_journal(tmp_path)
    lines, cmd = _forge_last_ballot(path)
    path.write_bytes(_rechain(lines, cmd))
    # the chain is whole again (seq, prev, hash recomputed): only the signature catches it
    next_checkpoint = next(n for n in range(cmd, len(lines) + 1) if lines[n - 1]["kind"] == "checkpoint")
    with pytest.raises(JournalError) as err:
        Journal.open(path, key)
    assert err.value.line == next_checkpoint and "signature" in err.value.reason
    assert main(["audit", "verify", str(path), "--key", str(pub), "--allow-open"]) == 1
    assert f"ligne {next_checkpoint} :" in capsys.readouterr().out


def test_R21_a_ballot_rewritten_with_the_signed_lines_after_it_dropped_is_an_unsigned_tail(tmp_path, capsys):
    key, path, pub = _open_vote_journal(tmp_path)
    lines, cmd = _forge_last_ballot(path)
    forged = [e for n, e in enumerate(lines, start=1) if n < cmd or lines[n - 1]["kind"] != "checkpoint"]
    path.write_bytes(_rechain(forged, cmd))
    with pytest.raises(JournalError) as err:
        Journal.open(path, key)
    assert err.value.line == cmd and "non couvertes par une signature" in err.value.reason
    report = audit_bytes(path.read_bytes(), key.public_key(), allow_open=True)
    assert not report.ok and report.line == cmd
    assert main(["audit", "verify", str(path), "--key", str(pub), "--allow-open"]) == 1
    assert f"ligne {cmd} :" in capsys.readouterr().out


def test_R21_a_journal_cut_at_a_signature_verifies_alone_but_not_against_the_witness(tmp_path, capsys):
    key, path, pub = _open_vote_journal(tmp_path)
    content = path.read_bytes()
    witness = last_signed_head(verify_lines(content, key.public_key()))
    (tmp_path / "head.json").write_text(json.dumps(witness))
    assert (
        main(["audit", "verify", str(path), "--key", str(pub), "--allow-open", "--head", str(tmp_path / "head.json")])
        == 0
    )
    capsys.readouterr()
    # the last ballot's batch dropped, the cut at a checkpoint: the file alone verifies
    lines = content.splitlines(keepends=True)
    cut = max(i for i, x in enumerate(lines) if json.loads(x)["kind"] == "command")
    path.write_bytes(b"".join(lines[:cut]))
    assert audit_bytes(path.read_bytes(), key.public_key(), allow_open=True).ok
    with pytest.raises(JournalError) as err:
        check_head(verify_lines(path.read_bytes(), key.public_key()), witness, key.public_key())
    assert err.value.line == cut + 1 and "tronqué" in err.value.reason
    assert (
        main(["audit", "verify", str(path), "--key", str(pub), "--allow-open", "--head", str(tmp_path / "head.json")])
        == 1
    )
    assert f"ligne {cut + 1} :" in capsys.readouterr().out


def test_R21_a_witness_not_signed_by_the_key_or_of_another_history_is_refused(tmp_path):
    key, path, _pub = _open_vote_journal(tmp_path)
    entries = verify_lines(path.read_bytes(), key.public_key())
    witness = last_signed_head(entries)
    check_head(entries, witness, key.public_key())  # the true witness holds
    with pytest.raises(JournalError, match="signature"):
        check_head(entries, {**witness, "reason": "autre"}, key.public_key())
    with pytest.raises(JournalError, match="illisible"):
        check_head(entries, {"hash": witness["hash"]}, key.public_key())
    # a bare (seq, hash) witness of another history: the journal differs at that line
    with pytest.raises(JournalError) as err:
        check_head(entries, {"seq": witness["seq"], "hash": "ab" * 32}, key.public_key())
    assert err.value.line == witness["seq"] and "réécrit" in err.value.reason


def test_R21_a_format_1_journal_keeps_its_rule_for_a_tail_after_its_last_checkpoint():
    """The format-1 rehearsal still verifies as format 1; an unsigned tail is its rule (not format 2's)."""
    public = (V1 / "journal.pub").read_bytes()
    from deliberation.journal import load_public_pem

    key = load_public_pem(public)
    content = (V1 / "journal.jsonl").read_bytes()
    entries = verify_lines(content, key)
    assert entries[0].data["format"] == "seance-journal/1"
    last_command = max(e.line for e in entries if e.kind == "command")
    cut = b"".join(content.splitlines(keepends=True)[: last_command + 1])  # the closing, without its checkpoint
    assert verify_lines(cut, key)[-1].kind != "checkpoint"


def test_R18_a_live_journal_is_read_up_to_its_last_signature(tmp_path):
    """A copy taken while a batch is written: what was acknowledged is up to the last checkpoint."""
    from deliberation.journal import signed_prefix

    key, path, _pub = _open_vote_journal(tmp_path)
    content = path.read_bytes()
    assert signed_prefix(content) == content
    lines = content.splitlines(keepends=True)
    being_written = content + lines[-3] + lines[-2][:40]  # a command and half its event, unsigned
    assert signed_prefix(being_written) == content
    assert verify_lines(signed_prefix(being_written), key.public_key())[-1].kind == "checkpoint"
    v1 = (V1 / "journal.jsonl").read_bytes()
    cut = b"".join(v1.splitlines(keepends=True)[:-1])  # format 1: lines after a checkpoint are acknowledged
    assert signed_prefix(cut) == cut
