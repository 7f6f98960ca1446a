"""Events: what happened, one frozen dataclass per type, applied by the pure ``apply`` (state.py).

An event carries every value its application needs (e.g. a closed vote carries its
counts and result), so replaying events never re-runs decisions; the audit recomputes
those values independently from the raw entries (R21).

The journal's form of an event is ``{"type", "at", "data"}`` (docs/journal.md): ``type`` is
the class's name, ``data`` its fields but ``at``. That form is a promise to auditors, kept
byte for byte (tests/deliberation/test_journal_bytes.py): a field some editions of the
rules did not write, or that a decision writes only in some cases (a vote's amendment, a
ballot's candidate), defaults to :data:`OMITTED` and is then left out of ``data``, as it
always was. Every class is registered in :data:`EVENT_TYPES` by :func:`event`, which
checks it at registration.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypedDict, TypeVar

from .ballot import Counts
from .quorum import QuorumRecord as Quorum


class Omitted(enum.Enum):
    """A field the journal line does not hold (see the module's docstring)."""

    OMITTED = "omitted"


OMITTED = Omitted.OMITTED


# -- values inside events (plain JSON objects in the journal) ------------------------------------
class Slot(TypedDict):
    """R16: one vote of the electorate: a member for themselves, or for the giver of their proxy."""

    voter: str
    on_behalf_of: str | None


class NotVoting(TypedDict):
    """R13, R22: a present member who took no part in the vote, and why."""

    voter: str
    on_behalf_of: str | None
    reason: str


class BodyRecord(TypedDict):
    """R12, R24: the body whose seats a nomination fills."""

    type: str
    name: str
    seats: int


class Appointment(TypedDict):
    """R24: a seat filled by a single candidacy (L.2121-21 al. 5)."""

    seat: int
    member_id: str


class ItemRef(TypedDict):
    """R8: an item of the agenda of a sitting without quorum."""

    id: str
    title: str


class SalleAtOpening(TypedDict):
    """R7: who is present in a salle when the sitting opens, and whether it transmits."""

    present: list[str]
    transmitting: bool


# -- the base and its registry --------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """Base of all events. ``at``: the ISO 8601 timestamp of the command that caused it."""

    at: str

    @property
    def type(self) -> str:
        return type(self).__name__

    @property
    def data(self) -> dict[str, Any]:
        """The journal's ``data`` object: every field but ``at``, without the omitted ones."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "at" and getattr(self, f.name) is not OMITTED
        }

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "at": self.at, "data": self.data}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Event:
        """The event of a journal line; ``ValueError`` for an unknown type, ``TypeError`` for
        a missing or unknown field."""
        cls = EVENT_TYPES.get(d["type"])
        if cls is None:
            raise ValueError(f"unknown event type {d['type']!r}")
        data = d["data"]
        if not isinstance(data, dict) or "at" in data:
            raise TypeError(f"{d['type']}: data must be an object without « at »")
        return cls(at=d["at"], **data)


_REGISTRY: dict[str, type[Event]] = {}
#: type name -> class, filled only by :func:`event` (docs/journal.md lists them)
EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(_REGISTRY)

E = TypeVar("E", bound=Event)


def event(cls: type[E]) -> type[E]:
    """Register an event class, checking it: a frozen dataclass deriving from :class:`Event`,
    a new name, keyword-only fields, and :data:`OMITTED` as default only where the field's
    type allows it (and as the only default: an omitted key is the journal's ``None``)."""
    name = cls.__name__
    if name in EVENT_TYPES:
        raise ValueError(f"event type {name!r} already registered")
    params = getattr(cls, "__dataclass_params__", None)
    if not issubclass(cls, Event) or cls is Event or params is None or not params.frozen:
        raise ValueError(f"event type {name!r} must be a frozen dataclass deriving from Event")
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == "at":
            continue
        if not f.kw_only:
            raise ValueError(f"{name}.{f.name}: event fields are keyword-only")
        may_omit = Omitted in typing.get_args(hints[f.name])
        if f.default is not dataclasses.MISSING and f.default is not OMITTED:
            raise ValueError(f"{name}.{f.name}: the only default of an event field is OMITTED")
        if (f.default is OMITTED) != may_omit:
            raise ValueError(f"{name}.{f.name}: OMITTED is the default exactly when the type allows it")
    _REGISTRY[name] = cls
    return cls


# -- the agenda (R6, R12) -------------------------------------------------------------------------
@event
@dataclass(frozen=True, kw_only=True)
class ItemAdded(Event):
    item_id: str
    title: str
    kind: str
    matiere_code: str
    body: BodyRecord | Omitted = OMITTED  # a nomination's body (rules edition 2)


@event
@dataclass(frozen=True, kw_only=True)
class ConvertedToTeleconference(Event):
    pass


# -- places and people (R1, R4, R9, R10) --------------------------------------------------------
@event
@dataclass(frozen=True, kw_only=True)
class CheckedIn(Event):
    member_id: str
    salle_id: str


@event
@dataclass(frozen=True, kw_only=True)
class CheckedOut(Event):
    member_id: str
    salle_id: str


@event
@dataclass(frozen=True, kw_only=True)
class SuppleanceDeclared(Event):
    titulaire_id: str
    document_ref: str
    salle_id: str | Omitted = OMITTED  # the salle whose agent recorded it (R4), since rules edition 2


@event
@dataclass(frozen=True, kw_only=True)
class ProxyRecorded(Event):
    giver_id: str
    holder_id: str
    document_ref: str
    consecutive_sittings: int
    illness_certified: bool


@event
@dataclass(frozen=True, kw_only=True)
class ProxyEnded(Event):
    giver_id: str
    reason: str  # giver_arrived | revoked


@event
@dataclass(frozen=True, kw_only=True)
class SecretaryAppointed(Event):
    member_id: str


# -- the media plane (R2, R3, R7, R17, R20) ------------------------------------------------------
@event
@dataclass(frozen=True, kw_only=True)
class TransmissionChanged(Event):
    salle_id: str
    transmitting: bool


@event
@dataclass(frozen=True, kw_only=True)
class PublicStreamChanged(Event):
    up: bool


@event
@dataclass(frozen=True, kw_only=True)
class AudioOnlyChanged(Event):
    salle_id: str
    audio_only: bool
    automatic: bool | Omitted = OMITTED  # the media plane measured the salle's link (R3)
    figures: str | Omitted = OMITTED


@event
@dataclass(frozen=True, kw_only=True)
class BroadcastObjection(Event):
    salle_id: str
    person: str
    objecting: bool


# -- opening, suspension, closing (R7, R8, R10, R11, R17, R19) -----------------------------------
@event
@dataclass(frozen=True, kw_only=True)
class SittingOpened(Event):
    quorum: Quorum
    salles: dict[str, SalleAtOpening]
    public_stream_up: bool
    secretary: str | None
    reconvened_after: str | None


@event
@dataclass(frozen=True, kw_only=True)
class SittingSuspended(Event):
    rule: str  # R17 | president
    salles: list[str]
    frozen_vote: str | None
    reason: str


@event
@dataclass(frozen=True, kw_only=True)
class SittingResumed(Event):
    quorum: Quorum


@event
@dataclass(frozen=True, kw_only=True)
class ItemTakenUp(Event):
    item_id: str


@event
@dataclass(frozen=True, kw_only=True)
class QuorumFailed(Event):
    quorum: Quorum
    present: list[str]
    items: list[ItemRef]


@event
@dataclass(frozen=True, kw_only=True)
class SittingClosed(Event):
    opened: bool
    pending_items: list[str]


@event
@dataclass(frozen=True, kw_only=True)
class SensitivePassage(Event):
    on: bool
    reason: str


@event
@dataclass(frozen=True, kw_only=True)
class RecordingDigest(Event):
    sha256: str
    label: str


# -- convocations and minutes (R6, R22) ----------------------------------------------------------
@event
@dataclass(frozen=True, kw_only=True)
class ConvocationSent(Event):
    member_id: str
    sent: bool
    reason: str


@event
@dataclass(frozen=True, kw_only=True)
class ConvocationAcknowledged(Event):
    member_id: str


@event
@dataclass(frozen=True, kw_only=True)
class MinutesLinked(Event):
    item_id: str
    sitting_id: str
    sha256: str


@event
@dataclass(frozen=True, kw_only=True)
class MinutesSigned(Event):
    item_id: str
    sitting_id: str
    pdf_sha256: str


# -- items, votes, amendments, nominations (R13-R17, R24, R25) -----------------------------------
@event
@dataclass(frozen=True, kw_only=True)
class WithdrawalDeclared(Event):
    item_id: str
    member_id: str


@event
@dataclass(frozen=True, kw_only=True)
class SecretBallotRequested(Event):
    item_id: str
    member_id: str


@event
@dataclass(frozen=True, kw_only=True)
class SecretBallotRequestWithdrawn(Event):
    item_id: str
    member_id: str


@event
@dataclass(frozen=True, kw_only=True)
class PublicAppointmentDecided(Event):
    item_id: str


@event
@dataclass(frozen=True, kw_only=True)
class ItemPostponed(Event):
    item_id: str
    rule: str
    mention: str
    requests: int
    present: int
    reason: str


@event
@dataclass(frozen=True, kw_only=True)
class ItemWithdrawn(Event):
    item_id: str
    reason: str


@event
@dataclass(frozen=True, kw_only=True)
class AmendmentProposed(Event):
    item_id: str
    amendment_id: str
    text: str
    author_id: str


@event
@dataclass(frozen=True, kw_only=True)
class AmendmentWithdrawn(Event):
    item_id: str
    amendment_id: str


@event
@dataclass(frozen=True, kw_only=True)
class CandidacyRegistered(Event):
    item_id: str
    seat: int
    member_id: str


@event
@dataclass(frozen=True, kw_only=True)
class CandidaciesClosed(Event):
    item_id: str
    appointed: list[Appointment]


@event
@dataclass(frozen=True, kw_only=True)
class VoteOpened(Event):
    """A vote on the motion; on an amendment (``amendment_id``); or a round of a seat (``seat``, ``round``)."""

    item_id: str
    method: str
    electorate: list[Slot]
    quorum: Quorum
    amendment_id: str | Omitted = OMITTED
    seat: int | Omitted = OMITTED
    round: int | Omitted = OMITTED


@event
@dataclass(frozen=True, kw_only=True)
class BallotCast(Event):
    item_id: str
    voter_id: str
    on_behalf_of: str | None
    choice: str
    candidate_id: str | Omitted = OMITTED  # a round's candidate (R24)


@event
@dataclass(frozen=True, kw_only=True)
class BallotChanged(Event):
    """R13: the voter's new choice, and the one it replaces."""

    item_id: str
    voter_id: str
    on_behalf_of: str | None
    choice: str
    previous_choice: str
    candidate_id: str | Omitted = OMITTED


@event
@dataclass(frozen=True, kw_only=True)
class PresidentDecision(Event):
    kind: str  # frozen_vote_continues (R17)
    item_id: str
    reason: str
    salles: list[str]


@event
@dataclass(frozen=True, kw_only=True)
class VoteClosed(Event):
    """A vote's counts and result: ``adopted``, ``casting_vote`` and ``president_choice`` for a
    motion or an amendment (R14); ``seat``, ``round``, ``appointed``, ``majority`` and
    ``tie_broken_by_age`` for a round (R24); ``not_voting`` since rules edition 2."""

    item_id: str
    counts: Counts
    electorate_size: int
    adopted: bool | Omitted = OMITTED
    casting_vote: bool | Omitted = OMITTED
    president_choice: str | Omitted | None = OMITTED
    amendment_id: str | Omitted = OMITTED
    not_voting: list[NotVoting] | Omitted = OMITTED
    seat: int | Omitted = OMITTED
    round: int | Omitted = OMITTED
    appointed: str | Omitted | None = OMITTED
    majority: str | Omitted = OMITTED
    tie_broken_by_age: bool | Omitted = OMITTED


# -- the floor ------------------------------------------------------------------------------------
@event
@dataclass(frozen=True, kw_only=True)
class FloorRequested(Event):
    member_id: str


@event
@dataclass(frozen=True, kw_only=True)
class FloorRequestWithdrawn(Event):
    member_id: str


@event
@dataclass(frozen=True, kw_only=True)
class FloorGranted(Event):
    member_id: str
    previous: str | None


@event
@dataclass(frozen=True, kw_only=True)
class FloorEnded(Event):
    member_id: str


# -- a document shown in séance (R26, issue 15 point 8) -------------------------------------------
@event
@dataclass(frozen=True, kw_only=True)
class AnnexPresented(Event):
    """An annex of the current item on the displays, from page 1 (its file's SHA-256 as convened)."""

    item_id: str
    annex_id: str
    sha256: str
    title: str
    pages: int


@event
@dataclass(frozen=True, kw_only=True)
class PresentationEnded(Event):
    annex_id: str
    sha256: str


#: events after which the journal signs the chain head (R21)
CHECKPOINT_EVENTS = frozenset({VoteClosed.__name__, SittingClosed.__name__})
