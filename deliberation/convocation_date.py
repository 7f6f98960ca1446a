"""R6 from the journal: the day the convocation left, as the sitting's journal records it
(L.2121-12 via L.5211-1: five clear days between the sending and the sitting; L.2121-10:
sent electronically by default, its sending proven by date).

Each sending is journaled by the server when the council's relay accepts it
(``ConvocationSent``, :mod:`web.admin.convocations`); nobody types a date. The R6 day is
the latest of each member's first successful sending (the last member reached must have
had the five clear days, :func:`deliberation.deadlines.recorded_sending`). A journal written
before issue 16 carries the date the admin typed (``SittingConfig.convened_on``): with no
sending journaled, that date still stands, so old journals read as they did.
"""

from __future__ import annotations

from datetime import date

from .deadlines import recorded_sending
from .seance import Seance


def sent_on(seance: Seance) -> date | None:
    """R6's day from the journaled sendings; the typed date of an older journal without
    any; None while nothing is sent."""
    first = [sent for r in seance.state.convocations.values() if (sent := r["sent_at"])]
    day = recorded_sending(first)
    if day is None and seance.config.convened_on:
        return date.fromisoformat(seance.config.convened_on[:10])
    return day


def journaled(seance: Seance) -> bool:
    """Whether R6's day comes from sendings journaled (not a date typed before issue 16)."""
    return any(r["sent_at"] for r in seance.state.convocations.values())
