"""A sitting (séance) as a state machine: convened → opened → (suspended ↔ opened) → closed.

``Seance.decide(command, actor)`` is pure: it returns the events the command causes or a
:class:`Refusal` naming the rule (shared/RULES.md) with a French message, and changes
nothing. ``Seance.apply(event)`` evolves the state; ``handle`` is decide-then-apply for
callers without a journal. The shell journals the events (R18) before applying them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypedDict

from . import ballot, presentation, quorum
from .actors import Actor, Role
from .agenda import AMENDABLE_KINDS, KIND_LABELS, ItemKind, banned_reason, is_voted
from .canonical import canonical_bytes
from .commands import (
    AddAgendaItem,
    AppointSecretary,
    CastBallot,
    CheckIn,
    CheckOut,
    CloseCandidacies,
    CloseSitting,
    CloseVote,
    Command,
    ConvertToTeleconference,
    DecideAppointmentBallot,
    DecideFrozenVote,
    DeclareSuppleance,
    DeclareWithdrawal,
    EndFloor,
    GrantFloor,
    LinkMinutes,
    MarkSensitive,
    ObjectToBroadcast,
    OpenSitting,
    OpenVote,
    PresentAnnex,
    ProposeAmendment,
    RecordConvocationReceipt,
    RecordConvocationSending,
    RecordMinutesSigned,
    RecordProxy,
    RecordQuorumFailure,
    RecordRecordingDigest,
    RegisterCandidacy,
    ReportPublicStream,
    ReportTransmission,
    RequestFloor,
    RequestSecretBallot,
    Resume,
    RevokeProxy,
    SetAudioOnly,
    StopPresentation,
    Suspend,
    TakeUpItem,
    WithdrawAmendment,
    WithdrawFloorRequest,
    WithdrawItem,
    WithdrawSecretBallotRequest,
)
from .council import Council, Seat, SittingConfig
from .deadlines import reconvocation_ok
from .events import (
    OMITTED,
    AmendmentProposed,
    AmendmentWithdrawn,
    Appointment,
    AudioOnlyChanged,
    BallotCast,
    BallotChanged,
    BodyRecord,
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
    PresidentDecision,
    ProxyEnded,
    ProxyRecorded,
    PublicAppointmentDecided,
    PublicStreamChanged,
    QuorumFailed,
    RecordingDigest,
    SalleAtOpening,
    SecretaryAppointed,
    SecretBallotRequested,
    SecretBallotRequestWithdrawn,
    SensitivePassage,
    SittingClosed,
    SittingOpened,
    SittingResumed,
    SittingSuspended,
    Slot,
    SuppleanceDeclared,
    TransmissionChanged,
    VoteClosed,
    VoteOpened,
    WithdrawalDeclared,
)
from .french import agreed, de
from .labels import POSTPONED_MENTION
from .proxies import check_new_proxy
from .records import Amendment, Item, Vote
from .refusal import ROLE, SCHEMA, UNKNOWN, Refusal
from .state import SeanceState, apply, not_voting_slots, seat_of_item, seat_settled

Decision = list[Event] | Refusal


class Seance:
    """One sitting of one council. Not thread-safe; one sitting lives in one process."""

    def __init__(self, council: Council, config: SittingConfig, state: SeanceState | None = None) -> None:
        self.council = council
        self.config = config
        self.state = state if state is not None else SeanceState(teleconference=config.teleconference)

    # -- the functional core ---------------------------------------------------------------
    def decide(self, command: Command, actor: Actor) -> Decision:
        """The events ``command`` causes, or the refusal; never changes the state."""
        if not isinstance(command, Command):
            return Refusal(SCHEMA, "Commande inconnue.", "type")
        invalid = command.validate()
        if invalid is None and self.rules_version >= 3:
            invalid = command.too_long()
        if invalid is not None:
            return invalid
        if self.state.status == "closed":
            return Refusal("R11", "R11 — la séance est close : plus rien ne peut y être voté ni enregistré.")
        handler = _DECIDERS[type(command)]
        return handler(self, command, actor)

    def apply(self, event: Event) -> None:
        apply(self.state, event)

    def handle(self, command: Command, actor: Actor) -> Decision:
        """Decide, then apply the events (no journal: tests and in-memory use)."""
        result = self.decide(command, actor)
        if isinstance(result, Refusal):
            return result
        for event in result:
            self.apply(event)
        return result

    @classmethod
    def replay(cls, council: Council, config: SittingConfig, events: Iterable[Event]) -> Seance:
        seance = cls(council, config)
        for event in events:
            seance.apply(event)
        return seance

    # -- views -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"council": self.council.to_dict(), "config": self.config.to_dict(), "state": self.state.to_dict()}

    def canonical(self) -> bytes:
        """The state's identity: its canonical JSON (used to prove refusals change nothing)."""
        return canonical_bytes(self.snapshot())

    @property
    def rules_version(self) -> int:
        return self.config.rules_version

    @property
    def failed_sitting_date(self) -> str | None:
        """R8: the date of the sitting without quorum this one is convened again after, if so."""
        if self.rules_version < 2:
            return self.config.reconvened_after
        rc = self.config.reconvened_from
        return rc.scheduled_at[:10] if rc is not None else None

    @property
    def quorum_waived(self) -> bool:
        """R8: a re-convocation at least 3 clear days after a sitting without quorum
        (L.2121-17 al. 2): the sitting opens and resumes without quorum."""
        after = self.failed_sitting_date
        return after is not None and reconvocation_ok(after, self.config.scheduled_at)

    def quorum_waived_for(self, item_id: str | None) -> bool:
        """R8: the waiver for an item. Edition 1 waived it for every item; edition 2 only for
        the items of the failed sitting's agenda (L.2121-17 al. 2: « sur le même ordre du jour »)."""
        if not self.quorum_waived:
            return False
        item = self.state.item(item_id) if item_id else None
        rc = self.config.reconvened_from
        if item is None or self.rules_version < 2 or rc is None:
            return True
        return rc.covers(item["id"], item["title"])

    def quorum(self, item_id: str | None = None) -> quorum.QuorumCount:
        item = self.state.item(item_id) if item_id else None
        exclude = item["withdrawals"] if item else ()
        return quorum.count(self.council, self.state.presence, exclude, self.quorum_waived_for(item_id))

    def opening_blockers(self) -> list[Refusal]:
        """Every reason the sitting cannot open now (for the president's screen)."""
        return [r for r in (_r7_silent(self), _r2_stream(self), _r8(self, None), _r10(self)) if r is not None]

    def name(self, member_id: str | None) -> str:
        m = self.council.member(member_id) if member_id else None
        return m.name if m else str(member_id)

    def agree(self, member_id: str | None, word: str) -> str:
        """``word`` agreed with the member's civilité (:func:`deliberation.french.agreed`)."""
        m = self.council.member(member_id) if member_id else None
        return agreed(word, m.feminine if m else None)


# -- shared checks ---------------------------------------------------------------------------
def _president(s: Seance, actor: Actor, what: str) -> Refusal | None:
    if actor.role != Role.PRESIDENT or actor.member_id != s.council.president_id:
        return Refusal(ROLE, f"Seul le président peut {what}.")
    return None


def _agent_of(s: Seance, actor: Actor, salle_id: str) -> Refusal | None:
    """R4: only the agent of a salle records entries, exits and proxies there."""
    agent = s.council.agent(actor.agent_id) if actor.agent_id else None
    if actor.role != Role.AGENT or agent is None or actor.salle_id != salle_id or agent.salle_id != salle_id:
        salle = s.council.salle(salle_id)
        return Refusal(
            "R4",
            f"R4 — seul l'agent de la salle « {salle.name if salle else salle_id} » y enregistre les entrées, sorties et pouvoirs.",
        )
    return None


def _r7_silent(s: Seance) -> Refusal | None:
    occupied = s.state.occupied_salles()
    if not occupied:
        return Refusal("R7", "R7 — aucun conseiller n'est enregistré présent dans une salle désignée.")
    silent = s.state.silent_salles()
    if silent:
        names = ", ".join(_salle_name(s, x) for x in silent)
        return Refusal(
            "R7", f"R7 — transmission non établie dans : {names}. Chaque salle occupée doit émettre et recevoir."
        )
    return None


