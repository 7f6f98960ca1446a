"""The state of a sitting and the pure ``apply(state, event)`` that evolves it.

Only events change the state, so replaying the journaled events rebuilds it exactly
(R18). Every value is plain JSON (str, int, bool, None, list, dict), each record typed in
:mod:`deliberation.records`: the canonical serialisation of :meth:`SeanceState.to_dict` is
the state's identity, used to show that a refused command changes nothing and that replay
is exact (tests/deliberation/test_journal_bytes.py keeps it byte for byte).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar, cast

from .events import (
    EVENT_TYPES,
    OMITTED,
    AmendmentProposed,
    AmendmentWithdrawn,
    AnnexPresented,
    AudioOnlyChanged,
    BallotCast,
    BallotChanged,
    BroadcastObjection,
    CandidaciesClosed,
    CandidacyRegistered,
    CheckedIn,
    CheckedOut,
    ConvertedToTeleconference,
    ConvocationAcknowledged,
    ConvocationSent,
    Event,
    FloorEnded,
    FloorGranted,
    FloorRequested,
    FloorRequestWithdrawn,
    ItemAdded,
    ItemPostponed,
    ItemTakenUp,
    ItemWithdrawn,
    MinutesLinked,
    MinutesSigned,
    NotVoting,
    Omitted,
    PresentationEnded,
    PresidentDecision,
    ProxyEnded,
    ProxyRecorded,
    PublicAppointmentDecided,
    PublicStreamChanged,
    QuorumFailed,
    RecordingDigest,
    SecretaryAppointed,
    SecretBallotRequested,
    SecretBallotRequestWithdrawn,
    SensitivePassage,
    SittingClosed,
    SittingOpened,
    SittingResumed,
    SittingSuspended,
    SuppleanceDeclared,
    TransmissionChanged,
    VoteClosed,
    VoteOpened,
    WithdrawalDeclared,
)
from .records import (
    Attendance,
    Convocation,
    Decision,
    FloorTurn,
    HeldProxy,
    Item,
    MediaSwitch,
    MinutesLink,
    Opening,
    Presentation,
    Proxy,
    ProxyLogEntry,
    QuorumFailure,
    Recording,
    SeatRecord,
    SensitiveSpan,
    SittingStatus,
    Suspension,
    Vote,
    VoteSubject,
)

T = TypeVar("T")
E = TypeVar("E", bound=Event)


@dataclass
class SeanceState:
    teleconference: bool = True
    status: SittingStatus = "convened"
    presence: dict[str, str] = field(default_factory=dict)  # member id -> salle id
    attendance: list[Attendance] = field(default_factory=list)
    suppleances: dict[str, str] = field(default_factory=dict)  # titulaire -> document ref
    #: titulaire -> the salle whose agent recorded the suppléance (R4): the suppléant sits there
    suppleance_salles: dict[str, str] = field(default_factory=dict)
    proxies: dict[str, Proxy] = field(default_factory=dict)  # giver -> active proxy
    proxy_log: list[ProxyLogEntry] = field(default_factory=list)
    transmitting: dict[str, bool] = field(default_factory=dict)
    audio_only: dict[str, bool] = field(default_factory=dict)
    broadcast_objections: dict[str, list[str]] = field(default_factory=dict)
    public_stream_up: bool = False
    media_log: list[MediaSwitch] = field(default_factory=list)  # R2/R3/R17 journaled switches
    secretary: str | None = None
    opening: Opening | None = None
    closed_at: str | None = None
    agenda: list[Item] = field(default_factory=list)
    current_item: str | None = None
    current_vote: str | None = None
    suspensions: list[Suspension] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    sensitive: bool = False
    sensitive_spans: list[SensitiveSpan] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    #: R6: per member, ``{sent_at, failures: [{at, reason}], acknowledged_at}`` as journaled
    convocations: dict[str, Convocation] = field(default_factory=dict)
    #: R22: per item, the procès-verbal it approves ``{sitting_id, sha256, at, signed: [{at, pdf_sha256}]}``
    minutes_links: dict[str, MinutesLink] = field(default_factory=dict)
    #: R8: the lack of quorum recorded before closing, ``{at, quorum, present, items}``
    quorum_failure: QuorumFailure | None = None
    #: the floor: the member speaking ``{member, since}`` and the queue of requests ``[{member, since}]``
    speaker: FloorTurn | None = None
    floor_queue: list[FloorTurn] = field(default_factory=list)
    #: the annex on the displays (issue 15 point 8, deliberation.presentation); it ends with its item
    presentation: Presentation | None = None

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeanceState:
        return cls(**copy.deepcopy(d))

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.agenda if i["id"] == item_id), None)

    def open_vote(self) -> tuple[Item, Vote] | None:
        """The item and the vote open on it (R16: one at a time), or None."""
        item = self.item(self.current_vote) if self.current_vote else None
        vote = open_vote_of(item) if item is not None else None
        return (item, vote) if item is not None and vote is not None else None

    def occupied_salles(self) -> list[str]:
        return sorted(set(self.presence.values()))

    def silent_salles(self) -> list[str]:
        """Occupied salles without live two-way transmission (R7, R16, R17)."""
        return [s for s in self.occupied_salles() if not self.transmitting.get(s, False)]

    def holder_proxy(self, holder_id: str) -> HeldProxy | None:
        """The active proxy a member holds, as ``{giver, ...}`` (R9: at most one)."""
        for giver, p in sorted(self.proxies.items()):
            if p["holder"] == holder_id:
                return {"giver": giver, **p}
        return None


def open_vote_of(item: Item) -> Vote | None:
    """The vote open on an item: its last, neither closed nor cancelled."""
    if item["votes"] and item["votes"][-1]["closed_at"] is None and item["votes"][-1]["cancelled_at"] is None:
        return item["votes"][-1]
    return None


def motion_vote(item: Item) -> Vote | None:
    """The vote on the item's motion itself (not an amendment, not a round), if held and not cancelled."""
    return next((v for v in item["votes"] if v["subject"] == "motion" and v["cancelled_at"] is None), None)


