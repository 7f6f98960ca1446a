"""Level-2 subjects of the ACTES nomenclature (contrôle de légalité dématérialisé).

Used for ``DELIB_MATIERE_CODE`` / ``DELIB_MATIERE_NOM`` of the SCDL « Délibérations »
export: the name is the level-1 and level-2 titles in lower case, accented, without
commas or parentheses, joined by a slash (SCDL documentation, ``nomenclature_actes_value``
check). Only the subjects an EPCI council commonly uses are listed; an item whose code is
not here is refused when the agenda is built (field ``matiere_code``).
"""

from __future__ import annotations

ACTES_MATIERES: dict[str, str] = {
    "1.1": "commande publique/marchés publics",
    "1.2": "commande publique/délégation de service public",
    "1.4": "commande publique/autres types de contrats",
    "2.1": "urbanisme/documents d urbanisme",
    "3.1": "domaine et patrimoine/acquisitions",
    "3.2": "domaine et patrimoine/aliénations",
    "4.1": "fonction publique/personnels titulaires et stagiaires de la fpt",
    "5.2": "institutions et vie politique/fonctionnement des assemblées",
    "5.3": "institutions et vie politique/désignation de représentants",
    "5.7": "institutions et vie politique/intercommunalité",
    "7.1": "finances locales/décisions budgétaires",
    "7.5": "finances locales/subventions",
    "7.10": "finances locales/divers",
    "8.3": "domaines de compétences par thèmes/voirie",
    "8.4": "domaines de compétences par thèmes/aménagement du territoire",
    "8.8": "domaines de compétences par thèmes/environnement",
    "9.1": "autres domaines de compétences/autres domaines de compétences des communes",
}


def matiere_nom(code: str) -> str | None:
    """The SCDL ``DELIB_MATIERE_NOM`` for an ACTES level-2 code, or None if unknown."""
    return ACTES_MATIERES.get(code)
