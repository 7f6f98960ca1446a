"""The sitting records itself (R5): from opening to closing, into an encrypted file whose
digest the system actor journals; not at all when the règlement intérieur says no."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib

from deliberation.council import Reglement
from deliberation.demo import SITTING_ID
from deliberation.refusal import Refusal
from signaling.recordings import (
    EncryptedWriter,
    decrypt,
    decrypt_prefix,
    new_recording_path,
    recording_key,
    recordings_dir,
)
from tests.recording.recorded_sitting import PRESIDENT, ok, open_sitting, service


async def test_recorded_from_opening_to_closing_and_its_digest_journaled(tmp_path):
    svc = service(tmp_path)
    try:
        assert svc.room.router.recorder is None
        await open_sitting(svc)
        assert svc.room.router.recorder is not None
        files = list(recordings_dir(tmp_path, SITTING_ID).glob("*.webm.enc"))
        assert len(files) == 1
        await ok(svc, PRESIDENT, type="MarkSensitive", on=True, reason="personne nommée")
        await asyncio.sleep(0.5)
        await ok(svc, PRESIDENT, type="MarkSensitive", on=False)
        await ok(svc, PRESIDENT, type="CloseSitting")
        await svc.idle()
        assert svc.room.router.recorder is None
        digest = hashlib.sha256(files[0].read_bytes()).hexdigest()
        recorded = svc.seance.state.recordings
        assert [r["sha256"] for r in recorded] == [digest]
        assert recorded[0]["label"] == f"recordings/{SITTING_ID}/{files[0].name}"
        assert decrypt(files[0], recording_key(tmp_path))[:4] == b"\x1a\x45\xdf\xa3"
        assert '"RecordingDigest"' in svc.journal_path.read_text()
    finally:
        await svc.close()
        await svc.room.close()


async def test_a_refused_closing_while_recording_gives_the_refusal_and_the_recording_goes_on(tmp_path):
    """Issue 12.12: closing with a vote still open is refused (R11); with a recording running
    this used to recurse between _close_with_recording and command (« Erreur interne »)."""
    svc = service(tmp_path)
    try:
        await open_sitting(svc)
        recorder = svc.room.router.recorder
        assert recorder is not None
        await ok(svc, PRESIDENT, type="OpenVote", item_id="marche-collecte", method="electronique")
        lines = svc.journal.lines
        refusal = await svc.command(PRESIDENT, {"type": "CloseSitting"})
        assert isinstance(refusal, Refusal) and refusal.message, refusal
        assert refusal.rule != "JOURNAL"  # the core's refusal, not an internal error
        assert svc.room.router.recorder is recorder  # still recording, the same file
        assert svc.journal.lines == lines and svc.seance.state.status == "opened"
        await ok(svc, PRESIDENT, type="CloseVote", item_id="marche-collecte")
        await ok(svc, PRESIDENT, type="CloseSitting")
        await svc.idle()
        assert svc.room.router.recorder is None and len(svc.seance.state.recordings) == 1
    finally:
        await svc.close()
        await svc.room.close()


async def test_not_recorded_when_the_reglement_says_no(tmp_path):
    svc = service(tmp_path)
    try:
        svc.seance.council = dataclasses.replace(svc.seance.council, reglement=Reglement(recording=False))
        await open_sitting(svc)
        assert svc.room.router.recorder is None
        assert not recordings_dir(tmp_path).exists() or not any(recordings_dir(tmp_path).rglob("*.enc"))
    finally:
        await svc.close()
        await svc.room.close()


async def test_a_recording_cut_short_by_a_crash_is_salvaged_and_its_digest_journaled_on_resuming(tmp_path):
    # a server killed mid-recording: the chunks it had sealed are on disk, the rest is lost
    key = recording_key(tmp_path)
    orphan = new_recording_path(tmp_path, SITTING_ID, label="programme")
    writer = EncryptedWriter(orphan, key, chunk_size=1000, keep=2)
    writer.write(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 20)
    crashed = orphan.read_bytes()
    writer.close()
    orphan.write_bytes(crashed)
    plain, complete = decrypt_prefix(orphan, key)
    assert not complete and plain[:4] == b"\x1a\x45\xdf\xa3" and len(plain) == 4000
    svc = service(tmp_path)
    try:
        await open_sitting(svc)
        await svc.idle()
        labels = {r["label"]: r["sha256"] for r in svc.seance.state.recordings}
        assert labels == {f"recordings/{SITTING_ID}/{orphan.name} (interrompu)": hashlib.sha256(crashed).hexdigest()}
    finally:
        await svc.close()
        await svc.room.close()
    # at the end, both files are journaled: the interrupted one and the new one
    assert len(svc.seance.state.recordings) == 2


async def test_a_shutdown_during_the_sitting_journals_the_recording_once_and_starts_no_other(tmp_path):
    """Issue 12.9: a server stopped while the sitting is open journaled the recording being
    stopped with the SHA-256 of an empty file, then again correctly, and started a new
    recording file during the shutdown (the digest's own command re-synced the media)."""
    svc = service(tmp_path)
    try:
        await open_sitting(svc)
        await asyncio.sleep(0.5)
        files = list(recordings_dir(tmp_path, SITTING_ID).glob("*.webm.enc"))
        assert len(files) == 1
    finally:
        await svc.close()
        await svc.room.close()
    after = sorted(recordings_dir(tmp_path, SITTING_ID).glob("*.webm.enc"))
    assert after == files  # no recording started while stopping
    recorded = svc.seance.state.recordings
    assert [r["sha256"] for r in recorded] == [hashlib.sha256(files[0].read_bytes()).hexdigest()]
    assert hashlib.sha256(b"").hexdigest() not in svc.journal_path.read_text()
    # resumed, the sitting (still open) records into a new file and journals nothing twice
    again = service(tmp_path)
    try:
        await again.idle()
        assert len(list(recordings_dir(tmp_path, SITTING_ID).glob("*.webm.enc"))) == 2
        assert [r["sha256"] for r in again.seance.state.recordings] == [recorded[0]["sha256"]]
    finally:
        await again.close()
        await again.room.close()
