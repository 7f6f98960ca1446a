"""The admin's routes: each checks the admin (:mod:`web.admin.csrf`), reads the form
(:mod:`web.admin.forms`), stores what it returns in the council store
(:class:`signaling.council_store.CouncilStore`) or the accounts, and shows the page
(:mod:`web.admin.views`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

from deliberation.agenda import title_warnings
from deliberation.commands import AddAgendaItem
from deliberation.council import (
    CompositionError,
    Council,
)
from deliberation.refusal import Refusal
from signaling.accounts import AccountStore
from signaling.auth import new_password
from signaling.council_store import CouncilStore, now_iso
from signaling.roles import ROLE_LABELS_FR, Role
from web.admin.annexes import add_annex_routes
from web.admin.convocations import add_convocation_routes
from web.admin.csrf import admin_claims, load_csrf_key
from web.admin.forms import (
    MANAGED_ROLES,
    Invalid,
    account_from_form,
    account_links,
    add_agent,
    add_commune,
    add_member,
    check_item,
    convocation_check,
    designate_president,
    edit_member,
    email_field,
    end_mandate,
    identifier,
    item_command,
    member_account_plan,
    save_council,
    save_salle,
    seat_salle,
    sitting_from_form,
    slugify,
)
from web.admin.minutes import add_minutes_routes
from web.admin.posts import (
    DashboardPost,
    SittingGet,
    SittingPost,
    dashboard_post,
    sitting_get,
    sitting_post,
)
from web.admin.render import error, page
from web.admin.views import (
    NOTICES,
    convocation_context,
    dashboard_context,
    failed_sittings,
    journal_exists,
    sitting_context,
)
from web.appkeys import ACCOUNTS, CONFIG, CSRF_KEY, HOSTED
from web.publications import publish_acts
from web.session import session_account


async def dashboard(request: web.Request) -> web.StreamResponse:
    claims = admin_claims(request)
    if isinstance(claims, web.Response):
        return claims
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        try:
            context = dashboard_context(request, store, notice=NOTICES.get(request.query.get("ok", "")))
        except CompositionError as err:  # stored before the core checked it (issue 13)
            return error(
                request,
                409,
                "Composition du conseil refusée",
                f"{err.message} Le conseil enregistré ne peut pas être chargé tel quel : faites corriger sa "
                "composition dans le fichier du conseil (council.sqlite3) par la DSI, puis rechargez la page.",
            )
        return page(request, "admin.html", context)


#: The member forms, which also carry the member's address for the convocations.
MEMBER_SECTIONS = ("membre", "membre-modifier")

#: A form of the dashboard: the council as it is (None before the first save) and the
#: posted fields give the council to store, or raise Invalid.
CouncilForm = Callable[[Council | None, dict[str, str]], Council]
#: One that also acts on accounts and returns the notice to show.
AccountsForm = Callable[[CouncilStore, Council, dict[str, str], AccountStore], str]


def _dashboard_form(section: str, form_fn: CouncilForm | None = None, accounts_fn: AccountsForm | None = None):
    """The handler of a dashboard form: the form's council stored, or the dashboard again
    with the refusal (nothing changed)."""

    @dashboard_post(section, needs_council=section != "conseil")
    async def handler(post: DashboardPost) -> web.StreamResponse:
        request, store, council, form = post.request, post.store, post.council, post.form
        if accounts_fn is not None and council is not None:
            notice = accounts_fn(store, council, form, request.app[ACCOUNTS])
            return page(request, "admin.html", dashboard_context(request, store, notice=notice))
        if form_fn is not None:
            email = email_field(form, section) if section in MEMBER_SECTIONS else ""
            saved = form_fn(council, form)
            store.save(saved)
            if section in MEMBER_SECTIONS and (email or section == "membre"):
                member_id = identifier(form, "id", "identifiant du membre", section, dots=True)
                store.set_email(saved.id, member_id, email)
        raise web.HTTPSeeOther(f"/admin?ok={section}#{section}")

    return handler


def end_member_mandate(store: CouncilStore, council: Council, form: dict[str, str], accounts: AccountStore) -> str:
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


@dashboard_post("comptes", needs_council=False)
async def save_account(post: DashboardPost) -> web.StreamResponse:
    """POST /admin/comptes: an account created, or its password reset (shown once)."""
    request, store, council, form = post.request, post.store, post.council, post.form
    accounts = request.app[ACCOUNTS]
    login, password, role, label = account_from_form(form, council, accounts)
    existing = accounts.get(login)
    if existing is not None and existing.role not in MANAGED_ROLES:
        raise Invalid(
            f"Champ « identifiant » : le compte « {login} » ({ROLE_LABELS_FR[existing.role]}) ne se modifie pas ici.",
            "identifiant",
            "comptes",
        )
    if form.get("reset") == "1":
        if existing is None:
            raise Invalid(f"Champ « identifiant » : aucun compte « {login} ».", "identifiant", "comptes")
        role, label = existing.role, existing.display_name
        accounts.set_account(  # the same bindings, the agent's included (R4 scope)
            login,
            password,
            role,
            member_id=existing.member_id,
            salle_id=existing.salle_id,
            display_name=label,
            agent_id=existing.agent_id,
        )
    else:
        links = account_links(form, council, role)
        accounts.set_account(
            login,
            password,
            role,
            member_id=links.member_id,
            salle_id=links.salle_id,
            display_name=label,
            agent_id=links.agent_id,
        )
    return page(
        request,
        "admin.html",
        dashboard_context(
            request,
            store,
            password={"login": login, "password": password, "role": ROLE_LABELS_FR[role]},
            notice=f"Compte « {login} » {'réinitialisé' if form.get('reset') == '1' else 'enregistré'}.",
        ),
    )


def president_designation(store: CouncilStore, council: Council, form: dict[str, str], accounts: AccountStore) -> str:
    """POST /admin/president: the president the council elected. Their account becomes the
    presidency's; the former president's account becomes an élu's (sessions closed)."""
    after = designate_president(council, form)
    store.save(after)
    moved = []
    former = accounts.by_member(council.president_id) if council.president_id else None
    if former is not None and former.role is Role.PRESIDENT and council.president_id != after.president_id:
        accounts.change_role(former.login, Role.COUNCILLOR)
        moved.append(f"« {former.login} » redevient un compte d'élu")
    new = accounts.by_member(after.president_id)
    if new is not None and new.role is Role.COUNCILLOR:
        accounts.change_role(new.login, Role.PRESIDENT)
        moved.append(f"« {new.login} » devient le compte de présidence")
    president = after.member(after.president_id)
    return (
        f"Président désigné : {president.name if president else after.president_id}"
        + (f" ; {', '.join(moved)}" if moved else "")
        + ". Les séances déjà convoquées gardent le président de leur convocation."
    )


