"""The aiohttp application factory.

``create_app(config)`` builds everything the app holds and stores it under typed
``web.AppKey`` s (no module-level mutable state): the config, the token signer and the
account store (both in ``config.data_dir``), the Prometheus registry, one
:class:`signaling.room.SittingRoom` (with its media Router) per configured sitting, and
the message handlers bound to those services. Routers are created on startup and closed
on cleanup, inside the app's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from sfu.eventloop import EventLoopCollector
from signaling.accounts import Account, AccountStore
from signaling.auth import TokenError, TokenSigner
from signaling.handlers import HANDLERS, Services
from signaling.hub import Connection, Handler, serve
from signaling.metrics import SignalingMetrics
from signaling.placement import Placement
from signaling.protocol import MAX_MESSAGE_BYTES
from signaling.roles import ROLE_LABELS_FR, Role
from signaling.room import RouterFactory, SalleInfo, SittingRoom
from signaling.sitting import JournalStarter, SittingService
from web import log_privacy
from web.admin import add_admin_routes
from web.audit_pages import add_audit_routes
from web.config import SittingSpec, WebConfig
from web.next_page import safe_next
from web.origin import same_origin
from web.privacy import add_privacy_routes
from web.screens import add_screen_routes
from web.turn import turn_ice_servers
from web.version import VERSION

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "seance_session"

CONFIG = web.AppKey("config", WebConfig)
SIGNER = web.AppKey("signer", TokenSigner)
ACCOUNTS = web.AppKey("accounts", AccountStore)
REGISTRY = web.AppKey("registry", CollectorRegistry)
ROOMS = web.AppKey("rooms", dict)  # sitting id -> SittingRoom
SITTINGS = web.AppKey("sittings", dict)  # sitting id -> signaling.sitting.SittingService
HANDLER_TABLE = web.AppKey("handlers", dict)  # message type -> bound handler
METRICS = web.AppKey("metrics", SignalingMetrics)
LOGIN_FAILURES = web.AppKey("login_failures", dict)  # remote -> [timestamps]
SOCKETS = web.AppKey("sockets", set)  # every open signaling Connection (T10: closed on revocation)

#: Builds the RouterFactory of a sitting from (config, registry, sitting).
RouterFactoryMaker = Callable[[WebConfig, CollectorRegistry, SittingSpec], RouterFactory]

#: Which sittings deliberate, and how their journal starts when none exists yet.
JournalStarterFor = Callable[[SittingSpec], "JournalStarter | None"]

LOGIN_WINDOW_S = 300
LOGIN_MAX_FAILURES = 10


def real_router_factory(config: WebConfig, registry: CollectorRegistry, sitting: SittingSpec) -> RouterFactory:
    """The media plane's Router (sfu/router.py), configured from the web config."""
    from sfu.config import IceSettings, RouterConfig  # lazily: the CLI must not need aiortc
    from sfu.router import Router

    def build(on_health, on_slots):
        ice = IceSettings(
            listen_addresses=tuple(config.ice_addresses) or None, announced_address=config.announced_address
        )
        options: dict[str, Any] = {"audio_slots": config.voice_slots, "ice": ice}
        options.update(config.router_options)
        return Router(RouterConfig(**options), on_health=on_health, on_slots=on_slots, registry=registry)

    return build


def default_journal_starter(sitting: SittingSpec) -> JournalStarter | None:
    """The demo sitting starts from the deliberation core's demo council and agenda; any
    other sitting deliberates only once its journal exists (created by the admin)."""
    from deliberation.demo import SITTING_ID, start_demo_journal

    return start_demo_journal if sitting.id == SITTING_ID else None


# --------------------------------------------------------------------------- middleware


def _csp(frame_ancestors: str) -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; "
        f"base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}"
    )


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    response = await handler(request)
    config = request.app[CONFIG]
    # frame-ancestors: only the public page may be embedded (R2), by the configured sites
    embeddable = request.path.startswith("/public/")
    ancestors = " ".join(config.public_frame_ancestors) if embeddable else "'none'"
    response.headers.setdefault("Content-Security-Policy", _csp(ancestors))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
    if not embeddable:
        response.headers.setdefault("X-Frame-Options", "DENY")
    if config.tls:  # behind a proxy, the proxy sends the one HSTS header (deploy/nginx/seance-proxy.conf)
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


# --------------------------------------------------------------------------- helpers