def seat_of_item(item: Item, seat: int | None) -> SeatRecord | None:
    return next((x for x in item["seats"] if x["seat"] == seat), None)


def seat_settled(seat: SeatRecord) -> bool:
    """A seat is filled, or its third round is over (R24)."""
    return seat["appointed"] is not None or seat["rounds"] >= 3


_Handler = Callable[[SeanceState, E], None]
#: event class -> the handler applying it, filled by :func:`_on`
_HANDLERS: dict[type[Event], _Handler[Event]] = {}


def _on(cls: type[E]) -> Callable[[_Handler[E]], _Handler[E]]:
    """Register the handler of an event class: a registered class (:func:`deliberation.events.event`), once."""

    def register(fn: _Handler[E]) -> _Handler[E]:
        if EVENT_TYPES.get(cls.__name__) is not cls:
            raise ValueError(f"event type {cls.__name__!r} is not registered in deliberation.events")
        if cls in _HANDLERS:
            raise ValueError(f"handler for {cls.__name__!r} already registered")
        _HANDLERS[cls] = cast(_Handler[Event], fn)
        return fn

    return register


def _or_none(value: T | Omitted) -> T | None:
    """A field the journal may omit, read as the state always read it (``None`` when absent)."""
    return None if value is OMITTED else value


def _given(value: T | Omitted, name: str) -> T:
    """A field this event must hold in this case (e.g. a round's result); ``ValueError`` if absent."""
    if value is OMITTED:
        raise ValueError(f"champ « {name} » absent")
    return value


def apply(state: SeanceState, event: Event) -> None:
    """Apply one event to the state in place. Pure with respect to the outside world."""
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise ValueError(f"unknown event type {event.type!r}")
    handler(state, event)
    if state.presentation is not None and state.presentation["item_id"] != state.current_item:
        state.presentation = None  # a document shown ends with its item (deliberation.presentation)