@dashboard_post("comptes")
async def member_accounts(post: DashboardPost) -> web.StreamResponse:
    """POST /admin/comptes/elus: one account per member who has none (the president's is
    the presidency's), each password shown once."""
    request, store, council = post.request, post.store, post.stored_council
    accounts = request.app[ACCOUNTS]
    existing = accounts.all()
    plan = member_account_plan(council, {a.login for a in existing}, {a.member_id for a in existing if a.member_id})
    seat = seat_salle(council)
    created = []
    for login, role, member in plan:
        password = new_password()
        accounts.set_account(
            login,
            password,
            role,
            member_id=member.id,
            salle_id=seat if role is Role.PRESIDENT else None,
            display_name=member.name,
        )
        created.append({"login": login, "name": member.name, "role": ROLE_LABELS_FR[role], "password": password})
    notice = (
        f"{len(created)} compte(s) d'élu créé(s)." if created else "Chaque membre a déjà son compte : rien à créer."
    )
    return page(request, "admin.html", dashboard_context(request, store, notice=notice, passwords=created))


@dashboard_post("seances")
async def create_sitting(post: DashboardPost) -> web.StreamResponse:
    """POST /admin/seances: a sitting stored (R6, R8 reconvocation, R23), not yet convened."""
    council, store = post.stored_council, post.store
    existing = store.sittings(council.id)
    failed = failed_sittings(post.request.app[CONFIG].data_dir, existing)
    config = sitting_from_form(post.form, council, existing, failed)
    store.save_sitting(council.id, config)
    raise web.HTTPSeeOther(f"/admin/seances/{config.id}?cree=1")


@sitting_get
async def sitting_page(get: SittingGet) -> web.StreamResponse:
    context = sitting_context(
        get.request, get.council, get.sitting, get.sittings, get.items(), get.convened_at(), get.store
    )
    return page(get.request, "admin_sitting.html", context)


@sitting_post("points")
async def add_item(post: SittingPost) -> web.StreamResponse:
    """POST /admin/seances/<id>/points: an agenda item, decided by the core as in a sitting (R12)."""
    council, sitting, form, store = post.council, post.sitting, post.form, post.store
    items = post.items()
    title = form.get("title", "")[:300]
    item_id = form.get("item_id", "") or slugify(title)
    if not form.get("item_id"):
        base, n = item_id, 2
        while any(i.item_id == item_id for i in items):
            item_id, n = f"{base}-{n}", n + 1
    if post.convened_at() is not None or journal_exists(post.request.app[CONFIG].data_dir, sitting.id):
        result: Refusal | AddAgendaItem = Refusal(
            "R6",
            "R6 — la séance est convoquée : l'ordre du jour de la convocation ne change plus ici.",
        )
    else:
        result = check_item(council, sitting, items, item_command(item_id, title, form))
    if isinstance(result, Refusal):
        raise Invalid(result.message, result.field, "points")
    store.add_agenda_item(council.id, sitting.id, result)
    raise web.HTTPSeeOther(f"/admin/seances/{sitting.id}?ajoute=1#ordre-du-jour")


