"""The council (conseil communautaire) of an EPCI and its configuration.

- Members in office are the titulaires; a commune with a single councillor also has a
  suppléant who sits with full vote when the titulaire is absent and has informed the
  president (L.5211-6 CGCT, R9).
- Designated salles carry the deliberation that designated them, reference and date
  (R.5211-2 al. 1, R1); a salle without a designation is not a place of the sitting.
- Each salle has its agent(s), auxiliaires du secrétaire de séance (R.5211-2 al. 3-4, R4).
- The règlement intérieur sets recording and retention (R.5211-2 al. 5, R5).

A :class:`Council` refuses an inconsistent composition wherever it is built or restored
(the admin's forms, the store, a journal's first line): :class:`CompositionError` names
the rule. What a machine can check of the CGCT:

- L.5211-6 (R9): only a commune with a single councillor has a suppléant, one, of the
  same commune, replacing that titulaire; a titulaire replaces no one;
- every member, salle and agent belongs to a known commune or salle (R1, R4), ids are
  unique, the president is a titulaire of the council (L.5211-9), one salle at most is
  the siège;
- members' birth dates, when known, are ISO dates: the oldest candidate is appointed on
  a tie (L.2121-21, R24). They are public data of elected members (répertoire national
  des élus).

The number of seats of each commune is the préfet's arrêté (L.5211-6-1): taken as entered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Any

from .french import agreed, de

#: The edition of the decision rules a sitting is convened under (:class:`SittingConfig`):
#: 1 for journals written before nominations, amendments and withdrawn items (their
#: genesis has no ``rules_version``), 2 for those of issue 13, 3 since issue 12 point 6
#: (text fields bounded, a repeated objection records nothing).
RULES_VERSION = 3
#: Every edition a journal may name; a verifier re-decides each under its own.
RULES_EDITIONS = (1, 2, 3)


class CompositionError(ValueError):
    """An inconsistent council: the rule (``R9``, ``R1``, ``R4``, ``SCHEMA``) and a French message."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


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
    #: ISO date, when known: the oldest candidate is appointed on a tie (L.2121-21, R24)
    birth_date: str | None = None
    #: « Mme » or « M. » (the words of the screens agree with it), « » when unknown
    civility: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def feminine(self) -> bool | None:
        """From the civilité; ``None`` when it is unknown (see :mod:`deliberation.french`)."""
        return {"Mme": True, "M.": False}.get(self.civility)


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
    #: R13: at an electronic vote, a councillor may change their choice until the vote
    #: closes; each change is journaled and the last choice counts
    ballot_change: bool = True


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

    def __post_init__(self) -> None:
        problem = composition_problem(self)
        if problem is not None:
            raise problem

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


def _duplicate(ids: list[str]) -> str | None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            return i
        seen.add(i)
    return None


def composition_problem(council: Council) -> CompositionError | None:
    """The first inconsistency of a council's composition, or None (see the module's docstring)."""
    for what, ids in (
        ("commune", [c.id for c in council.communes]),
        ("membre", [m.id for m in council.members]),
        ("salle", [s.id for s in council.salles]),
        ("agent", [a.id for a in council.agents]),
    ):
        dup = _duplicate(ids)
        if dup is not None:
            return CompositionError("SCHEMA", f"Composition du conseil : identifiant de {what} « {dup} » en double.")
    communes = {c.id: c for c in council.communes}
    members = {m.id: m for m in council.members}
    for m in council.members:
        if m.commune_id not in communes:
            return CompositionError("SCHEMA", f"Composition du conseil : {m.name} appartient à une commune inconnue.")
        if m.birth_date is not None:
            try:
                born = date.fromisoformat(m.birth_date)
            except (TypeError, ValueError):
                born = None
            if born is None or born.year < 1900:
                return CompositionError(
                    "SCHEMA", f"Composition du conseil : date de naissance {de(m.name)} invalide (AAAA-MM-JJ attendu)."
                )
        if m.seat == Seat.TITULAIRE and m.replaces is not None:
            return CompositionError(
                "R9", f"R9 — {m.name} est titulaire : un titulaire ne remplace personne (L.5211-6)."
            )
    titulaires_of: dict[str, int] = {}
    for m in council.members:
        if m.seat == Seat.TITULAIRE:
            titulaires_of[m.commune_id] = titulaires_of.get(m.commune_id, 0) + 1
    replaced: set[str] = set()
    for m in council.members:
        if m.seat != Seat.SUPPLEANT:
            continue
        tit = members.get(m.replaces or "")
        if tit is None or tit.seat != Seat.TITULAIRE:
            return CompositionError(
                "R9",
                f"R9 — {m.name}, {agreed('suppléant', m.feminine)}, doit remplacer un titulaire du conseil (L.5211-6).",
            )
        if tit.commune_id != m.commune_id:
            return CompositionError(
                "R9",
                f"R9 — {m.name}, {agreed('suppléant', m.feminine)}, est de la commune de son titulaire {tit.name} (L.5211-6).",
            )
        if m.replaces in replaced:
            return CompositionError("R9", f"R9 — {tit.name} a déjà un suppléant : un seul par titulaire (L.5211-6).")
        replaced.add(tit.id)
        n = titulaires_of.get(m.commune_id, 0)
        if n != 1:
            commune = communes[m.commune_id].name
            return CompositionError(
                "R9",
                f"R9 — la commune de {commune} a {n} conseillers communautaires : seule une commune qui n'en a qu'un "
                f"a un suppléant (L.5211-6). Mettez fin au mandat {de(m.name)} avant d'ajouter un autre titulaire.",
            )
    salles = {s.id for s in council.salles}
    for s in council.salles:
        if s.commune_id not in communes:
            return CompositionError("R1", f"R1 — la salle « {s.name} » est dans une commune inconnue du conseil.")
    if sum(s.is_seat for s in council.salles) > 1:
        return CompositionError("R1", "R1 — une seule salle est le siège du conseil.")
    for a in council.agents:
        if a.salle_id not in salles:
            return CompositionError("R4", f"R4 — l'agent {a.name} est affecté à une salle inconnue du conseil.")
    if council.president_id:
        president = members.get(council.president_id)
        if president is None or president.seat != Seat.TITULAIRE:
            return CompositionError(
                "SCHEMA", "Composition du conseil : le président est un membre titulaire du conseil (L.5211-9)."
            )
    return None


