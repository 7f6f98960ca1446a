"""A refused command, as a value: the rule id, a French message, optionally the field.

A refusal changes nothing (shared/RULES.md, preamble). ``rule`` is a rule id (``R1`` …
``R23``) or one of the non-rule kinds below, used by the edge to pick one HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass

#: A command whose payload is malformed (a missing, unknown or ill-typed field).
SCHEMA = "SCHEMA"
#: The actor's role may not issue this command at all.
ROLE = "ROLE"
#: The command refers to something that does not exist (member, salle, item).
UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Refusal:
    """A command refused with nothing changed."""

    rule: str
    message: str
    field: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"rule": self.rule, "message": self.message, "field": self.field}

    def __bool__(self) -> bool:  # a refusal is never a successful (truthy) list of events
        return False
