"""The council configuration persists in one SQLite file (signaling/council_store.py)."""

from __future__ import annotations

import dataclasses

from deliberation.council import Designation, Reglement, Salle
from deliberation.demo import demo_config, demo_council
from signaling.council_store import CouncilStore


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