def _r2_stream(s: Seance) -> Refusal | None:
    if s.state.teleconference and not s.state.public_stream_up:
        return Refusal(
            "R2",
            "R2 — la retransmission publique sur le site internet n'est pas prête : aucune salle ne transmet encore.",
        )
    return None


def _r8(s: Seance, item_id: str | None) -> Refusal | None:
    q = s.quorum(item_id)
    return None if q.reached else Refusal("R8", q.message())


def _r10(s: Seance) -> Refusal | None:
    if s.state.secretary is None:
        return Refusal("R10", "R10 — le secrétaire de séance doit être désigné à l'ouverture.")
    return None


def _salle_name(s: Seance, salle_id: str) -> str:
    salle = s.council.salle(salle_id)
    return salle.name if salle else salle_id


def _body_type(item: Item) -> str | None:
    return item["body"]["type"] if item["body"] else None


def _item(s: Seance, item_id: str) -> Item | Refusal:
    item = s.state.item(item_id)
    if item is None:
        return Refusal(UNKNOWN, f"Point « {item_id} » absent de l'ordre du jour.", "item_id")
    return item


def _active(s: Seance) -> Refusal | None:
    if s.state.status == "convened":
        return Refusal("R7", "R7 — la séance n'est pas encore ouverte.")
    return None


# -- agenda (R6, R12) ---------------------------------------------------------------------------
def _add_item(s: Seance, c: AddAgendaItem, actor: Actor) -> Decision:
    if actor.role not in (Role.ADMIN, Role.PRESIDENT):
        return Refusal(ROLE, "Seuls l'administrateur et le président construisent l'ordre du jour.")
    if s.state.status != "convened":
        return Refusal(
            "R6", "R6 — l'ordre du jour est celui de la convocation : il ne change plus une fois la séance ouverte."
        )
    if s.state.item(c.item_id) is not None:
        return Refusal(SCHEMA, f"Champ « item_id » : le point « {c.item_id} » existe déjà.", "item_id")
    if c.kind == ItemKind.APPOINTMENT and c.body is None and s.rules_version >= 2:
        return Refusal(
            "R12",
            "R12 — une nomination précise l'organe dont elle pourvoit les sièges (commission du conseil, organisme "
            "extérieur, EPCI ou syndicat) : c'est lui qui dit si elle peut se tenir en visioconférence.",
            "body",
        )
    reason = banned_reason(c.kind, c.body)
    if s.state.teleconference and reason:
        return Refusal(
            "R12",
            f"R12 — {reason} ne peut pas être inscrite à l'ordre du jour d'une séance en visioconférence "
            "(L.5211-11-1) : convoquez une séance en présentiel.",
            "body" if c.body is not None else "kind",
        )
    body: BodyRecord | Omitted = OMITTED
    if c.body is not None:
        body = {"type": c.body, "name": c.body_name.strip(), "seats": c.seats}
    return [ItemAdded(c.at, item_id=c.item_id, title=c.title, kind=c.kind, matiere_code=c.matiere_code, body=body)]


def _convert(s: Seance, c: ConvertToTeleconference, actor: Actor) -> Decision:
    if actor.role not in (Role.ADMIN, Role.PRESIDENT):
        return Refusal(ROLE, "Seuls l'administrateur et le président convertissent une séance en visioconférence.")
    if s.state.status != "convened":
        return Refusal("R6", "R6 — une séance ouverte ne change plus de forme.")
    if s.state.teleconference:
        return Refusal("R12", "R12 — la séance est déjà convoquée en visioconférence.")
    banned = [f"« {i['title']} »" for i in s.state.agenda if banned_reason(i["kind"], _body_type(i))]
    if banned:
        return Refusal(
            "R12", f"R12 — conversion en visioconférence impossible : l'ordre du jour comporte {', '.join(banned)}."
        )
    return [ConvertedToTeleconference(c.at)]


# -- places and people (R1, R4, R9, R10) ---------------------------------------------------------
def _check_in(s: Seance, c: CheckIn, actor: Actor) -> Decision:
    if (r := _agent_of(s, actor, c.salle_id)) is not None:
        return r
    salle = s.council.salle(c.salle_id)
    if salle is None or not salle.designated:
        return Refusal(
            "R1",
            f"R1 — « {c.salle_id} » n'est pas une salle désignée par délibération : nul n'y est compté présent.",
            "salle_id",
        )
    member = s.council.member(c.member_id)
    if member is None:
        return Refusal(UNKNOWN, f"Conseiller « {c.member_id} » inconnu.", "member_id")
    if c.member_id in s.state.presence:
        return Refusal(
            "R4",
            f"R4 — {member.name} est déjà {s.agree(member.id, 'enregistré')} {s.agree(member.id, 'présent')} "
            f"({_salle_name(s, s.state.presence[c.member_id])}).",
            "member_id",
        )
    if member.seat == Seat.SUPPLEANT:
        tit = member.replaces or ""
        if tit not in s.state.suppleances:
            return Refusal(
                "R9",
                f"R9 — {member.name}, {s.agree(member.id, 'suppléant')}, ne siège que si le titulaire absent en a informé "
                "le président (L.5211-6).",
                "member_id",
            )
        if tit in s.state.presence:
            return Refusal(
                "R9", f"R9 — le titulaire {s.name(tit)} est présent : son suppléant ne siège pas.", "member_id"
            )
        where = s.state.suppleance_salles.get(tit)
        if where is not None and where != c.salle_id:
            return Refusal(
                "R4",
                f"R4 — la suppléance {de(s.name(tit))} est enregistrée par l'agent de « {_salle_name(s, where)} » : "
                f"{member.name} y siège.",
                "salle_id",
            )
    else:
        supp = s.council.suppleant_of(member.id)
        if supp is not None and supp.id in s.state.presence:
            return Refusal("R9", f"R9 — {supp.name} siège en suppléance : enregistrez d'abord sa sortie.", "member_id")
    events: list[Event] = [CheckedIn(c.at, member_id=c.member_id, salle_id=c.salle_id)]
    if c.member_id in s.state.proxies:  # R9: a proxy ends when its giver checks in
        events.append(ProxyEnded(c.at, giver_id=c.member_id, reason="giver_arrived"))
    return events


def _check_out(s: Seance, c: CheckOut, actor: Actor) -> Decision:
    if (r := _agent_of(s, actor, c.salle_id)) is not None:
        return r
    if s.state.presence.get(c.member_id) != c.salle_id:
        return Refusal(
            "R4",
            f"R4 — {s.name(c.member_id)} n'est pas {s.agree(c.member_id, 'enregistré')} "
            f"{s.agree(c.member_id, 'présent')} dans cette salle.",
            "member_id",
        )
    return [CheckedOut(c.at, member_id=c.member_id, salle_id=c.salle_id)]


def _suppleance(s: Seance, c: DeclareSuppleance, actor: Actor) -> Decision:
    """L.5211-6 (R9), recorded by the president or by the agent of the salle where the
    suppléant sits (R4, as for a check-in). Edition 1 compared the agent's salle with
    itself: any agent recorded any suppléance."""
    if actor.role not in (Role.PRESIDENT, Role.AGENT) or (
        actor.role == Role.PRESIDENT and _president(s, actor, "") is not None
    ):
        return Refusal(ROLE, "Seuls le président ou un agent de salle enregistrent une suppléance.")
    if actor.role == Role.AGENT and s.rules_version < 2:
        if (r := _agent_of(s, actor, actor.salle_id or "")) is not None:
            return r
    elif actor.role == Role.AGENT:
        if c.salle_id is None:
            return Refusal(
                "R4",
                "R4 — l'agent enregistre une suppléance pour sa salle : précisez la salle où siège le suppléant.",
                "salle_id",
            )
        if (r := _agent_of(s, actor, c.salle_id)) is not None:
            return r
    if c.salle_id is not None:
        salle = s.council.salle(c.salle_id)
        if salle is None or not salle.designated:
            return Refusal("R1", f"R1 — « {c.salle_id} » n'est pas une salle désignée par délibération.", "salle_id")
    tit = s.council.member(c.titulaire_id)
    if tit is None or tit.seat != Seat.TITULAIRE:
        return Refusal(UNKNOWN, f"Titulaire « {c.titulaire_id} » inconnu.", "titulaire_id")
    if s.council.suppleant_of(tit.id) is None:
        return Refusal(
            "R9",
            f"R9 — {tit.name} n'a pas de suppléant (commune à plusieurs conseillers : pouvoir seulement).",
            "titulaire_id",
        )
    if tit.id in s.state.presence:
        return Refusal("R9", f"R9 — {tit.name} est {s.agree(tit.id, 'présent')} : pas de suppléance.", "titulaire_id")
    if tit.id in s.state.proxies:
        return Refusal(
            "R9", f"R9 — {tit.name} a donné pouvoir : révoquez-le avant d'appeler le suppléant.", "titulaire_id"
        )
    if tit.id in s.state.suppleances:
        return Refusal("R9", f"R9 — la suppléance {de(tit.name)} est déjà enregistrée.", "titulaire_id")
    if not c.document_ref.strip():
        return Refusal("R9", "R9 — la référence de l'information du président est obligatoire.", "document_ref")
    where = {"salle_id": c.salle_id} if c.salle_id is not None else {}
    return [SuppleanceDeclared(c.at, titulaire_id=c.titulaire_id, document_ref=c.document_ref, **where)]


