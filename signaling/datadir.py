"""The data directory of an installation: every file and folder it holds, named once.

``seance serve`` keeps everything a council needs under one folder (``server.data_dir``,
``/var/lib/seance`` on a production node). Every module that reads or writes there asks
this one for the path, and ``seance backup`` / ``seance restore`` walk :data:`ENTRIES` to
know what to copy, how, and with which mode. A file this table does not name is not
Séance's (the backup test fails on one).

Layout::

    accounts.sqlite3            accounts, sessions revoked, kiosk links (accounts.py)  SQLite, WAL
    council.sqlite3             the council, its sittings, agendas, convocations, the
                                procès-verbal's drafts, the replay's exports (/admin)  SQLite, WAL
    session.key                 HMAC key of sessions and kiosk links (signaling/auth)  secret, 0600
    csrf.key                    HMAC key of the admin forms' CSRF tokens (web/admin)   secret, 0600
    registre.jsonl              the council's signed register of publications
                                (deliberation/register.py, web/publications.py)         append-only
    keys/                                                                              0700
      council-ed25519.pem       the council's journal signing key (R21)                secret, 0600
      council-ed25519.pub       its public half, published with each convocation
      recording-aes256.key      AES-256 key of the recordings at rest (R5)             secret, 0600
    sittings/<sitting>/
      journal.jsonl             the sitting's journal (docs/journal.md)                append-only
      sobriete.json             the sobriety figures (signaling/sobriety.py)
      holder.lock               the node holding the sitting (flock; not backed up)
      proces-verbal-signe.pdf   the adopted procès-verbal, signed PDF/A (web/admin/minutes.py, R22)
      annexes/<annex>.pdf       the agenda items' annexes sent with the convocation (web/admin/annexes.py)
      publies/<AAAAMMJJ-NN>.html each délibération's page as published, frozen (web/publications.py)
    recordings/<sitting>/
      <stamp>-<label>.webm.enc  encrypted recordings (signaling/recordings.py)
    tls-cert.pem, tls-key.pem   self-signed certificate of ``seance demo`` (web/tls.py)

Sitting ids are checked here too (:func:`check_id`): they become folder names.

Modes: nothing here is open to the machine's other accounts (issue 12 point 11: the demo's
files were world-readable, the accounts' password hashes with them). Files are 0640
(:data:`FILE_MODE`), secrets 0600, folders 0750 (``keys/`` and the recordings' 0700); the
``seance`` command runs under :data:`PRIVATE_UMASK` (as ``UMask=0027`` in the systemd unit)
and every start checks the folder (:func:`close_to_others`).

Layer: ``signaling/`` (it imports nothing), so that ``signaling/`` and ``web/`` may use
it; ``deliberation/`` and ``sfu/`` take the paths they need as arguments.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

ACCOUNTS_DB = "accounts.sqlite3"
COUNCIL_DB = "council.sqlite3"
SESSION_KEY = "session.key"
CSRF_KEY = "csrf.key"
REGISTER = "registre.jsonl"
KEYS = "keys"
COUNCIL_KEY = "council-ed25519.pem"
COUNCIL_PUBLIC_KEY = "council-ed25519.pub"
RECORDING_KEY = "recording-aes256.key"
SITTINGS = "sittings"
JOURNAL = "journal.jsonl"
SOBRIETY = "sobriete.json"
HOLDER_LOCK = "holder.lock"
ANNEXES = "annexes"
ANNEX_SUFFIX = ".pdf"
PUBLISHED = "publies"
PUBLISHED_SUFFIX = ".html"
RECORDINGS = "recordings"
RECORDING_SUFFIX = ".webm.enc"
TLS_CERT = "tls-cert.pem"
TLS_KEY = "tls-key.pem"

#: The modes of what the data directory holds (``seance restore`` restores them too).
FILE_MODE = 0o640
SECRET_MODE = 0o600
DIR_MODE = 0o750
PRIVATE_DIR_MODE = 0o700  # keys/ and recordings/<sitting>/
#: The umask of every ``seance`` command: nothing it creates is open to other accounts.
PRIVATE_UMASK = 0o027


class ExposedError(RuntimeError):
    """A file of the data directory is open to other accounts and cannot be closed (it is
    not ours): the French message names it and says what to do."""


#: Sitting (and salle) ids: they appear in URLs and become folder names here.
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Kind(Enum):
    """How a file is copied by ``seance backup`` and restored by ``seance restore``."""

    SQLITE = "sqlite"  # SQLite's online backup API: a consistent copy while Séance writes
    JOURNAL = "journal"  # cut at the last complete batch (web/backup.py, journal_cut)
    REGISTER = "register"  # the council's register of publications: cut and verified the same way
    SECRET = "secret"  # copied as is, restored mode 0600
    FILE = "file"  # copied as is, restored mode 0640
    RECORDING = "recording"  # copied as is; its SHA-256 checked against the journal's digest
    RUNTIME = "runtime"  # belongs to a running process: never copied


@dataclass(frozen=True)
class Entry:
    """One kind of file of the data dir: ``pattern`` is relative, ``*`` for a sitting id
    or a recording's name."""

    pattern: str
    kind: Kind
    what: str


