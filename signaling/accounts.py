"""People's accounts, persisted in SQLite (stdlib) in the instance data dir.

One table ``accounts``: login, scrypt hash (see :mod:`signaling.auth`), role, the member
id in the council (councillors, president), the salle and the agent id (agents, R4),
and ``session_gen``, the generation a session token must carry (bumped when the password
changes: every older session is revoked). Kiosks have no account: they hold a signed
salle token.

Table ``revoked_sessions``: the session ids closed by logout, kept until the token would
have expired anyway. Table ``kiosk_links``: per sitting and salle, the link the admin
shows (its generation and the time its token was issued, so that every view shows the
same link); revoking it bumps the generation, and every token of an older one is refused
(issue 12 point 11). All the tables are on disk, so a revocation survives a restart.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signaling import datadir
from signaling.auth import Claims, hash_password, verify_password
from signaling.roles import Role

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    login         TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    member_id     TEXT,
    salle_id      TEXT,
    display_name  TEXT NOT NULL DEFAULT '',
    agent_id      TEXT,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
)
"""

SESSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS revoked_sessions (
    sid        TEXT PRIMARY KEY,
    login      TEXT,
    expires_at REAL NOT NULL
)
"""

KIOSK_LINKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosk_links (
    sitting_id TEXT NOT NULL,
    salle_id   TEXT NOT NULL,
    gen        INTEGER NOT NULL,
    issued_at  INTEGER NOT NULL,
    PRIMARY KEY (sitting_id, salle_id)
)
"""


@dataclass(frozen=True)
class KioskLink:
    """The link of a salle's kiosk for one sitting: its generation (tokens of another are
    refused) and when its token was issued (the token is the same at every view)."""

    sitting_id: str
    salle_id: str
    gen: int
    issued_at: int


#: A hash checked against when the login does not exist, so that an unknown login costs
#: the same time as a wrong password.
@functools.cache
def _dummy_hash() -> str:
    return hash_password("dummy")


def fold_login(text: str) -> str:
    """A login as people type it, accents folded and lowercased: « J.Pérrin » -> ``j.perrin``.
    Nothing else changes: a space or a « ! » stays, for the form to refuse."""
    return unicodedata.normalize("NFKD", text.strip()).encode("ascii", "ignore").decode().lower()


def _login_part(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]", "", re.sub(r"\s+", "-", fold_login(text)))


def member_login(first_name: str, last_name: str) -> str:
    """The usual login of a member: « Jean Perrin » -> ``j.perrin``, « Anne-Sophie
    Le Gall-Dupré » -> ``a.le-gall-dupre`` (spaces become hyphens, accents are folded)."""
    return f"{_login_part(first_name)[:1]}.{_login_part(last_name)}".strip(".")


@dataclass(frozen=True)
class Account:
    login: str
    role: Role
    member_id: str | None
    salle_id: str | None
    display_name: str
    agent_id: str | None = None