@_on(ItemAdded)
def _item_added(s: SeanceState, e: ItemAdded) -> None:
    body = _or_none(e.body)  # a nomination's body (rules edition 2)
    s.agenda.append(
        {
            "id": e.item_id,
            "title": e.title,
            "kind": e.kind,
            "matiere_code": e.matiere_code,
            "body": body,
            "status": "pending",
            "withdrawals": [],
            "secret_requests": [],
            "public_appointment": None,
            # every vote on the item, in order: amendments, then the motion; or the rounds (R24, R25)
            "votes": [],
            "amendments": [],
            "seats": [
                {"seat": n, "candidates": [], "appointed": None, "how": None, "rounds": 0}
                for n in range(1, body["seats"] + 1)
            ]
            if body
            else [],
            "candidacies_closed": False,
            "postponed": None,
            "withdrawn": None,
        }
    )


@_on(ConvertedToTeleconference)
def _converted(s: SeanceState, e: ConvertedToTeleconference) -> None:
    s.teleconference = True


@_on(CheckedIn)
def _checked_in(s: SeanceState, e: CheckedIn) -> None:
    s.presence[e.member_id] = e.salle_id
    s.attendance.append({"member": e.member_id, "salle": e.salle_id, "in": e.at, "out": None})


@_on(CheckedOut)
def _checked_out(s: SeanceState, e: CheckedOut) -> None:
    s.presence.pop(e.member_id, None)
    _leave_floor(s, e.member_id)  # whoever leaves the salle leaves the floor and its queue
    for a in reversed(s.attendance):
        if a["member"] == e.member_id and a["out"] is None:
            a["out"] = e.at
            break


@_on(SuppleanceDeclared)
def _suppleance(s: SeanceState, e: SuppleanceDeclared) -> None:
    s.suppleances[e.titulaire_id] = e.document_ref
    if e.salle_id is not OMITTED and e.salle_id:
        s.suppleance_salles[e.titulaire_id] = e.salle_id


@_on(ProxyRecorded)
def _proxy_recorded(s: SeanceState, e: ProxyRecorded) -> None:
    entry: Proxy = {
        "holder": e.holder_id,
        "document_ref": e.document_ref,
        "consecutive_sittings": e.consecutive_sittings,
        "illness_certified": e.illness_certified,
        "recorded_at": e.at,
    }
    s.proxies[e.giver_id] = entry
    s.proxy_log.append({"giver": e.giver_id, **entry, "ended_at": None, "ended_reason": None})


@_on(ProxyEnded)
def _proxy_ended(s: SeanceState, e: ProxyEnded) -> None:
    s.proxies.pop(e.giver_id, None)
    for p in reversed(s.proxy_log):
        if p["giver"] == e.giver_id and p["ended_at"] is None:
            p["ended_at"] = e.at
            p["ended_reason"] = e.reason
            break


@_on(SecretaryAppointed)
def _secretary(s: SeanceState, e: SecretaryAppointed) -> None:
    s.secretary = e.member_id


@_on(TransmissionChanged)
def _transmission(s: SeanceState, e: TransmissionChanged) -> None:
    s.transmitting[e.salle_id] = e.transmitting
    s.media_log.append({"at": e.at, "kind": "transmission", "salle": e.salle_id, "value": e.transmitting})


@_on(PublicStreamChanged)
def _public_stream(s: SeanceState, e: PublicStreamChanged) -> None:
    s.public_stream_up = e.up
    s.media_log.append({"at": e.at, "kind": "public_stream", "salle": None, "value": e.up})


@_on(AudioOnlyChanged)
def _audio_only(s: SeanceState, e: AudioOnlyChanged) -> None:
    s.audio_only[e.salle_id] = e.audio_only
    s.media_log.append({"at": e.at, "kind": "audio_only", "salle": e.salle_id, "value": e.audio_only})


@_on(BroadcastObjection)
def _objection(s: SeanceState, e: BroadcastObjection) -> None:
    people = [p for p in s.broadcast_objections.get(e.salle_id, []) if p != e.person]
    if e.objecting:
        people.append(e.person)
    s.broadcast_objections[e.salle_id] = sorted(people)


@_on(SittingOpened)
def _opened(s: SeanceState, e: SittingOpened) -> None:
    s.status = "opened"
    s.opening = {
        "at": e.at,
        "quorum": e.quorum,
        "salles": e.salles,
        "public_stream_up": e.public_stream_up,
        "secretary": e.secretary,
        "reconvened_after": e.reconvened_after,
    }


