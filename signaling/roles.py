"""Roles, and THE table of which role may send which message type.

This module is the single source of truth: the hub refuses a message whose sender's
role is not in its row (``forbidden``), and ``docs/protocol.md`` shows the same table,
rendered by :func:`render_markdown` (a test checks that the document is up to date).

Some rows carry a scope on top of the role: an agent acts only on its own salle (R4), a
kiosk joins only as its own salle. Those checks live in the handlers, next to the data
they need, and say so in the table's notes.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    KIOSK = "kiosk"  # a salle's PC: camera + room microphone; no human rights
    PUBLIC = "public"  # anonymous viewer of the public stream (R2)
    COUNCILLOR = "councillor"  # élu: asks for the floor, votes (next issue)
    AGENT = "agent"  # salle agent (R4)
    MODERATOR = "moderator"
    PRESIDENT = "president"
    AUDITOR = "auditor"
    ADMIN = "admin"


#: French labels for people (pages, console).
ROLE_LABELS_FR: dict[Role, str] = {
    Role.KIOSK: "borne de salle",
    Role.PUBLIC: "public",
    Role.COUNCILLOR: "élu",
    Role.AGENT: "agent de salle",
    Role.MODERATOR: "modérateur",
    Role.PRESIDENT: "président",
    Role.AUDITOR: "auditeur",
    Role.ADMIN: "administrateur",
}

#: the same, for a member whose civilité is « Mme » (deliberation.council.Member.civility)
ROLE_LABELS_FR_FEMININE: dict[Role, str] = {
    **ROLE_LABELS_FR,
    Role.COUNCILLOR: "élue",
    Role.MODERATOR: "modératrice",
    Role.PRESIDENT: "présidente",
    Role.AUDITOR: "auditrice",
    Role.ADMIN: "administratrice",
}


def role_label_fr(role: Role, feminine: bool | None = None) -> str:
    """The role in French, agreed with the person's civilité when it is known."""
    return (ROLE_LABELS_FR_FEMININE if feminine else ROLE_LABELS_FR)[role]


_ALL = frozenset(Role)
_PEOPLE = _ALL - {Role.KIOSK, Role.PUBLIC}

#: message type -> roles allowed to send it. ``hello`` is the only message accepted
#: before authentication; every other one needs a ``welcome`` first.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "hello": _ALL,
    "ping": _ALL,
    "join": frozenset({Role.KIOSK, Role.PUBLIC}) | _PEOPLE,
    "offer": frozenset({Role.KIOSK, Role.PUBLIC}) | _PEOPLE,
    "leave": frozenset({Role.KIOSK, Role.PUBLIC}) | _PEOPLE,
    "mute": frozenset({Role.MODERATOR, Role.PRESIDENT}),
    "audio_only": frozenset({Role.AGENT}),
    "reception": frozenset({Role.KIOSK}),
    "pin": frozenset({Role.PRESIDENT}),
    "present": frozenset({Role.PRESIDENT, Role.MODERATOR}),
    "page": frozenset({Role.PRESIDENT, Role.MODERATOR}),
    "command": frozenset({Role.COUNCILLOR, Role.AGENT, Role.MODERATOR, Role.PRESIDENT}),
}

#: Extra conditions checked by handlers, shown under the table.
NOTES: dict[str, str] = {
    "join": '`as: "salle"` only for a kiosk token, for its own salle; `as: "monitor"` (every salle\'s picture) '
    "only for the president and the moderator; anyone may join as `viewer`.",
    "offer": "only after `join`.",
    "audio_only": "an agent only for the salle written in its token (R4); journaled as `SetAudioOnly` (R3).",
    "reception": "only the kiosk holding its salle's media; ignored otherwise.",
    "present": "an annex of the convocation (its file's SHA-256 checked against the store's) of the current item, "
    "while the sitting is open; journaled as `PresentAnnex` (R2, R26).",
    "page": "a page of the annex shown, while the sitting is open; not journaled.",
    "command": "the deliberation command's own row in the table of commands below decides.",
}

_PRESIDENT = frozenset({Role.PRESIDENT})
_AGENT = frozenset({Role.AGENT})
_FLOOR_CHAIR = frozenset({Role.PRESIDENT, Role.MODERATOR})
_NOBODY: frozenset[Role] = frozenset()

