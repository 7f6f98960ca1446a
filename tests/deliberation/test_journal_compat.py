"""Journals written before issue 13 (rules edition 1) still replay and verify (R18, R21).

``tests/data/journal-v1-rehearsal`` is ``seance rehearse`` as ``main`` wrote it before the
nominations, amendments, withdrawn items and non-voters: an auditor keeps such journals,
and the server resumes such a sitting. The genesis of that journal has no
``rules_version``: its sitting is decided under the rules of edition 1.
"""

from __future__ import annotations

from pathlib import Path

from deliberation.audit import audit_bytes
from deliberation.journal import Journal, load_public_pem
from deliberation.minutes import liste_deliberations_html, proces_verbal_html
from deliberation.scdl import deliberations_csv

DATA = Path(__file__).resolve().parents[1] / "data" / "journal-v1-rehearsal"


def _key():
    return load_public_pem((DATA / "journal.pub").read_bytes())


def test_R21_a_journal_of_rules_edition_1_verifies_with_its_results_recomputed():
    report = audit_bytes((DATA / "journal.jsonl").read_bytes(), _key())
    assert report.ok, report.summary()
    assert report.lines == 186 and report.checkpoints == 5
    assert [(v["item_id"], v["adopted"], v["casting_vote"]) for v in report.votes] == [
        ("pv-precedent", True, False),
        ("marche-collecte", True, False),
        ("fonds-concours-vaux", True, True),
    ]


def test_R18_a_journal_of_rules_edition_1_replays_and_its_records_render():
    seance = Journal.replay(DATA / "journal.jsonl", _key())
    assert seance.config.rules_version == 1
    assert seance.state.status == "closed"
    item = seance.state.item("office-tourisme")
    assert item["status"] == "postponed"
    pv = proces_verbal_html(seance)
    assert "reporté — séance en présentiel" in pv
    assert "voix du président étant prépondérante" in pv
    assert "Vote du budget primitif" not in pv  # refused then, never journaled
    assert "Fonds de concours" in liste_deliberations_html(seance)
    assert deliberations_csv(seance).count("\r\n") == 4  # header and the three adopted deliberations
