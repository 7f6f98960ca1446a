"""Commands a sitting accepts: frozen dataclasses, each with a caller-supplied timestamp.

The core never reads the clock: ``at`` (ISO 8601 with a UTC offset) is supplied by the
shell. Every command has a JSON round-trip, ``to_dict`` / ``command_from_dict``; a
malformed payload gives a :class:`~deliberation.refusal.Refusal` of kind ``SCHEMA``
naming the field, never an exception.
"""

from __future__ import annotations

import dataclasses
import re
import types
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Union, get_type_hints

from .actes import ACTES_MATIERES
from .agenda import BUDGET_KINDS, BUDGET_MATIERE, MAX_SEATS, Body, ItemKind
from .refusal import SCHEMA, Refusal

CHOICES = ("pour", "contre", "abstention", "nppv")
METHODS = ("electronique", "appel_nominal")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: The longest text a command's field may hold, in characters (edition 3 of the rules,
#: issue 12 point 6: a 60 KB objection was journaled): the fields people type (a title, a
#: person's name, a document's reference, a reason, an amendment's text) and those the
#: server writes (figures measured, a recording's label). Any other text field (an
#: identifier, a choice among values) holds at most :data:`DEFAULT_TEXT_LIMIT`.
TEXT_LIMITS: dict[str, int] = {
    "title": 300,
    "body_name": 200,
    "document_ref": 200,
    "person": 200,
    "reason": 500,
    "label": 300,
    "figures": 1000,
    "text": 2000,
}
DEFAULT_TEXT_LIMIT = 200


