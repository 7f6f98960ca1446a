"""The council's signed register of publications (issue 16, R21, R22, R26): the same chain
and signatures as a sitting's journal, read back after a restart, any line rewritten,
dropped or moved refused with the line named, and one chain whatever the processes
appending to it."""

from __future__ import annotations

import itertools
import json
import multiprocessing
from pathlib import Path

import pytest

from deliberation.canonical import canonical_bytes
from deliberation.journal import (
    JournalError,
    append_durably,
    chain_batch,
    generate_key,
    load_private_pem,
    private_pem,
    sha256_hex,
)
from deliberation.register import (
    ConvocationPublished,
    ListePublished,
    MinutesPublished,
    Publications,
    Register,
    RegisterCache,
    ReplayExported,
    ReplayPublished,
    ReplayWithdrawn,
    entry_to_dict,
    verify_register,
)

HEAD = "a" * 64


def _liste(sitting: str, at: str = "2026-12-01T19:30:00+01:00") -> ListePublished:
    return ListePublished(sitting, at, HEAD, {"20261201-01": "b" * 64})


def _filled(tmp_path: Path):
    key = generate_key()
    reg = Register(tmp_path / "registre.jsonl", key, "ccvb")
    reg.append(lambda pub: [_liste("s1")])
    reg.append(
        lambda pub: [
            MinutesPublished("s1", "2026-12-09T10:00:00+01:00", "s2", "c" * 64, "secretariat"),
            ReplayExported("s1", "2026-12-09T11:00:00+01:00", "recordings/s1/x.webm.enc", "d" * 64, "e" * 64, "dsi"),
        ]
    )
    reg.append(
        lambda pub: [ReplayPublished("s1", "2026-12-09T12:00:00+01:00", "recordings/s1/x.webm.enc", "e" * 64, "dsi")]
    )
    return key, reg


def test_entries_read_back_typed_after_a_restart_and_the_chain_goes_on(tmp_path: Path) -> None:
    key, reg = _filled(tmp_path)
    # a restart: a new process, a new Register on the same file and the key as kept on disk
    again = Register(reg.path, load_private_pem(private_pem(key)), "ccvb")
    pub = again.read()
    assert [i.entry.type for i in pub.inscriptions] == [
        "ListePublished",
        "MinutesPublished",
        "ReplayExported",
        "ReplayPublished",
    ]
    assert pub.liste("s1") == _liste("s1")
    assert pub.minutes("s1") is not None and pub.minutes("s1").pdf_sha256 == "c" * 64
    assert pub.replay("s1", "recordings/s1/x.webm.enc") is not None
    again.append(lambda p: [ReplayWithdrawn("s1", "2026-12-10T09:00:00+01:00", "recordings/s1/x.webm.enc", "dsi")])
    entries, pub = verify_register(reg.path.read_bytes(), key.public_key(), "ccvb")
    assert pub.replay("s1", "recordings/s1/x.webm.enc") is None
    assert pub.replays() == []
    # every batch ends with a signed checkpoint, and line n's prev is line n-1's digest
    assert entries[-1].kind == "checkpoint"
    for before, after in itertools.pairwise(entries):
        assert after.data["prev"] == sha256_hex(before.raw)
    assert entries[0].data["format"] == "seance-register/1"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def _write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _refused_at(reg: Register, key) -> int:
    with pytest.raises(JournalError) as err:
        verify_register(reg.path.read_bytes(), key.public_key(), "ccvb")
    with pytest.raises(JournalError):
        reg.read()
    with pytest.raises(JournalError):  # and nothing more is written to it
        reg.append(lambda pub: [_liste("s9")])
    return err.value.line


def _entry_line(path: Path, type_: str) -> int:
    return next(
        n for n, raw in enumerate(_lines(path), start=1) if json.loads(raw).get("entry", {}).get("type") == type_
    )


def test_a_rewritten_line_is_refused_naming_it(tmp_path: Path) -> None:
    key, reg = _filled(tmp_path)
    lines = _lines(reg.path)
    n = _entry_line(reg.path, "MinutesPublished")
    data = json.loads(lines[n - 1])
    data["entry"]["at"] = "2026-12-02T10:00:00+01:00"  # published « in time », said afterwards
    lines[n - 1] = canonical_bytes(data)
    _write(reg.path, lines)
    assert _refused_at(reg, key) == n


def test_a_rewritten_line_with_its_hash_recomputed_breaks_the_chain_at_the_next_line(tmp_path: Path) -> None:
    key, reg = _filled(tmp_path)
    lines = _lines(reg.path)
    n = _entry_line(reg.path, "MinutesPublished")
    data = json.loads(lines[n - 1])
    data["entry"]["pdf_sha256"] = "f" * 64
    data.pop("hash")
    data["hash"] = sha256_hex(canonical_bytes(data))
    lines[n - 1] = canonical_bytes(data)
    _write(reg.path, lines)
    assert _refused_at(reg, key) == n + 1


def test_a_dropped_line_is_refused_naming_where(tmp_path: Path) -> None:
    key, reg = _filled(tmp_path)
    lines = _lines(reg.path)
    n = _entry_line(reg.path, "ReplayExported")
    del lines[n - 1]
    _write(reg.path, lines)
    assert _refused_at(reg, key) == n


