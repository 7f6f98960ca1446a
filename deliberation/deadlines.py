"""Calendar rules a machine can check, as pure functions (R5, R6, R8, R22, R23).

- R6: the convocation is sent at least 5 clear days (jours francs) before the sitting
  (L.2121-12 via L.5211-1): neither the day it is sent nor the day of the sitting count.
- R8: a sitting re-convened after a lack of quorum is held at least 3 clear days later
  (L.2121-17) and may then deliberate without quorum.
- R22: the list of deliberations is published within one week of the sitting (L.2121-25).
- R23: at least one single-place sitting per semester (L.5211-11-1 since 2022).
- R5: the retention end of a recording follows the règlement intérieur.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

CONVOCATION_CLEAR_DAYS = 5
RECONVOCATION_CLEAR_DAYS = 3


def _day(value: str | date) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)


def clear_days_between(sent: str | date, sitting: str | date) -> int:
    """Whole days strictly between the two dates (jours francs)."""
    return (_day(sitting) - _day(sent)).days - 1


def convocation_ok(sent: str | date, sitting: str | date) -> bool:
    """R6: at least 5 clear days between sending the convocation and the sitting."""
    return clear_days_between(sent, sitting) >= CONVOCATION_CLEAR_DAYS


def convocation_message(sent: str | date, sitting: str | date) -> str | None:
    """R6: the French warning when the convocation is late, else None."""
    n = clear_days_between(sent, sitting)
    if n >= CONVOCATION_CLEAR_DAYS:
        return None
    return (
        f"R6 — convocation tardive : {max(n, 0)} jour(s) franc(s) entre l'envoi et la séance, "
        f"il en faut au moins {CONVOCATION_CLEAR_DAYS}."
    )


def convocation_due(sitting: str | date) -> date:
    """R6: the last day the convocation may leave for five clear days before the sitting."""
    return _day(sitting) - timedelta(days=CONVOCATION_CLEAR_DAYS + 1)


def recorded_sending(first_sent: Iterable[str | date]) -> date | None:
    """R6 from the recorded sendings: the day the last member's convocation left (the latest
    of each member's first successful sending), so that every member had the five clear days;
    None when nothing was sent."""
    days = [_day(d) for d in first_sent]
    return max(days) if days else None


def reconvocation_ok(failed_sitting: str | date, new_sitting: str | date) -> bool:
    """R8: the re-convened sitting is at least 3 clear days after the one without quorum."""
    return clear_days_between(failed_sitting, new_sitting) >= RECONVOCATION_CLEAR_DAYS


def publication_deadline(sitting: str | date) -> date:
    """R22: the list of deliberations is published within one week of the sitting."""
    return _day(sitting) + timedelta(days=7)


def retention_until(recorded: str | date, retention_days: int) -> date:
    """R5: the date a recording may be deleted, per the règlement intérieur."""
    return _day(recorded) + timedelta(days=retention_days)


def semester_of(day: str | date) -> tuple[int, int]:
    d = _day(day)
    return d.year, 1 if d.month <= 6 else 2


@dataclass(frozen=True)
class SittingSlot:
    """A sitting held or convened: its date and whether it is by teleconference."""

    day: str
    teleconference: bool


def semester_warning(sittings: Iterable[SittingSlot], new: SittingSlot) -> str | None:
    """R23: warn when a teleconference sitting is scheduled in a semester with no single-place sitting."""
    if not new.teleconference:
        return None
    sem = semester_of(new.day)
    if any(semester_of(s.day) == sem and not s.teleconference for s in sittings):
        return None
    year, half = sem
    return (
        f"R23 — aucune séance en un lieu unique n'est tenue ni convoquée au {half}{'er' if half == 1 else 'e'} "
        f"semestre {year} : le conseil doit se réunir au moins une fois par semestre en un lieu unique."
    )


def semester_standing(sittings: Iterable[SittingSlot]) -> dict[tuple[int, int], bool]:
    """R23: for each semester with sittings, whether it has a single-place one."""
    standing: dict[tuple[int, int], bool] = {}
    for s in sittings:
        sem = semester_of(s.day)
        standing[sem] = standing.get(sem, False) or not s.teleconference
    return standing
