"""Backups that restore (issue 18.5): ``seance backup`` / ``seance restore`` (web/backup.py).

1. The journal cut, at every cut point of a real journal (each line end and the middle
   of each line), against the batch boundaries recorded while the journal was written:
   the copy keeps exactly the batches complete at that point, and verifies. "Keep up to
   the last complete line", the procedure documented before, is refused by the audit at
   most of them.
2. The whole path with the real commands: a data dir with what a council's server holds
   (accounts through ``seance serve --add-admin`` and a real server's admin pages, keys,
   a closed sitting's journal, an open sitting's journal being appended to while the
   backup runs, an encrypted recording whose digest is journaled, sobriety figures) is
   backed up by ``seance backup --config`` while ``seance serve`` runs on it, restored by
   ``seance restore`` onto a fresh data dir of another ``seance.toml``, owned by another
   user: ``seance audit verify`` passes on both journals, ``seance serve`` on the
   restored data dir logs the administrator in, the recording decrypts with the
   restored key, the modes are the service's. A data dir that is not empty is refused,
   and so is an archive whose bytes were changed.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import stat
import subprocess
import tarfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from deliberation.actors import SYSTEM
from deliberation.audit import audit_bytes
from deliberation.commands import RecordRecordingDigest
from deliberation.demo import demo_config, demo_council
from deliberation.journal import Journal, load_public_pem, public_pem
from deliberation.register import ListePublished, Register, verify_register
from deliberation.rehearsal import play, script
from deliberation.seance import Seance
from signaling import sobriety
from signaling.datadir import DataDir, Kind
from signaling.recordings import EncryptedWriter, decrypt, new_recording_path, recording_key, sha256_file
from signaling.sitting import council_key
from tests.deploy.deploy_support import SeanceServe, free_port, seance_argv, write_seance_toml
from web.backup import MANIFEST, journal_cut

pytestmark = pytest.mark.timeout(240)


def journal_with_boundaries(path: Path, key, steps) -> tuple[bytes, list[int]]:
    """Play ``steps`` into a new journal; the file's size after each batch is a boundary."""
    seance = Seance(demo_council(), demo_config())
    boundaries = [0]  # an empty copy holds no batch, and is no journal
    with Journal.create(path, seance, key) as journal:
        boundaries.append(path.stat().st_size)
        for step in steps:
            play(seance, journal, [step])
            if path.stat().st_size != boundaries[-1]:
                boundaries.append(path.stat().st_size)
    return path.read_bytes(), boundaries


def first_vote_with_two_ballots(steps: list) -> list:
    """The rehearsal up to its first vote, two ballots of it, and its closing: chosen by the
    commands' types, so that the rehearsal may grow without moving the cut points tested."""
    opened = next(n for n, step in enumerate(steps) if step.command.type == "OpenVote")
    after = steps[opened + 1 :]
    ballots = [step for step in after if step.command.type == "CastBallot" and step.expect is None][:2]
    closing = next(step for step in after if step.command.type == "CloseVote" and step.expect is None)
    assert len(ballots) == 2
    return [*steps[: opened + 1], *ballots, closing]


def test_a_format_2_journal_is_cut_just_after_its_last_signature(tmp_path):
    """Issue 12.1: each batch ends with its signed checkpoint; the lines after the last one
    are a batch being written, never acknowledged, and would not verify (unsigned tail)."""
    key = council_key(tmp_path)
    content, boundaries = journal_with_boundaries(tmp_path / "journal.jsonl", key, script()[:6])
    lines = content.splitlines(keepends=True)
    assert json.loads(lines[0])["format"] == "seance-journal/2"
    # the copy ends after the last batch's events, before its checkpoint
    without_last_signature = b"".join(lines[:-1])
    assert journal_cut(without_last_signature, key.public_key()) == boundaries[-2]
    assert journal_cut(content, key.public_key()) == len(content) == boundaries[-1]


def test_a_format_1_journal_is_cut_by_its_own_rule():
    """tests/data/journal-v1-rehearsal: a whole batch without a checkpoint (format 1) is kept."""
    data = Path(__file__).resolve().parents[1] / "data" / "journal-v1-rehearsal"
    public = load_public_pem((data / "journal.pub").read_bytes())
    lines = (data / "journal.jsonl").read_bytes().splitlines(keepends=True)
    kinds = [json.loads(x)["kind"] for x in lines]
    # the first command after a checkpoint whose batch (command + its events) is followed by a command
    n = next(i for i in range(2, len(kinds)) if kinds[i] == "command" and kinds[i - 1] == "checkpoint")
    end = next(j for j in range(n + 1, len(kinds)) if kinds[j] != "event")
    assert kinds[end] == "command"
    whole = b"".join(lines[:end])
    assert journal_cut(whole + lines[end], public) == len(whole)


