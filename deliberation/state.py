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
    #: the floor: the member speaking ``{member, since}`` and the queue of requests ``[{member, since}]``
    speaker: dict[str, Any] | None = None
    floor_queue: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeanceState:
        return cls(**copy.deepcopy(d))

    def item(self, item_id: str) -> dict[str, Any] | None:
        return next((i for i in self.agenda if i["id"] == item_id), None)

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


def apply(state: SeanceState, event: Event) -> None:
    """Apply one event to the state in place. Pure with respect to the outside world."""
    handler = _HANDLERS.get(event.type)
    if handler is None:
        raise ValueError(f"unknown event type {event.type!r}")
    handler(state, event.at, event.data)


def _item_added(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.agenda.append(
        {
            "id": d["item_id"],
            "title": d["title"],
            "kind": d["kind"],
            "matiere_code": d["matiere_code"],
            "status": "pending",
            "withdrawals": [],
            "secret_requests": [],
            "public_appointment": None,
            "vote": None,
            "postponed": None,
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


def _appointment_public(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["public_appointment"] = True


def _postponed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["status"] = "postponed"
    item["postponed"] = {"at": at, "rule": d["rule"], "mention": d["mention"], "reason": d["reason"]}
    if item["vote"] is not None and item["vote"]["closed_at"] is None:
        item["vote"]["cancelled_at"] = at
        s.current_vote = None


def _vote_opened(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None
    item["status"] = "voting"
    item["vote"] = {
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
    }
    s.current_vote = d["item_id"]
    s.current_item = d["item_id"]


def _ballot(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None and item["vote"] is not None
    item["vote"]["ballots"].append(
        {"voter": d["voter_id"], "on_behalf_of": d["on_behalf_of"], "choice": d["choice"], "at": at}
    )


def _decision(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.decisions.append({"at": at, **d})
    if d["kind"] == "frozen_vote_continues":
        item = s.item(d["item_id"])
        assert item is not None and item["vote"] is not None
        item["vote"]["override"] = {"at": at, "reason": d["reason"], "salles": d["salles"]}


def _vote_closed(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    item = s.item(d["item_id"])
    assert item is not None and item["vote"] is not None
    item["status"] = "voted"
    item["vote"]["closed_at"] = at
    item["vote"]["counts"] = d["counts"]
    item["vote"]["result"] = {"adopted": d["adopted"], "casting_vote": d["casting_vote"]}
    s.current_vote = None


def _sensitive(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.sensitive = d["on"]
    if d["on"]:
        s.sensitive_spans.append({"from": at, "to": None, "reason": d["reason"]})
    elif s.sensitive_spans:
        s.sensitive_spans[-1]["to"] = at


def _recording(s: SeanceState, at: str, d: dict[str, Any]) -> None:
    s.recordings.append({"at": at, "sha256": d["sha256"], "label": d["label"]})


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
    "PublicAppointmentDecided": _appointment_public,
    "ItemPostponed": _postponed,
    "VoteOpened": _vote_opened,
    "BallotCast": _ballot,
    "PresidentDecision": _decision,
    "VoteClosed": _vote_closed,
    "SensitivePassage": _sensitive,
    "RecordingDigest": _recording,
    "SittingClosed": _closed,
    "FloorRequested": _floor_requested,
    "FloorRequestWithdrawn": _floor_withdrawn,
    "FloorGranted": _floor_granted,
    "FloorEnded": _floor_ended,
}
