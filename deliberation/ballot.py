"""Public nominative ballots and their results (R13, R14, R15, R16).

- R13: each choice is recorded by name, pour / contre / abstention / ne prend pas part,
  with the proxy it was cast under.
- R14: adopted by the majority of suffrages exprimés (pour + contre); abstentions and
  non-participation do not count; on a tie the president's vote prevails (L.2121-20).
- R15: a secret ballot request is adopted at one third of the members present (L.2121-21).
- R16: the electorate is fixed when the vote opens: each present member votes for
  themself and for the one proxy they hold.
- R13 with the règlement intérieur: at an electronic vote a councillor may change their
  choice until the vote closes (``Reglement.ballot_change``, on by default); each change is
  journaled (``BallotChanged``) and the last choice counts. At a roll call the answer
  recorded by the secretary or the agent is final.
- R24: a round of a nomination (L.2121-21): each ballot names a candidate (``pour`` with
  the candidate), or is blank (``abstention``) or ``nppv``; the suffrages exprimés are
  the ballots naming a candidate. Absolute majority of the suffrages exprimés in the
  first two rounds, relative majority in the third, and on a tie the oldest candidate.
  With no suffrage exprimé nobody is appointed (an appointment by no vote is not one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from .commands import CHOICES


class Counts(TypedDict):
    """R14: the ballots per choice, ``cast`` (all of them) and ``exprimes`` (pour + contre);
    in a round (R24), also the votes of each candidate."""

    pour: int
    contre: int
    abstention: int
    nppv: int
    cast: int
    exprimes: int
    candidates: NotRequired[dict[str, int]]


def may_change(method: str, reglement_allows: bool) -> bool:
    """R13: whether a ballot already cast may be changed before the vote closes."""
    return reglement_allows and method == "electronique"


def tally(ballots: Iterable[Mapping[str, Any]]) -> Counts:
    """Counts per choice plus ``cast`` and ``exprimes`` (R14)."""
    per = dict.fromkeys(CHOICES, 0)
    for b in ballots:
        per[b["choice"]] += 1
    return {
        "pour": per["pour"],
        "contre": per["contre"],
        "abstention": per["abstention"],
        "nppv": per["nppv"],
        "cast": sum(per.values()),
        "exprimes": per["pour"] + per["contre"],
    }


@dataclass(frozen=True)
class Result:
    adopted: bool
    casting_vote: bool  # decided by the president's vote on a tie

    @property
    def label(self) -> str:
        return "adopté" if self.adopted else "rejeté"


def result(counts: Counts, president_choice: str | None) -> Result:
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


@dataclass(frozen=True)
class RoundResult:
    appointed: str | None
    majority: str  # "absolue" (rounds 1 and 2) or "relative" (round 3)
    tie_broken_by_age: bool


LAST_ROUND = 3


def round_counts(ballots: Iterable[Mapping[str, Any]], candidates: Iterable[str]) -> Counts:
    """R24: :func:`tally`, plus the votes of each candidate (``candidates``, in the seat's order)."""
    ballots = list(ballots)
    counts = tally(ballots)
    counts["candidates"] = {c: sum(1 for b in ballots if b.get("candidate") == c) for c in candidates}
    return counts


def round_result(round_no: int, votes: Mapping[str, int], birth_dates: Mapping[str, str]) -> RoundResult:
    """R24 (L.2121-21): who a round appoints, from each candidate's votes.

    ``birth_dates``: ISO dates of the candidates; the earliest wins a tie (the oldest)."""
    exprimes = sum(votes.values())
    majority = "absolue" if round_no < LAST_ROUND else "relative"
    if exprimes == 0:
        return RoundResult(None, majority, False)
    best = max(votes.values())
    leaders = sorted(c for c, n in votes.items() if n == best)
    if majority == "absolue":
        return RoundResult(leaders[0] if 2 * best > exprimes else None, majority, False)
    if len(leaders) == 1:
        return RoundResult(leaders[0], majority, False)
    return RoundResult(min(leaders, key=lambda c: birth_dates[c]), majority, True)


def secret_ballot_adopted(requests: int, present: int) -> bool:
    """R15: at least one third of the members present ask for a secret ballot."""
    return present > 0 and 3 * requests >= present
