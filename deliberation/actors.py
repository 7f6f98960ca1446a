"""Who issues a command: role, and the member, salle and agent ids the edge authenticated.

The core trusts the actor as authenticated by the signaling layer but checks that the
actor is *entitled* to the command: e.g. only the agent of a salle checks councillors in
or out of that salle (R4, R.5211-2 al. 3-4 CGCT).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    PRESIDENT = "president"
    MODERATOR = "moderator"
    AGENT = "agent"
    COUNCILLOR = "councillor"
    SECRETARY = "secretary"
    SYSTEM = "system"
    ADMIN = "admin"
    AUDITOR = "auditor"
    PUBLIC = "public"


@dataclass(frozen=True)
class Actor:
    """The authenticated issuer of a command."""

    role: Role
    member_id: str | None = None
    salle_id: str | None = None
    agent_id: str | None = None
    #: the login session the command came through (a digest of its id, and the account's
    #: session generation, bumped by each password change): an admin who resets an élu's
    #: password and acts as them leaves a new generation in the journal (issue 12.11).
    #: Not part of any decision; journaled only when known.
    session: str | None = None
    session_gen: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "role": str(self.role),
            "member_id": self.member_id,
            "salle_id": self.salle_id,
            "agent_id": self.agent_id,
        }
        if self.session is not None:
            out["session"] = self.session
            out["session_gen"] = self.session_gen
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(
            role=Role(data["role"]),
            member_id=data.get("member_id"),
            salle_id=data.get("salle_id"),
            agent_id=data.get("agent_id"),
            session=data.get("session"),
            session_gen=data.get("session_gen"),
        )


SYSTEM = Actor(Role.SYSTEM)
ADMIN = Actor(Role.ADMIN)
