"""The demo council's fixed ids (the web layer depends on them) and its journaled start."""

from __future__ import annotations

from deliberation.council import Seat
from deliberation.demo import SALLE_IDS, demo_config, demo_council, demo_seance, start_demo_journal
from deliberation.journal import generate_key


def test_demo_ids_and_shape():
    council = demo_council()
    assert [s.id for s in council.salles] == ["belcourt", "vaux", "saint-ferreol"] == list(SALLE_IDS)
    assert council.salle("belcourt").is_seat and demo_config().id == "demo"
    assert 15 <= len(council.in_office) <= 21
    assert all(s.designated for s in council.salles)
    assert {a.salle_id for a in council.agents} == set(SALLE_IDS)
    single = [
        c.id
        for c in council.communes
        if sum(m.commune_id == c.id and m.seat == Seat.TITULAIRE for m in council.members) == 1
    ]
    assert single == ["aubiers"] and council.suppleant_of("m17") is not None
    assert council.member(council.president_id).commune_id == "belcourt"


def test_start_demo_journal_then_reopen_gives_same_state(tmp_path):
    key = generate_key()
    path = str(tmp_path / "demo.jsonl")
    journal, seance = start_demo_journal(path, key)
    journal.close()
    assert seance.canonical() == demo_seance().canonical()
    journal2, again = start_demo_journal(path, key)
    journal2.close()
    assert again.canonical() == seance.canonical()