def _record_proxy(s: Seance, c: RecordProxy, actor: Actor) -> Decision:
    holder_salle = s.state.presence.get(c.holder_id)
    if holder_salle is not None and (r := _agent_of(s, actor, holder_salle)) is not None:
        return r
    if holder_salle is None and actor.role != Role.AGENT:
        return Refusal("R4", "R4 — seul l'agent de la salle du mandataire enregistre un pouvoir.")
    if (r := check_new_proxy(s.council, s.state, c)) is not None:
        return r
    return [
        ProxyRecorded(
            c.at,
            giver_id=c.giver_id,
            holder_id=c.holder_id,
            document_ref=c.document_ref,
            consecutive_sittings=c.consecutive_sittings,
            illness_certified=c.illness_certified,
        )
    ]


def _revoke_proxy(s: Seance, c: RevokeProxy, actor: Actor) -> Decision:
    proxy = s.state.proxies.get(c.giver_id)
    if proxy is None:
        return Refusal("R9", f"R9 — {s.name(c.giver_id)} n'a pas de pouvoir en cours.", "giver_id")
    holder_salle = s.state.presence.get(proxy["holder"])
    if actor.role == Role.PRESIDENT:
        if (r := _president(s, actor, "révoquer un pouvoir")) is not None:
            return r
    elif holder_salle is not None:
        if (r := _agent_of(s, actor, holder_salle)) is not None:
            return r
    elif actor.role != Role.AGENT or s.council.agent(actor.agent_id or "") is None:
        return Refusal("R4", "R4 — seuls un agent de salle ou le président enregistrent la révocation d'un pouvoir.")
    return [ProxyEnded(c.at, giver_id=c.giver_id, reason="revoked")]


def _secretary(s: Seance, c: AppointSecretary, actor: Actor) -> Decision:
    if (r := _president(s, actor, "proposer le secrétaire de séance")) is not None:
        return r
    member = s.council.member(c.member_id)
    if member is None:
        return Refusal(UNKNOWN, f"Conseiller « {c.member_id} » inconnu.", "member_id")
    if c.member_id not in s.state.presence:
        return Refusal(
            "R10",
            f"R10 — {member.name} n'est pas {s.agree(member.id, 'présent')} : le secrétaire est désigné parmi les membres présents.",
            "member_id",
        )
    if s.state.secretary == c.member_id:
        return Refusal("R10", f"R10 — {member.name} est déjà secrétaire de séance.", "member_id")
    return [SecretaryAppointed(c.at, member_id=c.member_id)]


# -- media plane port (R2, R3, R7, R17, R20) -------------------------------------------------------
def _transmission(s: Seance, c: ReportTransmission, actor: Actor) -> Decision:
    if actor.role != Role.SYSTEM:
        return Refusal(ROLE, "R7 — la transmission est mesurée par le serveur média, elle ne se déclare pas.")
    if s.council.salle(c.salle_id) is None:
        return Refusal(UNKNOWN, f"Salle « {c.salle_id} » inconnue.", "salle_id")
    if s.state.transmitting.get(c.salle_id, False) == c.transmitting:
        return []
    events: list[Event] = [TransmissionChanged(c.at, salle_id=c.salle_id, transmitting=c.transmitting)]
    if not c.transmitting and s.state.status == "opened" and c.salle_id in s.state.occupied_salles():
        events.append(
            SittingSuspended(
                c.at,
                rule="R17",
                salles=[c.salle_id],
                frozen_vote=s.state.current_vote,
                reason=f"perte de transmission : {_salle_name(s, c.salle_id)}",
            )
        )
    return events


def _public_stream(s: Seance, c: ReportPublicStream, actor: Actor) -> Decision:
    if actor.role != Role.SYSTEM:
        return Refusal(ROLE, "R2 — l'état de la retransmission publique est mesuré, il ne se déclare pas.")
    if s.state.public_stream_up == c.up:
        return []
    return [PublicStreamChanged(c.at, up=c.up)]


def _audio_only(s: Seance, c: SetAudioOnly, actor: Actor) -> Decision:
    automatic = actor.role == Role.SYSTEM  # the media plane measured the salle's link (R3)
    chair = actor.role in (Role.PRESIDENT, Role.MODERATOR)
    if not (automatic or chair) and (r := _agent_of(s, actor, c.salle_id)) is not None:
        return r
    if s.council.salle(c.salle_id) is None:
        return Refusal(UNKNOWN, f"Salle « {c.salle_id} » inconnue.", "salle_id")
    if s.state.audio_only.get(c.salle_id, False) == c.audio_only:
        return Refusal(
            "R3",
            f"R3 — la salle « {_salle_name(s, c.salle_id)} » est déjà {'en audio seul' if c.audio_only else 'en vidéo'}.",
        )
    return [
        AudioOnlyChanged(
            c.at,
            salle_id=c.salle_id,
            audio_only=c.audio_only,
            automatic=True if automatic else OMITTED,
            figures=c.figures if automatic else OMITTED,
        )
    ]


def _objection(s: Seance, c: ObjectToBroadcast, actor: Actor) -> Decision:
    if actor.role != Role.PRESIDENT and (r := _agent_of(s, actor, c.salle_id)) is not None:
        return r
    if not c.person.strip():
        return Refusal(SCHEMA, "Champ « person » : nom de la personne attendu.", "person")
    if s.rules_version >= 3 and (c.person in s.state.broadcast_objections.get(c.salle_id, [])) == c.objecting:
        return []  # edition 3: the same objection again (or a withdrawal of none) records nothing
    return [BroadcastObjection(c.at, salle_id=c.salle_id, person=c.person, objecting=c.objecting)]


# -- opening, suspension, closing (R7, R8, R10, R11, R17, R19) ------------------------------------
def _open(s: Seance, c: OpenSitting, actor: Actor) -> Decision:
    if (r := _president(s, actor, "ouvrir la séance")) is not None:
        return r
    if s.state.status != "convened":
        return Refusal("R7", "R7 — la séance est déjà ouverte.")
    for check in (_r7_silent(s), _r2_stream(s), _r8(s, None), _r10(s)):
        if check is not None:
            return check
    if s.state.secretary not in s.state.presence:
        return Refusal("R10", "R10 — le secrétaire de séance désigné n'est plus présent.")
    salles: dict[str, SalleAtOpening] = {
        sid: {
            "present": sorted(m for m, x in s.state.presence.items() if x == sid),
            "transmitting": s.state.transmitting.get(sid, False),
        }
        for sid in s.state.occupied_salles()
    }
    return [
        SittingOpened(
            c.at,
            quorum=s.quorum().to_dict(),
            salles=salles,
            public_stream_up=s.state.public_stream_up,
            secretary=s.state.secretary,
            reconvened_after=s.failed_sitting_date if s.quorum_waived else None,
        )
    ]


def _suspend(s: Seance, c: Suspend, actor: Actor) -> Decision:
    if (r := _president(s, actor, "suspendre la séance")) is not None:
        return r
    if s.state.status != "opened":
        return Refusal("R17", "R17 — seule une séance ouverte peut être suspendue.")
    return [SittingSuspended(c.at, rule="president", salles=[], frozen_vote=s.state.current_vote, reason=c.reason)]


