"""The state of a sitting and the pure ``apply(state, event)`` that evolves it.

Only events change the state, so replaying the journaled events rebuilds it exactly
(R18). Every value is plain JSON (str, int, bool, None, list, dict): the canonical
serialisation of :meth:`SeanceState.to_dict` is the state's identity, used to show that
a refused command changes nothing and that replay is exact.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

from .events import Event


@dataclass
class SeanceState:
    teleconference: bool = True
    status: str = "convened"  # convened | opened | suspended | closed
    presence: dict[str, str] = field(default_factory=dict)  # member id -> salle id
    attendance: list[dict[str, Any]] = field(default_factory=list)  # {member, salle, in, out}
    suppleances: dict[str, str] = field(default_factory=dict)  # titulaire -> document ref
    #: titulaire -> the salle whose agent recorded the suppléance (R4): the suppléant sits there
    suppleance_salles: dict[str, str] = field(default_factory=dict)
    proxies: dict[str, dict[str, Any]] = field(default_factory=dict)  # giver -> active proxy
    proxy_log: list[dict[str, Any]] = field(default_factory=list)
    transmitting: dict[str, bool] = field(default_factory=dict)
    audio_only: dict[str, bool] = field(default_factory=dict)
    broadcast_objections: dict[str, list[str]] = field(default_factory=dict)
    public_stream_up: bool = False
    media_log: list[dict[str, Any]] = field(default_factory=list)  # R2/R3/R17 journaled switches
    secretary: str | None = None
    opening: dict[str, Any] | None = None
    closed_at: str | None = None
    agenda: list[dict[str, Any]] = field(default_factory=list)
    current_item: str | None = None
    current_vote: str | None = None
    suspensions: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    sensitive: bool = False
    sensitive_spans: list[dict[str, Any]] = field(default_factory=list)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    #: R6: per member, ``{sent_at, failures: [{at, reason}], acknowledged_at}`` as journaled
    convocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: R22: per item, the procès-verbal it approves ``{sitting_id, sha256, at, signed: [{at, pdf_sha256}]}``
    minutes_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: R8: the lack of quorum recorded before closing, ``{at, quorum, present, items}``
    quorum_failure: dict[str, Any] | None = None
    #: the floor: the member speaking ``{member, since}`` and the queue of requests ``[{member, since}]``
    speaker: dict[str, Any] | None = None
    floor_queue: list[dict[str, Any]] = field(default_factory=list)
    #: the annex on the displays ``{item_id, annex_id, sha256, title, pages, since}`` (issue 15
    #: point 8, deliberation.presentation); it ends with its item
    presentation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeanceState:
        return cls(**copy.deepcopy(d))

    def item(self, item_id: str) -> dict[str, Any] | None:
        return next((i for i in self.agenda if i["id"] == item_id), None)

    def open_vote(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The item and the vote open on it (R16: one at a time), or None."""
        item = self.item(self.current_vote) if self.current_vote else None
        vote = open_vote_of(item) if item is not None else None
        return (item, vote) if item is not None and vote is not None else None

    def occupied_salles(self) -> list[str]:
        return sorted(set(self.presence.values()))

    def silent_salles(self) -> list[str]:
        """Occupied salles without live two-way transmission (R7, R16, R17)."""
        return [s for s in self.occupied_salles() if not self.transmitting.get(s, False)]

    def holder_proxy(self, holder_id: str) -> dict[str, Any] | None:
        """The active proxy a member holds, as ``{giver, ...}`` (R9: at most one)."""
        for giver, p in sorted(self.proxies.items()):
            if p["holder"] == holder_id:
                return {"giver": giver, **p}
        return None


def open_vote_of(item: dict[str, Any]) -> dict[str, Any] | None:
    """The vote open on an item: its last, neither closed nor cancelled."""
    if item["votes"] and item["votes"][-1]["closed_at"] is None and item["votes"][-1]["cancelled_at"] is None:
        last: dict[str, Any] = item["votes"][-1]
        return last
    return None


def motion_vote(item: dict[str, Any]) -> dict[str, Any] | None:
    """The vote on the item's motion itself (not an amendment, not a round), if held and not cancelled."""
    return next((v for v in item["votes"] if v["subject"] == "motion" and v["cancelled_at"] is None), None)


def seat_of_item(item: dict[str, Any], seat: int) -> dict[str, Any] | None:
    return next((x for x in item["seats"] if x["seat"] == seat), None)


