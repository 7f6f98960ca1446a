"""``seance backup`` and ``seance restore``: a consistent copy of a council's data dir.

What is copied, and how, follows the data dir's layout (:mod:`signaling.datadir`):

- the SQLite databases (accounts, council) through SQLite's online backup API, so that a
  copy taken while Séance writes is a consistent database, never a torn file;
- the journals cut at the last complete batch (:func:`journal_cut`), then verified as
  ``seance audit verify --allow-open`` would;
- the keys (council signing key, recording key, session and CSRF keys) and every other
  file as they are; each recording's SHA-256 is checked against the digests its sitting's
  journal holds (a recording still being written has none yet, and is said so);
- ``seance.toml`` and the TURN secret file it names, under ``etc/`` (not restored: the
  configuration of the new server is ``deploy/install.sh``'s; they are there to compare).

The archive is a tar file (``.tar``, or ``.tar.gz``/``.tgz`` compressed; recordings are
encrypted and do not compress) created mode 0600: it holds the council's private keys.
Its last member, ``seance-backup/MANIFEST.json``, lists every file with its kind, size and
SHA-256. ``seance restore`` checks every file against it, writes them into a data dir
that is missing or empty, with the modes the service uses (secrets 0600, other files
0640, ``keys/`` and recordings 0700, other folders 0750) and the service's owner, then
verifies each journal again. Nothing is restored over existing data.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deliberation.audit import audit_bytes
from deliberation.events import CHECKPOINT_EVENTS
from deliberation.journal import FORMAT_V1, JournalError, load_public_pem
from deliberation.register import verify_register
from signaling import datadir
from signaling.datadir import DIR_MODE, FILE_MODE, PRIVATE_DIR_MODE, SECRET_MODE, SQLITE_COMPANIONS, DataDir, Kind
from web.version import VERSION

FORMAT = "seance-backup/1"
ROOT = "seance-backup"
MANIFEST = f"{ROOT}/MANIFEST.json"
DATA = f"{ROOT}/data"
ETC = f"{ROOT}/etc"


class BackupError(Exception):
    """Why a backup or a restore cannot be done, in French (with what to do)."""


# --------------------------------------------------------------------------- journals


def journal_cut(content: bytes, public_key: Ed25519PublicKey) -> int:
    """How many leading bytes of ``content`` (a copy of a journal that may be being
    written) hold only complete batches: the longest such prefix.

    A batch is what the server writes at once (deliberation/journal.py). In format 2
    (``seance-journal/2``, issue 12.1) every batch ends with its own signed checkpoint, so
    the cut is just after the last checkpoint line: what follows it is a batch being
    written, not yet acknowledged, and would not verify (an unsigned tail).

    A format-1 journal (a sitting convened before format 2, resumed since) is cut by its
    own rule: :func:`_journal_cut_v1`.
    """
    end = content.rfind(b"\n") + 1  # complete lines only
    first = content[: content.find(b"\n") + 1] if end else b""
    try:
        version = json.loads(first).get("format") if first else None
    except (ValueError, AttributeError):
        version = None
    if version == FORMAT_V1:
        return _journal_cut_v1(content, public_key)
    offset = cut = 0
    for raw in content[:end].split(b"\n")[:-1]:
        offset += len(raw) + 1
        try:
            kind = json.loads(raw).get("kind")
        except (ValueError, AttributeError):
            break  # unreadable: the audit of the cut copy will name the line
        if kind == "checkpoint":
            cut = offset
    return cut


def _journal_cut_v1(content: bytes, public_key: Ed25519PublicKey) -> int:
    """Format 1: a batch ends after a checkpoint line, or before a command line: those
    are the boundaries seen in the copy. The lines after the last one (a command and some
    events, no checkpoint) are kept only when they are a whole batch: the audit, deciding
    the command again, finds exactly these events, and none of them calls for a checkpoint.
    A copy cut at its last line may hold a command without all its events, which
    ``seance audit verify`` refuses (that is how "keep up to the last complete line" failed).
    """
    end = content.rfind(b"\n") + 1  # complete lines only
    boundary = offset = 0
    tail_needs_checkpoint = False
    for raw in content[:end].split(b"\n")[:-1]:
        try:
            entry = json.loads(raw)
            kind = entry.get("kind")
        except (ValueError, AttributeError):
            break  # unreadable: the audit of the cut copy will name the line
        if kind == "command":
            boundary, tail_needs_checkpoint = offset, False
        offset += len(raw) + 1
        if kind == "checkpoint":
            boundary, tail_needs_checkpoint = offset, False
        elif kind == "genesis" or (kind == "event" and entry.get("event", {}).get("type") in CHECKPOINT_EVENTS):
            tail_needs_checkpoint = True  # written with its checkpoint, in the same batch
    if offset > boundary and not tail_needs_checkpoint and audit_bytes(content[:offset], public_key, True).ok:
        return offset
    return boundary


def recording_digests(content: bytes) -> set[str]:
    """The SHA-256 of the recordings a journal records (``RecordingDigest`` events)."""
    out = set()
    for raw in content.splitlines():
        if b'"RecordingDigest"' in raw:
            event = json.loads(raw).get("event", {})
            if event.get("type") == "RecordingDigest":
                out.add(event.get("data", {}).get("sha256"))
    return out


# --------------------------------------------------------------------------- manifest


@dataclass
class FileRecord:
    path: str  # relative to the data dir (or to etc/)
    kind: str
    size: int
    sha256: str
    note: str = ""


@dataclass
class Manifest:
    created_at: str
    host: str
    version: str
    data_dir: str
    files: list[FileRecord] = field(default_factory=list)
    config: list[FileRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "created_at": self.created_at,
            "host": self.host,
            "version": self.version,
            "data_dir": self.data_dir,
            "files": [vars(f) for f in self.files],
            "config": [vars(f) for f in self.config],
            "problems": self.problems,
        }
        return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        doc = json.loads(raw)
        if doc.get("format") != FORMAT:
            raise BackupError(f"archive d'un format inconnu ({doc.get('format')!r}, attendu {FORMAT})")
        return cls(
            created_at=doc["created_at"],
            host=doc["host"],
            version=doc["version"],
            data_dir=doc["data_dir"],
            files=[FileRecord(**f) for f in doc["files"]],
            config=[FileRecord(**f) for f in doc["config"]],
            problems=list(doc.get("problems", [])),
        )


# --------------------------------------------------------------------------- backup


def _sqlite_copy(path: Path, into: Path) -> None:
    """SQLite's online backup of ``path`` into ``into``, read-only on the source.

    A WAL database opened by another user (root backing up the service's files) gets its
    ``-wal``/``-shm`` created by us when the service has none open: they are handed back
    to the database's owner, or the service could not open its own database again."""
    before = {s for s in SQLITE_COMPANIONS if Path(f"{path}{s}").exists()}
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(into)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    st = path.stat()
    for suffix in SQLITE_COMPANIONS:
        companion = Path(f"{path}{suffix}")
        if suffix not in before and companion.exists() and os.geteuid() == 0:
            os.chown(companion, st.st_uid, st.st_gid)


def _data_files(layout: DataDir) -> Iterator[Path]:
    for path in sorted(layout.root.rglob("*")):
        if path.is_file() and not path.name.endswith(SQLITE_COMPANIONS):
            yield path


class _Hashing(io.RawIOBase):
    """A read-only file that hashes what is read from it: one pass over a file that may
    be changing (a recording being written), so the archive and its manifest agree."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.sha256.update(data)
        return data


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> str:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), SECRET_MODE, int(time.time())
    tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(data).hexdigest()


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> tuple[int, str]:
    """``path`` as ``name``, the size it has now (bytes written meanwhile are left out);
    returns (size, SHA-256) of what was archived."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = st.st_size, SECRET_MODE, int(st.st_mtime)
        reader = _Hashing(fh)
        tar.addfile(info, reader)
    return st.st_size, reader.sha256.hexdigest()


def _open_archive(out: Path | IO[bytes]) -> tuple[tarfile.TarFile, IO[bytes] | None]:
    if not isinstance(out, Path):
        return tarfile.open(fileobj=out, mode="w|"), None
    compress = "gz" if out.name.endswith((".tar.gz", ".tgz")) else ""
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    except FileExistsError:
        raise BackupError(f"{out} existe déjà : choisissez un autre nom (rien n'est écrasé)") from None
    handle = os.fdopen(fd, "wb")
    return tarfile.open(fileobj=handle, mode=f"w|{compress}"), handle


def backup(
    data_dir: Path, out: Path | IO[bytes], config_files: tuple[Path, ...] = (), say: Callable[[str], None] = print
) -> Manifest:
    """Write the archive of ``data_dir`` (and ``config_files``) to ``out``; return its manifest.

    ``manifest.problems`` lists what the DSI must look at (a journal that does not verify,
    a file the layout does not name); the archive is written all the same, with the file."""
    layout = DataDir(Path(data_dir))
    if not layout.root.is_dir():
        raise BackupError(f"{layout.root} n'est pas un répertoire de données")
    manifest = Manifest(
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        host=socket.gethostname(),
        version=VERSION,
        data_dir=str(layout.root),
    )
    public_key = (
        load_public_pem(layout.council_public_key.read_bytes()) if layout.council_public_key.is_file() else None
    )
    digests: set[str] = set()
    journals: dict[str, bytes] = {}
    tar, handle = _open_archive(out)
    try:
        with tempfile.TemporaryDirectory(prefix="seance-backup-") as tmp:
            files = list(_data_files(layout))
            # journals first: the recordings are checked against the digests they hold
            for path in files:
                entry = layout.entry_of(path)
                if entry is not None and entry.kind is Kind.JOURNAL:
                    journals[str(path.relative_to(layout.root))] = _journal_copy(path, public_key, manifest, say)
            for raw in journals.values():
                digests |= recording_digests(raw)
            for path in files:
                rel = str(path.relative_to(layout.root))
                entry = layout.entry_of(path)
                kind = entry.kind if entry is not None else Kind.FILE
                if entry is None:
                    manifest.problems.append(f"{rel} : fichier que Séance ne connaît pas, sauvegardé tel quel")
                if kind is Kind.RUNTIME:
                    continue
                note = ""
                if kind is Kind.JOURNAL:
                    data = journals[rel]
                    size, digest = len(data), _add_bytes(tar, f"{DATA}/{rel}", data)
                elif kind is Kind.REGISTER:
                    data = _register_copy(path, public_key, manifest, say)
                    size, digest = len(data), _add_bytes(tar, f"{DATA}/{rel}", data)
                elif kind is Kind.SQLITE:
                    copy = Path(tmp) / path.name
                    _sqlite_copy(path, copy)
                    size, digest = _add_file(tar, f"{DATA}/{rel}", copy)
                    copy.unlink()
                else:
                    size, digest = _add_file(tar, f"{DATA}/{rel}", path)
                    if kind is Kind.RECORDING:
                        note = (
                            "empreinte journalisée"
                            if digest in digests
                            else "empreinte absente du journal (enregistrement en cours ?)"
                        )
                manifest.files.append(FileRecord(rel, kind.value, size, digest, note))
            for path in config_files:
                size, digest = _add_file(tar, f"{ETC}/{path.name}", path)
                manifest.config.append(FileRecord(path.name, "config", size, digest))
        _add_bytes(tar, MANIFEST, manifest.to_json())
    finally:
        tar.close()
        if handle is not None:
            handle.close()
    return manifest


def _journal_copy(path: Path, public_key: Ed25519PublicKey | None, manifest: Manifest, say) -> bytes:
    content = path.read_bytes()
    rel = path.relative_to(Path(manifest.data_dir))
    if public_key is None:
        manifest.problems.append(f"{rel} : clé publique du conseil absente, journal copié sans vérification")
        return content
    cut = journal_cut(content, public_key)
    data = content[:cut]
    if cut < len(content):
        say(f"{rel} : {len(content) - cut} octets d'un lot en cours d'écriture laissés de côté")
    report = audit_bytes(data, public_key, allow_open=True)
    if not report.ok:
        manifest.problems.append(f"{rel} : le journal ne se vérifie pas (ligne {report.line} : {report.reason})")
        return content  # kept whole, as it is: the DSI investigates
    return data


def _register_copy(path: Path, public_key: Ed25519PublicKey | None, manifest: Manifest, say) -> bytes:
    """The council's register of publications, cut after its last signed batch (a batch
    being appended by a worker when the copy was taken is left out) and verified."""
    content = path.read_bytes()
    rel = path.relative_to(Path(manifest.data_dir))
    if public_key is None:
        manifest.problems.append(f"{rel} : clé publique du conseil absente, registre copié sans vérification")
        return content
    cut = journal_cut(content, public_key)  # format 2's rule: just after the last checkpoint
    data = content[:cut]
    if cut < len(content):
        say(f"{rel} : {len(content) - cut} octets d'une inscription en cours d'écriture laissés de côté")
    try:
        verify_register(data, public_key)
    except JournalError as err:
        manifest.problems.append(f"{rel} : le registre ne se vérifie pas (ligne {err.line} : {err.reason})")
        return content  # kept whole, as it is: the DSI investigates
    return data


# --------------------------------------------------------------------------- restore


def mode_for(kind: str) -> int:
    return SECRET_MODE if kind == Kind.SECRET.value else FILE_MODE


def dir_mode_for(rel: PurePosixPath) -> int:
    """keys/ and recordings/<sitting>/ as the service makes them (0700), the others 0750."""
    parts = rel.parts
    if parts[:1] == (datadir.KEYS,) or (parts[:1] == (datadir.RECORDINGS,) and len(parts) >= 2):
        return PRIVATE_DIR_MODE
    return DIR_MODE


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return Manifest.from_json(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as err:
        raise BackupError(f"{archive} n'est pas une sauvegarde de Séance lisible ({err})") from None


def restore(
    archive: Path, data_dir: Path, owner: tuple[int, int] | None = None, say: Callable[[str], None] = print
) -> tuple[Manifest, list[str]]:
    """Write the archive's data into ``data_dir`` (missing or empty), checked against its
    manifest, with the service's modes and ``owner`` (uid, gid); verify the journals.
    Returns the manifest and the sittings whose restored journal does not verify."""
    manifest = read_manifest(archive)
    target = Path(data_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(
            f"{target} n'est pas vide : rien n'est restauré par-dessus des données. Arrêtez Séance, déplacez ce "
            "répertoire (mv), puis recommencez."
        )
    created = not target.exists()
    target.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    try:
        _restore_files(archive, manifest, target, owner)
    except BaseException:
        for child in target.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        if created:
            target.rmdir()
        raise
    os.chmod(target, DIR_MODE)
    if owner is not None:
        os.chown(target, *owner)
    layout = DataDir(target)
    invalid: list[str] = []
    if layout.council_public_key.is_file():
        key = load_public_pem(layout.council_public_key.read_bytes())
        for sitting in layout.journaled_sittings():
            report = audit_bytes(layout.journal(sitting).read_bytes(), key, allow_open=True)
            say(f"journal {sitting} : " + (report.summary() if report.ok else f"ÉCHEC {report.summary()}"))
            if not report.ok:
                invalid.append(sitting)
    return manifest, invalid


def _restore_files(archive: Path, manifest: Manifest, target: Path, owner: tuple[int, int] | None) -> None:
    expected = {f"{DATA}/{f.path}": f for f in manifest.files}
    seen: set[str] = set()
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.name == MANIFEST or member.name.startswith(f"{ETC}/"):
                continue
            record = expected.get(member.name)
            if record is None or not member.isfile():
                raise BackupError(f"{member.name} : fichier de l'archive absent du manifeste (archive modifiée ?)")
            rel = PurePosixPath(record.path)
            if rel.is_absolute() or ".." in rel.parts:
                raise BackupError(f"{record.path} : chemin refusé")
            dest = target.joinpath(*rel.parts)
            for depth in range(1, len(rel.parts)):
                folder = target.joinpath(*rel.parts[:depth])
                if not folder.exists():
                    folder.mkdir(mode=dir_mode_for(PurePosixPath(*rel.parts[:depth])))
                    os.chmod(folder, dir_mode_for(PurePosixPath(*rel.parts[:depth])))
                    if owner is not None:
                        os.chown(folder, *owner)
            source = tar.extractfile(member)
            assert source is not None
            h = hashlib.sha256()
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode_for(record.kind))
            with os.fdopen(fd, "wb") as fh:
                for block in iter(functools.partial(source.read, 1 << 20), b""):
                    h.update(block)
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
            if h.hexdigest() != record.sha256:
                raise BackupError(f"{record.path} : empreinte SHA-256 différente du manifeste (archive abîmée)")
            os.chmod(dest, mode_for(record.kind))
            if owner is not None:
                os.chown(dest, *owner)
            seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"fichiers du manifeste absents de l'archive : {', '.join(missing)}")