#: deliberation command type (``deliberation.commands``) -> roles that may send it in a
#: ``command`` message. The core then checks the scope (R4: the agent's own salle; a
#: councillor acts for self; the president is the council's). Commands of the media
#: plane's port (transmission, public stream, recording digest) come from the server
#: itself (the system actor), never from a browser. Kiosks, the public, auditors and
#: administrators send no command on a sitting.
COMMAND_PERMISSIONS: dict[str, frozenset[Role]] = {
    "AddAgendaItem": _PRESIDENT,
    "ConvertToTeleconference": _PRESIDENT,
    "CheckIn": _AGENT,
    "CheckOut": _AGENT,
    "RecordProxy": _AGENT,
    "RevokeProxy": _AGENT | _PRESIDENT,
    "DeclareSuppleance": _AGENT | _PRESIDENT,
    "AppointSecretary": _PRESIDENT,
    "ReportTransmission": _NOBODY,
    "ReportPublicStream": _NOBODY,
    "SetAudioOnly": _AGENT,
    "ObjectToBroadcast": _AGENT | _PRESIDENT,
    "OpenSitting": _PRESIDENT,
    "Suspend": _PRESIDENT,
    "Resume": _PRESIDENT,
    "TakeUpItem": _PRESIDENT,
    "MarkSensitive": _PRESIDENT,
    "RecordRecordingDigest": _NOBODY,
    "RecordConvocationSending": _NOBODY,
    "RecordConvocationReceipt": _NOBODY,
    "LinkMinutes": _NOBODY,
    "RecordMinutesSigned": _NOBODY,
    "CloseSitting": _PRESIDENT,
    "RecordQuorumFailure": _PRESIDENT,
    "WithdrawItem": _PRESIDENT,
    "ProposeAmendment": _PRESIDENT,
    "WithdrawAmendment": _PRESIDENT,
    "RegisterCandidacy": _PRESIDENT,
    "CloseCandidacies": _PRESIDENT,
    "DeclareWithdrawal": frozenset({Role.COUNCILLOR}) | _PRESIDENT,
    "RequestSecretBallot": frozenset({Role.COUNCILLOR}),
    "WithdrawSecretBallotRequest": frozenset({Role.COUNCILLOR}),
    "DecideAppointmentBallot": _PRESIDENT,
    "OpenVote": _PRESIDENT,
    "CastBallot": frozenset({Role.COUNCILLOR, Role.AGENT, Role.PRESIDENT}),
    "DecideFrozenVote": _PRESIDENT,
    "CloseVote": _PRESIDENT,
    "RequestFloor": frozenset({Role.COUNCILLOR}),
    "WithdrawFloorRequest": frozenset({Role.COUNCILLOR}) | _FLOOR_CHAIR,
    "GrantFloor": _FLOOR_CHAIR,
    "EndFloor": frozenset({Role.COUNCILLOR}) | _FLOOR_CHAIR,
    "PresentAnnex": _NOBODY,
    "StopPresentation": _FLOOR_CHAIR,
}

#: Scope checks the core makes on top of the role, shown under the commands table.
COMMAND_NOTES: tuple[str, ...] = (
    "`CheckIn`, `CheckOut`, `RecordProxy`, `SetAudioOnly`, `ObjectToBroadcast`, `DeclareSuppleance`, "
    "`RevokeProxy`: an agent only in its own salle (R4); a suppléance names the salle where the suppléant "
    "sits (`salle_id`), the agent's own.",
    "`ProposeAmendment`, `RegisterCandidacy`: the president records the amendment tabled, or the candidacy "
    "declared, by a member (R25, R24); `CastBallot` in a round of a nomination names the candidate "
    "(`candidate_id`).",
    "`CastBallot`: electronic vote, a councillor (or the president) for self and for the proxy held; roll call "
    "(`appel_nominal`), the secretary, or the agent of the voter's salle (R13, R4).",
    "`RequestFloor`, `RequestSecretBallot`, `WithdrawSecretBallotRequest`, `DeclareWithdrawal`: a councillor for self only (the core compares "
    "the member ids).",
    "`WithdrawFloorRequest`: a councillor withdraws their own request; the president or a moderator may drop any.",
    "`EndFloor`: the president or a moderator ends any turn; the councillor who has the floor ends their own.",
    "`ReportTransmission`, `ReportPublicStream`, `RecordRecordingDigest`: measured by the server and sent by the "
    "system actor only.",
    "`RecordConvocationSending`, `RecordConvocationReceipt`: the convocation's email and its acknowledgement "
    "link (R6), recorded by the system actor only.",
    "`LinkMinutes`, `RecordMinutesSigned`: the procès-verbal submitted to approval and signed once adopted "
    "(R22), from the secretariat's page (admin), never over the WebSocket.",
    "`PresentAnnex`: through the `present` message only, which fills the annex's item, digest and title "
    "from the council store; `StopPresentation`: the president or a moderator (issue 15 point 8).",
    "The secrétaire de séance is the councillor appointed (R10): their councillor session acts as `secretary` "
    "in the core (roll-call answers).",
)


def allowed(role: Role, message_type: str) -> bool:
    return role in PERMISSIONS.get(message_type, frozenset())


def command_allowed(role: Role, command_type: str) -> bool:
    return role in COMMAND_PERMISSIONS.get(command_type, frozenset())


def render_commands_markdown() -> str:
    """The table of deliberation commands per role, for docs/protocol.md."""
    roles = list(Role)
    head = "| command | " + " | ".join(r.value for r in roles) + " |"
    sep = "| --- | " + " | ".join(":-:" for _ in roles) + " |"
    rows = [head, sep]
    for ctype, who in COMMAND_PERMISSIONS.items():
        rows.append(f"| `{ctype}` | " + " | ".join("✔" if r in who else "" for r in roles) + " |")
    notes = [f"- {n}" for n in COMMAND_NOTES]
    return "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n"


def render_markdown() -> str:
    """The role table as Markdown, for docs/protocol.md."""
    roles = list(Role)
    head = "| message | " + " | ".join(r.value for r in roles) + " |"
    sep = "| --- | " + " | ".join(":-:" for _ in roles) + " |"
    rows = [head, sep]
    for mtype, who in PERMISSIONS.items():
        rows.append(f"| `{mtype}` | " + " | ".join("✔" if r in who else "" for r in roles) + " |")
    notes = [f"- `{m}`: {n}" for m, n in NOTES.items()]
    return "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n"