@sitting_post("convocation")
async def convene(post: SittingPost) -> web.StreamResponse:
    """POST /admin/seances/<id>/convoquer: the agenda is fixed and the convocation sent (R6,
    L.2121-10: it states the agenda). The running server hosts the sitting at once: its
    journal starts from the council, the salles and the agenda as stored (web.sittings)."""
    council, sitting = post.council, post.sitting
    convocation_check(council, sitting, post.items(), post.convened_at(), post.form)
    post.store.convene(council.id, sitting.id, now_iso())
    await post.request.app[HOSTED].sync(post.request.app[CONFIG].data_dir)
    claims = session_account(post.request)
    # R6: the convocation online on the Actes page, dated in the council's register
    await asyncio.to_thread(publish_acts, post.request.app, (claims.login if claims else None) or "admin")
    raise web.HTTPSeeOther(f"/admin/seances/{sitting.id}?convoquee=1#convocation")


@sitting_post("bornes")
async def revoke_kiosk_link(post: SittingPost) -> web.StreamResponse:
    """POST /admin/seances/<id>/bornes/<salle>/revoquer: the salle's kiosk link for this
    sitting is revoked, a new one shown; the kiosks open with the old one are disconnected
    (issue 12 point 11, :mod:`signaling.kiosk_links`)."""
    salle_id = post.request.match_info["salle"]
    salle = post.council.salle(salle_id)
    if salle is None or not salle.designated:
        raise Invalid(f"Aucune salle désignée « {salle_id[:64]} » dans ce conseil : aucun lien de borne à révoquer.")
    post.request.app[ACCOUNTS].revoke_kiosk_link(post.sitting.id, salle.id, int(time.time()))
    raise web.HTTPSeeOther(f"/admin/seances/{post.sitting.id}?borne={salle.id}#bornes")


async def api_check_item(request: web.Request) -> web.StreamResponse:
    """The agenda form's check as it is typed: {ok, rule, field, message} (JSON, read-only)."""
    claims = session_account(request)
    if claims is None or claims.role is not Role.ADMIN:
        return web.json_response(
            {"ok": False, "rule": "ROLE", "field": None, "message": "Réservé à l'administrateur."}, status=403
        )
    q = request.query
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.current()
        sitting = next((s for s in store.sittings(council.id) if s.id == q.get("seance")), None) if council else None
        if sitting is None:
            return web.json_response(
                {"ok": False, "rule": None, "field": "seance", "message": "Séance inconnue."}, status=404
            )
        items = store.agenda(council.id, sitting.id)
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


@sitting_get
async def convocation(get: SittingGet) -> web.StreamResponse:
    return page(
        get.request, "convocation.html", convocation_context(get.request.app, get.store, get.council, get.sitting)
    )


def add_admin_routes(app: web.Application) -> None:
    """Register the admin pages."""

    app[CSRF_KEY] = load_csrf_key(app[CONFIG].data_dir)

    app.router.add_get("/admin", dashboard)
    app.router.add_post("/admin/conseil", _dashboard_form("conseil", save_council))
    app.router.add_post("/admin/communes", _dashboard_form("commune", add_commune))
    app.router.add_post("/admin/membres", _dashboard_form("membre", add_member))
    app.router.add_post("/admin/membres/modifier", _dashboard_form("membre-modifier", edit_member))
    app.router.add_post("/admin/membres/fin", _dashboard_form("membre-fin", accounts_fn=end_member_mandate))
    app.router.add_post("/admin/salles", _dashboard_form("salle", save_salle))
    app.router.add_post("/admin/agents", _dashboard_form("agent", add_agent))
    app.router.add_post("/admin/comptes", save_account)
    app.router.add_post("/admin/comptes/elus", member_accounts)
    app.router.add_post("/admin/president", _dashboard_form("president", accounts_fn=president_designation))
    app.router.add_post("/admin/seances", create_sitting)
    app.router.add_get("/admin/seances/{seance}", sitting_page)
    app.router.add_post("/admin/seances/{seance}/points", add_item)
    app.router.add_get("/admin/seances/{seance}/convocation", convocation)
    app.router.add_post("/admin/seances/{seance}/convoquer", convene)
    app.router.add_post("/admin/seances/{seance}/bornes/{salle}/revoquer", revoke_kiosk_link)
    app.router.add_get("/admin/api/point", api_check_item)
    add_convocation_routes(app)
    add_annex_routes(app)
    add_minutes_routes(app)
