"""The application's own pages: home, login and logout, the kiosk page of a salle, the
moderation and public pages, ``/ws`` (the signaling socket), ``/metrics`` and ``/healthz``.

The people's screens are in :mod:`web.screens`, the admin in :mod:`web.admin`, the audit
pages in :mod:`web.audit_pages`; :func:`add_page_routes` is called by
:func:`web.app.create_app`, which fills the app's keys (:mod:`web.appkeys`).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp_jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from signaling.auth import TokenError
from signaling.hub import Connection, serve
from signaling.protocol import MAX_MESSAGE_BYTES
from signaling.roles import ROLE_LABELS_FR, Role, role_label_fr
from signaling.room import SittingRoom
from web.appkeys import (
    ACCOUNTS,
    CONFIG,
    HANDLER_TABLE,
    LIMITS,
    METRICS,
    REGISTRY,
    ROOMS,
    SESSION_COOKIE,
    SIGNER,
    SITTINGS,
    SOCKETS,
)
from web.documents import presentable_annexes
from web.login import login_submit
from web.next_page import login_redirect, safe_next
from web.origin import same_origin
from web.session import error_page, session_account, socket_cookie_claims
from web.sittings import current_room
from web.version import VERSION

log = logging.getLogger(__name__)


def _room_for_salle(request: web.Request, salle_id: str, sitting: str | None) -> SittingRoom | None:
    rooms: dict[str, SittingRoom] = request.app[ROOMS]
    if sitting is not None:
        room = rooms.get(sitting)
        return room if room is not None and salle_id in room.salles else None
    return next((r for r in rooms.values() if salle_id in r.salles), None)


def _home_links(request: web.Request, role: Role, salle: str | None) -> list[tuple[str, str]]:
    """The screens a person of this role works on, first, then the public stream."""
    links: list[tuple[str, str]] = []
    if role is Role.PRESIDENT:
        links.append(("Présidence de la séance (ouverture, ordre du jour, votes)", "/president"))
    if role is Role.AGENT and salle:
        links.append(("Ma salle : présences, pouvoirs, transmission", f"/agent/{salle}"))
    if role is Role.COUNCILLOR:
        links.append(("Mon écran d'élu : parole, vote, scrutin secret", "/elu"))
    if role in (Role.MODERATOR, Role.PRESIDENT):
        links.append(("Modération des salles (micros, image, parole)", "/moderation"))
    if role in (Role.AUDITOR, Role.PRESIDENT, Role.ADMIN):
        links += [
            (f"Journal et vérification — {room.title}", f"/audit/{room.sitting_id}")
            for room in request.app[ROOMS].values()
        ]
    if role is Role.ADMIN:
        links.append(("Administration : conseil, salles, comptes, séances", "/admin"))
    for room in request.app[ROOMS].values():
        links.append((f"Diffusion publique — {room.title}", f"/public/{room.sitting_id}"))
    return links


def _feminine(request: web.Request, member_id: str | None) -> bool | None:
    """From the member's civilité in a sitting's council (issue 15: « présidente »), if known."""
    for service in request.app[SITTINGS].values():
        seance = getattr(service, "seance", None)
        member = seance.council.member(member_id) if seance is not None and member_id else None
        if member is not None:
            return member.feminine
    return None


async def index(request: web.Request) -> web.StreamResponse:
    claims = session_account(request)
    if claims is None:
        raise web.HTTPSeeOther("/login")
    account = request.app[ACCOUNTS].by_member(claims.member) if claims.member else None
    return aiohttp_jinja2.render_template(
        "home.html",
        request,
        {
            "role_label": role_label_fr(claims.role, _feminine(request, claims.member)),
            "claims": claims,
            "display_name": account.display_name if account else "",
            "links": _home_links(request, claims.role, claims.salle),
            "rooms": list(request.app[ROOMS].values()),
        },
    )


async def login_form(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "login.html", request, {"error": None, "login": "", "next": safe_next(request.query.get("next"))}
    )


async def logout(request: web.Request) -> web.StreamResponse:
    claims = session_account(request)
    if claims is not None and claims.sid is not None:  # T10: refused from now on, here and on every socket
        request.app[ACCOUNTS].revoke_session(claims.sid, claims.login, claims.expires_at)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def close_revoked_sockets(app: web.Application) -> None:
    """Close the open WebSockets whose session was revoked (logout, password change)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    signer = app[SIGNER]
    for conn in list(app[SOCKETS]):
        claims = conn.claims or conn.cookie_claims
        if claims is not None and not conn.closed and signer.is_revoked(claims):
            loop.create_task(conn.close(code=1008, reason="session revoked"))  # noqa: RUF006 - the socket's own close


