"""The French words people read for the core's values, in one place (issue 14 point 5):
the minutes and the audit page use them here, and every screen gets the same through
``GET /labels.js`` (:func:`screen_labels`, imported by ``web/static/sitting.js``), so that
a ballot reads « ne prend pas part au vote » on the PV, the audit page and the screens.
"""

from __future__ import annotations

from typing import Any

#: R13: the choices of a ballot (a screen's button capitalises the first letter).
CHOICE_LABELS = {"pour": "pour", "contre": "contre", "abstention": "abstention", "nppv": "ne prend pas part au vote"}

#: R13: how a vote is taken.
METHOD_LABELS = {"electronique": "vote électronique", "appel_nominal": "appel nominal"}

#: R15: the mention of an item postponed by a secret ballot request (in the journal's events too).
POSTPONED_MENTION = "reporté — séance en présentiel"

#: Where an item of the agenda stands.
ITEM_STATUS_LABELS = {
    "pending": "à traiter",
    "current": "en discussion",
    "voting": "vote en cours",
    "adopted": "adopté",
    "rejected": "rejeté",
    "appointed": "nomination faite",
    "postponed": POSTPONED_MENTION,
    "withdrawn": "retiré",
}

#: R25: where an amendment stands (« non voté » on the PV for one never put to the vote).
AMENDMENT_STATUS_LABELS = {
    "pending": "à voter",
    "voting": "vote en cours",
    "adopted": "adopté",
    "rejected": "rejeté",
    "withdrawn": "retiré",
}

#: Where the sitting stands (R7, R11, R17), as its badge says it.
SITTING_STATUS_LABELS = {
    "convened": "Séance convoquée — pas encore ouverte",
    "opened": "Séance ouverte",
    "suspended": "Séance suspendue",
    "closed": "Séance close",
}


def screen_labels() -> dict[str, Any]:
    """What the screens read (``GET /labels.js``)."""
    return {
        "choices": CHOICE_LABELS,
        "methods": METHOD_LABELS,
        "item_status": ITEM_STATUS_LABELS,
        "amendment_status": AMENDMENT_STATUS_LABELS,
        "sitting_status": SITTING_STATUS_LABELS,
    }
