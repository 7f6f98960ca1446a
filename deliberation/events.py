"""Events: what happened, JSON-serialisable, applied by the pure ``apply`` (state.py).

An event carries every value its application needs (e.g. a closed vote carries its
counts and result), so replaying events never re-runs decisions; the audit recomputes
those values independently from the raw entries (R21).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    type: str
    at: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "at": self.at, "data": self.data}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(type=d["type"], at=d["at"], data=d["data"])


#: events after which the journal signs the chain head (R21)
CHECKPOINT_EVENTS = frozenset({"VoteClosed", "SittingClosed"})
