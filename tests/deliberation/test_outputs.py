"""R22: the procès-verbal, the liste des délibérations and the SCDL CSV (validated with frictionless)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from deliberation.actes import ACTES_MATIERES
from deliberation.minutes import liste_deliberations_html, proces_verbal_html
from deliberation.rehearsal import run_rehearsal
from deliberation.scdl import COLUMNS, SCDL_VERSION, deliberations_csv

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "scdl-deliberations" / "schema.json"


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    return out, run_rehearsal(out).seance


def test_R22_proces_verbal_holds_what_the_law_requires(rehearsed):
    _, s = rehearsed
    html = proces_verbal_html(s)
    council = s.council
    assert "Hélène Marchand" in html  # the president
    assert "Secrétaire de séance : Sophie Garnier" in html
    for salle in council.salles:
        assert salle.name in html and salle.designation.reference in html
    for member_id in s.state.presence:
        assert s.name(member_id) in html
    assert "Martine Faure (suppléant·e de Bernard Roux)" in html
    assert "Claire Dubois a donné pouvoir à Nathalie Rousseau" in html
    assert "Anne Girard a donné pouvoir à Jean-Luc Perrin" in html
    # absents: not present, not represented
    assert "Didier Mercier" in html.split("Membres absents")[1].split("</section>")[0]
    assert "Quorum : 12 membres présents sur 17 membres en exercice" in html
    assert "reporté — séance en présentiel" in html
    assert "voix du président étant prépondérante" in html
    assert "pour Claire Dubois (pouvoir)" in html  # the proxy a ballot was cast under
    assert "appel nominal" in html
    assert "Ne prennent pas part au point (intérêt personnel) : Karim Benali" in html
    for item in s.state.agenda:
        assert item["title"].replace("'", "&#39;") in html


def test_R22_each_voter_name_appears_in_the_nominative_table(rehearsed):
    _, s = rehearsed
    html = proces_verbal_html(s)
    item = s.state.item("fonds-concours-vaux")
    article = html.split('id="point-3"')[1].split("</article>")[0]
    for b in item["vote"]["ballots"]:
        assert f"<td>{s.name(b['voter'])}</td>" in article
    assert article.count("<tr><td>") == len(item["vote"]["ballots"])


def test_R22_liste_des_deliberations(rehearsed):
    _, s = rehearsed
    html = liste_deliberations_html(s)
    assert "adoptée (6 pour, 6 contre" in html
    assert "reporté — séance en présentiel" in html
    assert "Programme de voirie" not in html  # not examined


def test_scdl_csv_validates_against_vendored_table_schema(rehearsed):
    from frictionless import Resource, Schema

    out, _ = rehearsed
    schema_json = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema_json["version"] == SCDL_VERSION
    assert tuple(f["name"] for f in schema_json["fields"]) == COLUMNS
    schema = Schema.from_descriptor(schema_json)
    report = Resource(path="deliberations.csv", basepath=str(out), schema=schema).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_scdl_csv_rows_are_the_adopted_deliberations_with_matching_nomenclature(rehearsed):
    out, s = rehearsed
    rows = list(csv.DictReader(io.StringIO((out / "deliberations.csv").read_text(encoding="utf-8"))))
    adopted = [i for i in s.state.agenda if i["status"] == "voted" and i["vote"]["result"]["adopted"]]
    assert len(adopted) == 3
    assert [r["DELIB_OBJET"] for r in rows] == [i["title"] for i in adopted]
    for row, item in zip(rows, adopted):
        assert ACTES_MATIERES[row["DELIB_MATIERE_CODE"]] == row["DELIB_MATIERE_NOM"]  # nomenclature_actes_value
        c = item["vote"]["counts"]
        assert (int(row["VOTE_POUR"]), int(row["VOTE_CONTRE"]), int(row["VOTE_ABSTENTION"])) == (
            c["pour"],
            c["contre"],
            c["abstention"],
        )
        assert int(row["VOTE_REEL"]) <= int(row["VOTE_EFFECTIF"]) == len(s.council.in_office)


def test_scdl_csv_detects_a_broken_row(rehearsed, tmp_path):
    """The validation is not vacuous: a bad SIRET and date are reported."""
    from frictionless import Resource, Schema

    _out, s = rehearsed
    bad = deliberations_csv(s).replace(s.council.siret, "123", 1).replace("2026-11-26", "26/11/2026", 1)
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    schema = Schema.from_descriptor(json.loads(SCHEMA.read_text(encoding="utf-8")))
    report = Resource(path="bad.csv", basepath=str(tmp_path), schema=schema).validate()
    assert not report.valid
    kinds = {t[0] for t in report.flatten(["type"])}
    assert kinds & {"constraint-error", "type-error"}, kinds


def test_actes_names_follow_scdl_spelling():
    for code, name in ACTES_MATIERES.items():
        assert name == name.lower() and name.count("/") == 1 and "," not in name and "(" not in name, code
