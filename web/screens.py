"""The people's screens of a sitting: president, salle agent, councillor (issue 4).

Each page is a template plus one static script (no inline script: CSP). The pages carry
no state of the sitting: the script connects to ``/ws`` with the session cookie, receives
the ``sitting`` view and sends ``command`` messages (``web/static/sitting.js``). The
server checks every command again; the role check here only decides who sees which page.

``add_screen_routes(app)`` is called once by :func:`web.app.create_app`.
"""

from __future__ import annotations

import json

import aiohttp_jinja2
from aiohttp import web

from deliberation.agenda import NATURES, ItemKind
from deliberation.labels import screen_labels
from signaling.council_store import ANNEX_LABELS
from signaling.roles import ROLE_LABELS_FR, Role
from web.admin.annexes import sitting_documents
from web.appkeys import ACCOUNTS, CONFIG, ROOMS, SITTINGS
from web.documents import presentable_annexes
from web.next_page import login_redirect
from web.session import error_page, session_account
from web.sittings import current_room


def _room(request: web.Request):
    return current_room(request.app[ROOMS], request.app[SITTINGS], request.query.get("seance"))


def _guard(request: web.Request, roles: tuple[Role, ...], refusal: str):
    """The session's claims and the sitting, or the response to send instead."""
    claims = session_account(request)
    if claims is None:
        raise login_redirect(request)  # and back here once logged in
    if claims.role not in roles:
        return None, None, error_page(request, 403, "Accès refusé", refusal)
    room = _room(request)
    if room is None:
        return None, None, error_page(request, 404, "Aucune séance", "Aucune séance n'est en cours.")
    return claims, room, None


def _display_name(request: web.Request, claims) -> str:
    """The account's display name, else the council's name for that member or agent."""
    account = request.app[ACCOUNTS].by_member(claims.member) if claims.member else None
    if account and account.display_name:
        return account.display_name
    for service in request.app[SITTINGS].values():
        council = service.seance.council if service.seance is not None else None
        if council is None:
            continue
        member = council.member(claims.member) if claims.member else None
        if member is not None:
            return member.name
        agent_id = getattr(claims, "agent", None) or claims.member
        agent = council.agent(agent_id) if agent_id else None
        if agent is not None:
            return agent.name
    return ""


async def president_page(request: web.Request) -> web.StreamResponse:
    claims, room, refused = _guard(request, (Role.PRESIDENT,), "Cet écran est réservé au président de séance.")
    if refused is not None:
        return refused
    return aiohttp_jinja2.render_template(
        "president.html",
        request,
        {
            "room": room,
            "claims": claims,
            "display_name": _display_name(request, claims),
            "role_label": ROLE_LABELS_FR[claims.role],
            # R12: the closed list of natures (a nomination, which states its body, is the admin's)
            "natures": [n for n in NATURES if n.kind != ItemKind.APPOINTMENT],
            # the annexes the president may show on the displays (issue 15 point 8)
            "annexes": presentable_annexes(request.app[CONFIG].data_dir, room.sitting_id),
        },
    )


async def agent_home(request: web.Request) -> web.StreamResponse:
    claims, _room, refused = _guard(request, (Role.AGENT,), "Cet écran est réservé aux agents de salle.")
    if refused is not None:
        return refused
    raise web.HTTPSeeOther(f"/agent/{claims.salle}")


async def agent_page(request: web.Request) -> web.StreamResponse:
    claims, room, refused = _guard(request, (Role.AGENT,), "Cet écran est réservé aux agents de salle.")
    if refused is not None:
        return refused
    salle_id = request.match_info["salle"]
    if salle_id not in room.salles:
        return error_page(request, 404, "Salle inconnue", f"Aucune salle « {salle_id} » dans cette séance.")
    if claims.salle != salle_id:  # R4: an agent records entries and exits of its own salle only
        return error_page(
            request,
            403,
            "Accès refusé",
            "R4 — un agent n'enregistre les entrées, sorties et pouvoirs que dans sa propre salle.",
        )
    return aiohttp_jinja2.render_template(
        "agent.html",
        request,
        {
            "room": room,
            "claims": claims,
            "salle": room.salles[salle_id],
            "display_name": _display_name(request, claims),
            "role_label": ROLE_LABELS_FR[claims.role],
        },
    )


async def elu_page(request: web.Request) -> web.StreamResponse:
    claims, room, refused = _guard(request, (Role.COUNCILLOR,), "Cet écran est réservé aux conseillers communautaires.")
    if refused is not None:
        return refused
    return aiohttp_jinja2.render_template(
        "elu.html",
        request,
        {
            "room": room,
            "claims": claims,
            "display_name": _display_name(request, claims),
            "role_label": ROLE_LABELS_FR[claims.role],
            # the convocation's agenda and its annexes (issue 16 point 1, L.2121-12)
            "documents": sitting_documents(request.app[CONFIG].data_dir, room.sitting_id)[1],
            "annex_labels": ANNEX_LABELS,
        },
    )


async def labels_module(request: web.Request) -> web.StreamResponse:
    """GET /labels.js: the French labels of the core's values (deliberation.labels) as an ES
    module, imported by web/static/sitting.js: the screens say what the PV says."""
    body = "export const LABELS = " + json.dumps(screen_labels(), ensure_ascii=False, sort_keys=False) + ";\n"
    return web.Response(
        text=body, content_type="text/javascript", charset="utf-8", headers={"Cache-Control": "no-cache"}
    )


def add_screen_routes(app: web.Application) -> None:
    app.router.add_get("/labels.js", labels_module)
    app.router.add_get("/president", president_page)
    app.router.add_get("/agent", agent_home)
    app.router.add_get("/agent/{salle}", agent_page)
    app.router.add_get("/elu", elu_page)
