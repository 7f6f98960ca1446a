"""The admin's forms: each turns the posted fields into the core's objects (the council,
a member, a salle, a sitting, an agenda item, an account's links) or refuses with
:class:`Invalid`, naming the field in French (and the rule: R1, R6, R8, R12 …). Nothing
here reads or writes a file: the routes (:mod:`web.admin.routes`) store what is returned.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deliberation.actors import ADMIN
from deliberation.commands import AddAgendaItem
from deliberation.council import (
    Agent,
    Commune,
    Council,
    Designation,
    Member,
    Reconvocation,
    Salle,
    Seat,
    SittingConfig,
)
from deliberation.deadlines import (
    reconvocation_ok,
)
from deliberation.refusal import Refusal
from deliberation.seance import Seance
from signaling.accounts import fold_login, member_login
from signaling.auth import new_password
from signaling.council_store import now_iso
from signaling.roles import ROLE_LABELS_FR, Role

MANAGED_ROLES = (Role.PRESIDENT, Role.AGENT, Role.COUNCILLOR, Role.MODERATOR, Role.AUDITOR)


FIELD_LABELS = {
    "title": "intitulé",
    "kind": "nature",
    "matiere_code": "matière ACTES",
    "item_id": "identifiant du point",
    "body": "organe",
    "body_name": "nom de l'organe",
    "seats": "nombre de sièges",
}


ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


MEMBER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


SIRET_RE = re.compile(r"^[0-9]{14}$")


INSEE_RE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")


class Invalid(Exception):
    """A refused input: the field (French label) or rule, and the French message; the HTTP
    status of the page shown again (400, or 409 for a form refused « not now »)."""

    def __init__(self, message: str, field: str | None = None, section: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.section = section
        self.status = status


def required(form: dict[str, str], name: str, label: str, section: str, max_len: int = 200) -> str:
    value = form.get(name, "")
    if not value:
        raise Invalid(f"Champ « {label} » : à remplir.", label, section)
    if len(value) > max_len:
        raise Invalid(f"Champ « {label} » : {max_len} caractères au plus.", label, section)
    return value


def identifier(form: dict[str, str], name: str, label: str, section: str, *, dots: bool = False) -> str:
    """An identifier as typed, accents folded (« j.pérrin » -> ``j.perrin``); a member's may
    carry dots, as logins do."""
    value = fold_login(required(form, name, label, section, 64))
    if not (MEMBER_ID_RE if dots else ID_RE).match(value):
        allowed = "« . », « - » ou « _ »" if dots else "« - » ou « _ »"
        raise Invalid(
            f"Champ « {label} » : lettres minuscules sans accent, chiffres, {allowed} (64 au plus).",
            label,
            section,
        )
    return value


def date_field(form: dict[str, str], name: str, label: str, section: str, required: bool = True) -> date | None:
    value = form.get(name, "")
    if not value and not required:
        return None
    if not value:
        raise Invalid(f"Champ « {label} » : à remplir.", label, section)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"Champ « {label} » : date attendue (AAAA-MM-JJ).", label, section) from None


#: An address a relay accepts (RFC 5321 §4.1.2, kept simple: local part, « @ », a domain).
EMAIL_RE = re.compile(
    r"^[^@\s<>\"(),;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def email_field(form: dict[str, str], section: str) -> str:
    """The member's address for the convocations (L.2121-10: sent « de manière dématérialisée »
    to the address they give); empty when they receive it on paper."""
    value = form.get("email", "").strip()
    if value and (len(value) > 254 or not EMAIL_RE.match(value)):
        raise Invalid(
            "Champ « adresse électronique » : adresse attendue, par exemple prenom.nom@mairie-exemple.fr "
            "(laissez vide pour une convocation sur papier).",
            "adresse électronique",
            section,
        )
    return value


def slugify(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:48] or "point"


def paris_datetime(day: date, at: dtime) -> str:
    try:
        return datetime.combine(day, at, ZoneInfo("Europe/Paris")).isoformat()
    except ZoneInfoNotFoundError:  # no tz database: France's winter offset
        return datetime.fromisoformat(f"{day.isoformat()}T{at.isoformat()}+01:00").isoformat()


def save_council(council: Council | None, form: dict[str, str]) -> Council:
    name = required(form, "name", "nom du conseil", "conseil")
    siret = required(form, "siret", "SIRET", "conseil").replace(" ", "")
    if not SIRET_RE.match(siret):
        raise Invalid("Champ « SIRET » : 14 chiffres attendus.", "SIRET", "conseil")
    if council is None:
        ident = identifier(form, "id", "identifiant du conseil", "conseil")
        return Council(ident, name, siret, (), (), (), (), president_id="")
    else:
        return dataclasses.replace(council, name=name, siret=siret)


def add_commune(council: Council, form: dict[str, str]) -> Council:
    ident = identifier(form, "id", "identifiant de la commune", "commune")
    name = required(form, "name", "nom de la commune", "commune")
    insee = form.get("insee", "")
    if insee and not INSEE_RE.match(insee):
        raise Invalid("Champ « code INSEE » : 5 caractères (ex. 71032).", "code INSEE", "commune")
    if council.commune(ident):
        raise Invalid(
            f"Champ « identifiant de la commune » : « {ident} » existe déjà.", "identifiant de la commune", "commune"
        )
    return dataclasses.replace(council, communes=council.communes + (Commune(ident, name, insee),))


#: the civilités the admin chooses from (the screens' words agree with it: deliberation.french)
CIVILITIES = {"Mme": "Madame", "M.": "Monsieur"}


def civility_field(form: dict[str, str], section: str, default: str = "") -> str:
    """« Mme », « M. », or ``default`` when left empty (unknown when adding, unchanged when editing)."""
    value = form.get("civility", "").strip()
    if not value:
        return default
    if value not in CIVILITIES:
        raise Invalid("Champ « civilité » : Madame ou Monsieur.", "civilité", section)
    return value


def add_member(council: Council, form: dict[str, str]) -> Council:
    s = "membre"
    ident = identifier(form, "id", "identifiant du membre", s, dots=True)
    if council.member(ident):
        raise Invalid(f"Champ « identifiant du membre » : « {ident} » existe déjà.", "identifiant du membre", s)
    first = required(form, "first_name", "prénom", s, 80)
    last = required(form, "last_name", "nom", s, 80)
    commune = required(form, "commune_id", "commune", s)
    if council.commune(commune) is None:
        raise Invalid("Champ « commune » : commune inconnue du conseil.", "commune", s)
    seat = form.get("seat", "")
    if seat not in (Seat.TITULAIRE, Seat.SUPPLEANT):
        raise Invalid("Champ « siège » : titulaire ou suppléant.", "siège", s)
    replaces = required(form, "replaces", "titulaire remplacé", s) if seat == Seat.SUPPLEANT else None
    born = date_field(form, "birth_date", "date de naissance", s, required=False)
    civility = civility_field(form, s)
    member = Member(
        ident,
        first,
        last,
        commune,
        Seat(seat),
        replaces,
        form.get("function", "")[:80],
        born and born.isoformat(),
        civility=civility,
    )
    # the composition (a suppléant only for a commune with a single councillor, L.5211-6) is the core's
    return dataclasses.replace(council, members=council.members + (member,))


def edit_member(council: Council, form: dict[str, str]) -> Council:
    """Correct a member's name, civilité or function (a typo, a new vice-presidency). The seat,
    commune and suppléance do not change here: they follow from the elections (L.5211-6);
    a change there is an end of mandate and a new member. Sittings already convened keep
    the council as it was in their journal (its first line)."""
    s = "membre-modifier"
    member = known_member(council, form, s)
    first = required(form, "first_name", "prénom", s, 80)
    last = required(form, "last_name", "nom", s, 80)
    born = date_field(form, "birth_date", "date de naissance", s, required=False)
    civility = civility_field(form, s, default=member.civility)
    changed = dataclasses.replace(
        member,
        first_name=first,
        last_name=last,
        civility=civility,
        function=form.get("function", "")[:80],
        birth_date=born.isoformat() if born else member.birth_date,
    )
    return dataclasses.replace(council, members=tuple(changed if m.id == member.id else m for m in council.members))


def save_salle(council: Council, form: dict[str, str]) -> Council:
    s = "salle"
    ident = identifier(form, "id", "identifiant de la salle", s)
    name = required(form, "name", "nom de la salle", s)
    commune = required(form, "commune_id", "commune", s)
    if council.commune(commune) is None:
        raise Invalid("Champ « commune » : commune inconnue du conseil.", "commune", s)
    address = required(form, "address", "adresse", s)
    reference = form.get("designation_reference", "")
    # R1: a salle is a place of a sitting only when designated by a deliberation (reference and date).
    if not reference or not form.get("designation_date"):
        raise Invalid(
            "R1 — la délibération qui désigne la salle (référence et date) est obligatoire : "
            "une salle non désignée ne peut pas accueillir une séance (art. R.5211-2 CGCT).",
            "délibération de désignation",
            s,
        )
    when = date_field(form, "designation_date", "date de la délibération", s)
    if when > date.today():
        raise Invalid(
            "Champ « date de la délibération » : la délibération de désignation ne peut pas être à venir.",
            "date de la délibération",
            s,
        )
    is_seat = form.get("is_seat") == "on"
    salle = Salle(ident, name, commune, address, Designation(reference[:80], when.isoformat()), is_seat)
    known = council.salle(ident) is not None
    salles = tuple(salle if x.id == ident else x for x in council.salles) if known else council.salles + (salle,)
    if is_seat:  # one siège
        salles = tuple(x if x.id == ident else dataclasses.replace(x, is_seat=False) for x in salles)
    return dataclasses.replace(council, salles=salles)


def add_agent(council: Council, form: dict[str, str]) -> Council:
    s = "agent"
    ident = identifier(form, "id", "identifiant de l'agent", s)
    if council.agent(ident):
        raise Invalid(f"Champ « identifiant de l'agent » : « {ident} » existe déjà.", "identifiant de l'agent", s)
    name = required(form, "name", "nom de l'agent", s, 120)
    salle = council.salle(form.get("salle_id", ""))
    if salle is None:
        raise Invalid("Champ « salle » : salle inconnue.", "salle", s)
    if not salle.designated:
        raise Invalid(
            f"R1 — la salle « {salle.name} » n'est pas désignée par une délibération : aucun agent n'y est affecté.",
            "salle",
            s,
        )
    return dataclasses.replace(council, agents=council.agents + (Agent(ident, name, salle.id),))


def known_member(council: Council, form: dict[str, str], section: str) -> Member:
    member = council.member(form.get("id", ""))
    if member is None:
        raise Invalid("Champ « membre » : membre inconnu du conseil.", "membre", section)
    return member


def end_mandate(council: Council, form: dict[str, str]) -> tuple[Council, Member]:
    """The council without the member whose mandate ended (resignation, death, new
    designation by the commune: L.5211-6 and following). Refused for the president (a
    new president is elected first) and for a titulaire who still has a suppléant (end
    the suppléant's mandate first, or the suppléant would replace no one). Past
    sittings are untouched: each journal carries the council of its sitting."""
    s = "membre-fin"
    member = known_member(council, form, s)
    if form.get("confirm") != "on":
        raise Invalid("Champ « confirmation » : cochez la case pour confirmer la fin du mandat.", "confirmation", s)
    if member.id == council.president_id:
        raise Invalid(
            "Le mandat du président ne prend pas fin ici : le conseil élit d'abord un nouveau président "
            "(L.5211-10 CGCT), puis enregistrez-le.",
            "membre",
            s,
        )
    suppleant = council.suppleant_of(member.id) if member.seat == Seat.TITULAIRE else None
    if suppleant is not None:
        raise Invalid(
            f"Mettez d'abord fin au mandat de son suppléant, {suppleant.name} : "
            "un suppléant remplace un titulaire en exercice (L.5211-6).",
            "membre",
            s,
        )
    return dataclasses.replace(council, members=tuple(m for m in council.members if m.id != member.id)), member


@dataclass(frozen=True)
class AccountLinks:
    """What an account is bound to: the member (élus, president), the salle and the agent
    (agents, R4: an agent acts for the salle it is posted in)."""

    member_id: str | None = None
    salle_id: str | None = None
    agent_id: str | None = None


def account_from_form(form: dict[str, str], council: Council | None, accounts) -> tuple[str, str, Role, str]:
    s = "comptes"
    login = fold_login(required(form, "login", "identifiant", s, 64))
    if not LOGIN_RE.match(login):
        raise Invalid(
            "Champ « identifiant » : 2 à 64 caractères, lettres minuscules, chiffres, « . », « - » ou « _ » "
            "(les accents sont retirés : « j.perrin »).",
            "identifiant",
            s,
        )
    if form.get("reset") == "1":
        return login, new_password(), Role.ADMIN, ""
    try:
        role = Role(form.get("role", ""))
    except ValueError:
        role = None
    if role not in MANAGED_ROLES:
        raise Invalid("Champ « rôle » : président, agent de salle, élu, modérateur ou auditeur.", "rôle", s)
    label = form.get("display_name", "")[:120]
    if council is not None and not label:
        if role in (Role.COUNCILLOR, Role.PRESIDENT) and council.member(form.get("member_id", "")):
            label = council.member(form["member_id"]).name
        if role is Role.AGENT and council.agent(form.get("agent_id", "")):
            label = council.agent(form["agent_id"]).name
    return login, new_password(), role, label or ROLE_LABELS_FR[role]


def seat_salle(council: Council) -> str | None:
    """The siège (the president's salle), else the first designated salle."""
    designated = [x for x in council.salles if x.designated]
    return next((x.id for x in designated if x.is_seat), designated[0].id if designated else None)


def account_links(form: dict[str, str], council: Council | None, role: Role) -> AccountLinks:
    s = "comptes"
    if role is Role.PRESIDENT:
        member = council.member(form.get("member_id", "")) if council else None
        if member is None or council is None or member.id != council.president_id:
            raise Invalid(
                "Champ « membre » : le compte de présidence désigne le président du conseil "
                "(désignez-le d'abord, section « Conseil »).",
                "membre",
                s,
            )
        return AccountLinks(member.id, seat_salle(council))
    if role is Role.COUNCILLOR:
        member = council.member(form.get("member_id", "")) if council else None
        if member is None:
            raise Invalid("Champ « membre » : un compte d'élu désigne un membre du conseil.", "membre", s)
        return AccountLinks(member.id)
    if role is Role.AGENT:
        agent = council.agent(form.get("agent_id", "")) if council else None
        if agent is None:
            raise Invalid("Champ « agent » : un compte d'agent désigne un agent de salle enregistré.", "agent", s)
        salle = council.salle(agent.salle_id)
        if salle is None or not salle.designated:
            raise Invalid("R1 — la salle de cet agent n'est pas désignée par une délibération.", "agent", s)
        return AccountLinks(None, agent.salle_id, agent.id)
    return AccountLinks()


def designate_president(council: Council, form: dict[str, str]) -> Council:
    """The president the council elected (L.5211-10 CGCT), among its titulaires. Sittings
    already convened keep the president of their convocation (their journal's first line)."""
    s = "president"
    member = council.member(form.get("member_id", ""))
    if member is None:
        raise Invalid("Champ « président » : membre inconnu du conseil.", "président", s)
    if member.seat != Seat.TITULAIRE:
        raise Invalid(
            "Champ « président » : un suppléant ne préside pas ; le président est élu parmi les titulaires "
            "(L.5211-10 CGCT).",
            "président",
            s,
        )
    return dataclasses.replace(council, president_id=member.id)


def member_account_plan(council: Council, taken: set[str], has_account: set[str]) -> list[tuple[str, Role, Member]]:
    """One account for each member without one: (login, role, member). The login is
    ``j.perrin`` (:func:`signaling.accounts.member_login`), ``j.perrin2`` … when taken."""
    plan = []
    taken = set(taken)
    for member in council.members:
        if member.id in has_account:
            continue
        base = member_login(member.first_name, member.last_name) or member.id
        login, n = base, 2
        while login in taken:
            login, n = f"{base}{n}", n + 1
        taken.add(login)
        plan.append((login, Role.PRESIDENT if member.id == council.president_id else Role.COUNCILLOR, member))
    return plan


def sitting_from_form(
    form: dict[str, str], council: Council, existing: list[SittingConfig], failed: dict[str, Reconvocation]
) -> SittingConfig:
    s = "seances"
    ident = identifier(form, "id", "identifiant de la séance", s)
    if any(x.id == ident for x in existing):
        raise Invalid(
            f"Champ « identifiant de la séance » : une séance « {ident} » existe déjà.", "identifiant de la séance", s
        )
    title = required(form, "title", "intitulé", s)
    day = date_field(form, "date", "date de la séance", s)
    try:
        at = dtime.fromisoformat(required(form, "time", "heure", s, 8))
    except ValueError:
        raise Invalid("Champ « heure » : heure attendue (HH:MM).", "heure", s) from None
    # R6: no date of sending is typed any more: the server dates and journals each sending
    # (ConvocationSent), and the five clear days are counted from it
    mode = form.get("mode", "")
    if mode not in ("visio", "presentiel"):
        raise Invalid("Champ « forme » : visioconférence ou lieu unique.", "forme", s)
    teleconference = mode == "visio"
    if teleconference and not any(x.designated for x in council.salles):
        raise Invalid(
            "R1 — aucune salle n'est désignée par une délibération : une séance en visioconférence n'a pas de lieu.",
            "forme",
            s,
        )
    failed_id = form.get("reconvened_from", "")
    linked = failed.get(failed_id) if failed_id else None
    if failed_id and linked is None:
        raise Invalid(
            "R8 — la séance désignée n'a pas de journal vérifié constatant l'absence de quorum (L.2121-17).",
            "séance sans quorum",
            s,
        )
    if linked is not None and not reconvocation_ok(linked.scheduled_at, day):
        raise Invalid(
            "R8 — une séance convoquée à nouveau faute de quorum se tient au moins trois jours francs après "
            "la première (L.2121-17).",
            "séance sans quorum",
            s,
        )
    return SittingConfig(ident, title, paris_datetime(day, at), None, teleconference, reconvened_from=linked)


def item_command(item_id: str, title: str, fields: dict[str, str]) -> AddAgendaItem:
    """The core's AddAgendaItem from the agenda form's fields: ``kind``, ``matiere_code`` and,
    for a nomination, ``body`` (the body whose seats it fills, R12), ``body_name``, ``seats``."""
    kind = fields.get("kind", "") or "deliberation"
    nomination = kind == "nomination"
    seats = fields.get("seats", "1")
    return AddAgendaItem(
        now_iso(),
        item_id,
        title,
        kind,
        fields.get("matiere_code", "") or "5.2",
        (fields.get("body") or None) if nomination else None,
        fields.get("body_name", "")[:200] if nomination else "",
        int(seats) if nomination and seats.isdigit() else (0 if nomination else 1),
    )


def check_item(
    council: Council, sitting: SittingConfig, items: list[AddAgendaItem], command: AddAgendaItem
) -> Refusal | AddAgendaItem:
    """Decide an agenda item as the core would on the sitting as convened (R12, schema)."""
    seance = Seance(council, sitting)
    for existing in items:
        result = seance.handle(existing, ADMIN)
        if isinstance(result, Refusal):  # an item stored before a change of form: the sitting decides now
            continue
    result = seance.decide(command, ADMIN)
    if isinstance(result, Refusal):
        message = result.message
        for name, label in FIELD_LABELS.items():
            message = message.replace(f"« {name} »", f"« {label} »")
        return Refusal(result.rule, message, FIELD_LABELS.get(result.field or "", result.field))
    return command


def convocation_check(
    council: Council, sitting: SittingConfig, items: list[AddAgendaItem], convened_at: str | None, form: dict[str, str]
) -> None:
    """What a convocation needs (R6): not sent already, an agenda (L.2121-10: the
    convocation states it), a president designated among the members, the admin's
    confirmation. Raises Invalid."""
    s = "convocation"
    if convened_at is not None:
        raise Invalid("R6 — cette séance est déjà convoquée.", None, s)
    if not items:
        raise Invalid(
            "R6 — inscrivez au moins un point à l'ordre du jour : la convocation l'indique (art. L.2121-10 CGCT).",
            "ordre du jour",
            s,
        )
    if council.member(council.president_id) is None:
        raise Invalid(
            "Désignez d'abord le président du conseil (section « Conseil ») : il ouvre la séance (L.2121-14).",
            "président",
            s,
        )
    if form.get("confirm") != "on":
        raise Invalid(
            "Champ « confirmation » : cochez la case ; l'ordre du jour ne pourra plus être modifié ici.",
            "confirmation",
            s,
        )
