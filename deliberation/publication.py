"""When each act of a sitting is published, and by when it must be (R22, R26).

L.2131-1 CGCT (since 1 July 2022): acts are published in electronic form on the council's
website, each with its publication date. L.2121-25: the liste des délibérations within
one week of the sitting. L.2121-15: the procès-verbal within one week of its adoption.

Séance publishes on the « Actes » pages as soon as the journal makes an act final (the
liste once the sitting is closed, ``SittingClosed``; the procès-verbal once signed after its
adoption, ``MinutesSigned``), and each publication is entered, dated, in the council's
signed register (:mod:`deliberation.register`): the dates here are the register's. The
convocation's is the convening (the council store's date) or the journaled sending. Pure:
dates in, dates out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .adoption import Adoption
from .deadlines import publication_deadline
from .register import ListePublished, MinutesPublished
from .scdl import deliberation_rows
from .seance import Seance

#: L.2121-15: the procès-verbal is published within the week after its adoption
PV_DELAY = timedelta(days=7)


@dataclass(frozen=True)
class Publication:
    """One act on the Actes pages: when it was published (None: not yet) and by when it must be."""

    published_at: str | None
    due: date | None

    def late(self, today: date) -> bool:
        """Past its legal delay: published after it, or still unpublished after it."""
        if self.due is None:
            return False
        if self.published_at is None:
            return today > self.due
        return datetime.fromisoformat(self.published_at).date() > self.due


def liste_publication(seance: Seance, published: ListePublished | None) -> Publication:
    """L.2121-25: published at the register's date (None: not yet), due a week after the sitting's day."""
    return Publication(published.at if published else None, publication_deadline(seance.config.scheduled_at))


def pv_publication(adoption: Adoption | None, published: MinutesPublished | None) -> Publication:
    """L.2121-15: published at the register's date, due a week after the vote that adopted it."""
    if adoption is None or not adoption.adopted or adoption.closed_at is None:
        return Publication(None, None)
    due = datetime.fromisoformat(adoption.closed_at).date() + PV_DELAY
    return Publication(published.at if published else None, due)


def deliberation_ids(seance: Seance) -> dict[str, str]:
    """Per item id, the identifier of the délibération it gave (the SCDL ``DELIB_ID``)."""
    numbers = {n: item["id"] for n, item in enumerate(seance.state.agenda, start=1)}
    return {numbers[int(row["DELIB_ID"].rsplit("-", 1)[1])]: row["DELIB_ID"] for row in deliberation_rows(seance)}
