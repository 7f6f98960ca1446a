"""Agenda items and the items a teleconference sitting may not hold (R12).

L.5211-11-1 CGCT excludes from a teleconference sitting: the election of the president
and of the bureau, the adoption of the budget primitif, the election of delegates to
other EPCI (syndicats), and the designation of delegates to outside bodies under
L.2121-33. Such items are refused when the agenda is built and when a sitting is
converted to teleconference.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class ItemKind(StrEnum):
    DELIBERATION = "deliberation"
    #: an appointment (nomination): secret ballot unless unanimously decided otherwise (R15)
    APPOINTMENT = "nomination"
    INFORMATION = "information"
    # R12: never in a teleconference sitting
    ELECTION_PRESIDENT = "election_president"
    ELECTION_BUREAU = "election_bureau"
    BUDGET_PRIMITIF = "budget_primitif"
    ELECTION_DELEGUES_EPCI = "election_delegues_epci"
    DESIGNATION_ORGANISMES_EXTERIEURS = "designation_organismes_exterieurs"


BANNED_KINDS: dict[ItemKind, str] = {
    ItemKind.ELECTION_PRESIDENT: "l'élection du président",
    ItemKind.ELECTION_BUREAU: "l'élection des membres du bureau",
    ItemKind.BUDGET_PRIMITIF: "l'adoption du budget primitif",
    ItemKind.ELECTION_DELEGUES_EPCI: "l'élection des délégués aux établissements publics de coopération intercommunale",
    ItemKind.DESIGNATION_ORGANISMES_EXTERIEURS: "la désignation des délégués dans les organismes extérieurs (L.2121-33)",
}

#: Title patterns (accents stripped, lower case) that reveal a banned item whatever its kind.
_BANNED_TITLES: tuple[tuple[re.Pattern[str], ItemKind], ...] = (
    (re.compile(r"\bbudget primitif\b"), ItemKind.BUDGET_PRIMITIF),
    (re.compile(r"\belection (du|de la) president"), ItemKind.ELECTION_PRESIDENT),
    (re.compile(r"\belection des? (membres? du bureau|vice-presidents?)"), ItemKind.ELECTION_BUREAU),
    (re.compile(r"\belection des? delegues?\b"), ItemKind.ELECTION_DELEGUES_EPCI),
)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def banned_reason(kind: str, title: str) -> str | None:
    """R12: the French description of why an item is banned from teleconference, or None."""
    try:
        k = ItemKind(kind)
    except ValueError:
        k = None
    if k in BANNED_KINDS:
        return BANNED_KINDS[k]
    plain = _plain(title)
    for pattern, banned in _BANNED_TITLES:
        if pattern.search(plain):
            return BANNED_KINDS[banned]
    return None


def is_voted(kind: str) -> bool:
    """Information items are not voted."""
    return kind != ItemKind.INFORMATION
