"""The council's signed register of publications: what becomes of a sitting's acts after
its journal is closed (R5, R21, R22, R26; L.2131-1, L.2121-25, L.2121-15 CGCT).

A sitting's journal ends at its closing (R11): nothing is journaled after it. Yet the
liste des délibérations is published after the closing (within the week, L.2121-25), the
procès-verbal after its adoption at a later sitting (within the week, L.2121-15), and the
replay is exported and published later still (R5). Each act is published « with its
publication date » (L.2131-1): those dates, and the digest of what was published, are
entered here, one register per council, in the very format of a sitting's journal
(:mod:`deliberation.journal`: canonical JSON lines, each line's ``prev`` the SHA-256 of the
previous line, every batch ended by a checkpoint signed with the council's Ed25519 key),
so that an auditor verifies it offline the same way (``seance audit register``).

Format ``seance-register/1`` (docs/journal.md, « Le registre des publications »):

- line 1, ``genesis``: ``council_id`` and ``key_sha256`` (the signing key's fingerprint);
- ``entry`` lines: ``{"entry": {"type": …, …}}``, one of :data:`ENTRY_TYPES` (the acts'
  publications, the signature of a procès-verbal whose adopting sitting was already closed,
  the replay's exports and publications, and the convocations' sendings and
  acknowledgements that no sitting journal could record);
- ``checkpoint`` lines, one at the end of every batch (as format 2 of the journal).

Entries are typed (frozen dataclasses); a line whose entry does not read as its type, or
contradicts the lines before it (a liste published twice, a replay withdrawn that was not
published), makes the register refuse to verify, naming the line.

Several worker processes may publish at once: :class:`Register` appends under an
exclusive ``flock`` on the file, re-reading it first, so the chain never forks.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .journal import (
    Entry,
    JournalError,
    Verified,
    append_durably,
    chain_batch,
    key_fingerprint,
    verify_after,
)

FORMAT = "seance-register/1"
FORMATS = (FORMAT,)
KINDS = ("genesis", "entry", "checkpoint")


@dataclass(frozen=True)
class ConvocationPublished:
    """R6 (R.5211-2 al. 6-7, L.5211-11-1): the convocation of ``sitting_id`` put online on the
    Actes page at ``at`` (when the sitting is convened and its agenda fixed), by ``by``."""

    type: ClassVar[str] = "ConvocationPublished"
    sitting_id: str
    at: str
    by: str


@dataclass(frozen=True)
class ListePublished:
    """L.2121-25, L.2131-1: the liste des délibérations of ``sitting_id`` put online at ``at``,
    drawn from its closed journal whose last signed line is ``journal_head`` (that line's
    ``hash``); ``documents``: each délibération published with it (its SCDL ``DELIB_ID``)
    and the SHA-256 of the page served for it."""

    type: ClassVar[str] = "ListePublished"
    sitting_id: str
    at: str
    journal_head: str
    documents: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MinutesPublished:
    """L.2121-15, L.2131-1: the procès-verbal of ``sitting_id``, adopted by the sitting
    ``approving_sitting_id`` and signed, put online at ``at``; ``pdf_sha256`` is the
    SHA-256 of the PDF served (the one signed: :func:`deliberation.adoption.minutes_signature`)."""

    type: ClassVar[str] = "MinutesPublished"
    sitting_id: str
    at: str
    approving_sitting_id: str
    pdf_sha256: str
    by: str


@dataclass(frozen=True)
class MinutesSigned:
    """L.2121-15, R11, R22: the procès-verbal of ``sitting_id``, adopted by the item ``item_id``
    of the sitting ``approving_sitting_id``, signed by ``by`` at ``at`` as the PDF/A of SHA-256
    ``pdf_sha256``; entered here because the adopting sitting's journal was already closed
    (while it is open the signature is journaled there, ``RecordMinutesSigned``). A
    procès-verbal is signed once: by its adopting journal or by this register, never both."""

    type: ClassVar[str] = "MinutesSigned"
    sitting_id: str
    at: str
    approving_sitting_id: str
    item_id: str
    pdf_sha256: str
    by: str


@dataclass(frozen=True)
class ReplayExported:
    """R5: ``by`` (a login the règlement allows) exported the recording ``recording`` (its
    journaled label) of ``sitting_id``: ``recording_sha256`` is the encrypted file's
    digest the journal records, ``file_sha256`` that of the WebM handed out."""

    type: ClassVar[str] = "ReplayExported"
    sitting_id: str
    at: str
    recording: str
    recording_sha256: str
    file_sha256: str
    by: str


@dataclass(frozen=True)
class ReplayPublished:
    """R5: the règlement publishes the replay: the recording ``recording`` of ``sitting_id``
    is on the Actes page from ``at``, as the WebM of SHA-256 ``file_sha256``."""

    type: ClassVar[str] = "ReplayPublished"
    sitting_id: str
    at: str
    recording: str
    file_sha256: str
    by: str


@dataclass(frozen=True)
class ReplayWithdrawn:
    """R5: the replay published is taken off the Actes page at ``at`` (the règlement's
    setting turned off): the public link answers « non publié » from then on."""

    type: ClassVar[str] = "ReplayWithdrawn"
    sitting_id: str
    at: str
    recording: str
    by: str


@dataclass(frozen=True)
class ConvocationSent:
    """R6 (L.2121-10, L.2121-12): a member's convocation left through the council's relay at
    ``at``, entered here when the process that sent it does not serve the sitting (another
    worker or node holds its journal, which then records nothing of it)."""

    type: ClassVar[str] = "ConvocationSent"
    sitting_id: str
    at: str
    member_id: str


@dataclass(frozen=True)
class ConvocationAcknowledged:
    """R6: the member followed their acknowledgement link at ``at`` (entered here on the same
    condition as :class:`ConvocationSent`)."""

    type: ClassVar[str] = "ConvocationAcknowledged"
    sitting_id: str
    at: str
    member_id: str


RegisterEntry = (
    ConvocationPublished
    | ListePublished
    | MinutesPublished
    | MinutesSigned
    | ReplayExported
    | ReplayPublished
    | ReplayWithdrawn
    | ConvocationSent
    | ConvocationAcknowledged
)
ENTRY_TYPES: dict[str, type[RegisterEntry]] = {
    t.type: t
    for t in (
        ConvocationPublished,
        ListePublished,
        MinutesPublished,
        MinutesSigned,
        ReplayExported,
        ReplayPublished,
        ReplayWithdrawn,
        ConvocationSent,
        ConvocationAcknowledged,
    )
}


def entry_to_dict(entry: RegisterEntry) -> dict[str, Any]:
    return {"type": entry.type, **asdict(entry)}


def entry_from_dict(d: Any) -> RegisterEntry:
    """The typed entry of a line's ``entry`` object; ValueError when it is not one."""
    if not isinstance(d, dict) or d.get("type") not in ENTRY_TYPES:
        raise ValueError(f"type d'inscription inconnu {d.get('type') if isinstance(d, dict) else d!r}")
    cls = ENTRY_TYPES[d["type"]]
    fields = {k: v for k, v in d.items() if k != "type"}
    try:
        entry = cls(**fields)
    except TypeError:
        raise ValueError(f"champs de « {d['type']} » incorrects : {sorted(fields)}") from None
    for name, value in asdict(entry).items():
        ok = (
            all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
            if isinstance(value, dict)
            else isinstance(value, str)
        )
        if not ok:
            raise ValueError(f"champ « {name} » de « {d['type']} » : texte attendu")
    return entry