@_on(SittingSuspended)
def _suspended(s: SeanceState, e: SittingSuspended) -> None:
    s.status = "suspended"
    s.suspensions.append({"at": e.at, "reason": e.reason, "rule": e.rule, "salles": e.salles, "resumed_at": None})


@_on(SittingResumed)
def _resumed(s: SeanceState, e: SittingResumed) -> None:
    s.status = "opened"
    if s.suspensions:
        s.suspensions[-1]["resumed_at"] = e.at


@_on(ItemTakenUp)
def _item_taken_up(s: SeanceState, e: ItemTakenUp) -> None:
    s.current_item = e.item_id


@_on(WithdrawalDeclared)
def _withdrawal(s: SeanceState, e: WithdrawalDeclared) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["withdrawals"] = sorted({*item["withdrawals"], e.member_id})


@_on(SecretBallotRequested)
def _secret_requested(s: SeanceState, e: SecretBallotRequested) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["secret_requests"].append({"member": e.member_id, "at": e.at})


@_on(SecretBallotRequestWithdrawn)
def _secret_request_withdrawn(s: SeanceState, e: SecretBallotRequestWithdrawn) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["secret_requests"] = [r for r in item["secret_requests"] if r["member"] != e.member_id]


@_on(PublicAppointmentDecided)
def _appointment_public(s: SeanceState, e: PublicAppointmentDecided) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["public_appointment"] = True


@_on(ItemPostponed)
def _postponed(s: SeanceState, e: ItemPostponed) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["status"] = "postponed"
    item["postponed"] = {"at": e.at, "rule": e.rule, "mention": e.mention, "reason": e.reason}
    vote = open_vote_of(item)
    if vote is not None:
        vote["cancelled_at"] = e.at
        s.current_vote = None


@_on(ItemWithdrawn)
def _item_withdrawn(s: SeanceState, e: ItemWithdrawn) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["status"] = "withdrawn"
    item["withdrawn"] = {"at": e.at, "reason": e.reason}
    if s.current_item == e.item_id:
        s.current_item = None


@_on(AmendmentProposed)
def _amendment_proposed(s: SeanceState, e: AmendmentProposed) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["amendments"].append(
        {"id": e.amendment_id, "text": e.text, "author": e.author_id, "at": e.at, "status": "pending"}
    )


@_on(AmendmentWithdrawn)
def _amendment_withdrawn(s: SeanceState, e: AmendmentWithdrawn) -> None:
    item = s.item(e.item_id)
    assert item is not None
    for a in item["amendments"]:
        if a["id"] == e.amendment_id:
            a["status"] = "withdrawn"


@_on(CandidacyRegistered)
def _candidacy(s: SeanceState, e: CandidacyRegistered) -> None:
    item = s.item(e.item_id)
    assert item is not None
    seat = seat_of_item(item, e.seat)
    assert seat is not None
    seat["candidates"].append(e.member_id)


def _settle_nomination(item: Item) -> None:
    if item["seats"] and all(seat_settled(x) for x in item["seats"]):
        item["status"] = "voted"


@_on(CandidaciesClosed)
def _candidacies_closed(s: SeanceState, e: CandidaciesClosed) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["candidacies_closed"] = True
    for a in e.appointed:  # a single candidacy takes effect at once (L.2121-21 al. 5)
        seat = seat_of_item(item, a["seat"])
        assert seat is not None
        seat["appointed"], seat["how"] = a["member_id"], "candidature_unique"
    _settle_nomination(item)