def _resume(s: Seance, c: Resume, actor: Actor) -> Decision:
    if (r := _president(s, actor, "reprendre la séance")) is not None:
        return r
    if s.state.status != "suspended":
        return Refusal("R17", "R17 — la séance n'est pas suspendue.")
    silent = s.state.silent_salles()
    if silent:
        return Refusal(
            "R17",
            f"R17 — transmission toujours interrompue : {', '.join(_salle_name(s, x) for x in silent)}. "
            "Attendez son retour, ou que l'agent enregistre la sortie des conseillers.",
        )
    if (r := _r8(s, None)) is not None:
        return r
    return [SittingResumed(c.at, quorum=s.quorum().to_dict())]


def _take_up(s: Seance, c: TakeUpItem, actor: Actor) -> Decision:
    if (r := _president(s, actor, "appeler un point de l'ordre du jour")) is not None:
        return r
    if (r := _active(s)) is not None:
        return r
    item = _item(s, c.item_id)
    if isinstance(item, Refusal):
        return item
    if item["status"] != "pending":
        return Refusal("R16", f"R16 — le point « {item['title']} » a déjà été traité.", "item_id")
    if s.state.current_vote is not None:
        return Refusal("R16", "R16 — un vote est en cours.")
    return [ItemTakenUp(c.at, item_id=c.item_id)]


def _sensitive(s: Seance, c: MarkSensitive, actor: Actor) -> Decision:
    if (r := _president(s, actor, "marquer un passage sensible")) is not None:
        return r
    if (r := _active(s)) is not None:
        return r
    if s.state.sensitive == c.on:
        return Refusal("R19", "R19 — le passage sensible est déjà " + ("en cours." if c.on else "terminé."))
    return [SensitivePassage(c.at, on=c.on, reason=c.reason)]


def _recording(s: Seance, c: RecordRecordingDigest, actor: Actor) -> Decision:
    if actor.role != Role.SYSTEM:
        return Refusal(ROLE, "R5 — l'empreinte d'un enregistrement est calculée par le serveur.")
    if not s.council.reglement.recording:
        return Refusal("R5", "R5 — le règlement intérieur ne prévoit pas l'enregistrement des débats.")
    return [RecordingDigest(c.at, sha256=c.sha256, label=c.label)]


def _convocation_recorded(s: Seance, member_id: str, actor: Actor, what: str) -> Refusal | None:
    if actor.role != Role.SYSTEM:
        return Refusal(ROLE, f"R6 — {what} est enregistré par le serveur, pas par une personne.")
    if s.council.member(member_id) is None:
        return Refusal("R6", f"R6 — « {member_id} » n'est pas membre du conseil : il n'est pas convoqué.", "member_id")
    if s.state.status == "closed":
        return Refusal("R6", "R6 — la séance est close : sa convocation ne s'enregistre plus.")
    return None


def _convocation_sending(s: Seance, c: RecordConvocationSending, actor: Actor) -> Decision:
    """R6: the sending of a member's convocation, before the sitting opens (L.2121-12: it
    precedes the sitting by five clear days; one sent after the opening convenes nobody)."""
    if (r := _convocation_recorded(s, c.member_id, actor, "l'envoi d'une convocation")) is not None:
        return r
    if s.state.status != "convened":
        return Refusal("R6", "R6 — la séance est ouverte : une convocation envoyée maintenant ne convoque plus.")
    if c.sent and c.reason:
        return Refusal(SCHEMA, "Champ « reason » : seulement pour un envoi en échec.", "reason")
    return [ConvocationSent(c.at, member_id=c.member_id, sent=c.sent, reason=c.reason)]


def _convocation_receipt(s: Seance, c: RecordConvocationReceipt, actor: Actor) -> Decision:
    """R6: the member's acknowledgement, only of a convocation sent; the first one counts."""
    if (r := _convocation_recorded(s, c.member_id, actor, "l'accusé de réception")) is not None:
        return r
    record = s.state.convocations.get(c.member_id)
    if record is None or record["sent_at"] is None:
        return Refusal("R6", "R6 — aucune convocation n'a été envoyée à ce membre : rien à accuser.", "member_id")
    if record["acknowledged_at"] is not None:
        return []
    return [ConvocationAcknowledged(c.at, member_id=c.member_id)]


def _minutes_item(s: Seance, actor: Actor, item_id: str, what: str) -> Item | Refusal:
    if actor.role not in (Role.ADMIN, Role.SYSTEM):
        return Refusal(ROLE, f"R22 — {what} revient au secrétariat (administration), pas à un participant.")
    found = _item(s, item_id)
    if isinstance(found, Refusal):
        return found
    if found["kind"] != "deliberation":
        return Refusal("R22", "R22 — l'approbation d'un procès-verbal est un point de délibération.", "item_id")
    return found


def _link_minutes(s: Seance, c: LinkMinutes, actor: Actor) -> Decision:
    """R22 (L.2121-15): the procès-verbal a sitting adopts is linked to its item before the
    vote, by the digest of its text; once the item is voted the link is fixed."""
    item = _minutes_item(s, actor, c.item_id, "lier le procès-verbal au point qui l'approuve")
    if isinstance(item, Refusal):
        return item
    if c.sitting_id == s.config.id:
        return Refusal("R22", "R22 — une séance n'approuve pas son propre procès-verbal.", "sitting_id")
    if item["votes"] or item["status"] not in ("pending", "current"):
        return Refusal(
            "R22", "R22 — ce point a déjà été mis aux voix : le procès-verbal qu'il approuve ne change plus.", "item_id"
        )
    other = next((i for i, x in s.state.minutes_links.items() if x["sitting_id"] == c.sitting_id), None)
    if other is not None and other != c.item_id:
        return Refusal("R22", f"R22 — ce procès-verbal est déjà lié au point « {other} ».", "sitting_id")
    return [MinutesLinked(c.at, item_id=c.item_id, sitting_id=c.sitting_id, sha256=c.sha256)]


def _minutes_signed(s: Seance, c: RecordMinutesSigned, actor: Actor) -> Decision:
    """R22: only a procès-verbal the council adopted is signed (its item's motion adopted)."""
    item = _minutes_item(s, actor, c.item_id, "signer le procès-verbal adopté")
    if isinstance(item, Refusal):
        return item
    link = s.state.minutes_links.get(c.item_id)
    if link is None:
        return Refusal("R22", "R22 — aucun procès-verbal n'est lié à ce point.", "item_id")
    adopted = any(
        v["subject"] == "motion" and v["closed_at"] and v["result"] and v["result"]["adopted"] for v in item["votes"]
    )
    if not adopted:
        return Refusal("R22", "R22 — le procès-verbal n'est pas adopté : il ne se signe qu'après son approbation.")
    if link["signed"]:
        return Refusal("R22", "R22 — le procès-verbal adopté est déjà signé : sa version signée ne change plus.")
    return [MinutesSigned(c.at, item_id=c.item_id, sitting_id=link["sitting_id"], pdf_sha256=c.pdf_sha256)]


def _close(s: Seance, c: CloseSitting, actor: Actor) -> Decision:
    if (r := _president(s, actor, "clore les débats")) is not None:
        return r
    if s.state.current_vote is not None:
        return Refusal("R11", "R11 — un vote est en cours : il doit être clos avant la clôture de la séance.")
    pending = [i["id"] for i in s.state.agenda if i["status"] == "pending"]
    return [SittingClosed(c.at, opened=s.state.opening is not None, pending_items=pending)]


# -- votes (R8, R13-R17) -----------------------------------------------------------------------------
def _withdrawal(s: Seance, c: DeclareWithdrawal, actor: Actor) -> Decision:
    is_self = actor.member_id == c.member_id
    is_president = actor.role == Role.PRESIDENT and _president(s, actor, "") is None
    is_secretary = (
        actor.role == Role.SECRETARY and s.state.secretary is not None and actor.member_id == s.state.secretary
    )
    allowed = is_self or is_president or is_secretary
    if not allowed:
        return Refusal(ROLE, "Le conseiller lui-même, le président ou le secrétaire déclarent un retrait.")
    item = _item(s, c.item_id)
    if isinstance(item, Refusal):
        return item
    if s.council.member(c.member_id) is None:
        return Refusal(UNKNOWN, f"Conseiller « {c.member_id} » inconnu.", "member_id")
    if item["status"] != "pending":
        return Refusal("R8", "R8 — le retrait pour intérêt personnel se déclare avant l'ouverture du vote.", "item_id")
    if c.member_id in item["withdrawals"]:
        return Refusal(
            "R8", f"R8 — {s.name(c.member_id)} est déjà {s.agree(c.member_id, 'retiré')} de ce point.", "member_id"
        )
    return [WithdrawalDeclared(c.at, item_id=c.item_id, member_id=c.member_id)]