async def kiosk_page(request: web.Request) -> web.StreamResponse:
    salle_id = request.match_info["salle"]
    token = request.query.get("token", "")
    try:
        claims = request.app[SIGNER].verify(token)
    except TokenError as err:
        return error_page(
            request,
            403,
            "Lien de borne invalide",
            f"{err.message} Demandez un nouveau lien de borne à l'administrateur.",
        )
    if claims.role is not Role.KIOSK or claims.salle != salle_id:
        return error_page(request, 403, "Lien de borne invalide", "Ce lien n'est pas celui de cette salle.")
    room = _room_for_salle(request, salle_id, claims.sitting)
    if room is None:
        return error_page(request, 404, "Salle inconnue", "Aucune séance en cours pour cette salle.")
    return aiohttp_jinja2.render_template(
        "kiosk.html",
        request,
        {
            "salle": room.salles[salle_id],
            "room": room,
            "token": token,
        },
    )


async def moderation_page(request: web.Request) -> web.StreamResponse:
    claims = session_account(request)
    if claims is None:
        raise login_redirect(request)  # and back here once logged in
    if claims.role not in (Role.MODERATOR, Role.PRESIDENT):
        return error_page(request, 403, "Accès refusé", "La modération est réservée au président et aux modérateurs.")
    rooms = request.app[ROOMS]
    room = current_room(rooms, request.app[SITTINGS], request.query.get("seance"))
    if room is None:
        return error_page(request, 404, "Aucune séance", "Aucune séance n'est en cours.")
    annexes = presentable_annexes(request.app[CONFIG].data_dir, room.sitting_id)  # issue 15 point 8
    return aiohttp_jinja2.render_template(
        "moderation.html", request, {"room": room, "role_label": ROLE_LABELS_FR[claims.role], "annexes": annexes}
    )


async def public_page(request: web.Request) -> web.StreamResponse:
    room = request.app[ROOMS].get(request.match_info["seance"])
    if room is None:
        return error_page(request, 404, "Séance inconnue", "Aucune séance diffusée sous cette adresse.")
    service = request.app[SITTINGS].get(room.sitting_id)
    if service is not None and service.error is not None:  # R21: a journal that does not verify is not served
        return error_page(request, 503, "Séance interrompue", service.error)
    return aiohttp_jinja2.render_template("public.html", request, {"room": room})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "version": VERSION})


async def websocket(request: web.Request) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin, request.scheme, request.host):
        # Cross-site WebSocket hijacking: cookies ride along with any origin's request.
        log.warning(
            "WebSocket refusé : origine %s, hôte attendu %s (derrière nginx : Host et X-Forwarded-Host "
            "transmis ? adresse du mandataire dans [proxy] trusted ?)",
            origin,
            request.host,
        )
        raise web.HTTPForbidden(text="origine refusée")
    # ?deflate=0 (the kiosks): no permessage-deflate (RFC 7692). A kiosk's messages are
    # small and its socket lives the whole sitting; a deflate context is 256 KB of server
    # memory per socket (zlib's window and hash), a tenth of what a salle costs otherwise.
    ws = web.WebSocketResponse(
        heartbeat=10.0, max_msg_size=MAX_MESSAGE_BYTES + 1024, compress=request.query.get("deflate") != "0"
    )
    await ws.prepare(request)
    conn = Connection(
        ws, cookie_claims=socket_cookie_claims(request), limits=request.app[LIMITS], address=request.remote
    )
    sockets = request.app[SOCKETS]
    sockets.add(conn)

    async def on_close(c: Connection) -> None:
        sockets.discard(c)
        if c.room is not None:
            await c.room.detach(c)

    try:
        await serve(conn, request.app[HANDLER_TABLE], on_close, request.app[METRICS])
    finally:
        sockets.discard(conn)
    return ws


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/salle/{salle}", kiosk_page)
    app.router.add_get("/public/{seance}", public_page)
    app.router.add_get("/moderation", moderation_page)
    app.router.add_get("/ws", websocket)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
