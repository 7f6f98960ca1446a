"""Quorum (R8, L.2121-17 and L.5211-11-1 CGCT).

More than half of the members in office must be present, counted across all salles.
Proxies never count: this module only ever looks at who is checked in. A member who
withdraws from an item for a personal interest is not counted for that item. A suppléant
sitting in place of an absent titulaire (L.5211-6) occupies the titulaire's seat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypedDict

from .council import Council


def required_majority(in_office: int) -> int:
    """The smallest number of members present that is more than half of those in office."""
    return in_office // 2 + 1


class QuorumRecord(TypedDict):
    """R8: the quorum as journaled (opening, resumption, each vote, a lack of quorum)."""

    in_office: int
    present: int
    required: int
    not_counted: list[str]
    waived: bool
    reached: bool


@dataclass(frozen=True)
class QuorumCount:
    in_office: int
    present: int
    required: int
    not_counted: tuple[str, ...] = ()
    waived: bool = False

    @property
    def reached(self) -> bool:
        return self.waived or self.present >= self.required

    def to_dict(self) -> QuorumRecord:
        return {
            "in_office": self.in_office,
            "present": self.present,
            "required": self.required,
            "not_counted": list(self.not_counted),
            "waived": self.waived,
            "reached": self.reached,
        }

    def message(self) -> str:
        """The French refusal message naming R8."""
        return (
            f"R8 — quorum non atteint : {self.present} présent{'s' if self.present > 1 else ''} sur "
            f"{self.in_office} membres en exercice, il en faut {self.required}."
        )


def present_seats(council: Council, presence: Mapping[str, str], exclude: Iterable[str] = ()) -> list[str]:
    """Seats (titulaire ids) occupied by someone checked in and not excluded."""
    excluded = set(exclude)
    in_office = {m.id for m in council.in_office}
    seats = {council.seat_of(mid) for mid in presence if mid not in excluded}
    return sorted(seats & in_office)


def count(
    council: Council, presence: Mapping[str, str], exclude: Iterable[str] = (), waived: bool = False
) -> QuorumCount:
    """R8: the quorum count from the members checked in (never from proxies)."""
    excluded = tuple(sorted(set(exclude)))
    in_office = len(council.in_office)
    return QuorumCount(
        in_office=in_office,
        present=len(present_seats(council, presence, excluded)),
        required=required_majority(in_office),
        not_counted=excluded,
        waived=waived,
    )
