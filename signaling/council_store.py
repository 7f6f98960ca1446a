"""Persistence of a council's configuration in one SQLite file (stdlib ``sqlite3``).

Holds what the admin edits: the council, its communes, members (titulaires and
suppléants, L.5211-6), designated salles with their designating deliberation (R1),
agents (R4), the règlement intérieur settings (R5) and the sittings convened (R6, R23).
The deliberation core stays free of I/O; this module maps its frozen dataclasses to
tables. ``save`` replaces a council's rows in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

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
"""

#: Columns added since the first schema (issue 13), for files written before: (table, column, type).
#: ``sitting.rules_version`` NULL is a sitting stored before the rules' editions: edition 1 if it
#: carries a date of reconvocation (as it was convened), else the current edition.
MIGRATIONS = (
    ("member", "birth_date", "TEXT"),
    ("sitting", "rules_version", "INTEGER"),
    ("sitting", "reconvened_from", "TEXT"),
    ("member", "civility", "TEXT"),  # issue 15: « Mme », « M. » (the screens' words agree with it)
)


class CouncilStore:
    """One SQLite file holding any number of councils and their sittings."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(SCHEMA)
        with self._db:
            for table, column, kind in MIGRATIONS:
                columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

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

        def rows(sql: str) -> list[tuple]:
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
                    config.convened_on,
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
            out.append(SittingConfig(i, t, s, c, bool(tele), after, version, linked))
        return out
