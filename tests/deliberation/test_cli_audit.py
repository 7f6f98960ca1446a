"""``seance rehearse`` then ``seance audit verify``: exit 0, and exit 1 naming the line on tampering."""

from __future__ import annotations

import dataclasses
import io

import pikepdf

from deliberation.actors import ADMIN
from deliberation.commands import (
    AppointSecretary,
    CastBallot,
    CheckIn,
    CloseSitting,
    CloseVote,
    OpenSitting,
    OpenVote,
    RecordQuorumFailure,
    ReportPublicStream,
    ReportTransmission,
)
from deliberation.demo import demo_agenda, demo_config, demo_council
from deliberation.journal import Journal, generate_key, public_pem, read_verified
from deliberation.reconvocation import reconvocation_of
from deliberation.seance import Seance
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, agent, councillor
from web.cli import main


def test_R21_rehearse_then_audit_verify_exits_0_then_1_on_a_changed_byte(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["rehearse", "--out", str(out), "--quiet"]) == 0
    for name in ("journal.jsonl", "journal.pub", "proces-verbal.html", "deliberations.csv"):
        assert (out / name).stat().st_size > 0
    journal, key = str(out / "journal.jsonl"), str(out / "journal.pub")
    capsys.readouterr()
    assert main(["audit", "verify", journal, "--key", key]) == 0
    assert "journal vérifié" in capsys.readouterr().out

    data = bytearray((out / "journal.jsonl").read_bytes())
    line_starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A][:-1]
    target = 42
    pos = line_starts[target - 1] + 10
    data[pos] ^= 0x04
    (out / "journal.jsonl").write_bytes(bytes(data))
    assert main(["audit", "verify", journal, "--key", key]) == 1
    assert f"ligne {target} :" in capsys.readouterr().out


def test_audit_verify_unreadable_key_exits_2(tmp_path, capsys):
    (tmp_path / "k.pem").write_text("not a key")
    (tmp_path / "j.jsonl").write_text("")
    assert main(["audit", "verify", str(tmp_path / "j.jsonl"), "--key", str(tmp_path / "k.pem")]) == 2


def _reconvened_journals(tmp_path):
    """A sitting without quorum (demo-1), then the sitting convened again after it (demo-2),
    which deliberates without quorum on an item of the first agenda."""
    clock, key = Clock(), generate_key()
    (tmp_path / "k.pub").write_bytes(public_pem(key))
    first = Seance(
        demo_council(), dataclasses.replace(demo_config(), id="demo-1", scheduled_at="2026-11-19T18:30:00+01:00")
    )
    with Journal.create(tmp_path / "j1.jsonl", first, key) as journal:
        for command in demo_agenda(clock()):
            journal.handle(first, command, ADMIN)
        journal.handle(first, CheckIn(clock(), "m02", "belcourt"), agent("belcourt"))
        assert journal.handle(first, RecordQuorumFailure(clock()), PRESIDENT)
    link = reconvocation_of(read_verified(tmp_path / "j1.jsonl", key.public_key()))
    second = Seance(demo_council(), dataclasses.replace(demo_config(), id="demo-2", reconvened_from=link))
    steps = [(c, ADMIN) for c in demo_agenda(clock())]
    steps += [(CheckIn(clock(), m, "belcourt"), agent("belcourt")) for m in ("m01", "m02", "m03")]
    steps += [(ReportTransmission(clock(), "belcourt", True), SYSTEM), (ReportPublicStream(clock(), True), SYSTEM)]
    steps += [(AppointSecretary(clock(), "m03"), PRESIDENT), (OpenSitting(clock()), PRESIDENT)]
    steps += [(OpenVote(clock(), "pv-precedent"), PRESIDENT)]
    steps += [(CastBallot(clock(), "pv-precedent", "m02", "pour"), councillor("m02"))]
    steps += [(CloseVote(clock(), "pv-precedent"), PRESIDENT), (CloseSitting(clock()), PRESIDENT)]
    with Journal.create(tmp_path / "j2.jsonl", second, key) as journal:
        for command, actor in steps:
            assert journal.handle(second, command, actor), command
    return tuple(str(tmp_path / n) for n in ("j1.jsonl", "j2.jsonl", "k.pub"))


def test_R8_audit_verify_checks_the_reconvocation_against_the_failed_sittings_journal(tmp_path, capsys):
    failed, reconvened, key = _reconvened_journals(tmp_path)
    assert main(["audit", "verify", failed, "--key", key]) == 0  # closed for lack of quorum: complete
    assert main(["audit", "verify", reconvened, "--key", key, "--failed-sitting", failed]) == 0
    assert "journal vérifié" in capsys.readouterr().out
    # another journal of the council, which records no lack of quorum, is not the sitting that failed
    assert main(["audit", "verify", reconvened, "--key", key, "--failed-sitting", reconvened]) == 1
    assert "R8 — le journal de la première séance ne constate pas l'absence de quorum" in capsys.readouterr().out


def test_R22_rehearse_writes_the_signed_pv_that_audit_pv_checks_against_the_adopting_journal(tmp_path, capsys):
    assert main(["rehearse", "--out", str(tmp_path), "--quiet"]) == 0
    pdf, journal, key = (
        tmp_path / "proces-verbal-signe.pdf",
        tmp_path / "adoption" / "journal.jsonl",
        tmp_path / "journal.pub",
    )
    with pikepdf.open(io.BytesIO(pdf.read_bytes())).open_metadata() as meta:
        assert meta.pdfa_status == "3B"
    capsys.readouterr()
    assert main(["audit", "pv", str(pdf), "--journal", str(journal), "--key", str(key)]) == 0
    out = capsys.readouterr().out
    assert "procès-verbal adopté et signé" in out
    assert "signature PAdES (Ed25519) de la clé du conseil valide, couvrant tout le fichier" in out
    # the first sitting's journal records no signature: the PDF is not its adoption
    assert main(["audit", "pv", str(pdf), "--journal", str(tmp_path / "journal.jsonl"), "--key", str(key)]) == 1
    assert "aucune signature de procès-verbal" in capsys.readouterr().out
    pdf.write_bytes(pdf.read_bytes() + b"\n")  # one byte more: another file
    assert main(["audit", "pv", str(pdf), "--journal", str(journal), "--key", str(key)]) == 1
