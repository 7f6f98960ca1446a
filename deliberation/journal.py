"""The journal of a sitting: append-only JSON lines, hash-chained, signed (R18, R21).

Format (see docs/journal.md for the auditor's version):

- one JSON object per line, canonical (:mod:`deliberation.canonical`), ``\\n``-terminated;
- ``seq`` is the 1-based line number; ``prev`` is the SHA-256 (hex) of the previous
  line's bytes (without its newline), 64 zeros for line 1; ``hash`` is the SHA-256 of the
  canonical form of the line's object without its ``hash`` key;
- ``kind`` is ``genesis`` (line 1: council and sitting configuration), ``command`` (one
  per accepted command, with its actor), ``event`` (one per event, ``cause`` = the seq of
  its command) or ``checkpoint`` (``head`` = ``prev``; ``signature`` = Ed25519 over the
  canonical form of the object without ``hash`` and ``signature``);
- format 1 (``seance-journal/1``): a checkpoint follows the genesis, every command that
  closes a vote or the sitting, and any explicit :meth:`Journal.checkpoint`; the lines in
  between are covered only by the unkeyed chain until the next checkpoint;
- format 2 (``seance-journal/2``, written since issue 12): **every batch ends with a
  checkpoint**, so every acknowledged command is covered by a signature before its ack; a
  format-2 journal whose tail after the last checkpoint is unsigned does not verify
  (someone rewrote the lines after the last signature, or the server died mid-write
  before acknowledging them).

A command's lines (command, events, checkpoint) are written in one ``write`` and
``fsync``-ed before the command is acknowledged (R18). Refused commands are not
journaled: they change nothing.

The last checkpoint is the journal's **signed head** (:func:`head_of`): published to
every screen, anyone may keep it as a witness, and :func:`check_head` then detects a
journal cut or rolled back before it (a truncated file, a restored backup).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .actors import Actor
from .canonical import canonical_bytes
from .commands import Command
from .council import Council, SittingConfig
from .events import CHECKPOINT_EVENTS, Event
from .refusal import Refusal
from .seance import Seance

FORMAT_V1 = "seance-journal/1"
FORMAT = "seance-journal/2"
FORMATS = (FORMAT_V1, FORMAT)
ZERO = "0" * 64
KINDS = ("genesis", "command", "event", "checkpoint")


class JournalError(Exception):
    """The journal does not verify: ``line`` (1-based) is the first line that fails."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


# -- keys ---------------------------------------------------------------------------------------
def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def load_private_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def key_fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# -- lines ----------------------------------------------------------------------------------------
def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _without(entry: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in keys}


def seal(entry: dict[str, Any], key: Ed25519PrivateKey | None = None) -> bytes:
    """Add ``signature`` (checkpoints) and ``hash`` to ``entry``; return its line bytes (no newline)."""
    entry = dict(entry)
    if entry["kind"] == "checkpoint":
        assert key is not None, "a checkpoint needs the signing key"
        entry["signature"] = base64.b64encode(key.sign(canonical_bytes(_without(entry, "hash", "signature")))).decode()
    entry["hash"] = sha256_hex(canonical_bytes(_without(entry, "hash")))
    return canonical_bytes(entry)


@dataclass(frozen=True)
class Entry:
    line: int
    raw: bytes
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data["kind"])


@dataclass(frozen=True)
class Verified:
    """How far a journal has been verified: its first ``lines`` lines, ``size`` bytes, the
    last of them ``last_raw``, its ``format``, and the line of its last checkpoint."""

    lines: int
    size: int
    last_raw: bytes
    format: str
    last_checkpoint: int


def verify_lines(content: bytes, public_key: Ed25519PublicKey) -> list[Entry]:
    """Check format, chain and signatures (R21); raise :class:`JournalError` at the first bad line."""
    return verify_after(content, public_key, None)[0]