@dataclass(frozen=True)
class Command:
    """Base of all commands. ``at``: ISO 8601 timestamp with offset, supplied by the caller."""

    at: str

    #: fields holding identifiers (checked against a conservative pattern)
    _ids: ClassVar[tuple[str, ...]] = ()

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["type"] = self.type
        return d

    def validate(self) -> Refusal | None:
        """Field-level validation; None when the command is well formed."""
        hints = get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not _type_ok(value, hints[f.name]):
                return Refusal(SCHEMA, f"Champ « {f.name} » : type invalide.", f.name)
        try:
            ts = datetime.fromisoformat(self.at)
        except (TypeError, ValueError):
            return Refusal(SCHEMA, "Champ « at » : horodatage ISO 8601 attendu.", "at")
        if ts.tzinfo is None:
            return Refusal(SCHEMA, "Champ « at » : l'horodatage doit porter son décalage horaire.", "at")
        for name in self._ids:
            value = getattr(self, name)
            if value is not None and not _ID.match(value):
                return Refusal(SCHEMA, f"Champ « {name} » : identifiant invalide.", name)
        return self._validate_more()

    def _validate_more(self) -> Refusal | None:
        return None

    def too_long(self) -> Refusal | None:
        """The first text field longer than its bound (:data:`TEXT_LIMITS`), refused; None
        when every text fits. Applied from edition 3 of the rules (``Seance.decide``), so
        that journals of earlier editions keep verifying as they were decided."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            limit = TEXT_LIMITS.get(f.name, DEFAULT_TEXT_LIMIT)
            if isinstance(value, str) and len(value) > limit:
                return Refusal(SCHEMA, f"Champ « {f.name} » : {limit} caractères au plus.", f.name)
        return None


def _type_ok(value: Any, hint: Any) -> bool:
    if isinstance(hint, types.UnionType) or getattr(hint, "__origin__", None) is Union:
        return any(_type_ok(value, a) for a in hint.__args__)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return isinstance(value, hint)


# --- agenda (R12) --------------------------------------------------------------------
@dataclass(frozen=True)
class AddAgendaItem(Command):
    """An item of the agenda and its nature (R12: the nature decides, never the title).

    A nomination states the body whose seats it fills (``body``: ``commission``,
    ``organisme_exterieur`` or ``epci``), its name and the number of seats (R12, R24)."""

    item_id: str
    title: str
    kind: str = "deliberation"
    matiere_code: str = "5.2"
    body: str | None = None
    body_name: str = ""
    seats: int = 1
    _ids = ("item_id",)

    def _validate_more(self) -> Refusal | None:
        if not self.title.strip():
            return Refusal(SCHEMA, "Champ « title » : l'intitulé est vide.", "title")
        if self.kind not in {k.value for k in ItemKind}:
            return Refusal(SCHEMA, f"Champ « kind » : nature « {self.kind} » inconnue.", "kind")
        if self.matiere_code not in ACTES_MATIERES:
            return Refusal(
                SCHEMA, f"Champ « matiere_code » : matière ACTES « {self.matiere_code} » inconnue.", "matiere_code"
            )
        if self.kind in BUDGET_KINDS - {ItemKind.BUDGET_PRIMITIF} and self.matiere_code != BUDGET_MATIERE:
            return Refusal(
                SCHEMA,
                f"Champ « matiere_code » : un document budgétaire relève de la matière ACTES {BUDGET_MATIERE} "
                f"({ACTES_MATIERES[BUDGET_MATIERE]}).",
                "matiere_code",
            )
        if self.body is not None and self.kind != ItemKind.APPOINTMENT:
            return Refusal(SCHEMA, "Champ « body » : seule une nomination pourvoit les sièges d'un organe.", "body")
        if self.body is not None and self.body not in {b.value for b in Body}:
            return Refusal(SCHEMA, f"Champ « body » : organe « {self.body} » inconnu.", "body")
        if self.body is not None and not self.body_name.strip():
            return Refusal(SCHEMA, "Champ « body_name » : le nom de l'organe est vide.", "body_name")
        if len(self.body_name) > 200:
            return Refusal(SCHEMA, "Champ « body_name » : 200 caractères au plus.", "body_name")
        if not 1 <= self.seats <= MAX_SEATS:
            return Refusal(SCHEMA, f"Champ « seats » : de 1 à {MAX_SEATS} sièges.", "seats")
        return None


@dataclass(frozen=True)
class ConvertToTeleconference(Command):
    pass


# --- places and people (R1, R4, R9, R10) -----------------------------------------------
@dataclass(frozen=True)
class CheckIn(Command):
    member_id: str
    salle_id: str
    _ids = ("member_id", "salle_id")


@dataclass(frozen=True)
class CheckOut(Command):
    member_id: str
    salle_id: str
    _ids = ("member_id", "salle_id")


@dataclass(frozen=True)
class DeclareSuppleance(Command):
    """The suppléant sits for an absent titulaire who informed the president (L.5211-6).

    ``salle_id``: the salle where the suppléant sits; an agent records it for its own
    salle only (R4), and the suppléant then checks in there."""

    titulaire_id: str
    document_ref: str
    salle_id: str | None = None
    _ids = ("titulaire_id", "salle_id")


@dataclass(frozen=True)
class RecordProxy(Command):
    giver_id: str
    holder_id: str
    document_ref: str
    consecutive_sittings: int = 1
    illness_certified: bool = False
    _ids = ("giver_id", "holder_id")

    def _validate_more(self) -> Refusal | None:
        if self.consecutive_sittings < 1:
            return Refusal(SCHEMA, "Champ « consecutive_sittings » : au moins 1.", "consecutive_sittings")
        return None


@dataclass(frozen=True)
class RevokeProxy(Command):
    giver_id: str
    _ids = ("giver_id",)


@dataclass(frozen=True)
class AppointSecretary(Command):
    member_id: str
    _ids = ("member_id",)


# --- the media plane's port (R2, R3, R7, R17, R20) -------------------------------------
@dataclass(frozen=True)
class ReportTransmission(Command):
    salle_id: str
    transmitting: bool
    _ids = ("salle_id",)


@dataclass(frozen=True)
class ReportPublicStream(Command):
    up: bool


@dataclass(frozen=True)
class SetAudioOnly(Command):
    """R3 (R.5211-2 CGCT: « par la vidéo, ou à défaut par l'audio »): by the salle's
    agent, or by the system when the salle's link cannot carry the picture, then with the
    measured ``figures`` that caused it (journaled)."""

    salle_id: str
    audio_only: bool
    figures: str = ""
    _ids = ("salle_id",)


@dataclass(frozen=True)
class ObjectToBroadcast(Command):
    salle_id: str
    person: str
    objecting: bool = True
    _ids = ("salle_id",)


# --- running the sitting (R7, R8, R11, R17, R19) -----------------------------------------
@dataclass(frozen=True)
class OpenSitting(Command):
    pass


@dataclass(frozen=True)
class Suspend(Command):
    reason: str = ""


@dataclass(frozen=True)
class Resume(Command):
    pass


@dataclass(frozen=True)
class TakeUpItem(Command):
    item_id: str
    _ids = ("item_id",)


@dataclass(frozen=True)
class MarkSensitive(Command):
    on: bool
    reason: str = ""


@dataclass(frozen=True)
class RecordRecordingDigest(Command):
    sha256: str
    label: str = ""

    def _validate_more(self) -> Refusal | None:
        if not _SHA256.match(self.sha256):
            return Refusal(SCHEMA, "Champ « sha256 » : empreinte SHA-256 hexadécimale attendue.", "sha256")
        return None


@dataclass(frozen=True)
class RecordConvocationSending(Command):
    """R6 (L.2121-10, L.2121-12): the server records that a member's convocation left through
    the council's relay (``sent``) or was refused (``reason``: the relay's words). The
    address stays in the council store: the journal needs only who and when."""

    member_id: str
    sent: bool
    reason: str = ""
    _ids = ("member_id",)

    def _validate_more(self) -> Refusal | None:
        if len(self.reason) > 500:
            return Refusal(SCHEMA, "Champ « reason » : 500 caractères au plus.", "reason")
        return None


@dataclass(frozen=True)
class RecordConvocationReceipt(Command):
    """R6: the server records that the member followed their personal acknowledgement link."""

    member_id: str
    _ids = ("member_id",)


@dataclass(frozen=True)
class LinkMinutes(Command):
    """R22 (L.2121-15): the agenda's « Approbation du procès-verbal » item is the vote on the
    procès-verbal of the sitting ``sitting_id`` as the secretary closed it, identified by
    the SHA-256 of its text (``sha256``): the council adopts that very text."""

    item_id: str
    sitting_id: str
    sha256: str
    _ids = ("item_id", "sitting_id")

    def _validate_more(self) -> Refusal | None:
        if not _SHA256.match(self.sha256):
            return Refusal(SCHEMA, "Champ « sha256 » : empreinte SHA-256 hexadécimale attendue.", "sha256")
        return None


@dataclass(frozen=True)
class RecordMinutesSigned(Command):
    """R22: the adopted procès-verbal, signed as a PDF/A whose SHA-256 is ``pdf_sha256``:
    the journal's signature then covers that file (``seance audit pv`` checks it offline)."""

    item_id: str
    pdf_sha256: str
    _ids = ("item_id",)

    def _validate_more(self) -> Refusal | None:
        if not _SHA256.match(self.pdf_sha256):
            return Refusal(SCHEMA, "Champ « pdf_sha256 » : empreinte SHA-256 hexadécimale attendue.", "pdf_sha256")
        return None