def seat_settled(seat: dict[str, Any]) -> bool:
    """A seat is filled, or its third round is over (R24)."""
    return seat["appointed"] is not None or seat["rounds"] >= 3


def apply(state: SeanceState, event: Event) -> None:
    """Apply one event to the state in place. Pure with respect to the outside world."""
    handler = _HANDLERS.get(event.type)
    if handler is None:
        raise ValueError(f"unknown event type {event.type!r}")
    handler(state, event.at, event.data)
    if state.presentation is not None and state.presentation["item_id"] != state.current_item:
        state.presentation = None  # a document shown ends with its item (deliberation.presentation)


def _item_added(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    body = d.get("body")  # a nomination's body (rules edition 2)
    s.agenda.append(
        {
            "id": d["item_id"],
            "title": d["title"],
            "kind": d["kind"],
            "matiere_code": d["matiere_code"],
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


def _converted(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.teleconference = True


def _checked_in(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.presence[d["member_id"]] = d["salle_id"]
    s.attendance.append({"member": d["member_id"], "salle": d["salle_id"], "in": at, "out": None})


def _checked_out(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.presence.pop(d["member_id"], None)
    _leave_floor(s, d["member_id"])  # whoever leaves the salle leaves the floor and its queue
    for a in reversed(s.attendance):
        if a["member"] == d["member_id"] and a["out"] is None:
            a["out"] = at
            break


def _suppleance(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.suppleances[d["titulaire_id"]] = d["document_ref"]
    if d.get("salle_id"):
        s.suppleance_salles[d["titulaire_id"]] = d["salle_id"]


def _proxy_recorded(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    entry = {
        "holder": d["holder_id"],
        "document_ref": d["document_ref"],
        "consecutive_sittings": d["consecutive_sittings"],
        "illness_certified": d["illness_certified"],
        "recorded_at": at,
    }
    s.proxies[d["giver_id"]] = entry
    s.proxy_log.append({"giver": d["giver_id"], **entry, "ended_at": None, "ended_reason": None})


def _proxy_ended(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.proxies.pop(d["giver_id"], None)
    for p in reversed(s.proxy_log):
        if p["giver"] == d["giver_id"] and p["ended_at"] is None:
            p["ended_at"] = at
            p["ended_reason"] = d["reason"]
            break


def _secretary(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.secretary = d["member_id"]


def _transmission(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.transmitting[d["salle_id"]] = d["transmitting"]
    s.media_log.append({"at": at, "kind": "transmission", "salle": d["salle_id"], "value": d["transmitting"]})


def _public_stream(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.public_stream_up = d["up"]
    s.media_log.append({"at": at, "kind": "public_stream", "salle": None, "value": d["up"]})


def _audio_only(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.audio_only[d["salle_id"]] = d["audio_only"]
    s.media_log.append({"at": at, "kind": "audio_only", "salle": d["salle_id"], "value": d["audio_only"]})


def _objection(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    people = [p for p in s.broadcast_objections.get(d["salle_id"], []) if p != d["person"]]
    if d["objecting"]:
        people.append(d["person"])
    s.broadcast_objections[d["salle_id"]] = sorted(people)


def _opened(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.status = "opened"
    s.opening = {"at": at, **d}


def _suspended(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.status = "suspended"
    s.suspensions.append(
        {"at": at, "reason": d["reason"], "rule": d["rule"], "salles": d["salles"], "resumed_at": None}
    )


def _resumed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.status = "opened"
    if s.suspensions:
        s.suspensions[-1]["resumed_at"] = at


def _item_taken_up(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.current_item = d["item_id"]


def _withdrawal(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["withdrawals"] = sorted({*item["withdrawals"], d["member_id"]})


def _secret_requested(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["secret_requests"].append({"member": d["member_id"], "at": at})


def _secret_request_withdrawn(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["secret_requests"] = [r for r in item["secret_requests"] if r["member"] != d["member_id"]]


def _appointment_public(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["public_appointment"] = True


def _postponed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["status"] = "postponed"
    item["postponed"] = {"at": at, "rule": d["rule"], "mention": d["mention"], "reason": d["reason"]}
    vote = open_vote_of(item)
    if vote is not None:
        vote["cancelled_at"] = at
        s.current_vote = None


def _item_withdrawn(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["status"] = "withdrawn"
    item["withdrawn"] = {"at": at, "reason": d["reason"]}
    if s.current_item == d["item_id"]:
        s.current_item = None


def _amendment_proposed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["amendments"].append(
        {"id": d["amendment_id"], "text": d["text"], "author": d["author_id"], "at": at, "status": "pending"}
    )


def _amendment_withdrawn(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    for a in item["amendments"]:
        if a["id"] == d["amendment_id"]:
            a["status"] = "withdrawn"


def _candidacy(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    seat = seat_of_item(item, d["seat"])
    assert seat is not None
    seat["candidates"].append(d["member_id"])


def _settle_nomination(item: dict[str, Any]) -> None:
    if item["seats"] and all(seat_settled(x) for x in item["seats"]):
        item["status"] = "voted"


def _candidacies_closed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["candidacies_closed"] = True
    for a in d["appointed"]:  # a single candidacy takes effect at once (L.2121-21 al. 5)
        seat = seat_of_item(item, a["seat"])
        assert seat is not None
        seat["appointed"], seat["how"] = a["member_id"], "candidature_unique"
    _settle_nomination(item)


def _vote_opened(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["status"] = "voting"
    subject = "amendment" if d.get("amendment_id") else "round" if d.get("seat") else "motion"
    item["votes"].append(
        {
            "subject": subject,
            "amendment_id": d.get("amendment_id"),
            "seat": d.get("seat"),
            "round": d.get("round"),
            "method": d["method"],
            "opened_at": at,
            "electorate": d["electorate"],
            "quorum": d["quorum"],
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
            if a["id"] == d["amendment_id"]:
                a["status"] = "voting"
    s.current_vote = d["item_id"]
    s.current_item = d["item_id"]


def _ballot(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    vote = open_vote_of(item)
    assert vote is not None
    vote["ballots"].append(
        {
            "voter": d["voter_id"],
            "on_behalf_of": d["on_behalf_of"],
            "choice": d["choice"],
            "candidate": d.get("candidate_id"),
            "at": at,
        }
    )


def _ballot_changed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    """R13: the voter's new choice replaces the previous one in place (the last choice
    counts); the journal keeps both."""
    item = s.item(d["item_id"])
    assert item is not None
    vote = open_vote_of(item)
    assert vote is not None
    for b in vote["ballots"]:
        if b["voter"] == d["voter_id"] and b["on_behalf_of"] == d["on_behalf_of"]:
            b.update(choice=d["choice"], candidate=d.get("candidate_id"), at=at, changes=b.get("changes", 0) + 1)


def _decision(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.decisions.append({"at": at, **d})
    if d["kind"] == "frozen_vote_continues":
        item = s.item(d["item_id"])
        assert item is not None
        vote = open_vote_of(item)
        assert vote is not None
        vote["override"] = {"at": at, "reason": d["reason"], "salles": d["salles"]}


def not_voting_slots(vote: dict[str, Any]) -> list[dict[str, Any]]:
    """Slots of the electorate with no ballot: « n'a pas pris part au vote » (no answer at a roll call)."""
    cast = {(b["voter"], b["on_behalf_of"]) for b in vote["ballots"]}
    return [
        {"voter": e["voter"], "on_behalf_of": e["on_behalf_of"], "reason": "sans_vote"}
        for e in vote["electorate"]
        if (e["voter"], e["on_behalf_of"]) not in cast
    ]


def _vote_closed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    vote = open_vote_of(item)
    assert vote is not None
    vote["closed_at"] = at
    vote["counts"] = d["counts"]
    # rules edition 1 did not record them: the electorate's slots without a ballot are they
    vote["not_voting"] = d["not_voting"] if "not_voting" in d else not_voting_slots(vote)
    s.current_vote = None
    if vote["subject"] == "round":
        vote["result"] = {
            "appointed": d["appointed"],
            "majority": d["majority"],
            "tie_broken_by_age": d["tie_broken_by_age"],
        }
        seat = seat_of_item(item, vote["seat"])
        assert seat is not None
        seat["rounds"] = vote["round"]
        if d["appointed"] is not None:
            seat["appointed"] = d["appointed"]
            seat["how"] = "age" if d["tie_broken_by_age"] else f"majorite_{d['majority']}"
        item["status"] = "pending"
        _settle_nomination(item)
        return
    vote["result"] = {"adopted": d["adopted"], "casting_vote": d["casting_vote"]}
    if vote["subject"] == "amendment":
        item["status"] = "pending"
        for a in item["amendments"]:
            if a["id"] == vote["amendment_id"]:
                a["status"] = "adopted" if d["adopted"] else "rejected"
        return
    item["status"] = "voted"


def _sensitive(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.sensitive = d["on"]
    if d["on"]:
        s.sensitive_spans.append({"from": at, "to": None, "reason": d["reason"]})
    elif s.sensitive_spans:
        s.sensitive_spans[-1]["to"] = at


def _recording(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.recordings.append({"at": at, "sha256": d["sha256"], "label": d["label"]})


def _convocation_sent(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    record = s.convocations.setdefault(d["member_id"], {"sent_at": None, "failures": [], "acknowledged_at": None})
    if d["sent"]:
        record["sent_at"] = record["sent_at"] or at
    else:
        record["failures"].append({"at": at, "reason": d["reason"]})


def _convocation_acknowledged(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.convocations[d["member_id"]]["acknowledged_at"] = at


def _minutes_linked(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.minutes_links[d["item_id"]] = {"sitting_id": d["sitting_id"], "sha256": d["sha256"], "at": at, "signed": []}


def _minutes_signed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.minutes_links[d["item_id"]]["signed"].append({"at": at, "pdf_sha256": d["pdf_sha256"]})


def _leave_floor(s: SeanceState, member_id: str) -> None:
    s.floor_queue = [q for q in s.floor_queue if q["member"] != member_id]
    if s.speaker is not None and s.speaker["member"] == member_id:
        s.speaker = None


def _floor_requested(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.floor_queue.append({"member": d["member_id"], "since": at})


def _floor_withdrawn(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.floor_queue = [q for q in s.floor_queue if q["member"] != d["member_id"]]


def _floor_granted(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.floor_queue = [q for q in s.floor_queue if q["member"] != d["member_id"]]
    s.speaker = {"member": d["member_id"], "since": at}


def _floor_ended(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.speaker = None


def _annex_presented(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.presentation = {k: d[k] for k in ("item_id", "annex_id", "sha256", "title", "pages")} | {"since": at}


def _presentation_ended(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.presentation = None


def _quorum_failed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.quorum_failure = {"at": at, "quorum": d["quorum"], "present": d["present"], "items": d["items"]}


def _closed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.status = "closed"
    s.closed_at = at
    s.current_item = None
    s.speaker = None
    s.floor_queue = []
    if s.sensitive_spans and s.sensitive_spans[-1]["to"] is None:
        s.sensitive_spans[-1]["to"] = at
    s.sensitive = False


_HANDLERS = {
    "ItemAdded": _item_added,
    "ConvertedToTeleconference": _converted,
    "CheckedIn": _checked_in,
    "CheckedOut": _checked_out,
    "SuppleanceDeclared": _suppleance,
    "ProxyRecorded": _proxy_recorded,
    "ProxyEnded": _proxy_ended,
    "SecretaryAppointed": _secretary,
    "TransmissionChanged": _transmission,
    "PublicStreamChanged": _public_stream,
    "AudioOnlyChanged": _audio_only,
    "BroadcastObjection": _objection,
    "SittingOpened": _opened,
    "SittingSuspended": _suspended,
    "SittingResumed": _resumed,
    "ItemTakenUp": _item_taken_up,
    "WithdrawalDeclared": _withdrawal,
    "SecretBallotRequested": _secret_requested,
    "SecretBallotRequestWithdrawn": _secret_request_withdrawn,
    "PublicAppointmentDecided": _appointment_public,
    "ItemPostponed": _postponed,
    "ItemWithdrawn": _item_withdrawn,
    "AmendmentProposed": _amendment_proposed,
    "AmendmentWithdrawn": _amendment_withdrawn,
    "CandidacyRegistered": _candidacy,
    "CandidaciesClosed": _candidacies_closed,
    "QuorumFailed": _quorum_failed,
    "VoteOpened": _vote_opened,
    "BallotCast": _ballot,
    "BallotChanged": _ballot_changed,
    "PresidentDecision": _decision,
    "VoteClosed": _vote_closed,
    "SensitivePassage": _sensitive,
    "RecordingDigest": _recording,
    "ConvocationSent": _convocation_sent,
    "ConvocationAcknowledged": _convocation_acknowledged,
    "MinutesLinked": _minutes_linked,
    "MinutesSigned": _minutes_signed,
    "SittingClosed": _closed,
    "FloorRequested": _floor_requested,
    "FloorRequestWithdrawn": _floor_withdrawn,
    "FloorGranted": _floor_granted,
    "FloorEnded": _floor_ended,
    "AnnexPresented": _annex_presented,
    "PresentationEnded": _presentation_ended,
}

#: every event type ``apply`` knows (docs/journal.md lists them)
EVENT_TYPES = frozenset(_HANDLERS)
