"""The admin (DSI) pages: the council, its members, salles (R1), agents (R4), accounts and
kiosk links, sittings with their agenda (R12), the convocation (R6) and the semester
standing (R23).

Persistence: the council and its sittings in ``<data_dir>/council.sqlite3`` through
:class:`signaling.council_store.CouncilStore`; the agenda of a sitting as convened in a
table of this module in the same file (``admin_agenda_item``); people's accounts in the
app's :class:`signaling.accounts.AccountStore`. When the server hosts the demo sitting
and the store is empty, the demo council is seeded on startup.

Every POST is checked: admin role, same-origin, and a per-session CSRF token (an HMAC of
the session cookie under ``<data_dir>/csrf.key``; the cookie itself is SameSite=Strict).
Every input is validated; a refusal names the field or the rule in French and changes
nothing. Agenda items are decided by the deliberation core itself (``Seance.decide`` of
an ``AddAgendaItem`` on the sitting as convened), so the R12 refusal here is the same as
in a sitting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from deliberation.actes import ACTES_MATIERES
from deliberation.actors import ADMIN
from deliberation.agenda import BANNED_KINDS, BODY_LABELS, KIND_LABELS, NATURES, Body, title_warnings
from deliberation.commands import AddAgendaItem
from deliberation.council import (
    Agent,
    Commune,
    CompositionError,
    Council,
    Designation,
    Member,
    Reconvocation,
    Salle,
    Seat,
    SittingConfig,
)
from deliberation.deadlines import (
    SittingSlot,
    clear_days_between,
    convocation_message,
    reconvocation_ok,
    semester_of,
    semester_standing,
    semester_warning,
)
from deliberation.journal import JournalError, key_fingerprint, load_public_pem, read_verified
from deliberation.minutes import french_date, french_time
from deliberation.reconvocation import reconvocation_of
from deliberation.refusal import Refusal
from deliberation.seance import Seance
from signaling import datadir, sobriety
from signaling.auth import KIOSK_TTL_S, new_password
from signaling.council_store import CouncilStore
from signaling.roles import ROLE_LABELS_FR, Role
from web.appkeys import ACCOUNTS, CONFIG, CSRF_KEY, SESSION_COOKIE, SIGNER
from web.session import session_account

COUNCIL_DB = datadir.COUNCIL_DB
CSRF_FIELD = "csrf"
#: Roles whose accounts the admin creates and resets here (admin and president accounts are not).
MANAGED_ROLES = (Role.AGENT, Role.COUNCILLOR, Role.MODERATOR, Role.AUDITOR)
#: French names of the core's command fields, for refusals.
FIELD_LABELS = {
    "title": "intitulé",
    "kind": "nature",
    "matiere_code": "matière ACTES",
    "item_id": "identifiant du point",
    "body": "organe",
    "body_name": "nom de l'organe",
    "seats": "nombre de sièges",
}

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_SIRET = re.compile(r"^[0-9]{14}$")
_INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")

AGENDA_SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_agenda_item (
    council_id TEXT NOT NULL, sitting_id TEXT NOT NULL, position INTEGER NOT NULL,
    id TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL, matiere_code TEXT NOT NULL,
    PRIMARY KEY (council_id, sitting_id, id)
);
"""
#: a nomination's body (R12, R24), added with issue 13 to files written before
AGENDA_COLUMNS = (("body", "TEXT"), ("body_name", "TEXT NOT NULL DEFAULT ''"), ("seats", "INTEGER NOT NULL DEFAULT 1"))