@dataclass(frozen=True)
class CloseSitting(Command):
    pass


@dataclass(frozen=True)
class RecordQuorumFailure(Command):
    """R8 (L.2121-17 al. 2): the president records that the quorum is not reached; the
    sitting closes without deliberating, and may be convened again on the same agenda."""


@dataclass(frozen=True)
class WithdrawItem(Command):
    """R25: the president withdraws an item from the agenda during the sitting."""

    item_id: str
    reason: str = ""
    _ids = ("item_id",)

    def _validate_more(self) -> Refusal | None:
        if len(self.reason) > 300:
            return Refusal(SCHEMA, "Champ « reason » : 300 caractères au plus.", "reason")
        return None


# --- amendments (R25) ------------------------------------------------------------------------
@dataclass(frozen=True)
class ProposeAmendment(Command):
    """R25: an amendment tabled by a member present, recorded by the president; it is
    voted before the motion it amends."""

    item_id: str
    amendment_id: str
    text: str
    author_id: str
    _ids = ("item_id", "amendment_id", "author_id")

    def _validate_more(self) -> Refusal | None:
        if not self.text.strip():
            return Refusal(SCHEMA, "Champ « text » : le texte de l'amendement est vide.", "text")
        if len(self.text) > 2000:
            return Refusal(SCHEMA, "Champ « text » : 2 000 caractères au plus.", "text")
        return None