def session_account(request: web.Request):
    """Claims of the session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = request.app[SIGNER].verify(token)
    except TokenError:
        return None
    return None if claims.role in (Role.KIOSK, Role.PUBLIC) else claims


def _error_page(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    return aiohttp_jinja2.render_template("error.html", request, {"title": title, "detail": detail}, status=status)


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


# --------------------------------------------------------------------------- pages


async def index(request: web.Request) -> web.StreamResponse:
    claims = session_account(request)
    if claims is None:
        raise web.HTTPSeeOther("/login")
    account = request.app[ACCOUNTS].by_member(claims.member) if claims.member else None
    return aiohttp_jinja2.render_template(
        "home.html",
        request,
        {
            "role_label": ROLE_LABELS_FR[claims.role],
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


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    login = str(form.get("login", ""))[:128].strip()
    password = str(form.get("password", ""))[:256]
    next_page = safe_next(form.get("next"))
    remote = request.remote or "?"
    failures = request.app[LOGIN_FAILURES]
    now = time.monotonic()
    recent = [t for t in failures.get(remote, []) if now - t < LOGIN_WINDOW_S]
    failures[remote] = recent
    metrics = request.app[METRICS]
    if len(recent) >= LOGIN_MAX_FAILURES:
        metrics.logins.labels("throttled").inc()
        return aiohttp_jinja2.render_template(
            "login.html",
            request,
            {
                "error": "Trop d'essais infructueux. Patientez quelques minutes avant de réessayer.",
                "login": login,
                "next": next_page,
            },
            status=429,
        )
    account: Account | None = request.app[ACCOUNTS].authenticate(login, password) if login else None
    if account is None:
        recent.append(now)
        metrics.logins.labels("failed").inc()
        return aiohttp_jinja2.render_template(
            "login.html",
            request,
            {"error": "Identifiant ou mot de passe incorrect.", "login": login, "next": next_page},
            status=401,
        )
    metrics.logins.labels("ok").inc()
    config = request.app[CONFIG]
    # T10: a random session id (revoked at logout) and the account's session generation
    # (bumped by a password change) make the token revocable server-side.
    token = request.app[SIGNER].issue(
        account.role,
        member=account.member_id or account.login,
        salle=account.salle_id,
        agent=account.agent_id,
        ttl_s=config.session_ttl_s,
        sid=secrets.token_urlsafe(16),
        login=account.login,
        gen=request.app[ACCOUNTS].session_generation(account.login) or 0,
    )
    response = web.HTTPSeeOther(next_page)  # back to the page asked before logging in
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=config.tls or request.secure,
        max_age=config.session_ttl_s,
        path="/",
    )
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    claims = session_account(request)
    if claims is not None and claims.sid is not None:  # T10: refused from now on, here and on every socket
        request.app[ACCOUNTS].revoke_session(claims.sid, claims.login, claims.expires_at)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _socket_cookie_claims(request: web.Request):
    """The session cookie's claims for a WebSocket, revoked or not: ``hello`` checks
    revocation and answers ``token_revoked``, rather than silently treating a person
    whose session was closed as the public."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = request.app[SIGNER].verify(token, check_revocation=False)
    except TokenError:
        return None
    return None if claims.role in (Role.KIOSK, Role.PUBLIC) else claims


def _close_revoked_sockets(app: web.Application) -> None:
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
        return _error_page(
            request,
            403,
            "Lien de borne invalide",
            f"{err.message} Demandez un nouveau lien de borne à l'administrateur.",
        )
    if claims.role is not Role.KIOSK or claims.salle != salle_id:
        return _error_page(request, 403, "Lien de borne invalide", "Ce lien n'est pas celui de cette salle.")
    room = _room_for_salle(request, salle_id, claims.sitting)
    if room is None:
        return _error_page(request, 404, "Salle inconnue", "Aucune séance en cours pour cette salle.")
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
        raise web.HTTPSeeOther("/login")
    if claims.role not in (Role.MODERATOR, Role.PRESIDENT):
        return _error_page(request, 403, "Accès refusé", "La modération est réservée au président et aux modérateurs.")
    rooms = request.app[ROOMS]
    room = rooms.get(request.query.get("seance", "")) or next(iter(rooms.values()), None)
    if room is None:
        return _error_page(request, 404, "Aucune séance", "Aucune séance n'est en cours.")
    return aiohttp_jinja2.render_template(
        "moderation.html", request, {"room": room, "role_label": ROLE_LABELS_FR[claims.role]}
    )