def _secret_request(s: Seance, c: RequestSecretBallot, actor: Actor) -> Decision:
    if actor.member_id != c.member_id:
        return Refusal(ROLE, "Un conseiller demande le scrutin secret pour lui-même.")
    if (r := _active(s)) is not None:
        return r
    if s.state.status == "suspended":
        return Refusal("R17", "R17 — la séance est suspendue.")
    item = _item(s, c.item_id)
    if isinstance(item, Refusal):
        return item
    if c.member_id not in s.state.presence:
        return Refusal("R15", "R15 — seul un membre présent demande le scrutin secret.", "member_id")
    if item["status"] not in ("pending", "voting") or not is_voted(item["kind"]):
        return Refusal("R15", f"R15 — le point « {item['title']} » n'est pas en attente de vote.", "item_id")
    requesters = {r["member"] for r in item["secret_requests"]} & set(s.state.presence)
    if c.member_id in requesters:
        return Refusal("R15", f"R15 — {s.name(c.member_id)} a déjà demandé le scrutin secret.", "member_id")
    events: list[Event] = [SecretBallotRequested(c.at, item_id=c.item_id, member_id=c.member_id)]
    present = s.quorum().present
    n = len(requesters) + 1
    if ballot.secret_ballot_adopted(n, present):
        events.append(
            ItemPostponed(
                c.at,
                item_id=c.item_id,
                rule="R15",
                mention=POSTPONED_MENTION,
                requests=n,
                present=present,
                reason=f"scrutin secret demandé par {n} membres sur {present} présents (au moins un tiers)",
            )
        )
    return events


def _secret_request_withdrawal(s: Seance, c: WithdrawSecretBallotRequest, actor: Actor) -> Decision:
    """R15: a request not yet counted into a postponement can be taken back by its author."""
    if actor.member_id != c.member_id:
        return Refusal(ROLE, "Un conseiller retire sa propre demande de scrutin secret.")
    if (r := _active(s)) is not None:
        return r
    item = _item(s, c.item_id)
    if isinstance(item, Refusal):
        return item
    if item["status"] == "postponed":
        return Refusal(
            "R15",
            f"R15 — le tiers des présents a demandé le scrutin secret : le point « {item['title']} » est "
            "reporté à une séance en présentiel, la demande ne peut plus être retirée.",
            "item_id",
        )
    if c.member_id not in {r["member"] for r in item["secret_requests"]}:
        return Refusal(
            "R15", f"R15 — {s.name(c.member_id)} n'a pas demandé le scrutin secret sur ce point.", "member_id"
        )
    return [SecretBallotRequestWithdrawn(c.at, item_id=c.item_id, member_id=c.member_id)]


def _appointment(s: Seance, c: DecideAppointmentBallot, actor: Actor) -> Decision:
    if (r := _president(s, actor, "constater la décision du conseil sur le mode de scrutin")) is not None:
        return r
    if (r := _active(s)) is not None:
        return r
    item = _item(s, c.item_id)
    if isinstance(item, Refusal):
        return item
    if item["kind"] != ItemKind.APPOINTMENT or item["status"] != "pending":
        return Refusal("R15", f"R15 — le point « {item['title']} » n'est pas une nomination en attente.", "item_id")
    if not c.unanimous_for_public:
        return [
            ItemPostponed(
                c.at,
                item_id=c.item_id,
                rule="R15",
                mention=POSTPONED_MENTION,
                requests=0,
                present=s.quorum().present,
                reason="nomination : pas de décision unanime de voter au scrutin public",
            )
        ]
    if item["secret_requests"]:
        return Refusal(
            "R15", "R15 — une demande de scrutin secret a été formulée : l'unanimité fait défaut.", "item_id"
        )
    return [PublicAppointmentDecided(c.at, item_id=c.item_id)]


def _electorate(s: Seance, item: Item) -> list[Slot]:
    """R16: present members in transmitting salles, for themselves and the one proxy held."""
    withdrawn = set(item["withdrawals"])
    slots: list[Slot] = []
    for member_id, salle_id in sorted(s.state.presence.items()):
        if member_id in withdrawn or not s.state.transmitting.get(salle_id, False):
            continue
        slots.append({"voter": member_id, "on_behalf_of": None})
        held = s.state.holder_proxy(member_id)
        if held is not None and held["giver"] not in withdrawn:
            slots.append({"voter": member_id, "on_behalf_of": held["giver"]})
    return slots


def _open_vote(s: Seance, c: OpenVote, actor: Actor) -> Decision:
    if (r := _president(s, actor, "ouvrir un vote")) is not None:
        return r
    if (r := _active(s)) is not None:
        return r
    if s.state.status == "suspended":
        return Refusal("R17", "R17 — la séance est suspendue : aucun vote ne s'ouvre.")
    if s.state.current_vote is not None:
        return Refusal("R16", "R16 — un autre vote est déjà ouvert.")
    item = _item(s, c.item_id)
    if isinstance(item, Refusal):
        return item
    if (r := _still_on_agenda(item)) is not None:
        return r
    if item["status"] != "pending":
        return Refusal("R16", f"R16 — le point « {item['title']} » a déjà été voté.", "item_id")
    if not is_voted(item["kind"]):
        return Refusal("R13", f"R13 — le point « {item['title']} » est une information, sans vote.", "item_id")
    subject = _round_subject(s, c, item) if item["body"] else _motion_subject(s, c, item)
    if isinstance(subject, Refusal):
        return subject
    silent = s.state.silent_salles()
    if silent:
        return Refusal(
            "R16",
            f"R16 — transmission non établie dans : {', '.join(_salle_name(s, x) for x in silent)} ; aucun vote ne s'ouvre.",
        )
    if (r := _r8(s, c.item_id)) is not None:
        return r
    return [
        VoteOpened(
            c.at,
            item_id=c.item_id,
            method=c.method,
            electorate=_electorate(s, item),
            quorum=s.quorum(c.item_id).to_dict(),
            **subject,
        )
    ]


def _still_on_agenda(item: Item) -> Refusal | None:
    if item["status"] == "postponed":
        return Refusal("R15", f"R15 — le point « {item['title']} » est {POSTPONED_MENTION}.", "item_id")
    if item["status"] == "withdrawn":
        return Refusal("R25", f"R25 — le point « {item['title']} » a été retiré de l'ordre du jour.", "item_id")
    return None


#: R15: what the president's screen offers to settle a nomination's ballot (the refusal names it)
_APPOINTMENT_BUTTONS = "« Le conseil décide à l'unanimité un vote public », ou « Pas d'unanimité : reporter »"


class _Subject(TypedDict, total=False):
    """What a vote is on, as :class:`VoteOpened` holds it: an amendment, a seat's round, or neither (the motion)."""

    amendment_id: str
    seat: int
    round: int


def _motion_subject(s: Seance, c: OpenVote, item: Item) -> _Subject | Refusal:
    """R25: an amendment before the motion it amends; the motion once none is pending."""
    if c.seat is not None:
        return Refusal("R24", f"R24 — le point « {item['title']} » n'a pas de sièges à pourvoir.", "seat")
    if item["kind"] == ItemKind.APPOINTMENT and not item["public_appointment"]:  # a nomination of edition 1
        return Refusal(
            "R15",
            "R15 — une nomination se vote au scrutin secret, sauf décision unanime du conseil de voter publiquement : "
            f"faites constater cette décision ({_APPOINTMENT_BUTTONS}).",
            "item_id",
        )
    if c.amendment_id is not None:
        amendment = _amendment(item, c.amendment_id)
        if isinstance(amendment, Refusal):
            return amendment
        if amendment["status"] != "pending":
            return Refusal("R25", f"R25 — l'amendement « {c.amendment_id} » n'est plus à voter.", "amendment_id")
        return {"amendment_id": c.amendment_id}
    pending = [a["id"] for a in item["amendments"] if a["status"] == "pending"]
    if pending:
        return Refusal(
            "R25",
            f"R25 — l'amendement « {pending[0]} » se vote avant la délibération qu'il modifie : mettez-le aux voix, "
            "ou constatez son retrait.",
            "item_id",
        )
    return {}