ENTRIES: tuple[Entry, ...] = (
    Entry(ACCOUNTS_DB, Kind.SQLITE, "comptes, sessions révoquées, liens des bornes"),
    Entry(COUNCIL_DB, Kind.SQLITE, "conseil, séances, ordres du jour"),
    Entry(SESSION_KEY, Kind.SECRET, "clé des sessions et des liens de borne"),
    Entry(CSRF_KEY, Kind.SECRET, "clé des jetons CSRF des formulaires"),
    Entry(REGISTER, Kind.REGISTER, "registre signé des publications du conseil"),
    Entry(f"{KEYS}/{COUNCIL_KEY}", Kind.SECRET, "clé de signature du conseil (R21)"),
    Entry(f"{KEYS}/{COUNCIL_PUBLIC_KEY}", Kind.FILE, "clé publique du conseil"),
    Entry(f"{KEYS}/{RECORDING_KEY}", Kind.SECRET, "clé de chiffrement des enregistrements (R5)"),
    Entry(f"{SITTINGS}/*/{JOURNAL}", Kind.JOURNAL, "journal de la séance"),
    Entry(f"{SITTINGS}/*/{SOBRIETY}", Kind.FILE, "sobriété numérique de la séance"),
    Entry(f"{SITTINGS}/*/{HOLDER_LOCK}", Kind.RUNTIME, "verrou du nœud qui tient la séance"),
    Entry(f"{SITTINGS}/*/{ANNEXES}/*{ANNEX_SUFFIX}", Kind.FILE, "annexe d'un point de l'ordre du jour"),
    Entry(f"{SITTINGS}/*/{PUBLISHED}/*{PUBLISHED_SUFFIX}", Kind.FILE, "délibération publiée, telle que servie"),
    Entry(f"{RECORDINGS}/*/*{RECORDING_SUFFIX}", Kind.RECORDING, "enregistrement chiffré"),
    Entry(TLS_CERT, Kind.FILE, "certificat auto-signé (démonstration)"),
    Entry(TLS_KEY, Kind.SECRET, "clé du certificat auto-signé (démonstration)"),
)

#: SQLite's companions of a database in WAL mode: part of the database, never copied alone.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def check_id(sitting_id: str) -> str:
    """``sitting_id`` if it may name a folder; ValueError otherwise (no ``..``, no ``/``)."""
    if not isinstance(sitting_id, str) or not ID_RE.match(sitting_id):
        raise ValueError(f"invalid sitting id {sitting_id!r}")
    return sitting_id