def test_reordered_lines_are_refused_naming_the_first_moved(tmp_path: Path) -> None:
    key, reg = _filled(tmp_path)
    lines = _lines(reg.path)
    n = _entry_line(reg.path, "MinutesPublished")
    lines[n - 1], lines[n] = lines[n], lines[n - 1]
    _write(reg.path, lines)
    assert _refused_at(reg, key) == n


def test_a_cut_tail_is_refused_as_unsigned(tmp_path: Path) -> None:
    key, reg = _filled(tmp_path)
    lines = _lines(reg.path)
    _write(reg.path, lines[:-1])  # the last checkpoint removed: the last entry is unsigned
    assert _refused_at(reg, key) == len(lines) - 1


def test_another_key_or_another_council_is_refused_at_line_1(tmp_path: Path) -> None:
    key, reg = _filled(tmp_path)
    with pytest.raises(JournalError) as err:
        verify_register(reg.path.read_bytes(), generate_key().public_key(), "ccvb")
    assert err.value.line == 2  # the genesis's signed checkpoint does not verify with that key
    with pytest.raises(JournalError) as err:
        verify_register(reg.path.read_bytes(), key.public_key(), "autre")
    assert err.value.line == 1


def test_an_act_published_twice_is_refused_and_nothing_written(tmp_path: Path) -> None:
    _key, reg = _filled(tmp_path)
    reg.append(lambda pub: [ConvocationPublished("s2", "2026-12-01T10:00:00+01:00", "secretariat")])
    before = reg.path.read_bytes()
    with pytest.raises(ValueError):
        reg.append(lambda pub: [ConvocationPublished("s2", "2026-12-02T10:00:00+01:00", "secretariat")])
    with pytest.raises(ValueError):
        reg.append(lambda pub: [_liste("s1", "2026-12-05T09:00:00+01:00")])
    with pytest.raises(ValueError):
        reg.append(lambda pub: [ReplayWithdrawn("s1", "2026-12-10T09:00:00+01:00", "recordings/s1/autre", "dsi")])
    assert reg.path.read_bytes() == before
    # decide sees the register as it is: publishing only what is not yet published writes nothing
    assert reg.append(lambda pub: [] if pub.liste("s1") else [_liste("s1")]) == []
    assert reg.path.read_bytes() == before


def test_a_line_of_an_unknown_type_is_refused_naming_it(tmp_path: Path) -> None:
    """A line forged with a valid chain and signature but an entry no version writes."""
    key = generate_key()
    reg = Register(tmp_path / "registre.jsonl", key, "ccvb")
    reg.append(lambda pub: [_liste("s1")])
    # forged through the same writer: an entry type the reader does not know
    entries, _pub = verify_register(reg.path.read_bytes(), key.public_key(), "ccvb")
    lines = [{"kind": "entry", "entry": {"type": "ActeEffacé", "sitting_id": "s1"}}, {"kind": "checkpoint"}]
    with open(reg.path, "ab") as handle:
        append_durably(handle, chain_batch(lines, entries[-1].raw, len(entries), key).data)
    with pytest.raises(JournalError) as err:
        reg.read()
    assert err.value.line == len(entries) + 1
    assert "inconnu" in err.value.reason


def _publish_many(path: str, pem: bytes, prefix: str, count: int) -> None:
    reg = Register(path, load_private_pem(pem), "ccvb")
    for n in range(count):
        reg.append(lambda pub, n=n: [_liste(f"{prefix}{n}")])


def test_two_processes_publishing_at_once_keep_one_chain(tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "registre.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_publish_many, args=(str(path), private_pem(key), p, 15)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    _entries, pub = verify_register(path.read_bytes(), key.public_key(), "ccvb")
    assert sorted(e.sitting_id for e in pub.of_type(ListePublished)) == sorted(
        [f"a{n}" for n in range(15)] + [f"b{n}" for n in range(15)]
    )
    assert isinstance(pub, Publications)


def test_the_cache_verifies_only_what_was_appended_and_never_hides_a_change(tmp_path: Path) -> None:
    """A process keeps the register it verified (RegisterCache): what is appended since is
    verified alone and read the same as a full verification; a line rewritten before, or a
    forged line after, is still refused naming it."""
    key, reg = _filled(tmp_path)
    cache = RegisterCache()
    assert reg.read(cache) == reg.read()
    reg.append(lambda pub: [_liste("s7")])
    assert reg.read(cache) == reg.read() and reg.read(cache).liste("s7") is not None
    good = reg.path.read_bytes()

    lines = _lines(reg.path)  # an earlier line rewritten: the cached prefix no longer matches
    n = _entry_line(reg.path, "MinutesPublished")
    data = json.loads(lines[n - 1])
    data["entry"]["by"] = "quelqu'un d'autre"
    lines[n - 1] = canonical_bytes(data)
    _write(reg.path, lines)
    with pytest.raises(JournalError) as err:
        reg.read(cache)
    assert err.value.line == n

    reg.path.write_bytes(good)
    assert reg.read(cache).liste("s7") is not None
    # a line forged after the cached prefix, chained but signed by another key
    entries, _pub = verify_register(good, key.public_key(), "ccvb")
    forged = [{"kind": "entry", "entry": entry_to_dict(_liste("s8"))}, {"kind": "checkpoint"}]
    with open(reg.path, "ab") as handle:
        append_durably(handle, chain_batch(forged, entries[-1].raw, len(entries), generate_key()).data)
    with pytest.raises(JournalError) as err:
        reg.read(cache)
    assert err.value.line == len(entries) + 2  # the forged batch's checkpoint: not the council's signature