@_on(VoteOpened)
def _vote_opened(s: SeanceState, e: VoteOpened) -> None:
    item = s.item(e.item_id)
    assert item is not None
    item["status"] = "voting"
    subject: VoteSubject = "amendment" if _or_none(e.amendment_id) else "round" if _or_none(e.seat) else "motion"
    item["votes"].append(
        {
            "subject": subject,
            "amendment_id": _or_none(e.amendment_id),
            "seat": _or_none(e.seat),
            "round": _or_none(e.round),
            "method": e.method,
            "opened_at": e.at,
            "electorate": e.electorate,
            "quorum": e.quorum,
            "ballots": [],
            "override": None,
            "closed_at": None,
            "cancelled_at": None,
            "counts": None,
            "result": None,
            "not_voting": None,
        }
    )
    if subject == "amendment":
        for a in item["amendments"]:
            if a["id"] == e.amendment_id:
                a["status"] = "voting"
    s.current_vote = e.item_id
    s.current_item = e.item_id


@_on(BallotCast)
def _ballot(s: SeanceState, e: BallotCast) -> None:
    item = s.item(e.item_id)
    assert item is not None
    vote = open_vote_of(item)
    assert vote is not None
    vote["ballots"].append(
        {
            "voter": e.voter_id,
            "on_behalf_of": e.on_behalf_of,
            "choice": e.choice,
            "candidate": _or_none(e.candidate_id),
            "at": e.at,
        }
    )


@_on(BallotChanged)
def _ballot_changed(s: SeanceState, e: BallotChanged) -> None:
    """R13: the voter's new choice replaces the previous one in place (the last choice
    counts); the journal keeps both."""
    item = s.item(e.item_id)
    assert item is not None
    vote = open_vote_of(item)
    assert vote is not None
    for b in vote["ballots"]:
        if b["voter"] == e.voter_id and b["on_behalf_of"] == e.on_behalf_of:
            b["changes"] = b.get("changes", 0) + 1
            b["choice"], b["candidate"], b["at"] = e.choice, _or_none(e.candidate_id), e.at


@_on(PresidentDecision)
def _decision(s: SeanceState, e: PresidentDecision) -> None:
    s.decisions.append({"at": e.at, "kind": e.kind, "item_id": e.item_id, "reason": e.reason, "salles": e.salles})
    if e.kind == "frozen_vote_continues":
        item = s.item(e.item_id)
        assert item is not None
        vote = open_vote_of(item)
        assert vote is not None
        vote["override"] = {"at": e.at, "reason": e.reason, "salles": e.salles}


def not_voting_slots(vote: Vote) -> list[NotVoting]:
    """Slots of the electorate with no ballot: « n'a pas pris part au vote » (no answer at a roll call)."""
    cast = {(b["voter"], b["on_behalf_of"]) for b in vote["ballots"]}
    return [
        {"voter": e["voter"], "on_behalf_of": e["on_behalf_of"], "reason": "sans_vote"}
        for e in vote["electorate"]
        if (e["voter"], e["on_behalf_of"]) not in cast
    ]


@_on(VoteClosed)
def _vote_closed(s: SeanceState, e: VoteClosed) -> None:
    item = s.item(e.item_id)
    assert item is not None
    vote = open_vote_of(item)
    assert vote is not None
    vote["closed_at"] = e.at
    vote["counts"] = e.counts
    # rules edition 1 did not record them: the electorate's slots without a ballot are they
    vote["not_voting"] = e.not_voting if e.not_voting is not OMITTED else not_voting_slots(vote)
    s.current_vote = None
    if vote["subject"] == "round":
        appointed = _given(e.appointed, "appointed")
        majority = _given(e.majority, "majority")
        by_age = _given(e.tie_broken_by_age, "tie_broken_by_age")
        vote["result"] = {"appointed": appointed, "majority": majority, "tie_broken_by_age": by_age}
        assert vote["seat"] is not None and vote["round"] is not None
        seat = seat_of_item(item, vote["seat"])
        assert seat is not None
        seat["rounds"] = vote["round"]
        if appointed is not None:
            seat["appointed"] = appointed
            seat["how"] = "age" if by_age else f"majorite_{majority}"
        item["status"] = "pending"
        _settle_nomination(item)
        return
    adopted = _given(e.adopted, "adopted")
    vote["result"] = {"adopted": adopted, "casting_vote": _given(e.casting_vote, "casting_vote")}
    if vote["subject"] == "amendment":
        item["status"] = "pending"
        for a in item["amendments"]:
            if a["id"] == vote["amendment_id"]:
                a["status"] = "adopted" if adopted else "rejected"
        return
    item["status"] = "voted"


