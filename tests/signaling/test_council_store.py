"""The council configuration persists in one SQLite file (signaling/council_store.py)."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime

from deliberation.commands import AddAgendaItem
from deliberation.council import RULES_VERSION, Designation, Reglement, Salle
from deliberation.demo import demo_config, demo_council
from signaling.council_store import CouncilStore, now_iso


def test_council_round_trip_through_sqlite(tmp_path):
    council = demo_council()
    with CouncilStore(tmp_path / "seance.sqlite3") as store:
        store.save(council)
    with CouncilStore(tmp_path / "seance.sqlite3") as store:  # a new connection reads the file
        loaded = store.load(council.id)
    assert loaded == council
    assert loaded.suppleant_of("m17").id == "s17"


def test_save_replaces_and_keeps_undesignated_salle(tmp_path):
    council = demo_council()
    extra = Salle("annexe", "Annexe", "vaux", "—", designation=None)
    changed = dataclasses.replace(
        council,
        name="CC des Trois Rivières",
        salles=council.salles + (extra,),
        members=council.members[:-1],
        reglement=Reglement(False, 30, "président"),
    )
    with CouncilStore(tmp_path / "s.db") as store:
        store.save(council)
        store.save(changed)
        loaded = store.load(council.id)
        assert loaded == changed
        assert loaded.salle("annexe").designated is False
        assert store.councils() == [(council.id, "CC des Trois Rivières")]


def test_designation_reference_and_date_persist(tmp_path):
    council = demo_council()
    salle = dataclasses.replace(council.salles[1], designation=Designation("DEL-2026-099", "2026-06-30"))
    council = dataclasses.replace(council, salles=(council.salles[0], salle, council.salles[2]))
    with CouncilStore(tmp_path / "s.db") as store:
        store.save(council)
        assert store.load(council.id).salle("vaux").designation == Designation("DEL-2026-099", "2026-06-30")


def test_unknown_council_and_delete(tmp_path):
    with CouncilStore(tmp_path / "s.db") as store:
        assert store.load("nope") is None
        store.save(demo_council())
        store.save_sitting("cc-trois-rivieres", demo_config())
        assert store.sittings("cc-trois-rivieres") == [demo_config()]
        store.delete("cc-trois-rivieres")
        assert store.load("cc-trois-rivieres") is None
        assert store.sittings("cc-trois-rivieres") == []


OLD_SCHEMA = """
CREATE TABLE council (id TEXT PRIMARY KEY, name TEXT NOT NULL, siret TEXT NOT NULL, president_id TEXT NOT NULL,
    recording INTEGER NOT NULL, retention_days INTEGER NOT NULL, consultation TEXT NOT NULL);
CREATE TABLE commune (council_id TEXT NOT NULL, position INTEGER NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
    insee TEXT NOT NULL, PRIMARY KEY (council_id, id));
CREATE TABLE member (council_id TEXT NOT NULL, position INTEGER NOT NULL, id TEXT NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, commune_id TEXT NOT NULL, seat TEXT NOT NULL, replaces TEXT, function TEXT NOT NULL,
    PRIMARY KEY (council_id, id));
CREATE TABLE sitting (council_id TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, scheduled_at TEXT NOT NULL,
    convened_on TEXT NOT NULL, teleconference INTEGER NOT NULL, reconvened_after TEXT, PRIMARY KEY (council_id, id));
INSERT INTO council VALUES ('cc', 'CC', '20004567800012', 'm1', 1, 365, 'président');
INSERT INTO commune VALUES ('cc', 0, 'a', 'A', '');
INSERT INTO member VALUES ('cc', 0, 'm1', 'Jeanne', 'Roy', 'a', 'titulaire', NULL, '');
INSERT INTO sitting VALUES ('cc', 's1', 'Séance', '2026-11-26T18:30:00+01:00', '2026-11-18', 1, '2026-11-20');
INSERT INTO sitting VALUES ('cc', 's2', 'Séance', '2026-12-26T18:30:00+01:00', '2026-12-18', 1, NULL);
"""


def test_a_file_of_the_first_schema_is_migrated_and_its_sittings_keep_their_rules(tmp_path):
    """Birth dates (R24) and the rules' editions arrived with issue 13: older files still load."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    with CouncilStore(path) as store:
        council = store.load("cc")
        assert council.member("m1").birth_date is None
        s1, s2 = store.sittings("cc")
        assert (s1.rules_version, s1.reconvened_after) == (1, "2026-11-20")  # convened under edition 1
        assert s2.rules_version == RULES_VERSION and s2.reconvened_from is None  # the current one
        store.save(
            dataclasses.replace(council, members=(dataclasses.replace(council.members[0], birth_date="1970-01-01"),))
        )
        assert store.load("cc").member("m1").birth_date == "1970-01-01"