@dataclass(frozen=True)
class DataDir:
    """The paths of one data directory (nothing is created by asking)."""

    root: Path

    @classmethod
    def of(cls, root: Path | str | DataDir) -> DataDir:
        return root if isinstance(root, DataDir) else cls(Path(root))

    # -- databases and keys of the installation
    @property
    def accounts_db(self) -> Path:
        return self.root / ACCOUNTS_DB

    @property
    def council_db(self) -> Path:
        return self.root / COUNCIL_DB

    @property
    def session_key(self) -> Path:
        return self.root / SESSION_KEY

    @property
    def csrf_key(self) -> Path:
        return self.root / CSRF_KEY

    @property
    def register(self) -> Path:
        return self.root / REGISTER

    @property
    def keys(self) -> Path:
        return self.root / KEYS

    @property
    def council_key(self) -> Path:
        return self.keys / COUNCIL_KEY

    @property
    def council_public_key(self) -> Path:
        return self.keys / COUNCIL_PUBLIC_KEY

    @property
    def recording_key(self) -> Path:
        return self.keys / RECORDING_KEY

    @property
    def tls_cert(self) -> Path:
        return self.root / TLS_CERT

    @property
    def tls_key(self) -> Path:
        return self.root / TLS_KEY

    # -- per sitting
    @property
    def sittings(self) -> Path:
        return self.root / SITTINGS

    def sitting(self, sitting_id: str) -> Path:
        return self.sittings / check_id(sitting_id)

    def journal(self, sitting_id: str) -> Path:
        return self.sitting(sitting_id) / JOURNAL

    def sobriety(self, sitting_id: str) -> Path:
        return self.sitting(sitting_id) / SOBRIETY

    def holder_lock(self, sitting_id: str) -> Path:
        return self.sitting(sitting_id) / HOLDER_LOCK

    def published(self, sitting_id: str, ident: str) -> Path:
        """A délibération as published (its page, frozen at publication): ``ident`` is its
        SCDL identifier (``AAAAMMJJ-NN``), checked as a sitting id is."""
        return self.sitting(sitting_id) / PUBLISHED / f"{check_id(ident)}{PUBLISHED_SUFFIX}"

    def annex(self, sitting_id: str, annex_id: str) -> Path:
        """An agenda item's annex (a PDF): ``annex_id`` is checked as a sitting id is."""
        return self.sitting(sitting_id) / ANNEXES / f"{check_id(annex_id)}{ANNEX_SUFFIX}"

    @property
    def recordings(self) -> Path:
        return self.root / RECORDINGS

    def recordings_of(self, sitting_id: str) -> Path:
        return self.recordings / check_id(sitting_id)

    def journaled_sittings(self) -> list[str]:
        """Ids of the sittings that have a journal, sorted."""
        if not self.sittings.is_dir():
            return []
        return sorted(p.parent.name for p in self.sittings.glob(f"*/{JOURNAL}") if ID_RE.match(p.parent.name))

    def names(self, path: Path) -> bool:
        """Whether ``path`` is Séance's: the root, a folder of the layout, a file of
        :data:`ENTRIES`, or a SQLite companion of one."""
        if path == self.root:
            return True
        rel = path.relative_to(self.root)
        if any(rel.match(p) and len(rel.parts) == len(Path(p).parts) for p in FOLDERS):
            return True
        for suffix in SQLITE_COMPANIONS:
            if path.name.endswith(suffix):
                path = path.with_name(path.name[: -len(suffix)])
        return self.entry_of(path) is not None

    def entry_of(self, path: Path) -> Entry | None:
        """The :data:`ENTRIES` line that names ``path`` (a file under the root), or None."""
        rel = path.relative_to(self.root)
        for entry in ENTRIES:
            if rel.match(entry.pattern) and len(rel.parts) == len(Path(entry.pattern).parts):
                return entry
        return None


def private_file(path: Path, mode: int = FILE_MODE) -> Path:
    """``path``, created empty with ``mode`` if it does not exist, its folders 0750: for the
    files another library creates (SQLite gives a database's ``-wal`` and ``-shm`` its mode)."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    except FileExistsError:
        pass
    return path


def create_secret(path: Path, content: bytes, dir_mode: int = DIR_MODE) -> bool:
    """Write a secret (a key) that does not exist yet: mode 0600 from its creation, synced;
    its folder created with ``dir_mode`` (``keys/``: :data:`PRIVATE_DIR_MODE`). False, and
    nothing written, when it exists already (another worker may have just created it)."""
    private_dir(path.parent, dir_mode)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def private_dir(path: Path, mode: int = DIR_MODE) -> Path:
    """``path`` and its missing parents, created with ``mode`` (whatever the umask)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, mode)
    return path


@dataclass(frozen=True)
class Tightened:
    """What :func:`close_to_others` did: the paths it closed, and those not Séance's it could
    not change (left as they are, for the DSI to look at)."""

    closed: list[Path]
    foreign: list[Path]


#: The folders of the layout (relative patterns), besides the root.
FOLDERS = (KEYS, SITTINGS, f"{SITTINGS}/*", RECORDINGS, f"{RECORDINGS}/*")


def close_to_others(root: Path | str) -> Tightened:
    """Take from every file and folder under ``root`` (``root`` included) the rights of the
    machine's other accounts (``o-rwx``). Symbolic links are not followed. A file of
    Séance's that cannot be changed (another owner) raises :class:`ExposedError`; a file
    the layout does not name is left and reported (``foreign``)."""
    layout = DataDir.of(Path(root))
    if not layout.root.is_dir():
        return Tightened([], [])
    closed: list[Path] = []
    foreign: list[Path] = []
    for path in [layout.root, *_walk(layout.root)]:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode) or not mode & stat.S_IRWXO:
            continue
        try:
            os.chmod(path, stat.S_IMODE(mode) & ~stat.S_IRWXO)
        except OSError as err:
            if not layout.names(path):
                foreign.append(path)
                continue
            raise ExposedError(
                f"Le fichier {path} du répertoire des données est lisible par les autres comptes de la machine et "
                f"Séance ne peut pas en changer les droits ({err.strerror}) : donnez-le au compte du service "
                "(chown) ou retirez ces droits (chmod o-rwx), puis relancez."
            ) from None
        closed.append(path)
    return Tightened(sorted(closed), sorted(foreign))


def _walk(root: Path) -> list[Path]:
    out = []
    for folder, dirs, files in os.walk(root):
        out += [Path(folder) / name for name in dirs + files]
    return out
