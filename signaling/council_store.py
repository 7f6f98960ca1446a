"""Persistence of a council's configuration in one SQLite file (stdlib ``sqlite3``).

Holds what the admin edits: the council, its communes, members (titulaires and
suppléants, L.5211-6), designated salles with their designating deliberation (R1),
agents (R4), the règlement intérieur settings (R5), the sittings (R6, R23) and the agenda
of each as the admin builds it (R12). A sitting is *convened* once the admin fixes its
agenda and sends the convocation (``convene``): from then on the running server hosts it
(:func:`convened_sittings`), its journal starting from the council, the salles and the
agenda stored here.
The deliberation core stays free of I/O; this module maps its frozen dataclasses to
tables. ``save`` replaces a council's rows in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from deliberation.commands import AddAgendaItem
from deliberation.council import (
    RULES_VERSION,
    Agent,
    Commune,
    Council,
    Designation,
    Member,
    Reconvocation,
    Reglement,
    Salle,
    Seat,
    SittingConfig,
)
from deliberation.replay import ReplayPolicy
from signaling import datadir

SCHEMA = """
CREATE TABLE IF NOT EXISTS council (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, siret TEXT NOT NULL, president_id TEXT NOT NULL,
    recording INTEGER NOT NULL, retention_days INTEGER NOT NULL, consultation TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commune (
    council_id TEXT NOT NULL REFERENCES council(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    id TEXT NOT NULL, name TEXT NOT NULL, insee TEXT NOT NULL, PRIMARY KEY (council_id, id)
);
CREATE TABLE IF NOT EXISTS member (
    council_id TEXT NOT NULL REFERENCES council(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    id TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, commune_id TEXT NOT NULL,
    seat TEXT NOT NULL CHECK (seat IN ('titulaire', 'suppleant')), replaces TEXT, function TEXT NOT NULL,
    PRIMARY KEY (council_id, id)
);
CREATE TABLE IF NOT EXISTS salle (
    council_id TEXT NOT NULL REFERENCES council(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    id TEXT NOT NULL, name TEXT NOT NULL, commune_id TEXT NOT NULL, address TEXT NOT NULL,
    designation_reference TEXT, designation_date TEXT, is_seat INTEGER NOT NULL, PRIMARY KEY (council_id, id)
);
CREATE TABLE IF NOT EXISTS agent (
    council_id TEXT NOT NULL REFERENCES council(id) ON DELETE CASCADE, position INTEGER NOT NULL,
    id TEXT NOT NULL, name TEXT NOT NULL, salle_id TEXT NOT NULL, PRIMARY KEY (council_id, id)
);
CREATE TABLE IF NOT EXISTS sitting (
    council_id TEXT NOT NULL REFERENCES council(id) ON DELETE CASCADE,
    id TEXT NOT NULL, title TEXT NOT NULL, scheduled_at TEXT NOT NULL, convened_on TEXT NOT NULL,
    teleconference INTEGER NOT NULL, reconvened_after TEXT, PRIMARY KEY (council_id, id)
);
CREATE TABLE IF NOT EXISTS agenda_item (
    council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, position INTEGER NOT NULL,
    id TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL, matiere_code TEXT NOT NULL,
    body TEXT, body_name TEXT NOT NULL DEFAULT '', seats INTEGER NOT NULL DEFAULT 1, added_at TEXT NOT NULL,
    PRIMARY KEY (council_id, sitting_id, id)
);
CREATE TABLE IF NOT EXISTS member_email (
    council_id TEXT NOT NULL REFERENCES council(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL, email TEXT NOT NULL, PRIMARY KEY (council_id, member_id)
);
CREATE TABLE IF NOT EXISTS convocation_sending (
    council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, member_id TEXT NOT NULL, email TEXT NOT NULL,
    at TEXT NOT NULL, sent INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS pv_text (
    council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, item_id TEXT NOT NULL, version INTEGER NOT NULL,
    text TEXT NOT NULL, saved_at TEXT NOT NULL, saved_by TEXT NOT NULL,
    PRIMARY KEY (council_id, sitting_id, item_id, version)
);
CREATE TABLE IF NOT EXISTS pv_link (
    council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, approving_sitting_id TEXT NOT NULL, item_id TEXT NOT NULL,
    sha256 TEXT NOT NULL, html TEXT NOT NULL, linked_at TEXT NOT NULL, PRIMARY KEY (council_id, sitting_id)
);
CREATE TABLE IF NOT EXISTS replay_policy (
    council_id TEXT PRIMARY KEY, roles TEXT NOT NULL, publish INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS replay_export (
    council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, label TEXT NOT NULL, sha256 TEXT NOT NULL,
    by TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS annex (
    council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, id TEXT NOT NULL, item_id TEXT NOT NULL,
    label TEXT NOT NULL, filename TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, added_at TEXT NOT NULL,
    PRIMARY KEY (council_id, sitting_id, id)
);
CREATE TABLE IF NOT EXISTS convocation_ack (
    council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, member_id TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (council_id, sitting_id, member_id)
);
"""

#: Columns added since the first schema (issue 13), for files written before: (table, column, type).
#: ``sitting.rules_version`` NULL is a sitting stored before the rules' editions: edition 1 if it
#: carries a date of reconvocation (as it was convened), else the current edition.
MIGRATIONS = (
    ("member", "birth_date", "TEXT"),
    ("sitting", "rules_version", "INTEGER"),
    ("sitting", "reconvened_from", "TEXT"),
    ("sitting", "convened_at", "TEXT"),
    ("member", "civility", "TEXT"),  # issue 15: « Mme », « M. » (the screens' words agree with it)
)

#: The agenda table of the admin pages before it moved here (``web/admin.py``, issue 14):
#: copied into ``agenda_item`` when found, then dropped.
LEGACY_AGENDA = "admin_agenda_item"


def now_iso() -> str:
    """The real clock, as the journal's commands carry it (ISO 8601 with the offset)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Sending:
    """One attempt to send a member's convocation by email: sent, or failed with the reason."""

    member_id: str
    email: str
    at: str
    sent: bool
    reason: str


#: What an annex is, as the secretariat names it (the value an annex carries: its label).
ANNEX_LABELS = {
    "note": "Note de synthèse",
    "plan": "Plan",
    "budget": "Document budgétaire",
    "autre": "Autre document",
}


@dataclass(frozen=True)
class Annex:
    """A PDF attached to an agenda item (note de synthèse, plan, budget: L.2121-12 CGCT), sent
    with the convocation; the file is ``DataDir.annex(sitting, id)``, its digest and size here."""

    id: str
    item_id: str
    label: str
    filename: str
    sha256: str
    size: int
    added_at: str


@dataclass(frozen=True)
class TextVersion:
    """One saved version of the secretary's text for an item of the procès-verbal (R22)."""

    item_id: str
    version: int
    text: str
    saved_at: str
    saved_by: str


@dataclass(frozen=True)
class MinutesLink:
    """The procès-verbal of ``sitting_id`` as closed for approval (R22): the HTML the council
    votes on, its SHA-256, and the item of the sitting that approves it."""

    sitting_id: str
    approving_sitting_id: str
    item_id: str
    sha256: str
    html: str
    linked_at: str


@dataclass(frozen=True)
class ConvenedSitting:
    """A sitting the admin convened: what the server needs to host it and start its journal."""

    council_id: str
    config: SittingConfig
    convened_at: str


class CouncilStore:
    """One SQLite file holding any number of councils and their sittings."""

    def __init__(self, path: str | Path) -> None:
        self.path = datadir.private_file(Path(path))  # addresses, names: not for other accounts
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(SCHEMA)
        with self._db:
            for table, column, kind in MIGRATIONS:
                columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            self._migrate_legacy_agenda()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> CouncilStore:
        """The store of an installation: ``<data_dir>/council.sqlite3``."""
        return cls(datadir.DataDir.of(data_dir).council_db)

    def _migrate_legacy_agenda(self) -> None:
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if LEGACY_AGENDA not in tables:
            return
        columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({LEGACY_AGENDA})")}
        body = "body" if "body" in columns else "NULL"
        body_name = "body_name" if "body_name" in columns else "''"
        seats = "seats" if "seats" in columns else "1"
        self._db.execute(
            "INSERT OR IGNORE INTO agenda_item (council_id, sitting_id, position, id, title, kind, matiere_code, "
            f"body, body_name, seats, added_at) SELECT council_id, sitting_id, position, id, title, kind, "
            f"matiere_code, {body}, {body_name}, {seats}, ? FROM {LEGACY_AGENDA}",
            (now_iso(),),
        )
        self._db.execute(f"DROP TABLE {LEGACY_AGENDA}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CouncilStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- councils ---------------------------------------------------------------------------
    def save(self, council: Council) -> None:
        """Insert or replace the council and all its rows (sittings are kept)."""
        r = council.reglement
        with self._db:
            for table in ("commune", "member", "salle", "agent"):
                self._db.execute(f"DELETE FROM {table} WHERE council_id = ?", (council.id,))
            self._db.execute(
                "INSERT INTO council VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name=excluded.name, "
                "siret=excluded.siret, president_id=excluded.president_id, recording=excluded.recording, "
                "retention_days=excluded.retention_days, consultation=excluded.consultation",
                (
                    council.id,
                    council.name,
                    council.siret,
                    council.president_id,
                    int(r.recording),
                    r.retention_days,
                    r.consultation,
                ),
            )
            self._db.executemany(
                "INSERT INTO commune VALUES (?, ?, ?, ?, ?)",
                [(council.id, i, c.id, c.name, c.insee) for i, c in enumerate(council.communes)],
            )
            self._db.executemany(
                "INSERT INTO member (council_id, position, id, first_name, last_name, commune_id, seat, replaces, "
                "function, birth_date, civility) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        council.id,
                        i,
                        m.id,
                        m.first_name,
                        m.last_name,
                        m.commune_id,
                        str(m.seat),
                        m.replaces,
                        m.function,
                        m.birth_date,
                        m.civility,
                    )
                    for i, m in enumerate(council.members)
                ],
            )
            self._db.executemany(
                "INSERT INTO salle VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        council.id,
                        i,
                        s.id,
                        s.name,
                        s.commune_id,
                        s.address,
                        s.designation.reference if s.designation else None,
                        s.designation.date if s.designation else None,
                        int(s.is_seat),
                    )
                    for i, s in enumerate(council.salles)
                ],
            )
            self._db.executemany(
                "INSERT INTO agent VALUES (?, ?, ?, ?, ?)",
                [(council.id, i, a.id, a.name, a.salle_id) for i, a in enumerate(council.agents)],
            )

    def load(self, council_id: str) -> Council | None:
        """The council, or None; an inconsistent composition raises :class:`~deliberation.council.CompositionError`."""
        row = self._db.execute(
            "SELECT name, siret, president_id, recording, retention_days, consultation FROM council WHERE id = ?",
            (council_id,),
        ).fetchone()
        if row is None:
            return None
        name, siret, president_id, recording, retention_days, consultation = row

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return self._db.execute(sql, (council_id,)).fetchall()

        communes = tuple(
            Commune(i, n, insee)
            for i, n, insee in rows("SELECT id, name, insee FROM commune WHERE council_id = ? ORDER BY position")
        )
        members = tuple(
            Member(i, fn, ln, c, Seat(seat), rep, fun, born, civ or "")
            for i, fn, ln, c, seat, rep, fun, born, civ in rows(
                "SELECT id, first_name, last_name, commune_id, seat, replaces, function, birth_date, civility FROM member "
                "WHERE council_id = ? ORDER BY position"
            )
        )
        salles = tuple(
            Salle(i, n, c, a, Designation(ref, d) if ref is not None else None, bool(seat))
            for i, n, c, a, ref, d, seat in rows(
                "SELECT id, name, commune_id, address, designation_reference, designation_date, is_seat FROM salle "
                "WHERE council_id = ? ORDER BY position"
            )
        )
        agents = tuple(
            Agent(i, n, s)
            for i, n, s in rows("SELECT id, name, salle_id FROM agent WHERE council_id = ? ORDER BY position")
        )
        return Council(
            council_id,
            name,
            siret,
            communes,
            members,
            salles,
            agents,
            president_id,
            Reglement(bool(recording), retention_days, consultation),
        )

    def councils(self) -> list[tuple[str, str]]:
        return self._db.execute("SELECT id, name FROM council ORDER BY name").fetchall()

    def current(self) -> Council | None:
        """The installation's council (the first one: the admin pages manage one council)."""
        councils = self.councils()
        return self.load(councils[0][0]) if councils else None

    def delete(self, council_id: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM council WHERE id = ?", (council_id,))

    # -- sittings ---------------------------------------------------------------------------
    def save_sitting(self, council_id: str, config: SittingConfig) -> None:
        rc = json.dumps(config.reconvened_from.to_dict(), ensure_ascii=False) if config.reconvened_from else None
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO sitting (council_id, id, title, scheduled_at, convened_on, teleconference, "
                "reconvened_after, rules_version, reconvened_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    council_id,
                    config.id,
                    config.title,
                    config.scheduled_at,
                    config.convened_on or "",  # R6: none since issue 16 (the journaled sending counts)
                    int(config.teleconference),
                    config.reconvened_after,
                    config.rules_version,
                    rc,
                ),
            )

    def sittings(self, council_id: str) -> list[SittingConfig]:
        out = []
        for i, t, s, c, tele, after, version, rc in self._db.execute(
            "SELECT id, title, scheduled_at, convened_on, teleconference, reconvened_after, rules_version, "
            "reconvened_from FROM sitting WHERE council_id = ? ORDER BY scheduled_at",
            (council_id,),
        ):
            if version is None:
                version = 1 if after else RULES_VERSION
            linked = Reconvocation.from_dict(json.loads(rc)) if rc else None
            out.append(SittingConfig(i, t, s, c or None, bool(tele), after, version, linked))
        return out

    def sitting(self, council_id: str, sitting_id: str) -> SittingConfig | None:
        return next((s for s in self.sittings(council_id) if s.id == sitting_id), None)

    # -- agenda (R12) -----------------------------------------------------------------------
    def agenda(self, council_id: str, sitting_id: str) -> list[AddAgendaItem]:
        """The agenda as the admin built it: the core's commands, each stamped when it was added."""
        rows = self._db.execute(
            "SELECT added_at, id, title, kind, matiere_code, body, body_name, seats FROM agenda_item "
            "WHERE council_id = ? AND sitting_id = ? ORDER BY position",
            (council_id, sitting_id),
        ).fetchall()
        return [AddAgendaItem(*row) for row in rows]

    def add_agenda_item(self, council_id: str, sitting_id: str, item: AddAgendaItem) -> None:
        """Append an item (decided by the core beforehand: ``Seance.decide``)."""
        with self._db:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM agenda_item WHERE council_id = ? AND sitting_id = ?", (council_id, sitting_id)
            ).fetchone()
            self._db.execute(
                "INSERT INTO agenda_item (council_id, sitting_id, position, id, title, kind, matiere_code, body, "
                "body_name, seats, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    council_id,
                    sitting_id,
                    n,
                    item.item_id,
                    item.title,
                    item.kind,
                    item.matiere_code,
                    item.body,
                    item.body_name,
                    item.seats,
                    item.at,
                ),
            )

    # -- annexes of the agenda's items (L.2121-12) -------------------------------------------
    def add_annex(self, council_id: str, sitting_id: str, annex: Annex) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO annex VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    council_id,
                    sitting_id,
                    annex.id,
                    annex.item_id,
                    annex.label,
                    annex.filename,
                    annex.sha256,
                    annex.size,
                    annex.added_at,
                ),
            )

    def annexes(self, council_id: str, sitting_id: str) -> list[Annex]:
        """The sitting's annexes, in the order they were added."""
        rows = self._db.execute(
            "SELECT id, item_id, label, filename, sha256, size, added_at FROM annex "
            "WHERE council_id = ? AND sitting_id = ? ORDER BY rowid",
            (council_id, sitting_id),
        ).fetchall()
        return [Annex(*row) for row in rows]

    def delete_annex(self, council_id: str, sitting_id: str, annex_id: str) -> bool:
        """Forget the annex's row; False when there was none."""
        with self._db:
            cursor = self._db.execute(
                "DELETE FROM annex WHERE council_id = ? AND sitting_id = ? AND id = ?",
                (council_id, sitting_id, annex_id),
            )
        return cursor.rowcount > 0

    # -- convocation (R6) -------------------------------------------------------------------
    def convene(self, council_id: str, sitting_id: str, at: str) -> None:
        """The agenda is fixed and the convocation sent: the server hosts the sitting from now on."""
        with self._db:
            self._db.execute(
                "UPDATE sitting SET convened_at = ? WHERE council_id = ? AND id = ? AND convened_at IS NULL",
                (at, council_id, sitting_id),
            )

    def convened_at(self, council_id: str, sitting_id: str) -> str | None:
        row = self._db.execute(
            "SELECT convened_at FROM sitting WHERE council_id = ? AND id = ?", (council_id, sitting_id)
        ).fetchone()
        return row[0] if row else None

    def convened(self) -> list[ConvenedSitting]:
        """Every convened sitting of every council, in the order they were convened."""
        rows = self._db.execute(
            "SELECT council_id, id, convened_at FROM sitting WHERE convened_at IS NOT NULL ORDER BY convened_at, id"
        ).fetchall()
        out = []
        for council_id, sitting_id, at in rows:
            config = self.sitting(council_id, sitting_id)
            if config is not None:
                out.append(ConvenedSitting(council_id, config, at))
        return out

    # -- members' addresses and the proof of the convocations (R6) --------------------------
    def set_email(self, council_id: str, member_id: str, email: str) -> None:
        """The address the member receives convocations at (L.2121-10); empty: none (paper)."""
        with self._db:
            if email:
                self._db.execute(
                    "INSERT INTO member_email VALUES (?, ?, ?) ON CONFLICT(council_id, member_id) "
                    "DO UPDATE SET email = excluded.email",
                    (council_id, member_id, email),
                )
            else:
                self._db.execute(
                    "DELETE FROM member_email WHERE council_id = ? AND member_id = ?", (council_id, member_id)
                )

    def emails(self, council_id: str) -> dict[str, str]:
        return dict(
            self._db.execute("SELECT member_id, email FROM member_email WHERE council_id = ?", (council_id,)).fetchall()
        )

    def record_sending(self, council_id: str, sitting_id: str, sending: Sending) -> None:
        """Append one attempt (rows are never updated nor deleted: the proof keeps every attempt)."""
        with self._db:
            self._db.execute(
                "INSERT INTO convocation_sending VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    council_id,
                    sitting_id,
                    sending.member_id,
                    sending.email,
                    sending.at,
                    int(sending.sent),
                    sending.reason,
                ),
            )

    def sendings(self, council_id: str, sitting_id: str) -> list[Sending]:
        """Every attempt for the sitting, oldest first."""
        rows = self._db.execute(
            "SELECT member_id, email, at, sent, reason FROM convocation_sending "
            "WHERE council_id = ? AND sitting_id = ? ORDER BY rowid",
            (council_id, sitting_id),
        ).fetchall()
        return [Sending(m, e, at, bool(sent), reason) for m, e, at, sent, reason in rows]

    def acknowledge(self, council_id: str, sitting_id: str, member_id: str, at: str) -> str:
        """Record the member's acknowledgement; the first one is kept. Returns its date."""
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO convocation_ack VALUES (?, ?, ?, ?)", (council_id, sitting_id, member_id, at)
            )
        return self.acknowledgements(council_id, sitting_id)[member_id]

    def acknowledgements(self, council_id: str, sitting_id: str) -> dict[str, str]:
        return dict(
            self._db.execute(
                "SELECT member_id, at FROM convocation_ack WHERE council_id = ? AND sitting_id = ?",
                (council_id, sitting_id),
            ).fetchall()
        )

    # -- the procès-verbal: the secretary's text per item, each version kept (R22) ----------
    def save_text(self, council_id: str, sitting_id: str, item_id: str, text: str, at: str, by: str) -> int:
        """Append a new version of the item's text (never overwritten); returns its number."""
        with self._db:
            (last,) = self._db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM pv_text WHERE council_id = ? AND sitting_id = ? AND item_id = ?",
                (council_id, sitting_id, item_id),
            ).fetchone()
            self._db.execute(
                "INSERT INTO pv_text VALUES (?, ?, ?, ?, ?, ?, ?)",
                (council_id, sitting_id, item_id, last + 1, text, at, by),
            )
        return int(last) + 1

    def text_versions(self, council_id: str, sitting_id: str) -> list[TextVersion]:
        """Every saved version of every item's text, oldest first."""
        rows = self._db.execute(
            "SELECT item_id, version, text, saved_at, saved_by FROM pv_text WHERE council_id = ? AND sitting_id = ? "
            "ORDER BY item_id, version",
            (council_id, sitting_id),
        ).fetchall()
        return [TextVersion(*row) for row in rows]

    def texts(self, council_id: str, sitting_id: str) -> dict[str, str]:
        """The last version of each item's text."""
        return {v.item_id: v.text for v in self.text_versions(council_id, sitting_id)}

    def link_minutes(self, council_id: str, link: MinutesLink) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO pv_link VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    council_id,
                    link.sitting_id,
                    link.approving_sitting_id,
                    link.item_id,
                    link.sha256,
                    link.html,
                    link.linked_at,
                ),
            )

    def minutes_link(self, council_id: str, sitting_id: str) -> MinutesLink | None:
        row = self._db.execute(
            "SELECT sitting_id, approving_sitting_id, item_id, sha256, html, linked_at FROM pv_link "
            "WHERE council_id = ? AND sitting_id = ?",
            (council_id, sitting_id),
        ).fetchone()
        return MinutesLink(*row) if row else None

    def minutes_links(self, council_id: str) -> list[MinutesLink]:
        rows = self._db.execute(
            "SELECT sitting_id, approving_sitting_id, item_id, sha256, html, linked_at FROM pv_link "
            "WHERE council_id = ? ORDER BY linked_at",
            (council_id,),
        ).fetchall()
        return [MinutesLink(*row) for row in rows]

    # -- the replay (R5): the règlement's setting and every export, kept -------------------
    def replay_policy(self, council_id: str) -> ReplayPolicy:
        row = self._db.execute(
            "SELECT roles, publish FROM replay_policy WHERE council_id = ?", (council_id,)
        ).fetchone()
        if row is None:
            return ReplayPolicy()
        return ReplayPolicy(frozenset(r for r in row[0].split(",") if r), bool(row[1]))

    def set_replay_policy(self, council_id: str, policy: ReplayPolicy) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO replay_policy VALUES (?, ?, ?) ON CONFLICT(council_id) DO UPDATE SET "
                "roles = excluded.roles, publish = excluded.publish",
                (council_id, ",".join(sorted(policy.roles)), int(policy.publish)),
            )

    def record_export(self, council_id: str, sitting_id: str, label: str, sha256: str, by: str, at: str) -> None:
        """Append one export of a recording (never updated nor deleted)."""
        with self._db:
            self._db.execute(
                "INSERT INTO replay_export VALUES (?, ?, ?, ?, ?, ?)", (council_id, sitting_id, label, sha256, by, at)
            )

    def exports(self, council_id: str, sitting_id: str) -> list[tuple[str, str, str, str]]:
        """(label, sha256, by, at) of every export of the sitting's recordings, oldest first."""
        return self._db.execute(
            "SELECT label, sha256, by, at FROM replay_export WHERE council_id = ? AND sitting_id = ? ORDER BY rowid",
            (council_id, sitting_id),
        ).fetchall()