def verify_after(
    content: bytes,
    public_key: Ed25519PublicKey,
    verified: Verified | None,
    *,
    formats: tuple[str, ...] = FORMATS,
    kinds: tuple[str, ...] = KINDS,
) -> tuple[list[Entry], Verified]:
    """:func:`verify_lines` of the lines after ``verified`` (a prefix of ``content`` already
    verified with this key: a journal only grows, :class:`deliberation.audit.IncrementalAudit`),
    chained to its last line; the new entries, and how far ``content`` is now verified.
    The caller vouches that ``content`` starts with exactly the bytes verified.

    ``formats`` and ``kinds``: the same chain and signatures hold other signed files than a
    sitting's journal (the council's register of publications, :mod:`deliberation.register`),
    each with its own format names and line kinds; line 1 is always the ``genesis``."""
    if not content:
        raise JournalError(1, "journal vide")
    if not content.endswith(b"\n"):
        raise JournalError(content.count(b"\n") + 1, "dernière ligne incomplète (pas de fin de ligne)")
    entries: list[Entry] = []
    prev_raw: bytes | None = verified.last_raw if verified else None
    start = verified.size if verified else 0
    fmt = verified.format if verified else ""
    last_checkpoint = verified.last_checkpoint if verified else 0
    tail = content[start:-1]
    first_line = (verified.lines if verified else 0) + 1
    for n, raw in enumerate(tail.split(b"\n") if tail or start < len(content) else [], start=first_line):
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise JournalError(n, f"ligne illisible (JSON UTF-8 invalide : {exc.__class__.__name__})") from None
        if not isinstance(data, dict):
            raise JournalError(n, "ligne qui n'est pas un objet JSON")
        try:
            canonical = canonical_bytes(data)
        except ValueError:
            raise JournalError(n, "valeur JSON non canonique") from None
        if canonical != raw:
            raise JournalError(n, "ligne non canonique (modifiée)")
        for key in ("seq", "prev", "kind", "hash"):
            if key not in data:
                raise JournalError(n, f"champ « {key} » absent")
        if data["hash"] != sha256_hex(canonical_bytes(_without(data, "hash"))):
            raise JournalError(n, "empreinte « hash » incorrecte : contenu modifié")
        if data["seq"] != n:
            raise JournalError(
                n, f"numéro de séquence {data['seq']!r} au lieu de {n} : ligne supprimée, insérée ou déplacée"
            )
        expected_prev = ZERO if prev_raw is None else sha256_hex(prev_raw)
        if data["prev"] != expected_prev:
            raise JournalError(n, "chaînage rompu : « prev » ne correspond pas à la ligne précédente")
        if data["kind"] not in kinds:
            raise JournalError(n, f"nature de ligne inconnue {data['kind']!r}")
        if (n == 1) != (data["kind"] == "genesis"):
            raise JournalError(n, "la première ligne, et elle seule, est la genèse")
        if data["kind"] == "checkpoint":
            if data.get("head") != data["prev"]:
                raise JournalError(n, "point de contrôle : « head » différent de « prev »")
            try:
                signature = base64.b64decode(data.get("signature", ""), validate=True)
                public_key.verify(signature, canonical_bytes(_without(data, "hash", "signature")))
            except (InvalidSignature, ValueError, TypeError):
                raise JournalError(n, "signature Ed25519 invalide pour cette clé publique") from None
        if n == 1:
            if data.get("format") not in formats:
                raise JournalError(1, f"format inconnu (attendu {formats[-1]})")
            fmt = data["format"]
        if data["kind"] == "checkpoint":
            last_checkpoint = n
        entries.append(Entry(n, raw, data))
        prev_raw = raw
    lines = first_line - 1 + len(entries)
    if fmt != FORMAT_V1 and last_checkpoint != lines:
        first = last_checkpoint + 1
        raise JournalError(
            first,
            f"lignes {first} à {lines} non couvertes par une signature : la fin du journal a été "
            "modifiée après le dernier sceau, ou le serveur s'est arrêté avant d'accuser réception",
        )
    assert prev_raw is not None
    return entries, Verified(lines, len(content), prev_raw, fmt, last_checkpoint)


def read_verified(path: str | Path, public_key: Ed25519PublicKey) -> list[Entry]:
    return verify_lines(Path(path).read_bytes(), public_key)


def signed_prefix(content: bytes) -> bytes:
    """``content`` up to its last checkpoint line (format 2: the batches acknowledged so far;
    a batch being written when the copy was taken has no signature yet). Read from the
    end: usually the last line. A journal with no checkpoint, or format 1 (whose lines
    after the last checkpoint are acknowledged), is returned up to its last whole line."""
    end = content.rfind(b"\n") + 1
    first = content[: content.find(b"\n") + 1]
    if b'"format":"' + FORMAT_V1.encode() + b'"' in first:
        return content[:end]
    cut = end
    while cut > 0:
        start = content.rfind(b"\n", 0, cut - 1) + 1
        try:
            if json.loads(content[start:cut]).get("kind") == "checkpoint":
                return content[:cut]
        except (ValueError, AttributeError):
            pass  # unreadable: the verification names it
        cut = start
    return content[:end]


# -- the signed head: a witness kept outside the server ------------------------------------------
HEAD_FIELDS = ("seq", "prev", "kind", "head", "reason", "signature", "hash")


