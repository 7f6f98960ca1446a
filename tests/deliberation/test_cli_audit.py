"""``seance rehearse`` then ``seance audit verify``: exit 0, and exit 1 naming the line on tampering."""

from __future__ import annotations

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