@dataclass(frozen=True)
class Inscription:
    """A register entry and the line (1-based) that holds it."""

    line: int
    entry: RegisterEntry


@dataclass(frozen=True)
class Publications:
    """What the register says, in order: the entries with their lines, and per act its
    current standing (a replay withdrawn is no longer published)."""

    inscriptions: tuple[Inscription, ...] = ()
    lines: int = 0

    def of_type(self, cls: type[Any], sitting_id: str | None = None) -> list[Any]:
        return [
            i.entry
            for i in self.inscriptions
            if isinstance(i.entry, cls) and (sitting_id is None or i.entry.sitting_id == sitting_id)
        ]

    def convocation(self, sitting_id: str) -> ConvocationPublished | None:
        found = self.of_type(ConvocationPublished, sitting_id)
        return found[0] if found else None

    def published(self, entry: RegisterEntry) -> bool:
        """Whether the act ``entry`` publishes is already entered (a convocation, a liste or a
        procès-verbal is published once)."""
        if isinstance(entry, ConvocationPublished):
            return self.convocation(entry.sitting_id) is not None
        if isinstance(entry, ListePublished):
            return self.liste(entry.sitting_id) is not None
        if isinstance(entry, MinutesPublished):
            return self.minutes(entry.sitting_id) is not None
        return False

    def liste(self, sitting_id: str) -> ListePublished | None:
        found = self.of_type(ListePublished, sitting_id)
        return found[0] if found else None

    def minutes(self, sitting_id: str) -> MinutesPublished | None:
        found = self.of_type(MinutesPublished, sitting_id)
        return found[0] if found else None

    def minutes_signed(self, sitting_id: str) -> MinutesSigned | None:
        """The signature of the procès-verbal of ``sitting_id`` entered here (None: none)."""
        found = self.of_type(MinutesSigned, sitting_id)
        return found[0] if found else None

    def replay(self, sitting_id: str, recording: str) -> ReplayPublished | None:
        """The publication of that recording in force (None: never published, or withdrawn)."""
        current: ReplayPublished | None = None
        for i in self.inscriptions:
            e = i.entry
            if getattr(e, "sitting_id", None) != sitting_id or getattr(e, "recording", None) != recording:
                continue
            if isinstance(e, ReplayPublished):
                current = e
            elif isinstance(e, ReplayWithdrawn):
                current = None
        return current

    def convocations_sent(self, sitting_id: str) -> dict[str, str]:
        """R6: per member, the first sending entered here for that sitting."""
        first: dict[str, str] = {}
        for e in self.of_type(ConvocationSent, sitting_id):
            first.setdefault(e.member_id, e.at)
        return first

    def replays(self) -> list[ReplayPublished]:
        """Every replay publication in force."""
        keys = dict.fromkeys((e.sitting_id, e.recording) for e in self.of_type(ReplayPublished))
        return [p for s, r in keys if (p := self.replay(s, r)) is not None]


