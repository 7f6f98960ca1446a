"""The journal's bytes are a promise to auditors (R21, docs/journal.md): typing the events
and the state's records (issue 14 point 4) must not change one byte of them.

``tests/data/journal-bytes/`` holds journals written by ``main`` before the typing, with a
fixed signing key (Ed25519 signatures are deterministic, so the same commands give the
same bytes): ``seance rehearse``'s journal (``rehearsal/``), the adopting sitting's
(``rehearsal/adoption/``, :mod:`deliberation.rehearsal_adoption`) and the demo sitting's
(``demo/``, :func:`deliberation.demo.start_demo_journal`); beside each journal, its replayed
state's canonical JSON (``state.json``). ``tests/data/journal-v1-rehearsal`` (rules edition
1, where events lacked keys added since) is checked the same way.

Regenerate (only when a change of the journal format is intended, and say so in
docs/journal.md)::

    .venv/bin/python tests/deliberation/test_journal_bytes.py tests/data/journal-bytes
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deliberation.canonical import canonical_bytes
from deliberation.demo import start_demo_journal
from deliberation.events import Event
from deliberation.journal import Journal, last_signed_head, load_public_pem, public_pem, read_verified, seal
from deliberation.rehearsal import run_rehearsal
from deliberation.rehearsal_adoption import adopt_and_sign

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURE = DATA / "journal-bytes"
#: a fixed key: the same journal bytes at every run (never used outside the tests)
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"seance: journal-bytes fixture").digest())
JOURNALS = ("rehearsal", "rehearsal/adoption", "demo")


def write_journals(out: Path) -> None:
    """Write the three journals as ``seance rehearse`` and ``start_demo_journal`` do, with :data:`KEY`."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        outcome = run_rehearsal(work / "rehearsal", KEY)
        pv_html = (work / "rehearsal" / "proces-verbal.html").read_text(encoding="utf-8")
        head = last_signed_head(read_verified(outcome.journal_path, KEY.public_key()))
        adopt_and_sign(outcome.seance, pv_html, head, work / "rehearsal", KEY)
        (work / "demo").mkdir()
        journal, _ = start_demo_journal(str(work / "demo" / "journal.jsonl"), KEY)
        journal.close()
        for name in JOURNALS:
            (out / name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / name / "journal.jsonl", out / name / "journal.jsonl")
            (out / name / "state.json").write_bytes(_state_bytes(out / name / "journal.jsonl", KEY.public_key()))
    (out / "journal.pub").write_bytes(public_pem(KEY))


def _state_bytes(path: Path, public_key) -> bytes:
    return canonical_bytes(Journal.replay(path, public_key).snapshot()) + b"\n"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def _differences(got: list[bytes], want: list[bytes]) -> list[str]:
    out = [f"line {n}: {g[:160]!r} != {w[:160]!r}" for n, (g, w) in enumerate(zip(got, want), start=1) if g != w]
    if len(got) != len(want):
        out.append(f"{len(got)} lines instead of {len(want)}")
    return out


def test_R21_the_code_writes_the_same_journal_bytes_as_before_the_typing(tmp_path: Path) -> None:
    """Deciding the same commands gives the same lines: events, commands, hashes, signatures.

    The adopting sitting's journal records the SHA-256 of a PDF (``RecordMinutesSigned``),
    whose bytes depend on the PDF library's version: its lines are compared up to that
    command, and its events are re-encoded by the test below."""
    write_journals(tmp_path)
    for name in ("rehearsal", "demo"):
        got, want = _lines(tmp_path / name / "journal.jsonl"), _lines(FIXTURE / name / "journal.jsonl")
        assert len(want) > 2, name
        assert not _differences(got, want), (name, _differences(got, want)[:5])
    got, want = (
        _lines(tmp_path / "rehearsal/adoption/journal.jsonl"),
        _lines(FIXTURE / "rehearsal/adoption/journal.jsonl"),
    )
    signed = next(n for n, line in enumerate(want) if b'"RecordMinutesSigned"' in line)
    assert not _differences(got[:signed], want[:signed])


def _fixtures() -> list[tuple[Path, Path]]:
    return [(FIXTURE / name / "journal.jsonl", FIXTURE / "journal.pub") for name in JOURNALS] + [
        (DATA / "journal-v1-rehearsal" / "journal.jsonl", DATA / "journal-v1-rehearsal" / "journal.pub")
    ]


@pytest.mark.parametrize("journal,pub", _fixtures(), ids=[*JOURNALS, "v1-rehearsal"])
def test_R21_every_line_decodes_to_typed_values_and_reencodes_to_its_own_bytes(journal: Path, pub: Path) -> None:
    """Each event read back into its class, written again, sealed again: the same line."""
    key = load_public_pem(pub.read_bytes())
    entries = read_verified(journal, key)
    events = 0
    for entry in entries:
        data = dict(entry.data)
        if entry.kind == "event":
            event = Event.from_dict(data["event"])
            assert type(event) is not Event and event.type == data["event"]["type"]
            data["event"] = event.to_dict()
            events += 1
        if entry.kind != "checkpoint":  # a checkpoint's signature is kept as it is: its bytes cover the rest
            assert seal({k: v for k, v in data.items() if k != "hash"}) == entry.raw, (entry.line, entry.raw[:200])
        else:
            assert canonical_bytes(data) == entry.raw
    assert events > 2


def _same_records(replayed: bytes, kept: bytes) -> bytes:
    """``replayed`` narrowed to the keys of each part of ``kept`` (council, config, state): a
    record the state gains later (a feature's new field) is not a change of those it had,
    whose bytes must stay the same."""
    now, before = json.loads(replayed), json.loads(kept)
    return canonical_bytes({part: {k: now[part][k] for k in keys if k in now[part]} for part, keys in before.items()})


@pytest.mark.parametrize("name", JOURNALS)
def test_R18_replay_rebuilds_the_same_state_bytes(name: str) -> None:
    key = load_public_pem((FIXTURE / "journal.pub").read_bytes())
    state = (FIXTURE / name / "state.json").read_bytes()
    assert json.loads(state)["state"]["agenda"], name
    assert _same_records(_state_bytes(FIXTURE / name / "journal.jsonl", key), state) == state.rstrip(b"\n")


def test_R18_replay_of_an_edition_1_journal_rebuilds_the_same_state_bytes() -> None:
    v1 = DATA / "journal-v1-rehearsal"
    key = load_public_pem((v1 / "journal.pub").read_bytes())
    state = (FIXTURE / "v1-rehearsal.state.json").read_bytes()
    assert _same_records(_state_bytes(v1 / "journal.jsonl", key), state) == state.rstrip(b"\n")


if __name__ == "__main__":
    target = Path(sys.argv[1])
    write_journals(target)
    v1 = DATA / "journal-v1-rehearsal"
    (target / "v1-rehearsal.state.json").write_bytes(
        _state_bytes(v1 / "journal.jsonl", load_public_pem((v1 / "journal.pub").read_bytes()))
    )
    print(f"écrit : {target}")