def _round_subject(s: Seance, c: OpenVote, item: Item) -> _Subject | Refusal:
    """R24 (L.2121-21): a round for one seat, once candidacies are closed and the council
    has unanimously decided to vote in public; three rounds at most."""
    if c.amendment_id is not None:
        return Refusal("R25", "R25 — une nomination ne s'amende pas.", "amendment_id")
    if not item["candidacies_closed"]:
        return Refusal("R24", "R24 — clôturez d'abord l'appel à candidatures.", "item_id")
    if c.seat is None:
        return Refusal("R24", "R24 — précisez le siège mis au vote.", "seat")
    seat = seat_of_item(item, c.seat)
    if seat is None:
        return Refusal(UNKNOWN, f"Siège {c.seat} inconnu pour ce point.", "seat")
    if seat["appointed"] is not None:
        return Refusal("R24", f"R24 — le siège {c.seat} est déjà pourvu.", "seat")
    if seat_settled(seat):
        return Refusal("R24", f"R24 — les trois tours du siège {c.seat} ont eu lieu.", "seat")
    if not item["public_appointment"]:
        return Refusal(
            "R15",
            "R15 — une nomination se vote au scrutin secret, sauf décision unanime du conseil de voter publiquement "
            f"(L.2121-21) : faites constater cette décision ({_APPOINTMENT_BUTTONS}).",
            "item_id",
        )
    born = [s.council.member(m) for m in seat["candidates"]]
    unknown = [m.name for m in born if m is not None and not m.birth_date]
    if unknown:
        return Refusal(
            "R24",
            f"R24 — date de naissance inconnue pour {', '.join(unknown)} : elle départage les candidats à égalité "
            "de voix (L.2121-21). Faites-la enregistrer dans la composition du conseil.",
            "seat",
        )
    dates = [m.birth_date for m in born if m is not None]
    if len(set(dates)) != len(dates):
        return Refusal(
            "R24", "R24 — deux candidats ont la même date de naissance : l'âge ne les départagerait pas.", "seat"
        )
    return {"seat": c.seat, "round": seat["rounds"] + 1}


def _amendment(item: Item, amendment_id: str) -> Amendment | Refusal:
    found = next((a for a in item["amendments"] if a["id"] == amendment_id), None)
    if found is None:
        return Refusal(UNKNOWN, f"Amendement « {amendment_id} » inconnu pour ce point.", "amendment_id")
    return found


def _frozen(s: Seance, vote: Vote) -> bool:
    """R17: an open vote is frozen while the sitting is suspended, unless the president decided."""
    return s.state.status == "suspended" and vote["override"] is None


def _open_vote_of(s: Seance, item_id: str) -> tuple[Item, Vote] | Refusal:
    item = _item(s, item_id)
    if isinstance(item, Refusal):
        return item
    found = s.state.open_vote()
    if found is None or found[0]["id"] != item_id:
        return Refusal("R16", f"R16 — aucun vote n'est ouvert sur « {item['title']} ».", "item_id")
    return found


def _cast(s: Seance, c: CastBallot, actor: Actor) -> Decision:
    found = _open_vote_of(s, c.item_id)
    if isinstance(found, Refusal):
        return found
    item, vote = found
    if vote["method"] == "appel_nominal":
        # R13 with R4: the secretary records each answer; the agent of a salle, auxiliaire
        # du secrétaire de séance, records the answers of the councillors present there.
        is_secretary = actor.role == Role.SECRETARY and actor.member_id == s.state.secretary
        voter_salle = s.state.presence.get(c.voter_id)
        is_agent = voter_salle is not None and _agent_of(s, actor, voter_salle) is None
        if not (is_secretary or is_agent):
            return Refusal(
                "R13",
                "R13 — à l'appel nominal, le secrétaire de séance, ou l'agent de la salle du votant, enregistre chaque réponse.",
            )
    elif actor.member_id != c.voter_id or actor.role not in (Role.COUNCILLOR, Role.PRESIDENT, Role.SECRETARY):
        return Refusal("R13", "R13 — au vote électronique, chaque conseiller vote depuis son propre terminal.")
    if _frozen(s, vote):
        return Refusal("R17", "R17 — le vote est gelé : une salle a perdu la transmission.")
    slot = {"voter": c.voter_id, "on_behalf_of": c.on_behalf_of}
    if slot not in vote["electorate"]:
        what = f"au titre du pouvoir {de(s.name(c.on_behalf_of))}" if c.on_behalf_of else "en son nom"
        return Refusal(
            "R16",
            f"R16 — {s.name(c.voter_id)} ne fait pas partie des votants {what} fixés à l'ouverture du vote.",
            "voter_id",
        )
    salle = s.state.presence.get(c.voter_id)
    if salle is None or not s.state.transmitting.get(salle, False):
        return Refusal(
            "R16",
            f"R16 — {s.name(c.voter_id)} doit être {s.agree(c.voter_id, 'présent')} dans une salle dont la transmission est active.",
            "voter_id",
        )
    previous = next(
        (b for b in vote["ballots"] if b["voter"] == c.voter_id and b["on_behalf_of"] == c.on_behalf_of), None
    )
    if previous is not None and not ballot.may_change(vote["method"], s.council.reglement.ballot_change):
        what = f" au titre du pouvoir {de(s.name(c.on_behalf_of))}" if c.on_behalf_of else ""
        return Refusal("R16", f"R16 — {s.name(c.voter_id)} a déjà voté{what} : nul ne vote deux fois.", "voter_id")
    if (r := _round_ballot(s, c, item, vote)) is not None:
        return r
    candidate = c.candidate_id if c.candidate_id is not None else OMITTED
    if previous is None:
        return [
            BallotCast(
                c.at,
                item_id=c.item_id,
                voter_id=c.voter_id,
                on_behalf_of=c.on_behalf_of,
                choice=c.choice,
                candidate_id=candidate,
            )
        ]
    # R13: a change of choice before the close, journaled; the last choice counts
    if previous["choice"] == c.choice and previous["candidate"] == c.candidate_id:
        return []  # the same choice again (a repeated tap, a resent command): nothing to change
    return [
        BallotChanged(
            c.at,
            item_id=c.item_id,
            voter_id=c.voter_id,
            on_behalf_of=c.on_behalf_of,
            choice=c.choice,
            candidate_id=candidate,
            previous_choice=previous["choice"],
        )
    ]


def _round_ballot(s: Seance, c: CastBallot, item: Item, vote: Vote) -> Refusal | None:
    """R24: in a round, a vote for a candidate of the seat, a blank ballot, or no part taken."""
    if vote["subject"] != "round":
        if c.candidate_id is not None:
            return Refusal("R24", "R24 — ce scrutin n'est pas une nomination : pas de candidat.", "candidate_id")
        return None
    if c.choice == "contre":
        return Refusal(
            "R24",
            "R24 — dans une nomination, on vote pour un candidat, blanc (abstention) ou on ne prend pas part au vote.",
            "choice",
        )
    seat = seat_of_item(item, vote["seat"])
    candidates = seat["candidates"] if seat else []
    if c.choice == "pour" and c.candidate_id not in candidates:
        names = ", ".join(s.name(m) for m in candidates)
        return Refusal("R24", f"R24 — votez pour l'un des candidats au siège {vote['seat']} : {names}.", "candidate_id")
    if c.choice != "pour" and c.candidate_id is not None:
        return Refusal("R24", "R24 — un bulletin blanc ne désigne aucun candidat.", "candidate_id")
    return None


def _frozen_decision(s: Seance, c: DecideFrozenVote, actor: Actor) -> Decision:
    if (r := _president(s, actor, "décider de la suite d'un vote gelé")) is not None:
        return r
    found = _open_vote_of(s, c.item_id)
    if isinstance(found, Refusal):
        return found
    _, vote = found
    if not _frozen(s, vote):
        return Refusal("R17", "R17 — ce vote n'est pas gelé.", "item_id")
    if not c.reason.strip():
        return Refusal("R17", "R17 — la décision du président doit être motivée.", "reason")
    return [
        PresidentDecision(
            c.at,
            kind="frozen_vote_continues",
            item_id=c.item_id,
            reason=c.reason,
            salles=s.state.silent_salles(),
        )
    ]