class Invalid(Exception):
    """A refused input: the field (French label) or rule, and the French message."""

    def __init__(self, message: str, field: str | None = None, section: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.section = section


# --------------------------------------------------------------------------- plumbing


def council_db_path(data_dir: Path) -> Path:
    return datadir.DataDir.of(data_dir).council_db


@contextmanager
def open_store(data_dir: Path) -> Iterator[tuple[CouncilStore, sqlite3.Connection]]:
    """The council store and a connection for this module's agenda table (same file)."""
    path = council_db_path(data_dir)
    store = CouncilStore(path)
    db = sqlite3.connect(path)
    try:
        db.executescript(AGENDA_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(admin_agenda_item)")}
        with db:
            for name, kind in AGENDA_COLUMNS:
                if name not in columns:
                    db.execute(f"ALTER TABLE admin_agenda_item ADD COLUMN {name} {kind}")
        yield store, db
    finally:
        db.close()
        store.close()


def current_council(store: CouncilStore) -> Council | None:
    councils = store.councils()
    return store.load(councils[0][0]) if councils else None


def agenda_of(db: sqlite3.Connection, council_id: str, sitting_id: str) -> list[AddAgendaItem]:
    rows = db.execute(
        "SELECT id, title, kind, matiere_code, body, body_name, seats FROM admin_agenda_item "
        "WHERE council_id = ? AND sitting_id = ? ORDER BY position",
        (council_id, sitting_id),
    ).fetchall()
    return [AddAgendaItem("2000-01-01T00:00:00+00:00", *row) for row in rows]


def add_agenda_item(db: sqlite3.Connection, council_id: str, sitting_id: str, item: AddAgendaItem) -> None:
    with db:
        (n,) = db.execute(
            "SELECT COUNT(*) FROM admin_agenda_item WHERE council_id = ? AND sitting_id = ?", (council_id, sitting_id)
        ).fetchone()
        db.execute(
            "INSERT INTO admin_agenda_item (council_id, sitting_id, position, id, title, kind, matiere_code, body, "
            "body_name, seats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                council_id,
                sitting_id,
                n,
                item.item_id,
                item.title,
                item.kind,
                item.matiere_code,
                item.body,
                item.body_name,
                item.seats,
            ),
        )


def seed_demo(data_dir: Path) -> bool:
    """Store the demo council, its sitting and agenda when the store holds no council."""
    from deliberation.demo import demo_agenda, demo_config, demo_council

    with open_store(data_dir) as (store, db):
        if store.councils():
            return False
        council = demo_council()
        store.save(council)
        store.save_sitting(council.id, demo_config())
        for item in demo_agenda():
            add_agenda_item(db, council.id, demo_config().id, item)
    return True


def _csrf_key(data_dir: Path) -> bytes:
    path = datadir.DataDir.of(data_dir).csrf_key
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
    return path.read_bytes()


def csrf_token(request: web.Request) -> str:
    """Per session: an HMAC of the session cookie (a new login gives a new token)."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hmac.new(request.app[CSRF_KEY], cookie.encode(), hashlib.sha256).hexdigest()


def _page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    return _page(request, "error.html", {"title": title, "detail": detail}, status)


def _admin(request: web.Request) -> Any | web.Response:
    claims = session_account(request)
    if claims is None or claims.role is not Role.ADMIN:
        return _error(
            request,
            403,
            "Accès refusé",
            "L'administration est réservée aux comptes administrateur (DSI). Connectez-vous avec un tel compte.",
        )
    return claims


async def _admin_post(request: web.Request) -> tuple[Any, dict[str, str]] | web.Response:
    """Role, origin and CSRF token of a POST; the form as plain strings."""
    claims = _admin(request)
    if isinstance(claims, web.Response):
        return claims
    origin = request.headers.get("Origin")
    # Under Referrer-Policy: no-referrer a browser sends "Origin: null" with its own forms; the token decides then.
    if origin not in (None, "null") and urlsplit(origin).netloc != request.host:
        return _error(
            request, 403, "Formulaire refusé", "Ce formulaire ne vient pas de ce site : rien n'a été modifié."
        )
    form = await request.post()
    sent = str(form.get(CSRF_FIELD, ""))
    if not sent or not hmac.compare_digest(sent, csrf_token(request)):
        return _error(
            request,
            403,
            "Formulaire refusé",
            "Le jeton de sécurité du formulaire est absent ou périmé (CSRF) : rien n'a été modifié. "
            "Rechargez la page et recommencez.",
        )
    return claims, {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}


def _need(form: dict[str, str], name: str, label: str, section: str, max_len: int = 200) -> str:
    value = form.get(name, "")
    if not value:
        raise Invalid(f"Champ « {label} » : à remplir.", label, section)
    if len(value) > max_len:
        raise Invalid(f"Champ « {label} » : {max_len} caractères au plus.", label, section)
    return value


def _ident(form: dict[str, str], name: str, label: str, section: str) -> str:
    value = _need(form, name, label, section, 64)
    if not _ID.match(value):
        raise Invalid(
            f"Champ « {label} » : lettres minuscules sans accent, chiffres, « - » ou « _ » (64 au plus).",
            label,
            section,
        )
    return value


def _date(form: dict[str, str], name: str, label: str, section: str, required: bool = True) -> date | None:
    value = form.get(name, "")
    if not value and not required:
        return None
    if not value:
        raise Invalid(f"Champ « {label} » : à remplir.", label, section)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"Champ « {label} » : date attendue (AAAA-MM-JJ).", label, section) from None


def slugify(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:48] or "point"


def paris_datetime(day: date, at: dtime) -> str:
    try:
        from zoneinfo import ZoneInfo

        return datetime.combine(day, at, ZoneInfo("Europe/Paris")).isoformat()
    except Exception:  # no tz database: France's winter offset
        return datetime.fromisoformat(f"{day.isoformat()}T{at.isoformat()}+01:00").isoformat()


def semester_label(sem: tuple[int, int]) -> str:
    year, half = sem
    return f"{half}{'er' if half == 1 else 'e'} semestre {year}"


# --------------------------------------------------------------------------- view models


def _slots(sittings: list[SittingConfig]) -> list[SittingSlot]:
    return [SittingSlot(s.scheduled_at, s.teleconference) for s in sittings]


def sitting_warnings(sitting: SittingConfig, sittings: list[SittingConfig]) -> list[str]:
    """R6 (late convocation) and R23 (no single-place sitting this semester)."""
    out = []
    late = convocation_message(sitting.convened_on, sitting.scheduled_at)
    if late:
        out.append(late)
    r23 = semester_warning(
        _slots([s for s in sittings if s.id != sitting.id]), SittingSlot(sitting.scheduled_at, sitting.teleconference)
    )
    if r23:
        out.append(r23)
    return out


def standing_rows(sittings: list[SittingConfig], today: date) -> list[dict[str, Any]]:
    """R23: each semester with sittings, and the current one, with its single-place standing."""
    standing = semester_standing(_slots(sittings))
    standing.setdefault(semester_of(today), False)
    rows = []
    for sem in sorted(standing):
        held = [s for s in sittings if semester_of(s.scheduled_at) == sem]
        rows.append(
            {
                "label": semester_label(sem),
                "ok": standing[sem],
                "count": len(held),
                "visio": sum(s.teleconference for s in held),
                "current": sem == semester_of(today),
            }
        )
    return rows


def sitting_view(s: SittingConfig, sittings: list[SittingConfig]) -> dict[str, Any]:
    return {
        "config": s,
        "date": french_date(s.scheduled_at),
        "time": french_time(s.scheduled_at),
        "convened": french_date(s.convened_on),
        "clear_days": clear_days_between(s.convened_on, s.scheduled_at),
        "warnings": sitting_warnings(s, sittings),
    }


def sobriety_view(data_dir: Path, sitting_id: str, council: Council | None) -> dict[str, Any] | None:
    """The data a sitting moved, as stored with it (signaling.sobriety), for the admin pages."""
    record = sobriety.read(data_dir, sitting_id)
    if record is None:
        return None
    figures = record["figures"]
    size = sobriety.french_size
    rows = [
        {
            "salle": council.salle(sid).name if council and council.salle(sid) else sid,
            "moved": size(r["moved_bytes"]),
            "in": size(r["in_bytes"]),
            "out": size(r["out_bytes"]),
            "mesh": size(r["mesh_bytes"]),
            "slots_saved": size(r["slots_saved_bytes"]),
            "audio_only_saved": size(r["audio_only_saved_bytes"]) if r["audio_only_seconds"] else "—",
            "audio_only_minutes": round(r["audio_only_seconds"] / 60),
        }
        for sid, r in figures["salles"].items()
    ]
    t = figures["totals"]
    return {
        "totals": sobriety.summary_fr(figures),
        "viewers": size(t["viewers_out_bytes"]),
        "salles": rows,
        "closed": bool(record.get("closed")),
        "updated_at": record.get("updated_at", ""),
    }


def _journal_exists(data_dir: Path, sitting_id: str) -> bool:
    return datadir.DataDir.of(data_dir).journal(sitting_id).exists()


def _dashboard_context(request: web.Request, store: CouncilStore, **extra: Any) -> dict[str, Any]:
    council = current_council(store)
    config = request.app[CONFIG]
    sittings = store.sittings(council.id) if council else []
    accounts = request.app[ACCOUNTS].all()
    kiosks = []
    if council:
        signer = request.app[SIGNER]
        origin = f"{request.scheme}://{request.host}"
        for spec in config.sittings:
            for salle in council.salles:
                if salle.designated and salle.id in {s.id for s in spec.salles}:
                    token = signer.issue(Role.KIOSK, salle=salle.id, sitting=spec.id, ttl_s=KIOSK_TTL_S)
                    kiosks.append(
                        {"sitting": spec.title, "salle": salle.name, "url": f"{origin}/salle/{salle.id}?token={token}"}
                    )
    titulaires = [m for m in council.members if m.seat == Seat.TITULAIRE] if council else []
    return {
        "council": council,
        "titulaires": titulaires,
        "suppleants": [m for m in council.members if m.seat == Seat.SUPPLEANT] if council else [],
        "commune_name": (lambda cid: council.commune(cid).name if council and council.commune(cid) else cid),
        "member_name": (
            lambda mid: council.member(mid).name if council and mid and council.member(mid) else (mid or "")
        ),
        "salle_name": (lambda sid: council.salle(sid).name if council and sid and council.salle(sid) else (sid or "")),
        "sittings": [sitting_view(s, sittings) for s in sittings],
        "failed_sittings": failed_sittings(config.data_dir, sittings),
        "sobriety": {s.id: sobriety_view(config.data_dir, s.id, council) for s in sittings},
        "standing": standing_rows(sittings, date.today()),
        "accounts": accounts,
        "role_labels": ROLE_LABELS_FR,
        "managed_roles": MANAGED_ROLES,
        "kiosks": kiosks,
        "csrf": csrf_token(request),
        "form": {},
        "error": None,
        "notice": None,
        "password": None,
        **extra,
    }


NOTICES = {
    "conseil": "Conseil enregistré.",
    "commune": "Commune ajoutée.",
    "membre": "Membre ajouté.",
    "membre-modifier": "Membre modifié.",
    "salle": "Salle enregistrée avec sa délibération de désignation.",
    "agent": "Agent enregistré.",
}


# --------------------------------------------------------------------------- dashboard


async def dashboard(request: web.Request) -> web.StreamResponse:
    claims = _admin(request)
    if isinstance(claims, web.Response):
        return claims
    with open_store(request.app[CONFIG].data_dir) as (store, _db):
        try:
            context = _dashboard_context(request, store, notice=NOTICES.get(request.query.get("ok", "")))
        except CompositionError as err:  # stored before the core checked it (issue 13)
            return _error(
                request,
                409,
                "Composition du conseil refusée",
                f"{err.message} Le conseil enregistré ne peut pas être chargé tel quel : faites corriger sa "
                "composition dans le fichier du conseil (council.sqlite3) par la DSI, puis rechargez la page.",
            )
        return _page(request, "admin.html", context)


def _refuse(request: web.Request, store: CouncilStore, err: Invalid, form: dict[str, str]) -> web.Response:
    return _page(request, "admin.html", _dashboard_context(request, store, error=err, form=form), status=400)


def _post(section: str, with_accounts: bool = False):
    """Decorator: a dashboard form handler ``fn(store, council, form) -> None`` raising
    Invalid (``fn(store, council, form, accounts) -> notice`` with ``with_accounts``: the
    dashboard is shown with that notice)."""

    def wrap(fn):
        async def handler(request: web.Request) -> web.StreamResponse:
            checked = await _admin_post(request)
            if isinstance(checked, web.Response):
                return checked
            _claims, form = checked
            with open_store(request.app[CONFIG].data_dir) as (store, _db):
                council = current_council(store)
                try:
                    if council is None and section != "conseil":
                        raise Invalid("Enregistrez d'abord le conseil (nom et SIRET).", None, section)
                    if with_accounts:
                        notice = fn(store, council, form, request.app[ACCOUNTS])
                        return _page(request, "admin.html", _dashboard_context(request, store, notice=notice))
                    fn(store, council, form)
                except CompositionError as err:  # the core refuses the composition (R9, L.5211-6 …)
                    return _refuse(request, store, Invalid(err.message, None, section), form)
                except Invalid as err:
                    err.section = err.section or section
                    return _refuse(request, store, err, form)
            raise web.HTTPSeeOther(f"/admin?ok={section}#{section}")

        return handler

    return wrap


@_post("conseil")
def save_council(store: CouncilStore, council: Council | None, form: dict[str, str]) -> None:
    name = _need(form, "name", "nom du conseil", "conseil")
    siret = _need(form, "siret", "SIRET", "conseil").replace(" ", "")
    if not _SIRET.match(siret):
        raise Invalid("Champ « SIRET » : 14 chiffres attendus.", "SIRET", "conseil")
    if council is None:
        ident = _ident(form, "id", "identifiant du conseil", "conseil")
        store.save(Council(ident, name, siret, (), (), (), (), president_id=""))
    else:
        store.save(dataclasses.replace(council, name=name, siret=siret))


@_post("commune")
def add_commune(store: CouncilStore, council: Council, form: dict[str, str]) -> None:
    ident = _ident(form, "id", "identifiant de la commune", "commune")
    name = _need(form, "name", "nom de la commune", "commune")
    insee = form.get("insee", "")
    if insee and not _INSEE.match(insee):
        raise Invalid("Champ « code INSEE » : 5 caractères (ex. 71032).", "code INSEE", "commune")
    if council.commune(ident):
        raise Invalid(
            f"Champ « identifiant de la commune » : « {ident} » existe déjà.", "identifiant de la commune", "commune"
        )
    store.save(dataclasses.replace(council, communes=council.communes + (Commune(ident, name, insee),)))


@_post("membre")
def add_member(store: CouncilStore, council: Council, form: dict[str, str]) -> None:
    s = "membre"
    ident = _ident(form, "id", "identifiant du membre", s)
    if council.member(ident):
        raise Invalid(f"Champ « identifiant du membre » : « {ident} » existe déjà.", "identifiant du membre", s)
    first = _need(form, "first_name", "prénom", s, 80)
    last = _need(form, "last_name", "nom", s, 80)
    commune = _need(form, "commune_id", "commune", s)
    if council.commune(commune) is None:
        raise Invalid("Champ « commune » : commune inconnue du conseil.", "commune", s)
    seat = form.get("seat", "")
    if seat not in (Seat.TITULAIRE, Seat.SUPPLEANT):
        raise Invalid("Champ « siège » : titulaire ou suppléant.", "siège", s)
    replaces = _need(form, "replaces", "titulaire remplacé", s) if seat == Seat.SUPPLEANT else None
    born = _date(form, "birth_date", "date de naissance", s, required=False)
    member = Member(
        ident, first, last, commune, Seat(seat), replaces, form.get("function", "")[:80], born and born.isoformat()
    )
    # the composition (a suppléant only for a commune with a single councillor, L.5211-6) is the core's
    store.save(dataclasses.replace(council, members=council.members + (member,)))


def _known_member(council: Council, form: dict[str, str], section: str) -> Member:
    member = council.member(form.get("id", ""))
    if member is None:
        raise Invalid("Champ « membre » : membre inconnu du conseil.", "membre", section)
    return member


@_post("membre-modifier")
def edit_member(store: CouncilStore, council: Council, form: dict[str, str]) -> None:
    """Correct a member's name or function (a typo, a new vice-presidency). The seat,
    commune and suppléance do not change here: they follow from the elections (L.5211-6);
    a change there is an end of mandate and a new member. Sittings already convened keep
    the council as it was in their journal (its first line)."""
    s = "membre-modifier"
    member = _known_member(council, form, s)
    first = _need(form, "first_name", "prénom", s, 80)
    last = _need(form, "last_name", "nom", s, 80)
    born = _date(form, "birth_date", "date de naissance", s, required=False)
    changed = dataclasses.replace(
        member,
        first_name=first,
        last_name=last,
        function=form.get("function", "")[:80],
        birth_date=born.isoformat() if born else member.birth_date,
    )
    store.save(
        dataclasses.replace(council, members=tuple(changed if m.id == member.id else m for m in council.members))
    )


def end_mandate(council: Council, form: dict[str, str]) -> tuple[Council, Member]:
    """The council without the member whose mandate ended (resignation, death, new
    designation by the commune: L.5211-6 and following). Refused for the president (a
    new president is elected first) and for a titulaire who still has a suppléant (end
    the suppléant's mandate first, or the suppléant would replace no one). Past
    sittings are untouched: each journal carries the council of its sitting."""
    s = "membre-fin"
    member = _known_member(council, form, s)
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


@_post("membre-fin", with_accounts=True)
def end_member_mandate(store: CouncilStore, council: Council, form: dict[str, str], accounts) -> str:
    """POST /admin/membres/fin: end a mandate, and end the sessions of the member's account
    (it can no longer act in the sittings to come: the member is not in their council)."""
    after, member = end_mandate(council, form)
    store.save(after)
    account = accounts.by_member(member.id)
    if account is not None:
        accounts.revoke_all_sessions(account.login)
    return f"Fin du mandat de {member.name} enregistrée" + (
        f" ; les sessions du compte « {account.login} » sont fermées." if account else "."
    )


@_post("salle")
def save_salle(store: CouncilStore, council: Council, form: dict[str, str]) -> None:
    s = "salle"
    ident = _ident(form, "id", "identifiant de la salle", s)
    name = _need(form, "name", "nom de la salle", s)
    commune = _need(form, "commune_id", "commune", s)
    if council.commune(commune) is None:
        raise Invalid("Champ « commune » : commune inconnue du conseil.", "commune", s)
    address = _need(form, "address", "adresse", s)
    reference = form.get("designation_reference", "")
    # R1: a salle is a place of a sitting only when designated by a deliberation (reference and date).
    if not reference or not form.get("designation_date"):
        raise Invalid(
            "R1 — la délibération qui désigne la salle (référence et date) est obligatoire : "
            "une salle non désignée ne peut pas accueillir une séance (art. R.5211-2 CGCT).",
            "délibération de désignation",
            s,
        )
    when = _date(form, "designation_date", "date de la délibération", s)
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
    store.save(dataclasses.replace(council, salles=salles))


@_post("agent")
def add_agent(store: CouncilStore, council: Council, form: dict[str, str]) -> None:
    s = "agent"
    ident = _ident(form, "id", "identifiant de l'agent", s)
    if council.agent(ident):
        raise Invalid(f"Champ « identifiant de l'agent » : « {ident} » existe déjà.", "identifiant de l'agent", s)
    name = _need(form, "name", "nom de l'agent", s, 120)
    salle = council.salle(form.get("salle_id", ""))
    if salle is None:
        raise Invalid("Champ « salle » : salle inconnue.", "salle", s)
    if not salle.designated:
        raise Invalid(
            f"R1 — la salle « {salle.name} » n'est pas désignée par une délibération : aucun agent n'y est affecté.",
            "salle",
            s,
        )
    store.save(dataclasses.replace(council, agents=council.agents + (Agent(ident, name, salle.id),)))


# --------------------------------------------------------------------------- accounts


async def save_account(request: web.Request) -> web.StreamResponse:
    checked = await _admin_post(request)
    if isinstance(checked, web.Response):
        return checked
    _claims, form = checked
    accounts = request.app[ACCOUNTS]
    with open_store(request.app[CONFIG].data_dir) as (store, _db):
        council = current_council(store)
        try:
            login, password, role, label = _account_from_form(form, council, accounts)
            existing = accounts.get(login)
            if existing is not None and existing.role not in MANAGED_ROLES:
                raise Invalid(
                    f"Champ « identifiant » : le compte « {login} » ({ROLE_LABELS_FR[existing.role]}) "
                    "ne se modifie pas ici.",
                    "identifiant",
                    "comptes",
                )
            if form.get("reset") == "1":
                if existing is None:
                    raise Invalid(f"Champ « identifiant » : aucun compte « {login} ».", "identifiant", "comptes")
                role, label = existing.role, existing.display_name
                accounts.set_account(
                    login, password, role, member_id=existing.member_id, salle_id=existing.salle_id, display_name=label
                )
            else:
                member_id, salle_id = _account_links(form, council, role)
                accounts.set_account(login, password, role, member_id=member_id, salle_id=salle_id, display_name=label)
        except Invalid as err:
            return _page(request, "admin.html", _dashboard_context(request, store, error=err, form=form), status=400)
        return _page(
            request,
            "admin.html",
            _dashboard_context(
                request,
                store,
                password={"login": login, "password": password, "role": ROLE_LABELS_FR[role]},
                notice=f"Compte « {login} » {'réinitialisé' if form.get('reset') == '1' else 'enregistré'}.",
            ),
        )


def _account_from_form(form: dict[str, str], council: Council | None, accounts) -> tuple[str, str, Role, str]:
    s = "comptes"
    login = _need(form, "login", "identifiant", s, 64).lower()
    if not _LOGIN.match(login):
        raise Invalid(
            "Champ « identifiant » : 2 à 64 caractères, lettres minuscules, chiffres, « . », « - » ou « _ ».",
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
        raise Invalid("Champ « rôle » : agent de salle, élu, modérateur ou auditeur.", "rôle", s)
    label = form.get("display_name", "")[:120]
    if council is not None and not label:
        if role is Role.COUNCILLOR and council.member(form.get("member_id", "")):
            label = council.member(form["member_id"]).name
        if role is Role.AGENT and council.agent(form.get("agent_id", "")):
            label = council.agent(form["agent_id"]).name
    return login, new_password(), role, label or ROLE_LABELS_FR[role]


def _account_links(form: dict[str, str], council: Council | None, role: Role) -> tuple[str | None, str | None]:
    s = "comptes"
    if role is Role.COUNCILLOR:
        member = council.member(form.get("member_id", "")) if council else None
        if member is None:
            raise Invalid("Champ « membre » : un compte d'élu désigne un membre du conseil.", "membre", s)
        return member.id, None
    if role is Role.AGENT:
        agent = council.agent(form.get("agent_id", "")) if council else None
        if agent is None:
            raise Invalid("Champ « agent » : un compte d'agent désigne un agent de salle enregistré.", "agent", s)
        salle = council.salle(agent.salle_id)
        if salle is None or not salle.designated:
            raise Invalid("R1 — la salle de cet agent n'est pas désignée par une délibération.", "agent", s)
        return agent.id, agent.salle_id
    return None, None


# --------------------------------------------------------------------------- sittings


async def create_sitting(request: web.Request) -> web.StreamResponse:
    checked = await _admin_post(request)
    if isinstance(checked, web.Response):
        return checked
    _claims, form = checked
    with open_store(request.app[CONFIG].data_dir) as (store, _db):
        council = current_council(store)
        try:
            if council is None:
                raise Invalid("Enregistrez d'abord le conseil (nom et SIRET).", None, "seances")
            existing = store.sittings(council.id)
            failed = failed_sittings(request.app[CONFIG].data_dir, existing)
            config = _sitting_from_form(form, council, existing, failed)
        except Invalid as err:
            return _page(request, "admin.html", _dashboard_context(request, store, error=err, form=form), status=400)
        store.save_sitting(council.id, config)
    raise web.HTTPSeeOther(f"/admin/seances/{config.id}?cree=1")


def _sitting_from_form(
    form: dict[str, str], council: Council, existing: list[SittingConfig], failed: dict[str, Reconvocation]
) -> SittingConfig:
    s = "seances"
    ident = _ident(form, "id", "identifiant de la séance", s)
    if any(x.id == ident for x in existing):
        raise Invalid(
            f"Champ « identifiant de la séance » : une séance « {ident} » existe déjà.", "identifiant de la séance", s
        )
    title = _need(form, "title", "intitulé", s)
    day = _date(form, "date", "date de la séance", s)
    try:
        at = dtime.fromisoformat(_need(form, "time", "heure", s, 8))
    except ValueError:
        raise Invalid("Champ « heure » : heure attendue (HH:MM).", "heure", s) from None
    convened = _date(form, "convened_on", "date d'envoi de la convocation", s)
    if convened > day:
        raise Invalid(
            "Champ « date d'envoi de la convocation » : la convocation précède la séance (R6).",
            "date d'envoi de la convocation",
            s,
        )
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
    return SittingConfig(
        ident, title, paris_datetime(day, at), convened.isoformat(), teleconference, reconvened_from=linked
    )


def failed_sittings(data_dir: Path, sittings: list[SittingConfig]) -> dict[str, Reconvocation]:
    """R8: the sittings whose verified journal records a lack of quorum, each with the link a
    new convocation carries (deliberation.reconvocation). A journal that does not verify with
    the council's key is left out: the link would prove nothing."""
    pub = Path(data_dir) / "keys" / "council-ed25519.pub"
    if not pub.is_file():
        return {}
    try:
        key = load_public_pem(pub.read_bytes())
    except ValueError:
        return {}
    out: dict[str, Reconvocation] = {}
    for sitting in sittings:
        path = Path(data_dir) / "sittings" / sitting.id / "journal.jsonl"
        if not path.is_file():
            continue
        try:
            found = reconvocation_of(read_verified(path, key))
        except (JournalError, OSError, ValueError):
            continue
        if found is not None:
            out[sitting.id] = found
    return out


def _sitting_or_404(
    request: web.Request, store: CouncilStore
) -> tuple[Council, SittingConfig, list[SittingConfig]] | web.Response:
    council = current_council(store)
    sitting_id = request.match_info["seance"]
    sittings = store.sittings(council.id) if council else []
    sitting = next((s for s in sittings if s.id == sitting_id), None)
    if council is None or sitting is None:
        return _error(request, 404, "Séance inconnue", "Aucune séance enregistrée sous cet identifiant.")
    return council, sitting, sittings


def _sitting_context(
    request: web.Request,
    council: Council,
    sitting: SittingConfig,
    sittings: list[SittingConfig],
    items: list[AddAgendaItem],
    **extra: Any,
) -> dict[str, Any]:
    config = request.app[CONFIG]
    return {
        "council": council,
        "s": sitting_view(sitting, sittings),
        "items": items,
        "kind_labels": KIND_LABELS,
        "natures": NATURES,
        "bodies": [(b.value, BODY_LABELS[b]) for b in Body],
        "body_labels": {b.value: BODY_LABELS[b] for b in Body},
        "warnings_of": lambda i: title_warnings(i.kind, i.body, i.title),
        "banned_kinds": set(BANNED_KINDS),
        "matieres": ACTES_MATIERES,
        "csrf": csrf_token(request),
        "form": {},
        "error": None,
        "journaled": _journal_exists(config.data_dir, sitting.id),
        "created": request.query.get("cree") == "1",
        "added": request.query.get("ajoute") == "1",
        "sobriety": sobriety_view(config.data_dir, sitting.id, council),
        **extra,
    }


async def sitting_page(request: web.Request) -> web.StreamResponse:
    claims = _admin(request)
    if isinstance(claims, web.Response):
        return claims
    with open_store(request.app[CONFIG].data_dir) as (store, db):
        found = _sitting_or_404(request, store)
        if isinstance(found, web.Response):
            return found
        council, sitting, sittings = found
        return _page(
            request,
            "admin_sitting.html",
            _sitting_context(request, council, sitting, sittings, agenda_of(db, council.id, sitting.id)),
        )


def item_command(item_id: str, title: str, fields: dict[str, str]) -> AddAgendaItem:
    """The core's AddAgendaItem from the agenda form's fields: ``kind``, ``matiere_code`` and,
    for a nomination, ``body`` (the body whose seats it fills, R12), ``body_name``, ``seats``."""
    kind = fields.get("kind", "") or "deliberation"
    nomination = kind == "nomination"
    seats = fields.get("seats", "1")
    return AddAgendaItem(
        datetime.now().astimezone().isoformat(timespec="seconds"),
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


async def add_item(request: web.Request) -> web.StreamResponse:
    checked = await _admin_post(request)
    if isinstance(checked, web.Response):
        return checked
    _claims, form = checked
    data_dir = request.app[CONFIG].data_dir
    with open_store(data_dir) as (store, db):
        found = _sitting_or_404(request, store)
        if isinstance(found, web.Response):
            return found
        council, sitting, sittings = found
        items = agenda_of(db, council.id, sitting.id)
        title = form.get("title", "")[:300]
        item_id = form.get("item_id", "") or slugify(title)
        if not form.get("item_id"):
            base, n = item_id, 2
            while any(i.item_id == item_id for i in items):
                item_id, n = f"{base}-{n}", n + 1
        if _journal_exists(data_dir, sitting.id):
            result: Refusal | AddAgendaItem = Refusal(
                "R6",
                "R6 — la séance a commencé (son journal existe) : l'ordre du jour de la convocation ne change plus ici.",
            )
        else:
            result = check_item(council, sitting, items, item_command(item_id, title, form))
        if isinstance(result, Refusal):
            return _page(
                request,
                "admin_sitting.html",
                _sitting_context(
                    request,
                    council,
                    sitting,
                    sittings,
                    items,
                    form=form,
                    error=Invalid(result.message, result.field, "points"),
                ),
                status=400,
            )
        add_agenda_item(db, council.id, sitting.id, result)
    raise web.HTTPSeeOther(f"/admin/seances/{sitting.id}?ajoute=1#ordre-du-jour")


async def api_check_item(request: web.Request) -> web.StreamResponse:
    """The agenda form's check as it is typed: {ok, rule, field, message} (JSON, read-only)."""
    claims = session_account(request)
    if claims is None or claims.role is not Role.ADMIN:
        return web.json_response(
            {"ok": False, "rule": "ROLE", "field": None, "message": "Réservé à l'administrateur."}, status=403
        )
    q = request.query
    with open_store(request.app[CONFIG].data_dir) as (store, db):
        council = current_council(store)
        sitting = next((s for s in store.sittings(council.id) if s.id == q.get("seance")), None) if council else None
        if sitting is None:
            return web.json_response(
                {"ok": False, "rule": None, "field": "seance", "message": "Séance inconnue."}, status=404
            )
        items = agenda_of(db, council.id, sitting.id)
    title = q.get("titre", "")[:300]
    if not title.strip():
        return web.json_response({"ok": False, "rule": None, "field": "intitulé", "message": "", "empty": True})
    item_id = q.get("identifiant") or "verification"
    fields = {
        "kind": q.get("nature", "deliberation"),
        "matiere_code": q.get("matiere", "5.2"),
        "body": q.get("organe", ""),
        "body_name": q.get("nom_organe", ""),
        "seats": q.get("sieges", "1"),
    }
    command = item_command(item_id, title, fields)
    # R12: the title never refuses, it may only warn (the nature decides)
    warnings = title_warnings(command.kind, command.body, title)
    result = check_item(council, sitting, items, command)
    if isinstance(result, Refusal):
        return web.json_response(
            {"ok": False, "rule": result.rule, "field": result.field, "message": result.message, "warnings": warnings}
        )
    note = "" if sitting.teleconference else "Séance en un lieu unique : ce point y est permis."
    return web.json_response({"ok": True, "rule": None, "field": None, "message": note, "warnings": warnings})


async def convocation(request: web.Request) -> web.StreamResponse:
    claims = _admin(request)
    if isinstance(claims, web.Response):
        return claims
    data_dir = request.app[CONFIG].data_dir
    with open_store(data_dir) as (store, db):
        found = _sitting_or_404(request, store)
        if isinstance(found, web.Response):
            return found
        council, sitting, sittings = found
        items = agenda_of(db, council.id, sitting.id)
    fingerprint = None
    pub = datadir.DataDir.of(data_dir).council_public_key
    if pub.is_file():
        try:
            fingerprint = key_fingerprint(load_public_pem(pub.read_bytes()))
        except ValueError:
            fingerprint = None
    seat = next((x for x in council.salles if x.is_seat), None)
    president = council.member(council.president_id)
    return _page(
        request,
        "convocation.html",
        {
            "council": council,
            "s": sitting_view(sitting, sittings),
            "items": items,
            "kind_labels": KIND_LABELS,
            "salles": [x for x in council.salles if x.designated],
            "undesignated": [x for x in council.salles if not x.designated],
            "seat": seat,
            "president": president,
            "fingerprint": fingerprint,
            "commune_name": lambda cid: council.commune(cid).name if council.commune(cid) else cid,
            "late": convocation_message(sitting.convened_on, sitting.scheduled_at),
        },
    )


# --------------------------------------------------------------------------- registration


def add_admin_routes(app: web.Application) -> None:
    """Register the admin pages; seed the demo council when the demo sitting is hosted."""

    app[CSRF_KEY] = _csrf_key(app[CONFIG].data_dir)

    async def on_startup(app: web.Application) -> None:
        config = app[CONFIG]
        from deliberation.demo import SITTING_ID

        if any(spec.id == SITTING_ID for spec in config.sittings):
            seed_demo(config.data_dir)

    app.on_startup.append(on_startup)
    app.router.add_get("/admin", dashboard)
    app.router.add_post("/admin/conseil", save_council)
    app.router.add_post("/admin/communes", add_commune)
    app.router.add_post("/admin/membres", add_member)
    app.router.add_post("/admin/membres/modifier", edit_member)
    app.router.add_post("/admin/membres/fin", end_member_mandate)
    app.router.add_post("/admin/salles", save_salle)
    app.router.add_post("/admin/agents", add_agent)
    app.router.add_post("/admin/comptes", save_account)
    app.router.add_post("/admin/seances", create_sitting)
    app.router.add_get("/admin/seances/{seance}", sitting_page)
    app.router.add_post("/admin/seances/{seance}/points", add_item)
    app.router.add_get("/admin/seances/{seance}/convocation", convocation)
    app.router.add_get("/admin/api/point", api_check_item)