def _contradiction(before: Publications, entry: RegisterEntry) -> str | None:
    """Why ``entry`` cannot follow the lines ``before`` (None: it can)."""
    if isinstance(entry, ConvocationPublished) and before.convocation(entry.sitting_id) is not None:
        return f"convocation de « {entry.sitting_id} » déjà publiée plus haut"
    if isinstance(entry, ListePublished) and before.liste(entry.sitting_id) is not None:
        return f"liste des délibérations de « {entry.sitting_id} » déjà publiée plus haut"
    if isinstance(entry, MinutesPublished) and before.minutes(entry.sitting_id) is not None:
        return f"procès-verbal de « {entry.sitting_id} » déjà publié plus haut"
    if isinstance(entry, MinutesSigned) and before.minutes_signed(entry.sitting_id) is not None:
        return f"procès-verbal de « {entry.sitting_id} » déjà signé plus haut"
    if isinstance(entry, ReplayPublished) and before.replay(entry.sitting_id, entry.recording) is not None:
        return f"enregistrement « {entry.recording} » déjà publié (et non retiré) plus haut"
    if isinstance(entry, ReplayWithdrawn) and before.replay(entry.sitting_id, entry.recording) is None:
        return f"retrait de l'enregistrement « {entry.recording} », qui n'est pas publié"
    return None


def _with(pub: Publications, line: int, entry: RegisterEntry) -> Publications:
    return Publications((*pub.inscriptions, Inscription(line, entry)), line)


def read_entries(entries: list[Entry], public_key: Ed25519PublicKey, council_id: str | None = None) -> Publications:
    """The typed publications of verified lines: the genesis's key and council checked, each
    entry read as its type and consistent with the ones before (:class:`JournalError` naming
    the line otherwise)."""
    genesis = entries[0].data
    if genesis.get("key_sha256") != key_fingerprint(public_key):
        raise JournalError(1, "registre signé par une autre clé que celle du conseil")
    if council_id is not None and genesis.get("council_id") != council_id:
        raise JournalError(1, f"registre d'un autre conseil ({genesis.get('council_id')!r})")
    return _extend(Publications(), entries)


def _extend(pub: Publications, entries: list[Entry]) -> Publications:
    """``pub`` followed by the entries of verified lines (the ones after those it holds)."""
    lines = entries[-1].line if entries else pub.lines
    for e in entries:
        if e.kind != "entry":
            continue
        try:
            entry = entry_from_dict(e.data.get("entry"))
        except ValueError as exc:
            raise JournalError(e.line, str(exc)) from None
        if (why := _contradiction(pub, entry)) is not None:
            raise JournalError(e.line, why)
        pub = _with(pub, e.line, entry)
    return Publications(pub.inscriptions, lines)