@dataclass(frozen=True)
class WithdrawAmendment(Command):
    """R25: an amendment not yet voted is withdrawn (by its author, through the president)."""

    item_id: str
    amendment_id: str
    _ids = ("item_id", "amendment_id")


# --- nominations (R24, L.2121-21) ---------------------------------------------------------------
@dataclass(frozen=True)
class RegisterCandidacy(Command):
    """R24: a member of the council stands for a seat of a nomination."""

    item_id: str
    seat: int
    member_id: str
    _ids = ("item_id", "member_id")


@dataclass(frozen=True)
class CloseCandidacies(Command):
    """R24: the call for candidates ends; a seat with a single candidacy is filled at once."""

    item_id: str
    _ids = ("item_id",)


# --- votes (R8, R13-R17) -------------------------------------------------------------------
@dataclass(frozen=True)
class DeclareWithdrawal(Command):
    item_id: str
    member_id: str
    _ids = ("item_id", "member_id")


@dataclass(frozen=True)
class RequestSecretBallot(Command):
    item_id: str
    member_id: str
    _ids = ("item_id", "member_id")


@dataclass(frozen=True)
class WithdrawSecretBallotRequest(Command):
    """A councillor takes back their request for a secret ballot, while the requests
    have not reached one third of the members present (R15, L.2121-21): once they have,
    the item is postponed and the request can no longer be withdrawn."""

    item_id: str
    member_id: str
    _ids = ("item_id", "member_id")


@dataclass(frozen=True)
class DecideAppointmentBallot(Command):
    item_id: str
    unanimous_for_public: bool
    _ids = ("item_id",)


@dataclass(frozen=True)
class OpenVote(Command):
    """Open a vote on an item: on its motion, on one of its amendments (``amendment_id``,
    R25), or a round for one seat of a nomination (``seat``, R24)."""

    item_id: str
    method: str = "electronique"
    amendment_id: str | None = None
    seat: int | None = None
    _ids = ("item_id", "amendment_id")

    def _validate_more(self) -> Refusal | None:
        if self.method not in METHODS:
            return Refusal(SCHEMA, "Champ « method » : « electronique » ou « appel_nominal ».", "method")
        return None


@dataclass(frozen=True)
class CastBallot(Command):
    """A ballot; in a round of a nomination, ``pour`` with ``candidate_id`` is a vote for
    that candidate, ``abstention`` a blank ballot (R24)."""

    item_id: str
    voter_id: str
    choice: str
    on_behalf_of: str | None = None
    candidate_id: str | None = None
    _ids = ("item_id", "voter_id", "on_behalf_of", "candidate_id")

    def _validate_more(self) -> Refusal | None:
        if self.choice not in CHOICES:
            return Refusal(SCHEMA, "Champ « choice » : pour, contre, abstention ou nppv.", "choice")
        if self.candidate_id is not None and self.choice != "pour":
            return Refusal(SCHEMA, "Champ « candidate_id » : un vote pour un candidat a le choix « pour ».", "choice")
        return None


@dataclass(frozen=True)
class DecideFrozenVote(Command):
    """R17: the president's journaled decision to let a frozen vote go on without a salle."""

    item_id: str
    reason: str
    _ids = ("item_id",)


@dataclass(frozen=True)
class CloseVote(Command):
    item_id: str
    _ids = ("item_id",)


