"""R22, R26: publication dates and legal delays of the liste des délibérations (L.2121-25:
a week after the sitting) and of the procès-verbal (L.2121-15: a week after its adoption)."""

from __future__ import annotations

from datetime import date

from deliberation.adoption import Adoption
from deliberation.commands import CloseSitting
from deliberation.publication import Publication, deliberation_ids, liste_publication, pv_publication
from deliberation.register import ListePublished, MinutesPublished
from tests.deliberation.delib_support import PRESIDENT, Clock, ok, opened


def adoption(closed_at: str | None, adopted: bool, signed: tuple = ()) -> Adoption:
    return Adoption(
        "s", "a" * 64, "Séance", "2026-12-10T18:30:00+01:00", "pv", 1, "PV", "", closed_at, None, adopted, signed
    )


def published(at: str) -> MinutesPublished:
    return MinutesPublished("s", at, "a", "b" * 64, "secretariat")


def test_the_pv_is_due_a_week_after_its_adoption_and_late_past_it():
    pending = pv_publication(adoption("2026-12-10T18:40:00+01:00", True), None)
    assert pending == Publication(None, date(2026, 12, 17))
    assert not pending.late(date(2026, 12, 17)) and pending.late(date(2026, 12, 18))
    signed_late = pv_publication(adoption("2026-12-10T18:40:00+01:00", True), published("2026-12-20T09:00:00+01:00"))
    assert signed_late.published_at == "2026-12-20T09:00:00+01:00" and signed_late.late(date(2027, 1, 1))
    on_time = pv_publication(adoption("2026-12-10T18:40:00+01:00", True), published("2026-12-11T09:00:00+01:00"))
    assert not on_time.late(date(2027, 1, 1))
    # rejected or not voted: nothing to publish, nothing late
    assert pv_publication(adoption("2026-12-10T18:40:00+01:00", False), None) == Publication(None, None)
    assert not pv_publication(None, None).late(date(2030, 1, 1))


def test_the_liste_is_published_at_the_registers_date_and_due_a_week_after_the_sitting():
    clock = Clock()
    s = opened(clock)
    running = liste_publication(s, None)
    assert running == Publication(None, date(2026, 12, 3))  # the demo sitting is on 26 November
    assert running.late(date(2026, 12, 4)) and not running.late(date(2026, 12, 3))
    ok(s, CloseSitting(clock()), PRESIDENT)
    closed = liste_publication(s, None)  # closed, not yet entered in the register: not published
    assert closed.published_at is None and closed.late(date(2027, 1, 1))
    entered = liste_publication(s, ListePublished(s.config.id, "2026-11-27T09:00:00+01:00", "c" * 64))
    assert entered.published_at == "2026-11-27T09:00:00+01:00" and not entered.late(date(2027, 1, 1))
    assert liste_publication(s, ListePublished(s.config.id, "2026-12-04T09:00:00+01:00", "c" * 64)).late(
        date(2027, 1, 1)
    )
    assert deliberation_ids(s) == {}  # nothing voted: no délibération