def verify_register(
    content: bytes, public_key: Ed25519PublicKey, council_id: str | None = None
) -> tuple[list[Entry], Publications]:
    """R21 for the register: format, chain, signatures (every batch signed), then the
    entries; raises :class:`JournalError` at the first line that fails."""
    entries, _verified = verify_after(content, public_key, None, formats=FORMATS, kinds=KINDS)
    return entries, read_entries(entries, public_key, council_id)


@dataclass(frozen=True)
class _Verified:
    """What a :class:`RegisterCache` holds: one consistent snapshot, replaced as a whole."""

    content: bytes
    verified: Verified
    pub: Publications
    owner: tuple[bytes, str]


class RegisterCache:
    """A register verified once by this process, then only in what was appended since.

    A register only grows (:class:`Register` appends): the bytes verified are kept, and a
    later content that starts with them has only its new lines verified (chain, signatures,
    entries: :func:`deliberation.journal.verify_after`); any other content (rewritten, cut,
    another key or council) is verified whole, so the cache never hides a change. Its one
    snapshot is replaced in a single assignment: threads reading at once each see a whole one."""

    def __init__(self) -> None:
        self._last: _Verified | None = None

    def read(self, content: bytes, public_key: Ed25519PublicKey, council_id: str) -> Publications:
        if not content:
            return Publications()
        owner = (_public_key_info(public_key), council_id)
        last = self._last
        if last is not None and last.owner == owner and content.startswith(last.content):
            if len(content) == len(last.content):
                return last.pub
            new, verified = verify_after(content, public_key, last.verified, formats=FORMATS, kinds=KINDS)
            pub = _extend(last.pub, new)
        else:
            entries, verified = verify_after(content, public_key, None, formats=FORMATS, kinds=KINDS)
            pub = read_entries(entries, public_key, council_id)
        self._last = _Verified(content, verified, pub, owner)
        return pub


def _public_key_info(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class Register:
    """The register file of one council, appended by whichever process publishes.

    Holds no state between calls but its path, key and council: each :meth:`read` and
    :meth:`append` reads the file afresh (it is small: a few lines per sitting), so that
    several processes share it and a restart reads back exactly what was written."""

    def __init__(self, path: str | Path, key: Ed25519PrivateKey, council_id: str) -> None:
        self.path = Path(path)
        self._key = key
        self.council_id = council_id

    def read(self, cache: RegisterCache | None = None) -> Publications:
        """The verified publications (an empty register when the file does not exist yet);
        with ``cache``, only the lines appended since its last read are verified."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return Publications()
        with open(self.path, "rb") as handle:  # shared lock: never a batch half-appended
            fcntl.flock(handle, fcntl.LOCK_SH)
            try:
                content = handle.read()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        if cache is not None:
            return cache.read(content, self._key.public_key(), self.council_id)
        return verify_register(content, self._key.public_key(), self.council_id)[1]

    def append(self, decide: Callable[[Publications], list[RegisterEntry]]) -> list[RegisterEntry]:
        """Under an exclusive lock: read and verify the register, ask ``decide`` what to add
        given what it holds, and write those entries as one signed batch (fsync-ed before
        returning). ``decide`` sees the register as it is under the lock, so two processes
        never publish the same act twice. A register that does not verify is not written
        to (:class:`JournalError`)."""
        with open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                content = handle.read()
                if content:
                    entries, pub = verify_register(content, self._key.public_key(), self.council_id)
                    last_raw, seq = entries[-1].raw, len(entries)
                else:
                    pub, last_raw, seq = Publications(), b"", 0
                new = decide(pub)
                for entry in new:
                    if (why := _contradiction(pub, entry)) is not None:
                        raise ValueError(why)
                    pub = _with(pub, pub.lines + 1, entry)
                if not new:
                    return []
                lines: list[dict[str, Any]] = []
                if seq == 0:
                    lines += [
                        {
                            "kind": "genesis",
                            "format": FORMAT,
                            "council_id": self.council_id,
                            "key_sha256": key_fingerprint(self._key),
                        },
                        {"kind": "checkpoint", "reason": "genesis"},
                    ]
                lines += [{"kind": "entry", "entry": entry_to_dict(e)} for e in new]
                lines.append({"kind": "checkpoint", "reason": new[-1].type})
                append_durably(handle, chain_batch(lines, last_raw, seq, self._key).data)
                return new
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