def _close_vote(s: Seance, c: CloseVote, actor: Actor) -> Decision:
    if (r := _president(s, actor, "clore un vote")) is not None:
        return r
    found = _open_vote_of(s, c.item_id)
    if isinstance(found, Refusal):
        return found
    item, vote = found
    if _frozen(s, vote):
        return Refusal(
            "R17",
            "R17 — le vote est gelé : il ne se clôt pas tant qu'une salle manque, sauf décision motivée du président.",
        )
    # rules edition 1 did not record who took no part in the vote
    not_voting = _not_voting(s, item, vote) if s.rules_version >= 2 else OMITTED
    if vote["subject"] == "round":
        return [_round_closed(s, c.at, item, vote, not_voting)]
    amendment = vote["amendment_id"] if vote["subject"] == "amendment" else None
    counts = ballot.tally(vote["ballots"])
    president_choice = next(
        (b["choice"] for b in vote["ballots"] if b["voter"] == s.council.president_id and b["on_behalf_of"] is None),
        None,
    )
    res = ballot.result(counts, president_choice)
    return [
        VoteClosed(
            c.at,
            item_id=c.item_id,
            counts=counts,
            electorate_size=len(vote["electorate"]),
            adopted=res.adopted,
            casting_vote=res.casting_vote,
            president_choice=president_choice,
            amendment_id=amendment if amendment is not None else OMITTED,
            not_voting=not_voting,
        )
    ]


def _not_voting(s: Seance, item: Item, vote: Vote) -> list[NotVoting]:
    """R13, R22: the present members who took no part in the vote, recorded with its result:
    each slot of the electorate without a ballot (at a roll call, no answer), then the
    members present at the close who were not in the electorate (arrived after the
    opening), apart from those withdrawn for a personal interest (listed as such)."""
    voters = {e["voter"] for e in vote["electorate"]}
    withdrawn = set(item["withdrawals"])
    arrived: list[NotVoting] = [
        {"voter": m, "on_behalf_of": None, "reason": "arrive_apres_ouverture"}
        for m in sorted(s.state.presence)
        if m not in voters and m not in withdrawn
    ]
    return not_voting_slots(vote) + arrived


def _round_closed(s: Seance, at: str, item: Item, vote: Vote, not_voting: list[NotVoting] | Omitted) -> VoteClosed:
    seat = seat_of_item(item, vote["seat"])
    assert seat is not None
    counts = ballot.round_counts(vote["ballots"], seat["candidates"])
    members = {m: s.council.member(m) for m in seat["candidates"]}
    born = {m: (member.birth_date or "") for m, member in members.items() if member is not None}
    assert vote["round"] is not None
    res = ballot.round_result(vote["round"], counts["candidates"], born)
    assert vote["seat"] is not None
    return VoteClosed(
        at,
        item_id=item["id"],
        seat=vote["seat"],
        round=vote["round"],
        counts=counts,
        electorate_size=len(vote["electorate"]),
        appointed=res.appointed,
        majority=res.majority,
        tie_broken_by_age=res.tie_broken_by_age,
        not_voting=not_voting,
    )


# -- withdrawing an item, amendments (R25) ---------------------------------------------------------
def _pending_item(s: Seance, item_id: str, what: str) -> Item | Refusal:
    item = _item(s, item_id)
    if isinstance(item, Refusal):
        return item
    if (r := _still_on_agenda(item)) is not None:
        return r
    if item["status"] == "voting":
        return Refusal("R16", f"R16 — un vote est ouvert sur « {item['title']} » : {what} après sa clôture.", "item_id")
    if item["status"] != "pending":
        return Refusal("R25", f"R25 — le point « {item['title']} » a déjà été voté.", "item_id")
    return item


def _chaired_item(s: Seance, actor: Actor, what: str, item_id: str, doing: str) -> Item | Refusal:
    """The president, in a sitting under way, on an item still to vote (R24, R25)."""
    if (r := _president(s, actor, what)) is not None:
        return r
    if (r := _active(s)) is not None:
        return r
    return _pending_item(s, item_id, doing)


def _withdraw_item(s: Seance, c: WithdrawItem, actor: Actor) -> Decision:
    """R25: the president withdraws an item during the sitting; journaled, and the PV and
    the liste des délibérations say « retiré ». Not once an appointment has taken effect."""
    if (r := _president(s, actor, "retirer un point de l'ordre du jour")) is not None:
        return r
    if (r := _active(s)) is not None:
        return Refusal("R25", "R25 — un point se retire pendant la séance, une fois celle-ci ouverte.")
    item = _pending_item(s, c.item_id, "retirez-le")
    if isinstance(item, Refusal):
        return item
    if any(x["appointed"] for x in item["seats"]):
        return Refusal(
            "R25", "R25 — des nominations de ce point ont déjà pris effet : il ne se retire plus.", "item_id"
        )
    return [ItemWithdrawn(c.at, item_id=c.item_id, reason=c.reason.strip())]


def _propose_amendment(s: Seance, c: ProposeAmendment, actor: Actor) -> Decision:
    """R25: an amendment to the motion of an item, tabled by a member present; the
    règlement intérieur has it voted before the motion."""
    item = _chaired_item(s, actor, "enregistrer un amendement", c.item_id, "déposez l'amendement")
    if isinstance(item, Refusal):
        return item
    if item["kind"] not in AMENDABLE_KINDS:
        label = KIND_LABELS.get(ItemKind(item["kind"]), item["kind"])
        return Refusal("R25", f"R25 — un point de nature « {label} » ne s'amende pas.", "item_id")
    if any(a["id"] == c.amendment_id for a in item["amendments"]):
        return Refusal(
            SCHEMA, f"Champ « amendment_id » : l'amendement « {c.amendment_id} » existe déjà.", "amendment_id"
        )
    author = s.council.member(c.author_id)
    if author is None:
        return Refusal(UNKNOWN, f"Conseiller « {c.author_id} » inconnu.", "author_id")
    if c.author_id not in s.state.presence:
        return Refusal(
            "R25",
            f"R25 — {author.name} n'est pas {s.agree(author.id, 'présent')} : l'auteur d'un amendement siège.",
            "author_id",
        )
    return [
        AmendmentProposed(
            c.at,
            item_id=c.item_id,
            amendment_id=c.amendment_id,
            text=c.text.strip(),
            author_id=c.author_id,
        )
    ]


def _withdraw_amendment(s: Seance, c: WithdrawAmendment, actor: Actor) -> Decision:
    item = _chaired_item(s, actor, "constater le retrait d'un amendement", c.item_id, "constatez le retrait")
    if isinstance(item, Refusal):
        return item
    amendment = _amendment(item, c.amendment_id)
    if isinstance(amendment, Refusal):
        return amendment
    if amendment["status"] != "pending":
        return Refusal("R25", f"R25 — l'amendement « {c.amendment_id} » n'est plus à voter.", "amendment_id")
    return [AmendmentWithdrawn(c.at, item_id=c.item_id, amendment_id=c.amendment_id)]


# -- nominations (R24, L.2121-21) ------------------------------------------------------------------
def _nomination(s: Seance, actor: Actor, what: str, item_id: str) -> Item | Refusal:
    item = _chaired_item(s, actor, what, item_id, "attendez")
    if isinstance(item, Refusal):
        return item
    if not item["body"]:
        return Refusal("R24", f"R24 — le point « {item['title']} » n'est pas une nomination avec candidats.", "item_id")
    if item["candidacies_closed"]:
        return Refusal("R24", "R24 — l'appel à candidatures est clos.", "item_id")
    return item


def _register_candidacy(s: Seance, c: RegisterCandidacy, actor: Actor) -> Decision:
    """R24: a member of the council in office stands for one seat (L.2121-22: a commission
    of the council is made of councillors only)."""
    item = _nomination(s, actor, "enregistrer une candidature", c.item_id)
    if isinstance(item, Refusal):
        return item
    seat = seat_of_item(item, c.seat)
    if seat is None:
        return Refusal(UNKNOWN, f"Siège {c.seat} inconnu pour ce point.", "seat")
    member = s.council.member(c.member_id)
    if member is None:
        return Refusal(UNKNOWN, f"Conseiller « {c.member_id} » inconnu.", "member_id")
    if member.seat != Seat.TITULAIRE:
        return Refusal(
            "R24",
            f"R24 — {member.name} est {s.agree(member.id, 'suppléant')} : seuls les membres en exercice sont candidats.",
            "member_id",
        )
    standing = next((x["seat"] for x in item["seats"] if c.member_id in x["candidates"]), None)
    if standing is not None:
        return Refusal(
            "R24", f"R24 — {member.name} est déjà {s.agree(member.id, 'candidat')} au siège {standing}.", "member_id"
        )
    return [CandidacyRegistered(c.at, item_id=c.item_id, seat=c.seat, member_id=c.member_id)]