async def public_page(request: web.Request) -> web.StreamResponse:
    room = request.app[ROOMS].get(request.match_info["seance"])
    if room is None:
        return _error_page(request, 404, "Séance inconnue", "Aucune séance diffusée sous cette adresse.")
    service = request.app[SITTINGS].get(room.sitting_id)
    if service is not None and service.error is not None:  # R21: a journal that does not verify is not served
        return _error_page(request, 503, "Séance interrompue", service.error)
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
    conn = Connection(ws, cookie_claims=_socket_cookie_claims(request))
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


# --------------------------------------------------------------------------- factory


def create_app(
    config: WebConfig,
    *,
    router_factory: RouterFactoryMaker = real_router_factory,
    registry: CollectorRegistry | None = None,
    journal_starter: JournalStarterFor = default_journal_starter,
    placement: Placement | None = None,
) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    log_privacy.install()  # T16: no SDP, token, cookie or password in any log record
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app[CONFIG] = config
    app[SIGNER] = TokenSigner.from_data_dir(config.data_dir)
    app[ACCOUNTS] = AccountStore.in_data_dir(config.data_dir)
    app[REGISTRY] = registry if registry is not None else CollectorRegistry()
    app[REGISTRY].register(EventLoopCollector())  # seance_event_loop_info{loop}
    app[ROOMS] = {}
    app[SITTINGS] = {}
    app[LOGIN_FAILURES] = {}
    app[SOCKETS] = set()
    app[SIGNER].revocation = app[ACCOUNTS].is_revoked
    app[ACCOUNTS].on_revoke.append(lambda login, sid: _close_revoked_sockets(app))
    app[METRICS] = SignalingMetrics(app[REGISTRY], lambda: sum(len(r.connections) for r in app[ROOMS].values()))

    def ice_servers(claims, conn_id: int) -> list[dict[str, Any]]:
        # TURN credentials per WebSocket session; the user part names no person (coturn logs it)
        return turn_ice_servers(config.turn, f"{claims.role.value}-{conn_id}")

    services = Services(signer=app[SIGNER], rooms=app[ROOMS], sittings=app[SITTINGS], ice_servers=ice_servers)
    handlers: dict[str, Handler] = HANDLERS.bind(services)
    app[HANDLER_TABLE] = handlers

    aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=jinja2.select_autoescape(["html"])
    )

    async def open_sitting(spec: SittingSpec) -> SittingService | None:
        salles = [SalleInfo(s.id, s.name) for s in spec.salles]
        room = SittingRoom(
            spec.id, spec.title, salles, spec.president_salle, router_factory(config, app[REGISTRY], spec)
        )
        app[ROOMS][spec.id] = room
        service = SittingService.open(
            config.data_dir,
            spec.id,
            room,
            create=journal_starter(spec),
            reconcile_after_s=config.reconcile_after_s,
            recording_key_path=config.recording_key_path,
        )
        if service is not None:
            app[SITTINGS][spec.id] = service
        return service

    async def start_rooms(app: web.Application) -> None:
        if placement is not None:  # several nodes: web.cluster opens the sittings this node holds
            return
        for spec in config.sittings:
            await open_sitting(spec)

    async def close_rooms(app: web.Application) -> None:
        for service in list(app[SITTINGS].values()):
            try:
                await service.close()
            except Exception:
                log.exception("closing the journal of sitting %s", service.sitting_id)
        app[SITTINGS].clear()
        for room in list(app[ROOMS].values()):
            try:
                await room.close()
            except Exception:
                log.exception("closing sitting %s", room.sitting_id)
        app[ROOMS].clear()
        app[ACCOUNTS].close()

    async def close_sockets(app: web.Application) -> None:
        # Open WebSockets would hold the shutdown for its whole timeout (aiohttp docs).
        for room in app[ROOMS].values():
            for conn in list(room.connections):
                await conn.close(code=1001, reason="server shutdown")

    app.on_startup.append(start_rooms)
    app.on_shutdown.append(close_sockets)
    app.on_cleanup.append(close_rooms)

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
    add_privacy_routes(app)
    add_audit_routes(app)
    add_admin_routes(app)
    add_screen_routes(app)
    app.router.add_static("/static/", HERE / "static", append_version=True)
    if placement is not None:  # issue 5: workers and nodes (web/cluster.py)
        from web.cluster import install

        install(app, placement, config, open_sitting)
    return app
