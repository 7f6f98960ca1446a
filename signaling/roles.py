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
    KIOSK = "kiosk"            # a salle's PC: camera + room microphone; no human rights
    PUBLIC = "public"          # anonymous viewer of the public stream (R2)
    COUNCILLOR = "councillor"  # élu: asks for the floor, votes (next issue)
    AGENT = "agent"            # salle agent (R4)
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
    "pin": frozenset({Role.PRESIDENT}),
}

#: Extra conditions checked by handlers, shown under the table.
NOTES: dict[str, str] = {
    "join": "`as: \"salle\"` only for a kiosk token, for its own salle; everyone else joins as `viewer`.",
    "offer": "only after `join`.",
    "audio_only": "an agent only for the salle written in its token (R4).",
}


def allowed(role: Role, message_type: str) -> bool:
    return role in PERMISSIONS.get(message_type, frozenset())


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