def head_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The witness of a checkpoint line: its fields, enough to check its signature alone."""
    assert entry["kind"] == "checkpoint"
    return {k: entry[k] for k in HEAD_FIELDS if k in entry}


def last_signed_head(entries: list[Entry]) -> dict[str, Any]:
    return head_of(next(e.data for e in reversed(entries) if e.kind == "checkpoint"))


def check_head(entries: list[Entry], head: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Check a verified journal against a signed head kept elsewhere (a witness).

    The witness's own signature is checked first (a head not signed by this key proves
    nothing); then the journal must hold that very line: a journal shorter than the
    witness was cut or rolled back (a truncated file, a backup restored over it), one whose
    line differs was rewritten and re-signed with another key or forked. Raises
    :class:`JournalError` naming the line.
    """
    try:
        seq = head["seq"]
        digest = head["hash"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or not isinstance(digest, str):
            raise TypeError
    except (KeyError, TypeError):
        raise JournalError(1, "tête témoin illisible : « seq » (entier) et « hash » attendus") from None
    if "signature" in head:
        full = {k: v for k, v in head.items() if k in HEAD_FIELDS}
        try:
            if full.get("kind") != "checkpoint" or digest != sha256_hex(canonical_bytes(_without(full, "hash"))):
                raise ValueError
            public_key.verify(
                base64.b64decode(full["signature"], validate=True), canonical_bytes(_without(full, "hash", "signature"))
            )
        except (InvalidSignature, ValueError, TypeError, KeyError):
            raise JournalError(seq, "tête témoin dont la signature n'est pas celle de cette clé") from None
    if seq > len(entries):
        raise JournalError(
            len(entries) + 1,
            f"journal tronqué ou revenu en arrière : il s'arrête à la ligne {len(entries)}, "
            f"la tête témoin signée est la ligne {seq}",
        )
    if entries[seq - 1].data["hash"] != digest:
        raise JournalError(seq, "ligne différente de la tête témoin signée : journal réécrit après ce sceau")


def genesis_of(entries: list[Entry]) -> tuple[Council, SittingConfig]:
    g = entries[0].data
    return Council.from_dict(g["council"]), SittingConfig.from_dict(g["config"])


def events_of(entries: Iterable[Entry]) -> list[Event]:
    return [Event.from_dict(e.data["event"]) for e in entries if e.kind == "event"]


def replay_entries(entries: list[Entry]) -> Seance:
    council, config = genesis_of(entries)
    try:
        return Seance.replay(council, config, events_of(entries))
    except (KeyError, ValueError, AssertionError, TypeError) as exc:
        raise JournalError(len(entries), f"événements impossibles à rejouer ({exc})") from None


@dataclass(frozen=True)
class Batch:
    """Lines chained after ``seq`` lines (the last one's bytes given) and sealed: ``data`` to
    append, the new last line and count, the last checkpoint's head if the batch has one."""

    data: bytes
    last_raw: bytes
    seq: int
    head: dict[str, Any] | None


def chain_batch(entries: list[dict[str, Any]], last_raw: bytes, seq: int, key: Ed25519PrivateKey) -> Batch:
    """Number, chain and seal ``entries`` after a file of ``seq`` lines whose last is ``last_raw``
    (``seq`` 0: an empty file, line 1's ``prev`` is :data:`ZERO`); a checkpoint's ``head`` is its
    ``prev`` and it is signed (:func:`seal`)."""
    out = bytearray()
    head = None
    for entry in entries:
        seq += 1
        full = {**entry, "seq": seq, "prev": sha256_hex(last_raw) if seq > 1 else ZERO}
        if full["kind"] == "checkpoint":
            full["head"] = full["prev"]
        raw = seal(full, key)
        out += raw + b"\n"
        last_raw = raw
        if full["kind"] == "checkpoint":
            head = head_of(json.loads(raw))
    return Batch(bytes(out), last_raw, seq, head)


def append_durably(handle: BinaryIO, data: bytes) -> None:
    """Write ``data`` at the end of the file and fsync it, or leave the file as it was.

    A failed write (disk full: a short write then ENOSPC) or fsync must not leave a
    half line behind, which would make the whole journal unverifiable (R21) and the
    sitting impossible to resume (R18): the file is truncated back to its last good
    length and the error raised, so the command is refused, never acknowledged.
    Written straight to the descriptor (no Python buffer that could flush later)."""
    handle.flush()
    fd = handle.fileno()
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError:
        try:
            os.ftruncate(fd, start)
            os.fsync(fd)
        except OSError:
            pass
        raise


class Journal:
    """The open, append-only journal of one sitting, holding the signing key."""

    def __init__(
        self,
        path: Path,
        handle: BinaryIO,
        key: Ed25519PrivateKey,
        last_raw: bytes,
        seq: int,
        checkpoints: int = 0,
        head: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self._file = handle
        self._key = key
        self._last_raw = last_raw
        self._seq = seq
        self._checkpoints = checkpoints
        self._head = head

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, seance: Seance, key: Ed25519PrivateKey) -> Journal:
        """Start the journal of a sitting not yet journaled (genesis + signed checkpoint)."""
        p = Path(path)
        if p.exists() and p.stat().st_size > 0:
            raise FileExistsError(f"{p} already holds a journal")
        if seance.state.to_dict() != type(seance.state)(teleconference=seance.config.teleconference).to_dict():
            raise ValueError("the genesis records a sitting before any event")
        handle = open(p, "ab")
        journal = cls(p, handle, key, b"", 0)
        genesis = {
            "kind": "genesis",
            "format": FORMAT,
            "council": seance.council.to_dict(),
            "config": seance.config.to_dict(),
            "key_sha256": key_fingerprint(key),
        }
        journal._write([genesis, {"kind": "checkpoint", "reason": "genesis"}])
        return journal

    @classmethod
    def open(cls, path: str | Path, key: Ed25519PrivateKey) -> tuple[Journal, Seance]:
        """Verify then replay an existing journal (R18: resume after a crash in the same state).

        A journal that does not verify with this key's public half refuses to load
        (:class:`JournalError`), and so does a format-2 journal whose tail after its last
        checkpoint is unsigned (:func:`verify_lines`). A format-1 journal keeps its rule
        (lines after the last checkpoint accepted); what the server appends to it from now
        on ends with a checkpoint per batch all the same.
        """
        p = Path(path)
        entries = read_verified(p, key.public_key())
        if entries[0].data.get("key_sha256") != key_fingerprint(key):
            raise JournalError(1, "journal signé par une autre clé")
        seance = replay_entries(entries)
        checkpoints = [e for e in entries if e.kind == "checkpoint"]
        head = head_of(checkpoints[-1].data) if checkpoints else None
        return cls(p, open(p, "ab"), key, entries[-1].raw, len(entries), len(checkpoints), head), seance

    @staticmethod
    def replay(path: str | Path, public_key: Ed25519PublicKey) -> Seance:
        """Rebuild a sitting's state from its verified journal."""
        return replay_entries(read_verified(path, public_key))

    # -- writing ------------------------------------------------------------------------------
    def _write(self, entries: list[dict[str, Any]]) -> None:
        """Chain, seal, write and fsync ``entries`` as one batch."""
        batch = chain_batch(entries, self._last_raw, self._seq, self._key)
        append_durably(self._file, batch.data)
        self._last_raw, self._seq = batch.last_raw, batch.seq
        self._head = batch.head or self._head
        self._checkpoints += sum(1 for e in entries if e["kind"] == "checkpoint")

    def append(self, command: Command, actor: Actor, events: list[Event]) -> None:
        """Journal an accepted command and its events, then the checkpoint that signs them.

        Every batch ends with a signed checkpoint (format 2): its ``reason`` is the vote
        result or closing it follows (R14, R21), else ``batch``."""
        cause = self._seq + 1
        batch: list[dict[str, Any]] = [{"kind": "command", "command": command.to_dict(), "actor": actor.to_dict()}]
        batch += [{"kind": "event", "cause": cause, "event": e.to_dict()} for e in events]
        reasons = [e.type for e in events if e.type in CHECKPOINT_EVENTS]
        batch.append({"kind": "checkpoint", "reason": reasons[-1] if reasons else "batch"})
        self._write(batch)

    def checkpoint(self, reason: str) -> None:
        """Sign the current chain head now (e.g. periodically)."""
        self._write([{"kind": "checkpoint", "reason": reason}])

    def handle(self, seance: Seance, command: Command, actor: Actor) -> list[Event] | Refusal:
        """Decide, journal (fsync) and only then apply: the shell's order (R18)."""
        result = seance.decide(command, actor)
        if isinstance(result, Refusal) or not result:
            return result
        self.append(command, actor, result)
        for event in result:
            seance.apply(event)
        return result

    @property
    def lines(self) -> int:
        return self._seq

    @property
    def head(self) -> str:
        """SHA-256 (hex) of the last line: what the next line's ``prev`` will be."""
        return sha256_hex(self._last_raw)

    @property
    def signed_checkpoints(self) -> int:
        return self._checkpoints

    @property
    def signed_head(self) -> dict[str, Any] | None:
        """The last checkpoint written (:func:`head_of`): the witness to publish."""
        return self._head

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