# --- the floor (la parole) ------------------------------------------------------------------
@dataclass(frozen=True)
class RequestFloor(Command):
    """A councillor present asks for the floor, for themself."""

    member_id: str
    _ids = ("member_id",)


@dataclass(frozen=True)
class WithdrawFloorRequest(Command):
    """A request for the floor is withdrawn (by its author, or dropped by the chair)."""

    member_id: str
    _ids = ("member_id",)


@dataclass(frozen=True)
class GrantFloor(Command):
    """The president or the moderator gives the floor to a member present."""

    member_id: str
    _ids = ("member_id",)


@dataclass(frozen=True)
class EndFloor(Command):
    """The current speaker's turn ends."""


# --- the item's documents on screen (issue 15 point 8) ------------------------------------------
#: The most pages a document presented in séance may have (a plan, a budget table: a few).
MAX_PRESENTED_PAGES = 2000


@dataclass(frozen=True)
class PresentAnnex(Command):
    """An annex of the item discussed (a document of its convocation, L.2121-12, R26) is
    shown on every salle's display and on the public page (R2), from page 1. The shell fills
    ``sha256`` and ``title`` from the council store after checking the file's digest; the
    number of ``pages`` is read by the presenter's browser from that very file."""

    item_id: str
    annex_id: str
    sha256: str
    title: str
    pages: int
    _ids = ("item_id", "annex_id")

    def _validate_more(self) -> Refusal | None:
        if not _SHA256.match(self.sha256):
            return Refusal(SCHEMA, "Champ « sha256 » : empreinte SHA-256 hexadécimale attendue.", "sha256")
        if not 1 <= self.pages <= MAX_PRESENTED_PAGES:
            return Refusal(SCHEMA, f"Champ « pages » : de 1 à {MAX_PRESENTED_PAGES} pages.", "pages")
        return None


@dataclass(frozen=True)
class StopPresentation(Command):
    """The document shown on the displays is taken off them."""


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        AddAgendaItem,
        ConvertToTeleconference,
        CheckIn,
        CheckOut,
        DeclareSuppleance,
        RecordProxy,
        RevokeProxy,
        AppointSecretary,
        ReportTransmission,
        ReportPublicStream,
        SetAudioOnly,
        ObjectToBroadcast,
        OpenSitting,
        Suspend,
        Resume,
        TakeUpItem,
        MarkSensitive,
        RecordRecordingDigest,
        RecordConvocationSending,
        RecordConvocationReceipt,
        LinkMinutes,
        RecordMinutesSigned,
        CloseSitting,
        RecordQuorumFailure,
        WithdrawItem,
        ProposeAmendment,
        WithdrawAmendment,
        RegisterCandidacy,
        CloseCandidacies,
        DeclareWithdrawal,
        RequestSecretBallot,
        WithdrawSecretBallotRequest,
        DecideAppointmentBallot,
        OpenVote,
        CastBallot,
        DecideFrozenVote,
        CloseVote,
        RequestFloor,
        WithdrawFloorRequest,
        GrantFloor,
        EndFloor,
        PresentAnnex,
        StopPresentation,
    )
}


def command_from_dict(data: Any) -> Command | Refusal:
    """Build and validate a command from its JSON form; a Refusal names the bad field."""
    if not isinstance(data, dict):
        return Refusal(SCHEMA, "La commande doit être un objet JSON.", None)
    kind = data.get("type")
    cls = COMMAND_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return Refusal(SCHEMA, f"Champ « type » : commande « {kind} » inconnue.", "type")
    names = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key != "type" and key not in names:
            return Refusal(SCHEMA, f"Champ « {key} » inconnu pour {kind}.", key)
    kwargs: dict[str, Any] = {}
    for name, f in names.items():
        if name in data:
            kwargs[name] = data[name]
        elif f.default is dataclasses.MISSING:
            return Refusal(SCHEMA, f"Champ « {name} » manquant.", name)
    command = cls(**kwargs)
    refusal = command.validate()
    return refusal if refusal is not None else command
