"""Recordings at rest (R5): encrypted WebM files, their key, their digest, their retention.

File layout (``<data_dir>/recordings/<sitting_id>/<YYYYmmddTHHMMSSZ>-programme.webm.enc``)::

    header   b"SEANREC1" | file id (16 random bytes) | chunk size (4 bytes, big endian)
    chunk i  nonce (12 random bytes) | AES-256-GCM(plaintext chunk i) (its length + 16-byte tag)

Every chunk holds ``chunk size`` bytes of the WebM (1 MiB) except the last one, which
may be shorter. Its associated data is the header, the chunk index (8 bytes) and a
final flag (1 byte, 1 for the last chunk only): a chunk moved, swapped with one of
another file, removed, or the file cut at a chunk boundary, fails to decrypt. The
plaintext never reaches the disk: :class:`EncryptedWriter` is the seekable file object
PyAV muxes into (the WebM muxer goes back to the head of the file to write sizes and
the duration at the end; a chunk already sealed is decrypted, patched and sealed again
with a fresh nonce).

The key is 256 bits, read from ``recording_key_path`` (WebConfig) or, by default,
``<data_dir>/keys/recording-aes256.key``, created on first use with mode 0600 (32 raw
bytes, or 64 hex digits when written by hand). The SHA-256 of the encrypted file is
journaled at the end of the recording (``RecordRecordingDigest``, system actor).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from deliberation.deadlines import retention_until
from signaling import datadir

MAGIC = b"SEANREC1"
HEADER_SIZE = len(MAGIC) + 16 + 4
NONCE = 12
TAG = 16
CHUNK_SIZE = 1 << 20
KEY_FILE = datadir.RECORDING_KEY
RECORDINGS_DIR = datadir.RECORDINGS
SUFFIX = datadir.RECORDING_SUFFIX
_STAMP = re.compile(r"^(\d{8}T\d{6}Z)-")


class RecordingError(Exception):
    """A recording that cannot be decrypted: wrong key, or the file was changed."""


# --- key and paths ------------------------------------------------------------------


def default_key_path(data_dir: Path) -> Path:
    return datadir.DataDir.of(data_dir).recording_key


def recording_key(data_dir: Path, path: Path | None = None) -> bytes:
    """The 256-bit recording key, created on first use (mode 0600)."""
    path = Path(path) if path is not None else default_key_path(data_dir)
    if not path.exists():  # or created meanwhile by another worker: then read as is
        datadir.create_secret(path, secrets.token_bytes(32), datadir.PRIVATE_DIR_MODE)
    raw = path.read_bytes()
    if len(raw) == 32:
        return raw
    text = raw.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    raise RecordingError(f"{path}: a recording key is 32 bytes (or 64 hex digits)")


def recordings_dir(data_dir: Path, sitting_id: str | None = None) -> Path:
    layout = datadir.DataDir.of(data_dir)
    return layout.recordings_of(sitting_id) if sitting_id is not None else layout.recordings


def new_recording_path(data_dir: Path, sitting_id: str, label: str = "programme", now: datetime | None = None) -> Path:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    folder = recordings_dir(data_dir, sitting_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = f"{now:%Y%m%dT%H%M%SZ}-{label}"
    path = folder / f"{stem}{SUFFIX}"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{SUFFIX}"
        n += 1
    return path


def recorded_on(path: Path) -> date:
    """The day a recording started: from its name, else from its modification time."""
    m = _STAMP.match(path.name)
    if m:
        return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).date()
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- encryption ---------------------------------------------------------------------


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


class EncryptedWriter(io.RawIOBase):
    """A write-only, seekable file object that stores what is written AES-GCM encrypted.

    At most ``keep`` plaintext chunks are held in memory (the latest ones); the others
    are sealed to disk as soon as they are full, so a process killed mid-recording loses
    only those (see :func:`decrypt_prefix`)."""

    def __init__(self, path: Path, key: bytes, chunk_size: int = CHUNK_SIZE, keep: int = 3) -> None:
        super().__init__()
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self.path = Path(path)
        self._aead = AESGCM(key)
        self.chunk_size = chunk_size
        self.keep = max(2, keep)
        self.file_id = secrets.token_bytes(16)
        self.header = MAGIC + self.file_id + chunk_size.to_bytes(4, "big")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._fh = os.fdopen(fd, "r+b")
        self._fh.write(self.header)
        self._pos = 0
        self._size = 0
        self._open: dict[int, bytearray] = {}
        self._sealed: set[int] = set()
        self.reopened = 0  # sealed chunks patched again (the muxer seeking back)

    # io.RawIOBase
    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed recording")
        mv = memoryview(b).cast("B")
        n = len(mv)
        cs = self.chunk_size
        while len(mv):
            idx, off = divmod(self._pos, cs)
            chunk = self._chunk(idx)
            if len(chunk) < off:
                chunk.extend(bytes(off - len(chunk)))
            take = min(cs - off, len(mv))
            chunk[off : off + take] = mv[:take]
            self._pos += take
            mv = mv[take:]
        self._size = max(self._size, self._pos)
        self._evict()
        return n

    def close(self) -> None:
        if self.closed:
            return
        try:
            last = max(0, (self._size - 1) // self.chunk_size)
            for idx in range(last):  # holes left by seeks past the end
                if idx not in self._open and idx not in self._sealed:
                    self._open[idx] = bytearray()
            self._chunk(last)
            for idx in sorted(self._open):
                self._seal(idx, final=idx == last)
            self._open.clear()
            self._fh.truncate(
                HEADER_SIZE
                + last * (NONCE + self.chunk_size + TAG)
                + NONCE
                + (self._size - last * self.chunk_size)
                + TAG
            )
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        finally:
            super().close()

    # chunks
    def _offset(self, idx: int) -> int:
        return HEADER_SIZE + idx * (NONCE + self.chunk_size + TAG)

    def _chunk(self, idx: int) -> bytearray:
        chunk = self._open.get(idx)
        if chunk is not None:
            return chunk
        if idx in self._sealed:
            self._fh.seek(self._offset(idx))
            blob = self._fh.read(NONCE + self.chunk_size + TAG)
            chunk = bytearray(self._aead.decrypt(blob[:NONCE], blob[NONCE:], _aad(self.header, idx, False)))
            self._sealed.discard(idx)
            self.reopened += 1
        else:
            chunk = bytearray()
        self._open[idx] = chunk
        return chunk

    def _seal(self, idx: int, final: bool) -> None:
        chunk = self._open[idx]
        if not final and len(chunk) < self.chunk_size:
            chunk.extend(bytes(self.chunk_size - len(chunk)))  # a hole left by a seek
        elif final:
            del chunk[self._size - idx * self.chunk_size :]
        nonce = secrets.token_bytes(NONCE)
        blob = nonce + self._aead.encrypt(nonce, bytes(chunk), _aad(self.header, idx, final))
        self._fh.seek(self._offset(idx))
        self._fh.write(blob)
        self._sealed.add(idx)

    def _evict(self) -> None:
        if len(self._open) <= self.keep:
            return
        current = self._pos // self.chunk_size
        last = (self._size - 1) // self.chunk_size if self._size else 0
        # the first chunk too: after a crash, what was sealed still decrypts (decrypt_prefix)
        candidates = sorted(i for i in self._open if i not in (current, last))
        while len(self._open) > self.keep and candidates:
            idx = candidates.pop(0)
            self._seal(idx, final=False)
            del self._open[idx]
        self._fh.flush()  # sealed chunks reach the OS: they survive the process


def decrypt(path: Path, key: bytes) -> bytes:
    """The plaintext of a recording; :class:`RecordingError` if anything was changed."""
    plain, _complete = _decrypt(path, key, salvage=False)
    return plain


def decrypt_prefix(path: Path, key: bytes) -> tuple[bytes, bool]:
    """What can be authenticated of a recording that may have been cut short (its server
    was killed before the end): the plaintext of its leading chunks, and whether the file
    is complete. A changed or reordered chunk still raises :class:`RecordingError`."""
    return _decrypt(path, key, salvage=True)


def _decrypt(path: Path, key: bytes, salvage: bool) -> tuple[bytes, bool]:
    data = Path(path).read_bytes()
    if len(data) < HEADER_SIZE or data[: len(MAGIC)] != MAGIC:
        raise RecordingError(f"{path}: not a Séance recording")
    header = data[:HEADER_SIZE]
    chunk_size = int.from_bytes(header[-4:], "big")
    if chunk_size <= 0:
        raise RecordingError(f"{path}: bad chunk size")
    aead = AESGCM(key)
    full = NONCE + chunk_size + TAG
    out = bytearray()
    pos, idx = HEADER_SIZE, 0
    while True:
        final = len(data) - pos <= full
        blob = data[pos : pos + full]
        if len(blob) < NONCE + TAG:
            if salvage and pos == len(data):
                return bytes(out), False
            raise RecordingError(f"{path}: chunk {idx} is cut")
        try:
            out += aead.decrypt(blob[:NONCE], blob[NONCE:], _aad(header, idx, final))
        except Exception as exc:  # cryptography's InvalidTag
            if salvage and final and len(blob) == full:
                try:  # the last chunk sealed before the end: a recording cut short
                    out += aead.decrypt(blob[:NONCE], blob[NONCE:], _aad(header, idx, False))
                    return bytes(out), False
                except Exception:
                    pass
            if salvage and final and len(blob) < full:
                return bytes(out), False  # a chunk being written when the process died
            raise RecordingError(f"{path}: chunk {idx} does not authenticate (changed, moved or cut)") from exc
        if final:
            return bytes(out), True
        pos += full
        idx += 1


# --- retention (R5) -------------------------------------------------------------------


@dataclass(frozen=True)
class Expired:
    path: Path
    recorded: date
    delete_from: date
    size: int


def expired_recordings(data_dir: Path, retention_days: int, today: date | None = None) -> list[Expired]:
    """Recordings whose retention period (règlement intérieur, R5) has run out."""

    today = today or datetime.now(UTC).date()
    out: list[Expired] = []
    base = recordings_dir(data_dir)
    if not base.is_dir():
        return out
    for path in sorted(base.glob(f"*/*{SUFFIX}")):
        recorded = recorded_on(path)
        until = retention_until(recorded, retention_days)
        if today >= until:
            out.append(Expired(path, recorded, until, path.stat().st_size))
    return out
