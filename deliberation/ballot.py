"""Public nominative ballots and their results (R13, R14, R15, R16).

- R13: each choice is recorded by name, pour / contre / abstention / ne prend pas part,
  with the proxy it was cast under.
- R14: adopted by the majority of suffrages exprimés (pour + contre); abstentions and
  non-participation do not count; on a tie the president's vote prevails (L.2121-20).
- R15: a secret ballot request is adopted at one third of the members present (L.2121-21).
- R16: the electorate is fixed when the vote opens: each present member votes for
  themself and for the one proxy they hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .commands import CHOICES


def tally(ballots: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Counts per choice plus ``cast`` and ``exprimes`` (R14)."""
    counts = dict.fromkeys(CHOICES, 0)
    for b in ballots:
        counts[b["choice"]] += 1
    counts["cast"] = sum(counts[c] for c in CHOICES)
    counts["exprimes"] = counts["pour"] + counts["contre"]
    return counts


@dataclass(frozen=True)
class Result:
    adopted: bool
    casting_vote: bool  # decided by the president's vote on a tie

    @property
    def label(self) -> str:
        return "adopté" if self.adopted else "rejeté"


def result(counts: Mapping[str, int], president_choice: str | None) -> Result:
    """R14: majority of suffrages exprimés; on a tie the president's own vote prevails.

    A tie with the president neither pour nor contre (or with no suffrage exprimé) is
    not a majority: the item is rejected.
    """
    if counts["pour"] > counts["contre"]:
        return Result(True, False)
    if counts["pour"] < counts["contre"]:
        return Result(False, False)
    if counts["pour"] > 0 and president_choice in ("pour", "contre"):
        return Result(president_choice == "pour", True)
    return Result(False, False)


def secret_ballot_adopted(requests: int, present: int) -> bool:
    """R15: at least one third of the members present ask for a secret ballot."""
    return present > 0 and 3 * requests >= present