@_on(SensitivePassage)
def _sensitive(s: SeanceState, e: SensitivePassage) -> None:
    s.sensitive = e.on
    if e.on:
        s.sensitive_spans.append({"from": e.at, "to": None, "reason": e.reason})
    elif s.sensitive_spans:
        s.sensitive_spans[-1]["to"] = e.at


@_on(RecordingDigest)
def _recording(s: SeanceState, e: RecordingDigest) -> None:
    s.recordings.append({"at": e.at, "sha256": e.sha256, "label": e.label})


@_on(ConvocationSent)
def _convocation_sent(s: SeanceState, e: ConvocationSent) -> None:
    record = s.convocations.setdefault(e.member_id, {"sent_at": None, "failures": [], "acknowledged_at": None})
    if e.sent:
        record["sent_at"] = record["sent_at"] or e.at
    else:
        record["failures"].append({"at": e.at, "reason": e.reason})


@_on(ConvocationAcknowledged)
def _convocation_acknowledged(s: SeanceState, e: ConvocationAcknowledged) -> None:
    s.convocations[e.member_id]["acknowledged_at"] = e.at


@_on(MinutesLinked)
def _minutes_linked(s: SeanceState, e: MinutesLinked) -> None:
    s.minutes_links[e.item_id] = {"sitting_id": e.sitting_id, "sha256": e.sha256, "at": e.at, "signed": []}


@_on(MinutesSigned)
def _minutes_signed(s: SeanceState, e: MinutesSigned) -> None:
    s.minutes_links[e.item_id]["signed"].append({"at": e.at, "pdf_sha256": e.pdf_sha256})


def _leave_floor(s: SeanceState, member_id: str) -> None:
    s.floor_queue = [q for q in s.floor_queue if q["member"] != member_id]
    if s.speaker is not None and s.speaker["member"] == member_id:
        s.speaker = None


@_on(FloorRequested)
def _floor_requested(s: SeanceState, e: FloorRequested) -> None:
    s.floor_queue.append({"member": e.member_id, "since": e.at})


@_on(FloorRequestWithdrawn)
def _floor_withdrawn(s: SeanceState, e: FloorRequestWithdrawn) -> None:
    s.floor_queue = [q for q in s.floor_queue if q["member"] != e.member_id]


@_on(FloorGranted)
def _floor_granted(s: SeanceState, e: FloorGranted) -> None:
    s.floor_queue = [q for q in s.floor_queue if q["member"] != e.member_id]
    s.speaker = {"member": e.member_id, "since": e.at}


@_on(FloorEnded)
def _floor_ended(s: SeanceState, e: FloorEnded) -> None:
    s.speaker = None


@_on(AnnexPresented)
def _annex_presented(s: SeanceState, e: AnnexPresented) -> None:
    s.presentation = {
        "item_id": e.item_id,
        "annex_id": e.annex_id,
        "sha256": e.sha256,
        "title": e.title,
        "pages": e.pages,
        "since": e.at,
    }


@_on(PresentationEnded)
def _presentation_ended(s: SeanceState, e: PresentationEnded) -> None:
    s.presentation = None


@_on(QuorumFailed)
def _quorum_failed(s: SeanceState, e: QuorumFailed) -> None:
    s.quorum_failure = {"at": e.at, "quorum": e.quorum, "present": e.present, "items": e.items}


@_on(SittingClosed)
def _closed(s: SeanceState, e: SittingClosed) -> None:
    s.status = "closed"
    s.closed_at = e.at
    s.current_item = None
    s.speaker = None
    s.floor_queue = []
    if s.sensitive_spans and s.sensitive_spans[-1]["to"] is None:
        s.sensitive_spans[-1]["to"] = e.at
    s.sensitive = False


def _check_every_event_applied() -> None:
    """Every registered event type has its handler (checked when the module loads)."""
    missing = sorted(name for name, cls in EVENT_TYPES.items() if cls not in _HANDLERS)
    if missing:
        raise ValueError(f"event types without a handler in deliberation.state: {missing}")


_check_every_event_applied()
