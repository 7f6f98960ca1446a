"""The council (conseil communautaire) of an EPCI and its configuration.

- Members in office are the titulaires; a commune with a single councillor also has a
  suppléant who sits with full vote when the titulaire is absent and has informed the
  president (L.5211-6 CGCT, R9).
- Designated salles carry the deliberation that designated them, reference and date
  (R.5211-2 al. 1, R1); a salle without a designation is not a place of the sitting.
- Each salle has its agent(s), auxiliaires du secrétaire de séance (R.5211-2 al. 3-4, R4).
- The règlement intérieur sets recording and retention (R.5211-2 al. 5, R5).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any


class Seat(StrEnum):
    TITULAIRE = "titulaire"
    SUPPLEANT = "suppleant"


@dataclass(frozen=True)
class Commune:
    id: str
    name: str
    insee: str = ""


@dataclass(frozen=True)
class Member:
    """A councillor: a titulaire (member in office) or the suppléant of one (L.5211-6)."""

    id: str
    first_name: str
    last_name: str
    commune_id: str
    seat: Seat = Seat.TITULAIRE
    #: for a suppléant, the titulaire they replace
    replaces: str | None = None
    function: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Designation:
    """The deliberation designating a salle for teleconference (R1, R.5211-2 al. 1)."""

    reference: str
    date: str  # ISO date


@dataclass(frozen=True)
class Salle:
    id: str
    name: str
    commune_id: str
    address: str
    designation: Designation | None
    is_seat: bool = False

    @property
    def designated(self) -> bool:
        """R1: designated by a recorded deliberation (reference and date both known)."""
        return self.designation is not None and bool(self.designation.reference) and bool(self.designation.date)


@dataclass(frozen=True)
class Agent:
    """An auxiliaire du secrétaire de séance posted in one salle (R4)."""

    id: str
    name: str
    salle_id: str


@dataclass(frozen=True)
class Reglement:
    """Règlement intérieur settings the software applies (R5)."""

    recording: bool = True
    retention_days: int = 365
    consultation: str = "secrétaire de séance, président, sur demande écrite tout conseiller"


@dataclass(frozen=True)
class Council:
    id: str
    name: str
    siret: str
    communes: tuple[Commune, ...]
    members: tuple[Member, ...]
    salles: tuple[Salle, ...]
    agents: tuple[Agent, ...]
    president_id: str
    reglement: Reglement = field(default_factory=Reglement)

    # -- look-ups ---------------------------------------------------------------
    # Indexed once per council (a frozen value): the sitting view looks up every member,
    # commune and suppléant on each push, and a large EPCI has 300 councillors. The first
    # entry of an id wins, as a scan would find it.
    @staticmethod
    def _index(items: tuple[Any, ...], key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in items:
            out.setdefault(getattr(item, key), item)
        return out

    @cached_property
    def _members(self) -> dict[str, Member]:
        return self._index(self.members, "id")

    @cached_property
    def _salles(self) -> dict[str, Salle]:
        return self._index(self.salles, "id")

    @cached_property
    def _agents(self) -> dict[str, Agent]:
        return self._index(self.agents, "id")

    @cached_property
    def _communes(self) -> dict[str, Commune]:
        return self._index(self.communes, "id")

    @cached_property
    def _suppleants(self) -> dict[str, Member]:
        return self._index(tuple(m for m in self.members if m.seat == Seat.SUPPLEANT), "replaces")

    def member(self, member_id: str) -> Member | None:
        return self._members.get(member_id)

    def salle(self, salle_id: str) -> Salle | None:
        return self._salles.get(salle_id)

    def agent(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def commune(self, commune_id: str) -> Commune | None:
        return self._communes.get(commune_id)

    @property
    def in_office(self) -> tuple[Member, ...]:
        """Members in office: the titulaires (L.2121-17 counts these)."""
        return tuple(m for m in self.members if m.seat == Seat.TITULAIRE)

    def suppleant_of(self, titulaire_id: str) -> Member | None:
        return self._suppleants.get(titulaire_id)

    def seat_of(self, member_id: str) -> str:
        """The titulaire seat a member occupies (a suppléant occupies the titulaire's)."""
        m = self.member(member_id)
        if m is not None and m.seat == Seat.SUPPLEANT and m.replaces:
            return m.replaces
        return member_id

    # -- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for m in d["members"]:
            m["seat"] = str(m["seat"])
        d["communes"] = list(d["communes"])
        d["members"] = list(d["members"])
        d["salles"] = list(d["salles"])
        d["agents"] = list(d["agents"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Council:
        return cls(
            id=d["id"],
            name=d["name"],
            siret=d["siret"],
            communes=tuple(Commune(**c) for c in d["communes"]),
            members=tuple(Member(**{**m, "seat": Seat(m["seat"])}) for m in d["members"]),
            salles=tuple(
                Salle(**{**s, "designation": Designation(**s["designation"]) if s.get("designation") else None})
                for s in d["salles"]
            ),
            agents=tuple(Agent(**a) for a in d["agents"]),
            president_id=d["president_id"],
            reglement=Reglement(**d["reglement"]),
        )


@dataclass(frozen=True)
class SittingConfig:
    """How a sitting was convened (R6, R8 re-convocation, R12 mode)."""

    id: str
    title: str
    scheduled_at: str  # ISO datetime of the sitting
    convened_on: str  # ISO date the convocation was sent
    teleconference: bool = True
    #: R8: date of a first sitting that lacked quorum, when this one is its re-convocation
    reconvened_after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SittingConfig:
        return cls(**d)
