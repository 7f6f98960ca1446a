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

from .refusal import SCHEMA, Refusal

CHOICES = ("pour", "contre", "abstention", "nppv")
CHOICE_LABELS = {"pour": "pour", "contre": "contre", "abstention": "abstention", "nppv": "ne prend pas part au vote"}
METHODS = ("electronique", "appel_nominal")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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
    item_id: str
    title: str
    kind: str = "deliberation"
    matiere_code: str = "5.2"
    _ids = ("item_id",)

    def _validate_more(self) -> Refusal | None:
        from .actes import ACTES_MATIERES
        from .agenda import ItemKind

        if not self.title.strip():
            return Refusal(SCHEMA, "Champ « title » : l'intitulé est vide.", "title")
        if self.kind not in {k.value for k in ItemKind}:
            return Refusal(SCHEMA, f"Champ « kind » : nature « {self.kind} » inconnue.", "kind")
        if self.matiere_code not in ACTES_MATIERES:
            return Refusal(
                SCHEMA, f"Champ « matiere_code » : matière ACTES « {self.matiere_code} » inconnue.", "matiere_code"
            )
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
    titulaire_id: str
    document_ref: str
    _ids = ("titulaire_id",)


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
    salle_id: str
    audio_only: bool
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
class CloseSitting(Command):
    pass


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
class DecideAppointmentBallot(Command):
    item_id: str
    unanimous_for_public: bool
    _ids = ("item_id",)


@dataclass(frozen=True)
class OpenVote(Command):
    item_id: str
    method: str = "electronique"
    _ids = ("item_id",)

    def _validate_more(self) -> Refusal | None:
        if self.method not in METHODS:
            return Refusal(SCHEMA, "Champ « method » : « electronique » ou « appel_nominal ».", "method")
        return None


@dataclass(frozen=True)
class CastBallot(Command):
    item_id: str
    voter_id: str
    choice: str
    on_behalf_of: str | None = None
    _ids = ("item_id", "voter_id", "on_behalf_of")

    def _validate_more(self) -> Refusal | None:
        if self.choice not in CHOICES:
            return Refusal(SCHEMA, "Champ « choice » : pour, contre, abstention ou nppv.", "choice")
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
        CloseSitting,
        DeclareWithdrawal,
        RequestSecretBallot,
        DecideAppointmentBallot,
        OpenVote,
        CastBallot,
        DecideFrozenVote,
        CloseVote,
        RequestFloor,
        WithdrawFloorRequest,
        GrantFloor,
        EndFloor,
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
