"""CSV export of the deliberations adopted, per the SCDL « Délibérations » schema 2.1.5.

Columns and formats are those of the Table Schema published on schema.data.gouv.fr
(``scdl/deliberations``), vendored for the tests in ``tests/data/scdl-deliberations``.
``DELIB_MATIERE_CODE`` and ``DELIB_MATIERE_NOM`` come from one table
(:mod:`deliberation.actes`) so they always match (the schema's ``nomenclature_actes_value``
check). Only adopted deliberations are exported; rejected and postponed items are in the
procès-verbal and the liste des délibérations.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from .actes import ACTES_MATIERES
from .seance import Seance

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
        vote = item["vote"]
        if item["status"] != "voted" or not vote or not vote["result"]["adopted"]:
            continue
        counts = vote["counts"]
        ident = delib_id(seance, n)
        rows.append(
            {
                "COLL_NOM": seance.council.name,
                "COLL_SIRET": seance.council.siret,
                "DELIB_ID": ident,
                "DELIB_DATE": day,
                "DELIB_MATIERE_CODE": item["matiere_code"],
                "DELIB_MATIERE_NOM": ACTES_MATIERES[item["matiere_code"]],
                "DELIB_OBJET": item["title"],
                "BUDGET_ANNEE": "",
                "BUDGET_NOM": "",
                "PREF_ID": "",
                "PREF_DATE": "",
                "VOTE_EFFECTIF": str(len(seance.council.in_office)),
                "VOTE_REEL": str(counts["cast"] - counts["nppv"]),
                "VOTE_POUR": str(counts["pour"]),
                "VOTE_CONTRE": str(counts["contre"]),
                "VOTE_ABSTENTION": str(counts["abstention"]),
                "DELIB_URL": f"{url_base.rstrip('/')}/{ident}.pdf" if url_base else "",
            }
        )
    return rows


def deliberations_csv(seance: Seance, url_base: str | None = None) -> str:
    """The SCDL CSV (comma-separated, UTF-8, header row, ``\\r\\n`` line ends as RFC 4180)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(deliberation_rows(seance, url_base))
    return out.getvalue()
