"""docs/journal.md is enough to verify a journal: its minimal verifier is run here."""

from __future__ import annotations

import re
from pathlib import Path

from deliberation.journal import generate_key
from deliberation.rehearsal import run_rehearsal

DOC = Path(__file__).resolve().parents[2] / "docs" / "journal.md"


def _doc_verifier():
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    namespace: dict = {"__name__": "doc_verifier"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace["verify"]


def test_R21_documented_verifier_accepts_rehearsal_and_locates_a_change(tmp_path):
    verify = _doc_verifier()
    run_rehearsal(tmp_path, generate_key())
    journal, pub = tmp_path / "journal.jsonl", tmp_path / "journal.pub"
    assert verify(str(journal), str(pub)) == (None, "ok")
    data = bytearray(journal.read_bytes())
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A][:-1]
    for line in (1, 2, 30, len(starts)):
        tampered = bytearray(data)
        tampered[starts[line - 1] + 5] ^= 0x01
        (tmp_path / "t.jsonl").write_bytes(bytes(tampered))
        assert verify(str(tmp_path / "t.jsonl"), str(pub))[0] == line
