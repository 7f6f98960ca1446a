"""The records of a sitting's state, typed: what :mod:`deliberation.state` keeps per item,
vote, ballot, proxy, suspension… (issue 14 point 4).

They are ``TypedDict``\\ s, not classes: the state's canonical JSON is its identity (R18:
replay is exact; a refusal changes nothing) and every screen and document reads it, so
each record *is* its JSON object, typed for the checker (mypy strict) without a second
form to convert to and from. Only :func:`deliberation.state.apply` writes them. Statuses
are ``Literal`` types: ``item["status"] = "vote"`` is a type error.

Keys that are Python keywords (``in``, ``from``) use the functional ``TypedDict`` form.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from .ballot import Counts
from .events import BodyRecord, ItemRef, NotVoting, SalleAtOpening, Slot
from .quorum import QuorumRecord

SittingStatus = Literal["convened", "opened", "suspended", "closed"]
ItemStatus = Literal["pending", "voting", "voted", "postponed", "withdrawn"]
AmendmentStatus = Literal["pending", "voting", "adopted", "rejected", "withdrawn"]
VoteSubject = Literal["motion", "amendment", "round"]

# -- places and people (R1, R4, R9) ---------------------------------------------------------------
#: a member's stay in a salle: checked in, checked out (``None`` while there)
Attendance = TypedDict("Attendance", {"member": str, "salle": str, "in": str, "out": str | None})


class Proxy(TypedDict):
    """R9: an active proxy, under its giver's id."""

    holder: str
    document_ref: str
    consecutive_sittings: int
    illness_certified: bool
    recorded_at: str


class HeldProxy(Proxy):
    """R9: the proxy a member holds, with its giver (:meth:`SeanceState.holder_proxy`)."""

    giver: str


class ProxyLogEntry(HeldProxy):
    """R9: a proxy recorded during the sitting, and its end (the giver arrived, or revoked it)."""

    ended_at: str | None
    ended_reason: str | None


class MediaSwitch(TypedDict):
    """R2, R3, R7, R17: a journaled switch of the media plane."""

    at: str
    kind: Literal["transmission", "public_stream", "audio_only"]
    salle: str | None
    value: bool


# -- opening, suspensions, passages, recordings (R7, R8, R17, R19, R5) ---------------------------
class Opening(TypedDict):
    """R7, R8, R10: the sitting's opening as journaled (``SittingOpened``)."""

    at: str
    quorum: QuorumRecord
    salles: dict[str, SalleAtOpening]
    public_stream_up: bool
    secretary: str | None
    reconvened_after: str | None


class Suspension(TypedDict):
    at: str
    reason: str
    rule: str
    salles: list[str]
    resumed_at: str | None


class Decision(TypedDict):
    """R17: a decision of the president, e.g. a frozen vote continuing."""

    at: str
    kind: str
    item_id: str
    reason: str
    salles: list[str]


#: R19: a sensitive passage, ``to`` ``None`` while it lasts
SensitiveSpan = TypedDict("SensitiveSpan", {"from": str, "to": str | None, "reason": str})


class Recording(TypedDict):
    """R5: the digest of a recording file."""

    at: str
    sha256: str
    label: str


class Failure(TypedDict):
    at: str
    reason: str


class Convocation(TypedDict):
    """R6: a member's convocation as journaled."""

    sent_at: str | None
    failures: list[Failure]
    acknowledged_at: str | None


class Signature(TypedDict):
    at: str
    pdf_sha256: str


class MinutesLink(TypedDict):
    """R22: the procès-verbal an item approves, and its signed PDFs."""

    sitting_id: str
    sha256: str
    at: str
    signed: list[Signature]


class QuorumFailure(TypedDict):
    """R8: the lack of quorum recorded before closing."""

    at: str
    quorum: QuorumRecord
    present: list[str]
    items: list[ItemRef]


class FloorTurn(TypedDict):
    """Who speaks, or asks to, and since when."""

    member: str
    since: str


# -- items and votes (R12-R17, R24, R25) ---------------------------------------------------------
class Ballot(TypedDict):
    voter: str
    on_behalf_of: str | None
    choice: str
    candidate: str | None
    at: str
    changes: NotRequired[int]  # R13: how many times the choice changed, once it did


class Override(TypedDict):
    """R17: the president's decision to continue a frozen vote."""

    at: str
    reason: str
    salles: list[str]


class VoteResult(TypedDict, total=False):
    """A motion's or an amendment's result (``adopted``, ``casting_vote``: R14), or a
    round's (``appointed``, ``majority``, ``tie_broken_by_age``: R24)."""

    adopted: bool
    casting_vote: bool
    appointed: str | None
    majority: str
    tie_broken_by_age: bool


class Vote(TypedDict):
    subject: VoteSubject
    amendment_id: str | None
    seat: int | None
    round: int | None
    method: str
    opened_at: str
    electorate: list[Slot]
    quorum: QuorumRecord
    ballots: list[Ballot]
    override: Override | None
    closed_at: str | None
    cancelled_at: str | None
    counts: Counts | None
    result: VoteResult | None
    not_voting: list[NotVoting] | None


class Amendment(TypedDict):
    id: str
    text: str
    author: str
    at: str
    status: AmendmentStatus


class SeatRecord(TypedDict):
    """R24: a seat of a nomination, its candidates and how it was filled."""

    seat: int
    candidates: list[str]
    appointed: str | None
    how: str | None  # candidature_unique | majorite_absolue | majorite_relative | age
    rounds: int


class SecretRequest(TypedDict):
    member: str
    at: str


class Postponement(TypedDict):
    at: str
    rule: str
    mention: str
    reason: str


class Withdrawal(TypedDict):
    at: str
    reason: str


class Item(TypedDict):
    """An item of the agenda, with every vote on it in order: amendments then the motion,
    or the rounds of its seats (R24, R25)."""

    id: str
    title: str
    kind: str
    matiere_code: str
    body: BodyRecord | None
    status: ItemStatus
    withdrawals: list[str]
    secret_requests: list[SecretRequest]
    public_appointment: bool | None
    votes: list[Vote]
    amendments: list[Amendment]
    seats: list[SeatRecord]
    candidacies_closed: bool
    postponed: Postponement | None
    withdrawn: Withdrawal | None


class Presentation(TypedDict):
    """R26: the annex on the displays, since when (issue 15 point 8, :mod:`deliberation.presentation`)."""

    item_id: str
    annex_id: str
    sha256: str
    title: str
    pages: int
    since: str