def test_R9_an_inconsistent_composition_stored_is_refused_at_load(tmp_path):
    import sqlite3

    import pytest

    from deliberation.council import CompositionError

    with CouncilStore(tmp_path / "s.db") as store:
        store.save(demo_council())
    db = sqlite3.connect(tmp_path / "s.db")  # a second councillor for Les Aubiers, written around the core
    db.execute(
        "INSERT INTO member (council_id, position, id, first_name, last_name, commune_id, seat, replaces, function) "
        "VALUES ('cc-trois-rivieres', 99, 'm18', 'Paul', 'Roux', 'aubiers', 'titulaire', NULL, '')"
    )
    db.commit()
    db.close()
    with CouncilStore(tmp_path / "s.db") as store, pytest.raises(CompositionError) as err:
        store.load("cc-trois-rivieres")
    assert err.value.rule == "R9" and "L.5211-6" in err.value.message


def test_a_linked_reconvocation_round_trips(tmp_path):
    from deliberation.council import AgendaRef, Reconvocation

    rc = Reconvocation("s0", "2026-11-19T18:30:00+01:00", "ab" * 32, (AgendaRef("pv", "Procès-verbal"),))
    config = dataclasses.replace(demo_config(), reconvened_from=rc)
    with CouncilStore(tmp_path / "s.db") as store:
        store.save(demo_council())
        store.save_sitting("cc-trois-rivieres", config)
        assert store.sittings("cc-trois-rivieres") == [config]


def test_the_agenda_lives_in_the_store_stamped_by_the_real_clock(tmp_path):
    """Issue 14.2: the agenda is the store's (no second table in the admin), each item
    carrying the time it was added, not a fixed placeholder."""
    store = CouncilStore(tmp_path / "c.sqlite3")
    store.save(demo_council())
    store.save_sitting("cc-trois-rivieres", demo_config())
    before = datetime.now().astimezone()
    store.add_agenda_item(
        "cc-trois-rivieres", "demo", AddAgendaItem(now_iso(), "budget", "Budget 2027", "budget", "7.1")
    )
    (item,) = store.agenda("cc-trois-rivieres", "demo")
    stamped = datetime.fromisoformat(item.at)
    assert (item.item_id, item.kind, item.matiere_code) == ("budget", "budget", "7.1")
    assert abs((stamped - before).total_seconds()) < 3600 and stamped.year >= 2025
    assert store.convened() == [] and store.convened_at("cc-trois-rivieres", "demo") is None
    store.convene("cc-trois-rivieres", "demo", now_iso())
    (convened,) = store.convened()
    assert convened.config.id == "demo" and convened.council_id == "cc-trois-rivieres"


def test_the_admin_agenda_table_of_older_files_moves_into_the_store(tmp_path):
    path = tmp_path / "c.sqlite3"
    with CouncilStore(path) as store:
        store.save(demo_council())
    db = sqlite3.connect(path)
    with db:
        db.execute(
            "CREATE TABLE admin_agenda_item (council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, position INTEGER "
            "NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL, matiere_code TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO admin_agenda_item VALUES ('cc-trois-rivieres', 'cc-1', 0, 'pv', 'Procès-verbal', "
            "'deliberation', '5.2')"
        )
    db.close()
    with CouncilStore(path) as store:
        (item,) = store.agenda("cc-trois-rivieres", "cc-1")
        assert (item.item_id, item.title, item.seats) == ("pv", "Procès-verbal", 1)
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "admin_agenda_item" not in tables