class AccountStore:
    """Accounts in ``<data_dir>/accounts.sqlite3``. Calls are short and synchronous."""

    FILENAME = datadir.ACCOUNTS_DB

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        datadir.private_file(self.path)  # password hashes: never open to other accounts (issue 12.11)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(accounts)")}
        if "agent_id" not in columns:  # a data dir from before agents carried their agent id
            self._db.execute("ALTER TABLE accounts ADD COLUMN agent_id TEXT")
        if "session_gen" not in columns:  # a data dir from before sessions were revocable
            self._db.execute("ALTER TABLE accounts ADD COLUMN session_gen INTEGER NOT NULL DEFAULT 0")
        self._db.execute(SESSIONS_SCHEMA)
        self._db.execute(KIOSK_LINKS_SCHEMA)
        #: called with (login, sid) after a revocation (sid None: every session of login);
        #: the app closes the open WebSockets of those sessions.
        self.on_revoke: list[Callable[[str | None, str | None], None]] = []

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> AccountStore:
        return cls(datadir.DataDir.of(data_dir).accounts_db)

    def close(self) -> None:
        self._db.close()

    def set_account(
        self,
        login: str,
        password: str,
        role: Role,
        *,
        member_id: str | None = None,
        salle_id: str | None = None,
        display_name: str = "",
        agent_id: str | None = None,
    ) -> Account:
        """Create the account, or replace its password and attributes."""
        if role in (Role.KIOSK, Role.PUBLIC):
            raise ValueError("kiosks and the public have no account")
        if role is Role.AGENT and not salle_id:
            raise ValueError("an agent belongs to a salle")
        now = time.time()
        self._db.execute(
            "INSERT INTO accounts(login, password_hash, role, member_id, salle_id, display_name, agent_id,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(login) DO UPDATE SET password_hash=excluded.password_hash, role=excluded.role,"
            " member_id=excluded.member_id, salle_id=excluded.salle_id, display_name=excluded.display_name,"
            " agent_id=excluded.agent_id, updated_at=excluded.updated_at,"
            " session_gen=accounts.session_gen + 1",
            (login, hash_password(password), role.value, member_id, salle_id, display_name, agent_id, now, now),
        )
        self._revoked(login, None)  # a new password closes every session opened with the old one
        return Account(login, role, member_id, salle_id, display_name, agent_id)

    def change_role(self, login: str, role: Role) -> Account | None:
        """Another role for an account (the president's designation moved): its sessions
        are closed, the person logs in again with the same password."""
        if role in (Role.KIOSK, Role.PUBLIC, Role.AGENT):
            raise ValueError("kiosks, the public and agents are not a change of role")
        self._db.execute(
            "UPDATE accounts SET role = ?, updated_at = ?, session_gen = session_gen + 1 WHERE login = ?",
            (role.value, time.time(), login),
        )
        self._revoked(login, None)
        return self.get(login)

    def get(self, login: str) -> Account | None:
        row = self._db.execute(
            "SELECT login, role, member_id, salle_id, display_name, agent_id FROM accounts WHERE login = ?", (login,)
        ).fetchone()
        return Account(row[0], Role(row[1]), row[2], row[3], row[4], row[5]) if row else None

    def by_member(self, member_id: str) -> Account | None:
        row = self._db.execute(
            "SELECT login, role, member_id, salle_id, display_name, agent_id FROM accounts WHERE member_id = ? LIMIT 1",
            (member_id,),
        ).fetchone()
        return Account(row[0], Role(row[1]), row[2], row[3], row[4], row[5]) if row else None

    def authenticate(self, login: str, password: str) -> Account | None:
        row = self._db.execute("SELECT password_hash FROM accounts WHERE login = ?", (login,)).fetchone()
        if row is None:
            verify_password(password, _dummy_hash())
            return None
        return self.get(login) if verify_password(password, row[0]) else None

    # ----------------------------------------------------------------- sessions (T10)

    def session_generation(self, login: str) -> int | None:
        row = self._db.execute("SELECT session_gen FROM accounts WHERE login = ?", (login,)).fetchone()
        return int(row[0]) if row else None

    def revoke_session(self, sid: str, login: str | None, expires_at: float) -> None:
        """Logout: this session id is refused from now on (until it would have expired)."""
        now = time.time()
        self._db.execute("DELETE FROM revoked_sessions WHERE expires_at < ?", (now,))
        self._db.execute(
            "INSERT OR IGNORE INTO revoked_sessions(sid, login, expires_at) VALUES (?, ?, ?)",
            (sid, login, float(expires_at)),
        )
        self._revoked(login, sid)

    def revoke_all_sessions(self, login: str) -> None:
        """Every session of this account is refused from now on."""
        self._db.execute("UPDATE accounts SET session_gen = session_gen + 1 WHERE login = ?", (login,))
        self._revoked(login, None)

    # -- kiosk links -----------------------------------------------------------------------
    def kiosk_link(self, sitting_id: str, salle_id: str, now: int, renew_after: int) -> KioskLink:
        """The current link of a salle's kiosk for a sitting: the stored one, or a first
        (generation 1) issued ``now``; issued again ``now`` (same generation) once it is
        ``renew_after`` seconds old."""
        row = self._db.execute(
            "SELECT gen, issued_at FROM kiosk_links WHERE sitting_id = ? AND salle_id = ?", (sitting_id, salle_id)
        ).fetchone()
        if row is None or row[1] + renew_after <= now:
            gen = row[0] if row is not None else 1
            self._db.execute(
                "INSERT INTO kiosk_links(sitting_id, salle_id, gen, issued_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(sitting_id, salle_id) DO UPDATE SET issued_at = excluded.issued_at",
                (sitting_id, salle_id, gen, now),
            )
            return KioskLink(sitting_id, salle_id, gen, now)
        return KioskLink(sitting_id, salle_id, row[0], row[1])

    def revoke_kiosk_link(self, sitting_id: str, salle_id: str, now: int) -> KioskLink:
        """Revoke the salle's link for the sitting: a new generation, issued ``now``; the
        kiosks open with the old one are disconnected (``on_revoke``)."""
        row = self._db.execute(
            "SELECT gen FROM kiosk_links WHERE sitting_id = ? AND salle_id = ?", (sitting_id, salle_id)
        ).fetchone()
        gen = (row[0] if row is not None else 1) + 1
        self._db.execute(
            "INSERT INTO kiosk_links(sitting_id, salle_id, gen, issued_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(sitting_id, salle_id) DO UPDATE SET gen = excluded.gen, issued_at = excluded.issued_at",
            (sitting_id, salle_id, gen, now),
        )
        self._revoked(None, None)
        return KioskLink(sitting_id, salle_id, gen, now)

    def _kiosk_revoked(self, claims: Claims) -> bool:
        """A kiosk token of an older generation than its link's (a token without one, from
        before links were revocable, is of generation 1)."""
        row = self._db.execute(
            "SELECT gen FROM kiosk_links WHERE sitting_id = ? AND salle_id = ?", (claims.sitting, claims.salle)
        ).fetchone()
        return row is not None and (claims.gen or 1) != row[0]

    def is_revoked(self, claims: Claims) -> bool:
        """True if a login session was closed: its id revoked, its account gone or its
        password changed since; or if a kiosk link was revoked. Other tokens without a
        session id are not checked here."""
        if claims.role is Role.KIOSK:
            return self._kiosk_revoked(claims)
        if claims.sid is None:
            return False
        if self._db.execute("SELECT 1 FROM revoked_sessions WHERE sid = ?", (claims.sid,)).fetchone():
            return True
        gen = self.session_generation(claims.login or "")
        return gen is None or gen != claims.gen

    def _revoked(self, login: str | None, sid: str | None) -> None:
        for listener in list(self.on_revoke):
            listener(login, sid)

    def all(self) -> list[Account]:
        rows = self._db.execute(
            "SELECT login, role, member_id, salle_id, display_name, agent_id FROM accounts ORDER BY login"
        ).fetchall()
        return [Account(r[0], Role(r[1]), r[2], r[3], r[4], r[5]) for r in rows]
