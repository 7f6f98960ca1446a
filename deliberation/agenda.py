"""Agenda items: their nature, and the items a teleconference sitting may not hold (R12).

L.5211-11-1 CGCT excludes from a teleconference sitting: the election of the president
and of the bureau, the adoption of the budget primitif, the election of delegates to
other EPCI (syndicats), and the designation of delegates to outside bodies under
L.2121-33. Such items are refused when the agenda is built and when a sitting is
converted to teleconference.

The ban follows the **nature** of the item, chosen from a closed list when it is created
(:data:`NATURES`), never its title (R12): « Décision modificative n° 2 au budget primitif
2026 » is a décision modificative, which is allowed, as are the budget supplémentaire,
the compte administratif and the compte financier unique. A nomination states the body
whose seats it fills (:data:`BODIES`): a commission of the council (L.2121-22) is
allowed, an outside body (L.2121-33) or an EPCI or syndicat (L.5211-7, L.5711-1) is not,
whatever word its title uses. The title may only raise a warning for the admin
(:func:`title_warnings`).

The budget natures are the budget documents of the ACTES nomenclature, transmitted under
matière 7.1 « décisions budgétaires » (their only matière here).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class ItemKind(StrEnum):
    DELIBERATION = "deliberation"
    #: an appointment (nomination) to the seats of a body: secret ballot unless the
    #: council unanimously decides otherwise (L.2121-21, R15, R24)
    APPOINTMENT = "nomination"
    INFORMATION = "information"
    BUDGET_SUPPLEMENTAIRE = "budget_supplementaire"
    DECISION_MODIFICATIVE = "decision_modificative"
    COMPTE_ADMINISTRATIF = "compte_administratif"
    COMPTE_FINANCIER_UNIQUE = "compte_financier_unique"
    # R12: never in a teleconference sitting
    ELECTION_PRESIDENT = "election_president"
    ELECTION_BUREAU = "election_bureau"
    BUDGET_PRIMITIF = "budget_primitif"
    #: natures of journals of rules edition 1; a nomination now states its body instead
    ELECTION_DELEGUES_EPCI = "election_delegues_epci"
    DESIGNATION_ORGANISMES_EXTERIEURS = "designation_organismes_exterieurs"


class Body(StrEnum):
    """The body whose seats a nomination fills (R12, R24)."""

    COMMISSION = "commission"  # a commission of the council (L.2121-22): allowed
    ORGANISME_EXTERIEUR = "organisme_exterieur"  # L.2121-33: banned by R12
    EPCI = "epci"  # delegates to an EPCI or syndicat: banned by R12


BANNED_KINDS: dict[ItemKind, str] = {
    ItemKind.ELECTION_PRESIDENT: "l'élection du président",
    ItemKind.ELECTION_BUREAU: "l'élection des membres du bureau",
    ItemKind.BUDGET_PRIMITIF: "l'adoption du budget primitif",
    ItemKind.ELECTION_DELEGUES_EPCI: "l'élection des délégués aux établissements publics de coopération intercommunale",
    ItemKind.DESIGNATION_ORGANISMES_EXTERIEURS: "la désignation des délégués dans les organismes extérieurs (L.2121-33)",
}

#: R12: the banned nature a nomination to this body is
BANNED_BODIES: dict[Body, ItemKind] = {
    Body.ORGANISME_EXTERIEUR: ItemKind.DESIGNATION_ORGANISMES_EXTERIEURS,
    Body.EPCI: ItemKind.ELECTION_DELEGUES_EPCI,
}

BODY_LABELS: dict[Body, str] = {
    Body.COMMISSION: "commission du conseil (L.2121-22)",
    Body.ORGANISME_EXTERIEUR: "organisme extérieur : office de tourisme, SEM, établissement, association… (L.2121-33)",
    Body.EPCI: "délégués dans un EPCI ou un syndicat",
}

BUDGET_KINDS = frozenset(
    {
        ItemKind.BUDGET_PRIMITIF,
        ItemKind.BUDGET_SUPPLEMENTAIRE,
        ItemKind.DECISION_MODIFICATIVE,
        ItemKind.COMPTE_ADMINISTRATIF,
        ItemKind.COMPTE_FINANCIER_UNIQUE,
    }
)
#: the ACTES matière of the budget documents (« finances locales/décisions budgétaires »)
BUDGET_MATIERE = "7.1"
#: natures whose motion may be amended before it is voted (R25)
AMENDABLE_KINDS = frozenset({ItemKind.DELIBERATION} | BUDGET_KINDS)
MAX_SEATS = 40


@dataclass(frozen=True)
class Nature:
    """One nature of the closed list: its French label and the matière it defaults to."""

    kind: ItemKind
    label: str
    matiere: str


#: The closed list the admin chooses from, in the order of the form. The two natures of
#: edition 1 that a nomination's body now expresses are not offered (they stay readable).
NATURES: tuple[Nature, ...] = (
    Nature(ItemKind.DELIBERATION, "délibération", "5.2"),
    Nature(ItemKind.APPOINTMENT, "nomination ou désignation (préciser l'organe)", "5.2"),
    Nature(ItemKind.INFORMATION, "information (sans vote)", "5.2"),
    Nature(ItemKind.DECISION_MODIFICATIVE, "décision modificative", BUDGET_MATIERE),
    Nature(ItemKind.BUDGET_SUPPLEMENTAIRE, "budget supplémentaire", BUDGET_MATIERE),
    Nature(ItemKind.COMPTE_ADMINISTRATIF, "compte administratif", BUDGET_MATIERE),
    Nature(ItemKind.COMPTE_FINANCIER_UNIQUE, "compte financier unique", BUDGET_MATIERE),
    Nature(ItemKind.BUDGET_PRIMITIF, "adoption du budget primitif (exclue en visioconférence)", BUDGET_MATIERE),
    Nature(ItemKind.ELECTION_PRESIDENT, "élection du président (exclue en visioconférence)", "5.2"),
    Nature(ItemKind.ELECTION_BUREAU, "élection des membres du bureau (exclue en visioconférence)", "5.2"),
)
KIND_LABELS: dict[ItemKind, str] = {
    **{n.kind: n.label for n in NATURES},
    ItemKind.APPOINTMENT: "nomination",
    ItemKind.ELECTION_DELEGUES_EPCI: "élection des délégués aux EPCI",
    ItemKind.DESIGNATION_ORGANISMES_EXTERIEURS: "désignation dans les organismes extérieurs",
}


def nature_of(kind: str, body: str | None) -> ItemKind | None:
    """The nature an item has in law: a nomination takes the nature of its body (R12)."""
    try:
        k = ItemKind(kind)
    except ValueError:
        return None
    if k == ItemKind.APPOINTMENT and body in BANNED_BODIES:
        return BANNED_BODIES[Body(body)]
    return k


def banned_reason(kind: str, body: str | None = None) -> str | None:
    """R12: the French description of why an item is banned from teleconference, or None.

    Decided on the nature (and, for a nomination, the body) only, never on the title."""
    nature = nature_of(kind, body)
    return BANNED_KINDS.get(nature) if nature is not None else None


# -- warnings for the admin, from the title (never a refusal) ----------------------------------
def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_BUDGET_PRIMITIF = re.compile(r"\bbudgets? primitifs?\b")
_BUDGET_AMENDMENT = re.compile(r"\b(decision modificative|budget supplementaire|compte administratif|compte financier)")
_PRESIDENT = re.compile(r"\belection (du|de la) president")
_BUREAU = re.compile(r"\belection des? (membres? du bureau|vice-presidents?)")
_APPOINTMENT = re.compile(r"\b(designation|election|nomination|representants?|delegues?)\b")
_OUTSIDE = re.compile(
    r"\b(office de tourisme|conseil d.administration|syndicats?|sem|societe|college|lycee|etablissement|"
    r"association|sivom|sivu|epci|communaute|delegues?)\b"
)


def title_warnings(kind: str, body: str | None, title: str) -> list[str]:
    """French warnings for the admin when the title suggests another nature (R12).

    Only a warning: the nature the admin chose decides (a title never bans nor allows)."""
    plain = _plain(title)
    out: list[str] = []
    if _BUDGET_PRIMITIF.search(plain) and kind not in BUDGET_KINDS and not _BUDGET_AMENDMENT.search(plain):
        out.append(
            "L'intitulé évoque le budget primitif : s'il s'agit de son adoption, choisissez la nature « adoption du "
            "budget primitif » (exclue en visioconférence, R12) ; une décision modificative, un budget "
            "supplémentaire ou un compte administratif sont permis."
        )
    if _PRESIDENT.search(plain) and kind != ItemKind.ELECTION_PRESIDENT:
        out.append(
            "L'intitulé évoque l'élection du président : choisissez cette nature (exclue en visioconférence, R12)."
        )
    if _BUREAU.search(plain) and kind != ItemKind.ELECTION_BUREAU:
        out.append("L'intitulé évoque l'élection du bureau : choisissez cette nature (exclue en visioconférence, R12).")
    if kind == ItemKind.APPOINTMENT and body == Body.COMMISSION and _OUTSIDE.search(plain):
        out.append(
            "L'intitulé évoque un organisme extérieur ou un EPCI : si les sièges sont ceux d'un tel organisme, "
            "choisissez-le comme organe (désignation exclue en visioconférence, R12, L.2121-33)."
        )
    if kind in (ItemKind.DELIBERATION, ItemKind.INFORMATION) and _APPOINTMENT.search(plain):
        out.append(
            "L'intitulé évoque une désignation ou une élection : choisissez la nature « nomination » et son organe, "
            "pour que le vote suive l'article L.2121-21 (R24)."
        )
    return out


def is_voted(kind: str) -> bool:
    """Information items are not voted."""
    return kind != ItemKind.INFORMATION