def test_the_journal_is_cut_at_the_last_complete_batch_at_every_cut_point(tmp_path):
    key = council_key(tmp_path)
    # through the first vote's result (a batch ending with a checkpoint), with two of its
    # ballots (each audit below re-decides the whole journal: kept short)
    steps = first_vote_with_two_ballots(script())
    content, boundaries = journal_with_boundaries(tmp_path / "journal.jsonl", key, steps)
    public = key.public_key()
    line_ends = [m.end() for m in re.finditer(b"\n", content)]
    cuts = sorted(set(line_ends) | {end - (end - start) // 2 for start, end in zip([0, *line_ends], line_ends)})
    verified: dict[int, bool] = {}
    for cut in cuts:
        got = journal_cut(content[:cut], public)
        expected = max(b for b in boundaries if b <= cut)
        assert got == expected, (cut, got, expected)
        if got and got not in verified:
            verified[got] = audit_bytes(content[:got], public, allow_open=True).ok
        assert not got or verified[got], got
    # what the documentation said before: keep the complete lines. The audit refuses such a
    # copy at most line ends inside a batch (a command without all its events); checked at
    # every third line end (each audit re-decides the whole journal)
    inside = [end for end in line_ends[::3] if end not in boundaries]
    refused = [end for end in inside if not audit_bytes(content[:end], public, allow_open=True).ok]
    assert len(refused) >= len(inside) // 2, (len(refused), len(inside))


def test_the_layout_names_every_kind_of_file_and_refuses_a_path_out_of_it(tmp_path):
    layout = DataDir(tmp_path)
    assert layout.journal("cc-2026-01-15") == tmp_path / "sittings" / "cc-2026-01-15" / "journal.jsonl"
    assert layout.entry_of(layout.recordings_of("s1") / "20260101T180000Z-programme.webm.enc").kind is Kind.RECORDING
    assert layout.entry_of(layout.recording_key).kind is Kind.SECRET
    assert layout.entry_of(layout.holder_lock("s1")).kind is Kind.RUNTIME
    assert layout.entry_of(tmp_path / "sittings" / "s1" / "notes.txt") is None
    for bad in ("../etc", "a/b", "", "Majuscule", ".."):
        with pytest.raises(ValueError):
            layout.journal(bad)


# --------------------------------------------------------------------------- the whole path


def write_config(folder: Path, port: int) -> Path:
    (folder / "turn-secret").parent.mkdir(parents=True, exist_ok=True)
    (folder / "turn-secret").write_text("0123456789abcdef")
    more = '[turn]\nurls = ["turn:turn.example.fr:3478?transport=udp"]\nshared_secret_file = "turn-secret"\n'
    return write_seance_toml(folder, port, more=more + "\n[privacy]\nrecording_retention_days = 90\n")


def seance(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*seance_argv(), *args], capture_output=True, text=True, timeout=120, check=check)


async def login(base: str, login_: str, password: str) -> int:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        r = await session.post(f"{base}/login", data={"login": login_, "password": password}, allow_redirects=False)
        status = r.status
        if status == 303:  # the admin pages open the council store and the CSRF key
            assert (await session.get(f"{base}/admin")).status == 200
        return status


def populate(data: Path) -> dict:
    """What a council's data dir holds after a sitting and during the next one."""
    layout = DataDir(data)
    key = council_key(data)
    layout.sitting("cc-2026-01-15").mkdir(parents=True)
    closed, _ = journal_with_boundaries(layout.journal("cc-2026-01-15"), key, script())
    # the open sitting: up to the first vote under way; the rest is appended during the backup
    layout.sitting("cc-2026-02-12").mkdir(parents=True)
    seance_ = Seance(demo_council(), demo_config())
    journal = Journal.create(layout.journal("cc-2026-02-12"), seance_, key)
    play(seance_, journal, script()[:40])
    # a recording of the closed sitting, encrypted with the installation's key, its digest journaled
    path = new_recording_path(data, "cc-2026-02-12", now=datetime(2026, 2, 12, 18, 0, tzinfo=UTC))
    plain = os.urandom(3 * 1024 * 1024 + 123)
    with EncryptedWriter(path, recording_key(data), chunk_size=1 << 20) as writer:
        writer.write(plain)
    result = journal.handle(
        seance_, RecordRecordingDigest("2026-02-12T20:00:00+01:00", sha256_file(path), "programme"), SYSTEM
    )
    assert not hasattr(result, "rule"), result
    traffic = {"salles": {"belcourt": dict.fromkeys(sobriety.SALLE_FIELDS, 0) | {"in_bytes": 5_000_000}}, "viewers": {}}
    sobriety.write(data, "cc-2026-01-15", "run-1", traffic, closed=True)
    # the council's register of publications: the closed sitting's liste entered
    head = json.loads(closed.rstrip(b"\n").rsplit(b"\n", 1)[-1])["hash"]
    liste = ListePublished("cc-2026-01-15", "2026-01-16T09:00:00+01:00", head, {})
    Register(layout.register, key, demo_council().id).append(lambda pub: [liste])
    register = layout.register.read_bytes()
    with open(layout.register, "ab") as handle:  # a batch being appended when the copy is taken
        handle.write(b'{"entry":{"type":"MinutesPublished"')
    return {
        "register": register,
        "journal": journal,
        "seance": seance_,
        "recording": path,
        "plain": plain,
        "closed": closed,
    }


async def test_backup_while_serving_then_restore_onto_a_fresh_data_dir(tmp_path):
    port = free_port()
    conf = write_config(tmp_path / "old", port)
    data = tmp_path / "old" / "data"
    data.mkdir(parents=True)
    password = re.search(
        r"mot de passe (\S+)", seance("serve", "--config", str(conf), "--add-admin", "dsi").stdout
    ).group(1)
    state = populate(data)
    archive = tmp_path / "seance-2026-02-12.tar"
    with SeanceServe(conf, tmp_path / "old.log", [f"http://127.0.0.1:{port}"]):
        assert await login(f"http://127.0.0.1:{port}", "dsi", password) == 303
        # the open sitting keeps being written while the backup runs
        stop = threading.Event()

        def write_batches() -> None:
            for step in script()[40:47]:
                if stop.is_set():
                    return
                play(state["seance"], state["journal"], [step])

        writer = threading.Thread(target=write_batches)
        writer.start()
        try:
            done = seance("backup", "--config", str(conf), "--out", str(archive), check=False)
        finally:
            stop.set()
            writer.join()
            state["journal"].close()
        assert done.returncode == 0, done.stdout + done.stderr
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # the council's private keys are inside

    # every file of the data dir is one the layout names (nothing backed up "as is" blindly)
    layout = DataDir(data)
    for path in data.rglob("*"):
        if path.is_file() and not path.name.endswith(("-wal", "-shm")):
            assert layout.entry_of(path) is not None, path
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
        names = set(tar.getnames())
    kinds = {f["path"]: f["kind"] for f in manifest["files"]}
    for rel in (
        "accounts.sqlite3",
        "council.sqlite3",
        "session.key",
        "csrf.key",
        "keys/council-ed25519.pem",
        "keys/council-ed25519.pub",
        "keys/recording-aes256.key",
        "sittings/cc-2026-01-15/journal.jsonl",
        "sittings/cc-2026-01-15/sobriete.json",
        "sittings/cc-2026-02-12/journal.jsonl",
        f"recordings/cc-2026-02-12/{state['recording'].name}",
    ):
        assert rel in kinds and f"seance-backup/data/{rel}" in names, rel
    assert kinds["accounts.sqlite3"] == Kind.SQLITE.value and kinds["keys/recording-aes256.key"] == Kind.SECRET.value
    # the council's register of publications, cut after its last signed batch and verified
    assert kinds["registre.jsonl"] == Kind.REGISTER.value and "seance-backup/data/registre.jsonl" in names
    recording = next(f for f in manifest["files"] if f["kind"] == "recording")
    assert recording["note"] == "empreinte journalisée"
    assert {"seance.toml", "turn-secret"} == {f["path"] for f in manifest["config"]}
    assert manifest["problems"] == []

    # restore onto a fresh data dir of another installation, owned by another user
    port2 = free_port()
    conf2 = write_config(tmp_path / "new", port2)
    new = tmp_path / "new" / "data"
    owner = pwd.getpwnam("nobody")
    done = seance("restore", str(archive), "--config", str(conf2), "--owner", "nobody", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "journal cc-2026-02-12 : journal vérifié" in done.stdout
    new_layout = DataDir(new)
    for path in [new, *new.rglob("*")]:
        st = path.stat()
        assert (st.st_uid, st.st_gid) == (owner.pw_uid, owner.pw_gid), path
        mode = stat.S_IMODE(st.st_mode)
        if path.is_dir():
            assert mode == (0o700 if path == new_layout.keys or path.parent == new_layout.recordings else 0o750), path
        else:
            secret = new_layout.entry_of(path).kind is Kind.SECRET
            assert mode == (0o600 if secret else 0o640), path
    pub = new_layout.council_public_key
    assert pub.read_bytes() == public_pem(council_key(data))
    closed = seance("audit", "verify", str(new_layout.journal("cc-2026-01-15")), "--key", str(pub), check=False)
    assert closed.returncode == 0 and "journal vérifié" in closed.stdout, closed.stdout
    assert new_layout.journal("cc-2026-01-15").read_bytes() == state["closed"]
    open_ = seance(
        "audit", "verify", str(new_layout.journal("cc-2026-02-12")), "--key", str(pub), "--allow-open", check=False
    )
    assert open_.returncode == 0, open_.stdout
    restored = new_layout.journal("cc-2026-02-12").read_bytes()
    assert data.joinpath("sittings/cc-2026-02-12/journal.jsonl").read_bytes().startswith(restored)
    copy = new_layout.recordings_of("cc-2026-02-12") / state["recording"].name
    assert decrypt(copy, recording_key(new)) == state["plain"]
    assert sobriety.read(new, "cc-2026-01-15")["closed"] is True
    assert new_layout.register.read_bytes() == state["register"]  # the half-written batch left out
    _entries, publications = verify_register(state["register"], load_public_pem(pub.read_bytes()))
    assert publications.liste("cc-2026-01-15") is not None

    # the restored server: the administrator logs in with the same password
    with SeanceServe(conf2, tmp_path / "new.log", [f"http://127.0.0.1:{port2}"]):
        assert await login(f"http://127.0.0.1:{port2}", "dsi", password) == 303
        assert await login(f"http://127.0.0.1:{port2}", "dsi", "not-the-password") == 401

    # nothing is restored over data, and a changed archive is refused with nothing written
    again = seance("restore", str(archive), "--config", str(conf2), "--owner", "nobody", check=False)
    assert again.returncode == 2 and "n'est pas vide" in again.stderr
    tampered = tmp_path / "tampered.tar"
    raw = bytearray(archive.read_bytes())
    offset = raw.index(b"-----BEGIN PUBLIC KEY-----") + 40
    raw[offset] ^= 0x01
    tampered.write_bytes(bytes(raw))
    conf3 = write_config(tmp_path / "third", free_port())
    bad = seance("restore", str(tampered), "--config", str(conf3), "--owner", "nobody", check=False)
    assert bad.returncode == 2 and "SHA-256" in bad.stderr, bad.stderr
    assert not (tmp_path / "third" / "data").exists()


def test_a_journal_that_does_not_verify_is_backed_up_whole_and_reported(tmp_path):
    data = tmp_path / "data"
    key = council_key(data)
    layout = DataDir(data)
    layout.sitting("s1").mkdir(parents=True)
    content, _ = journal_with_boundaries(layout.journal("s1"), key, script()[:12])
    forged = content.replace(b'"salle_id":"vaux"', b'"salle_id":"vaul"', 1)
    assert forged != content
    layout.journal("s1").write_bytes(forged)
    conf = tmp_path / "seance.toml"
    conf.write_text(f'[server]\ndata_dir = "{data}"\n[proxy]\ntrusted = ["127.0.0.1"]\n')
    archive = tmp_path / "b.tar"
    done = seance("backup", "--config", str(conf), "--out", str(archive), check=False)
    assert done.returncode == 1 and "le journal ne se vérifie pas" in done.stdout, done.stdout
    with tarfile.open(archive) as tar:
        assert tar.extractfile("seance-backup/data/sittings/s1/journal.jsonl").read() == forged
    assert load_public_pem(layout.council_public_key.read_bytes())  # the key itself is fine
