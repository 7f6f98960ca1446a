"""CSV export of the deliberations adopted, per the SCDL « Délibérations » schema 2.1.5.

Columns and formats are those of the Table Schema published on schema.data.gouv.fr
(``scdl/deliberations``), vendored for the tests in ``tests/data/scdl-deliberations``.
``DELIB_MATIERE_CODE`` and ``DELIB_MATIERE_NOM`` come from one table
(:mod:`deliberation.actes`) so they always match (the schema's ``nomenclature_actes_value``
check). Only adopted deliberations and concluded nominations are exported; rejected,
postponed and withdrawn items are in the procès-verbal and the liste des délibérations.
An adopted deliberation's vote columns are those of its motion (after its amendments); a
nomination's ``DELIB_OBJET`` names the persons appointed (L.2121-21), and its vote
columns stay empty: its seats were filled by several votes, or none (a single
candidacy), each one in the procès-verbal.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from .actes import ACTES_MATIERES
from .minutes import appointments
from .seance import Seance
from .state import motion_vote

SCDL_VERSION = "2.1.5"
COLUMNS = (
    "COLL_NOM",
    "COLL_SIRET",
    "DELIB_ID",
    "DELIB_DATE",
    "DELIB_MATIERE_CODE",
    "DELIB_MATIERE_NOM",
    "DELIB_OBJET",
    "BUDGET_ANNEE",
    "BUDGET_NOM",
    "PREF_ID",
    "PREF_DATE",
    "VOTE_EFFECTIF",
    "VOTE_REEL",
    "VOTE_POUR",
    "VOTE_CONTRE",
    "VOTE_ABSTENTION",
    "DELIB_URL",
)


def delib_id(seance: Seance, number: int) -> str:
    day = datetime.fromisoformat(seance.config.scheduled_at).strftime("%Y%m%d")
    return f"{day}-{number:02d}"


def deliberation_rows(seance: Seance, url_base: str | None = None) -> list[dict[str, str]]:
    day = datetime.fromisoformat(seance.config.scheduled_at).date().isoformat()
    rows = []
    for n, item in enumerate(seance.state.agenda, start=1):
        if item["status"] != "voted":
            continue
        vote = motion_vote(item)
        if item["body"]:
            named = [f"{a['name']} (siège {a['seat']})" for a in appointments(seance, item) if a["name"]]
            objet = f"{item['title']} — nommé·e·s : {', '.join(named) or 'aucun'}"
            counts = None
        elif vote is not None and vote["result"] and vote["result"]["adopted"]:
            objet, counts = item["title"], vote["counts"]
        else:
            continue
        ident = delib_id(seance, n)
        rows.append(
            {
                "COLL_NOM": seance.council.name,
                "COLL_SIRET": seance.council.siret,
                "DELIB_ID": ident,
                "DELIB_DATE": day,
                "DELIB_MATIERE_CODE": item["matiere_code"],
                "DELIB_MATIERE_NOM": ACTES_MATIERES[item["matiere_code"]],
                "DELIB_OBJET": objet,
                "BUDGET_ANNEE": "",
                "BUDGET_NOM": "",
                "PREF_ID": "",
                "PREF_DATE": "",
                "VOTE_EFFECTIF": str(len(seance.council.in_office)),
                "VOTE_REEL": str(counts["cast"] - counts["nppv"]) if counts else "",
                "VOTE_POUR": str(counts["pour"]) if counts else "",
                "VOTE_CONTRE": str(counts["contre"]) if counts else "",
                "VOTE_ABSTENTION": str(counts["abstention"]) if counts else "",
                "DELIB_URL": f"{url_base.rstrip('/')}/{ident}.pdf" if url_base else "",
            }
        )
    return rows


#: First characters a spreadsheet reads as a formula (OWASP « CSV Injection »), plus the
#: tab and carriage return that some of them skip before looking
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will show as text: one starting like a formula gets a leading
    ``'`` (OWASP « CSV Injection »; an item's title is free text typed by the admin)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def deliberations_csv(seance: Seance, url_base: str | None = None) -> str:
    """The SCDL CSV (comma-separated, UTF-8, header row, ``\\r\\n`` line ends as RFC 4180),
    every cell neutralised against formula injection (:func:`neutralise`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: neutralise(v) for k, v in row.items()} for row in deliberation_rows(seance, url_base))
    return out.getvalue()