def _close_candidacies(s: Seance, c: CloseCandidacies, actor: Actor) -> Decision:
    """R24 (L.2121-21 al. 5): with a single candidacy for a seat, the appointment takes effect
    at once, without a vote; the other seats go to the vote."""
    item = _nomination(s, actor, "clore l'appel à candidatures", c.item_id)
    if isinstance(item, Refusal):
        return item
    empty = [str(x["seat"]) for x in item["seats"] if not x["candidates"]]
    if empty:
        return Refusal(
            "R24",
            f"R24 — aucun candidat au siège {', '.join(empty)} : recueillez une candidature, ou retirez le point.",
            "item_id",
        )
    appointed: list[Appointment] = [
        {"seat": x["seat"], "member_id": x["candidates"][0]} for x in item["seats"] if len(x["candidates"]) == 1
    ]
    return [CandidaciesClosed(c.at, item_id=c.item_id, appointed=appointed)]


# -- lack of quorum (R8, L.2121-17 al. 2) ----------------------------------------------------------
def _quorum_failure(s: Seance, c: RecordQuorumFailure, actor: Actor) -> Decision:
    """R8: the president records that the quorum is not reached; the sitting closes without
    deliberating. Its journal then shows the failure, and the agenda a new convocation,
    three clear days later at least, deliberates on without quorum (L.2121-17 al. 2)."""
    if (r := _president(s, actor, "constater l'absence de quorum")) is not None:
        return r
    if s.state.status != "convened":
        return Refusal("R8", "R8 — la séance est ouverte : l'absence de quorum se constate avant l'ouverture.")
    if s.quorum_waived:
        return Refusal(
            "R8", "R8 — cette séance, convoquée à nouveau faute de quorum, délibère sans condition de quorum."
        )
    q = s.quorum()
    if q.reached:
        return Refusal("R8", f"R8 — le quorum est atteint ({q.present} présents, {q.required} requis).")
    return [
        QuorumFailed(
            c.at,
            quorum=q.to_dict(),
            present=sorted(s.state.presence),
            items=[{"id": i["id"], "title": i["title"]} for i in s.state.agenda],
        ),
        SittingClosed(
            c.at,
            opened=False,
            pending_items=[i["id"] for i in s.state.agenda if i["status"] == "pending"],
        ),
    ]


# -- the floor (la parole) -------------------------------------------------------------------------
def _chair(s: Seance, actor: Actor, what: str) -> Refusal | None:
    """The president (the council's) or a moderator runs the floor."""
    if actor.role == Role.MODERATOR:
        return None
    if actor.role == Role.PRESIDENT and actor.member_id == s.council.president_id:
        return None
    return Refusal(ROLE, f"Seuls le président et le modérateur peuvent {what}.")


def _floor_open(s: Seance) -> Refusal | None:
    if (r := _active(s)) is not None:
        return r
    return None


def _present_member(s: Seance, member_id: str) -> Refusal | None:
    member = s.council.member(member_id)
    if member is None:
        return Refusal(UNKNOWN, f"Conseiller « {member_id} » inconnu.", "member_id")
    if member_id not in s.state.presence:
        return Refusal(
            "R1",
            f"R1 — {member.name} n'est pas {s.agree(member.id, 'enregistré')} {s.agree(member.id, 'présent')} "
            "dans une salle désignée : pas de prise de parole.",
            "member_id",
        )
    return None


def _request_floor(s: Seance, c: RequestFloor, actor: Actor) -> Decision:
    if actor.role not in (Role.COUNCILLOR, Role.SECRETARY, Role.PRESIDENT) or actor.member_id != c.member_id:
        return Refusal(ROLE, "Un conseiller demande la parole pour lui-même.")
    if (r := _floor_open(s)) is not None:
        return r
    if (r := _present_member(s, c.member_id)) is not None:
        return r
    speaking = s.state.speaker is not None and s.state.speaker["member"] == c.member_id
    if speaking or any(q["member"] == c.member_id for q in s.state.floor_queue):
        return []  # already asked, or speaking: nothing to record
    return [FloorRequested(c.at, member_id=c.member_id)]


def _withdraw_floor(s: Seance, c: WithdrawFloorRequest, actor: Actor) -> Decision:
    is_self = actor.role in (Role.COUNCILLOR, Role.SECRETARY, Role.PRESIDENT) and actor.member_id == c.member_id
    if not is_self and (r := _chair(s, actor, "retirer la demande de parole d'un autre conseiller")) is not None:
        return r
    if not any(q["member"] == c.member_id for q in s.state.floor_queue):
        return Refusal(UNKNOWN, f"{s.name(c.member_id)} n'a pas demandé la parole.", "member_id")
    return [FloorRequestWithdrawn(c.at, member_id=c.member_id)]


def _grant_floor(s: Seance, c: GrantFloor, actor: Actor) -> Decision:
    if (r := _chair(s, actor, "donner la parole")) is not None:
        return r
    if (r := _floor_open(s)) is not None:
        return r
    if s.state.status == "suspended":
        return Refusal("R17", "R17 — la séance est suspendue : la parole ne se donne pas.")
    if (r := _present_member(s, c.member_id)) is not None:
        return r
    if s.state.speaker is not None and s.state.speaker["member"] == c.member_id:
        return []
    previous = s.state.speaker["member"] if s.state.speaker is not None else None
    return [FloorGranted(c.at, member_id=c.member_id, previous=previous)]


def _end_floor(s: Seance, c: EndFloor, actor: Actor) -> Decision:
    """The chair ends a turn, or the councillor who has the floor ends their own (« Terminer »)."""
    speaker = s.state.speaker["member"] if s.state.speaker is not None else None
    own = (
        speaker is not None
        and actor.role in (Role.COUNCILLOR, Role.SECRETARY, Role.PRESIDENT)
        and actor.member_id == speaker
    )
    if not own and (r := _chair(s, actor, "reprendre la parole")) is not None:
        return r
    if s.state.speaker is None:
        return Refusal(UNKNOWN, "Personne n'a la parole.")
    return [FloorEnded(c.at, member_id=s.state.speaker["member"])]


_DECIDERS: dict[type, Callable[[Seance, Any, Actor], Decision]] = {
    AddAgendaItem: _add_item,
    ConvertToTeleconference: _convert,
    CheckIn: _check_in,
    CheckOut: _check_out,
    DeclareSuppleance: _suppleance,
    RecordProxy: _record_proxy,
    RevokeProxy: _revoke_proxy,
    AppointSecretary: _secretary,
    ReportTransmission: _transmission,
    ReportPublicStream: _public_stream,
    SetAudioOnly: _audio_only,
    ObjectToBroadcast: _objection,
    OpenSitting: _open,
    Suspend: _suspend,
    Resume: _resume,
    TakeUpItem: _take_up,
    MarkSensitive: _sensitive,
    RecordRecordingDigest: _recording,
    RecordConvocationSending: _convocation_sending,
    RecordConvocationReceipt: _convocation_receipt,
    LinkMinutes: _link_minutes,
    RecordMinutesSigned: _minutes_signed,
    CloseSitting: _close,
    DeclareWithdrawal: _withdrawal,
    RequestSecretBallot: _secret_request,
    WithdrawSecretBallotRequest: _secret_request_withdrawal,
    DecideAppointmentBallot: _appointment,
    OpenVote: _open_vote,
    CastBallot: _cast,
    DecideFrozenVote: _frozen_decision,
    CloseVote: _close_vote,
    WithdrawItem: _withdraw_item,
    ProposeAmendment: _propose_amendment,
    WithdrawAmendment: _withdraw_amendment,
    RegisterCandidacy: _register_candidacy,
    CloseCandidacies: _close_candidacies,
    RecordQuorumFailure: _quorum_failure,
    RequestFloor: _request_floor,
    WithdrawFloorRequest: _withdraw_floor,
    GrantFloor: _grant_floor,
    EndFloor: _end_floor,
    PresentAnnex: lambda s, c, actor: presentation.decide_present(s.state, s.council, c, actor),
    StopPresentation: lambda s, c, actor: presentation.decide_stop(s.state, s.council, c, actor),
}