@dataclass(frozen=True)
class AgendaRef:
    """An item of an agenda, as another sitting refers to it: its id and title."""

    id: str
    title: str


@dataclass(frozen=True)
class Reconvocation:
    """The sitting without quorum a sitting is convened again after (L.2121-17 al. 2, R8).

    ``line_sha256`` is the ``hash`` of the line of the failed sitting's journal that
    records the lack of quorum (event ``QuorumFailed``), ``items`` that sitting's agenda:
    the new sitting deliberates without quorum on those items only."""

    sitting_id: str
    scheduled_at: str
    line_sha256: str
    items: tuple[AgendaRef, ...]

    def covers(self, item_id: str, title: str) -> bool:
        """The same item: same id and same title (L.2121-17 al. 2, « sur le même ordre du jour »)."""
        return any(i.id == item_id and " ".join(i.title.split()) == " ".join(title.split()) for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sitting_id": self.sitting_id,
            "scheduled_at": self.scheduled_at,
            "line_sha256": self.line_sha256,
            "items": [{"id": i.id, "title": i.title} for i in self.items],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reconvocation:
        return cls(
            d["sitting_id"],
            d["scheduled_at"],
            d["line_sha256"],
            tuple(AgendaRef(i["id"], i["title"]) for i in d["items"]),
        )


@dataclass(frozen=True)
class SittingConfig:
    """How a sitting was convened (R6, R8 re-convocation, R12 mode) and under which rules.

    ``rules_version``: the edition of the decision rules (:data:`RULES_VERSION`); a genesis
    without it is of edition 1, whose journals keep replaying as they were decided.
    Edition 1 waived the quorum on every item after ``reconvened_after`` (a date);
    edition 2 links the failed sitting (``reconvened_from``) and waives it on its items
    only (L.2121-17 al. 2).

    ``convened_on``: the date of sending the admin typed before issue 16; kept for the
    journals whose genesis carries it (the journal's format is a promise to auditors), never
    asked for since: R6 is counted from the journaled sending (``ConvocationSent``,
    :func:`deliberation.convocation_date.sent_on`). A genesis without it omits the key."""

    id: str
    title: str
    scheduled_at: str  # ISO datetime of the sitting
    convened_on: str | None = None  # ISO date typed by hand (journals before issue 16 only)
    teleconference: bool = True
    #: R8 (edition 1): date of a first sitting that lacked quorum, when this one is its re-convocation
    reconvened_after: str | None = None
    rules_version: int = RULES_VERSION
    #: R8 (edition 2): the sitting that lacked quorum, when this one is its re-convocation
    reconvened_from: Reconvocation | None = None

    def __post_init__(self) -> None:
        if self.rules_version not in RULES_EDITIONS:
            raise CompositionError("SCHEMA", f"Édition des règles inconnue : {self.rules_version}.")
        if self.rules_version >= 2 and self.reconvened_after is not None:
            raise CompositionError(
                "R8",
                "R8 — une séance convoquée à nouveau faute de quorum désigne la séance sans quorum et son journal "
                "(reconvened_from), pas seulement sa date.",
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reconvened_from"] = self.reconvened_from.to_dict() if self.reconvened_from else None
        if self.convened_on is None:
            del d["convened_on"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SittingConfig:
        rc = d.get("reconvened_from")
        return cls(
            **{
                **d,
                "rules_version": d.get("rules_version", 1),
                "reconvened_from": Reconvocation.from_dict(rc) if rc else None,
            }
        )
