"""The aiohttp application factory.

``create_app(config)`` builds everything the app holds and stores it under the typed keys
of :mod:`web.appkeys` (no module-level mutable state): the config, the token signer and
the account store (both in ``config.data_dir``), the Prometheus registry, the hosted
sittings (:mod:`web.sittings`: those the council store convened, read again while
running, and any ``WebConfig.sittings``), one :class:`signaling.room.SittingRoom` (with
its media Router) per hosted sitting, and the message handlers bound to those services.
Routers are created on startup (or when a sitting is convened) and closed on cleanup,
inside the app's event loop. The pages are in :mod:`web.pages`, :mod:`web.screens`,
:mod:`web.admin` and :mod:`web.audit_pages`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from prometheus_client import CollectorRegistry

from deliberation.register import RegisterCache
from sfu.eventloop import EventLoopCollector
from signaling import datadir
from signaling.accounts import AccountStore
from signaling.auth import TokenSigner
from signaling.handlers import HANDLERS, Services
from signaling.hub import Handler, SharedLimits
from signaling.metrics import SignalingMetrics
from signaling.placement import Placement
from signaling.room import RouterFactory, SalleInfo, SittingRoom
from signaling.sitting import JournalStarter, SittingService
from web import cluster, log_privacy
from web.actes import add_actes_routes
from web.admin import add_admin_routes
from web.appkeys import (
    ACCOUNTS,
    CONFIG,
    HANDLER_TABLE,
    HOSTED,
    LIMITS,
    METRICS,
    REGISTER_CACHE,
    REGISTRY,
    ROOMS,
    SESSION_COOKIE,
    SIGNER,
    SITTINGS,
    SOCKETS,
)
from web.audit_pages import add_audit_routes
from web.config import SittingSpec, WebConfig
from web.documents import add_document_routes
from web.login import LOGIN_GATE, LoginGate
from web.media import router_factory
from web.pages import add_page_routes, close_revoked_sockets
from web.privacy import add_privacy_routes
from web.publications import publish_acts
from web.replay import add_replay_routes, publish_replays
from web.screens import add_screen_routes
from web.sittings import REFRESH_S, HostedSittings, store_starter
from web.turn import turn_ice_servers

__all__ = [  # the keys, re-exported for the code written against web.app
    "ACCOUNTS",
    "CONFIG",
    "HANDLER_TABLE",
    "METRICS",
    "REGISTRY",
    "ROOMS",
    "SESSION_COOKIE",
    "SIGNER",
    "SITTINGS",
    "SOCKETS",
    "create_app",
]

log = logging.getLogger(__name__)

#: the refresh loop enters what the journals made final in the register every this many ticks
PUBLISH_EVERY = 10


def publish_all(app: web.Application) -> None:
    """The council's register brought up to date (:mod:`web.publications`, :mod:`web.replay`)."""
    publish_acts(app)
    publish_replays(app)


HERE = Path(__file__).parent

#: Builds the RouterFactory of a sitting from (config, registry, sitting).
RouterFactoryMaker = Callable[[WebConfig, CollectorRegistry, SittingSpec], RouterFactory]

#: Which sittings deliberate, and how their journal starts when none exists yet.
JournalStarterFor = Callable[[SittingSpec], "JournalStarter | None"]


def real_router_factory(config: WebConfig, registry: CollectorRegistry, sitting: SittingSpec) -> RouterFactory:
    """The media plane's Router (sfu/router.py), configured from the web config (web.media)."""
    return router_factory(config, registry)


def no_journal(sitting: SittingSpec) -> JournalStarter | None:
    """A sitting of ``WebConfig.sittings`` deliberates once the council store convened it
    (web.sittings) or its journal exists; otherwise it carries media only."""
    return None


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
    # frame-ancestors: only the public page (R2) and the public Actes pages (R26) may be
    # embedded, by the configured sites
    embeddable = request.path.startswith(("/public/", "/actes"))
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


# --------------------------------------------------------------------------- factory


def create_app(
    config: WebConfig,
    *,
    router_factory: RouterFactoryMaker = real_router_factory,
    registry: CollectorRegistry | None = None,
    journal_starter: JournalStarterFor = no_journal,
    placement: Placement | None = None,
) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    log_privacy.install()  # T16: no SDP, token, cookie or password in any log record
    config.data_dir.mkdir(parents=True, exist_ok=True)
    tightened = datadir.close_to_others(config.data_dir)  # ExposedError: one of ours we cannot change
    if tightened.closed:
        log.warning(
            "répertoire des données : %d fichier(s) ou dossier(s) ouverts aux autres comptes de la machine, "
            "droits retirés (o-rwx) : %s",
            len(tightened.closed),
            ", ".join(str(p.relative_to(config.data_dir)) for p in tightened.closed[:20]),
        )
    if tightened.foreign:
        log.warning(
            "répertoire des données : fichiers qui ne sont pas à Séance, lisibles par les autres comptes et laissés "
            "tels quels (autre propriétaire) : %s",
            ", ".join(str(p.relative_to(config.data_dir)) for p in tightened.foreign[:20]),
        )
    app[CONFIG] = config
    app[SIGNER] = TokenSigner.from_data_dir(config.data_dir)
    app[ACCOUNTS] = AccountStore.in_data_dir(config.data_dir)
    app[REGISTRY] = registry if registry is not None else CollectorRegistry()
    app[REGISTRY].register(EventLoopCollector())  # seance_event_loop_info{loop}
    app[ROOMS] = {}
    app[SITTINGS] = {}
    app[LOGIN_GATE] = LoginGate()
    app[SOCKETS] = set()
    app[LIMITS] = SharedLimits()
    app[REGISTER_CACHE] = RegisterCache()
    app[SIGNER].revocation = app[ACCOUNTS].is_revoked
    app[ACCOUNTS].on_revoke.append(lambda login, sid: close_revoked_sockets(app))
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
            spec.id,
            spec.title,
            salles,
            spec.president_salle,
            router_factory(config, app[REGISTRY], spec),
            config.viewer_limits,
        )
        app[ROOMS][spec.id] = room
        service = SittingService.open(
            config.data_dir,
            spec.id,
            room,
            create=store_starter(config.data_dir, spec.id) or journal_starter(spec),
            reconcile_after_s=config.reconcile_after_s,
            recording_key_path=config.recording_key_path,
        )
        if service is not None:
            app[SITTINGS][spec.id] = service
        return service

    hosted = HostedSittings()
    for spec in config.sittings:
        hosted.add(spec)
    hosted.refresh(config.data_dir)  # the sittings convened in /admin (council.sqlite3)
    app[HOSTED] = hosted
    refreshing: list[asyncio.Task[None]] = []

    async def refresh_loop() -> None:
        ticks = 0
        while True:
            await asyncio.sleep(REFRESH_S)
            try:
                await hosted.sync(config.data_dir)
            except Exception:
                log.exception("séances convoquées : ouverture")
            ticks += 1
            if ticks % PUBLISH_EVERY == 0:
                try:  # what the journals made final, dated in the council's register (R26)
                    await asyncio.to_thread(publish_all, app)
                except Exception:
                    log.exception("registre des publications")

    async def start_rooms(app: web.Application) -> None:
        try:  # acts made final while the server was stopped
            publish_all(app)
        except Exception:
            log.exception("registre des publications")
        refreshing.append(asyncio.get_running_loop().create_task(refresh_loop()))
        if placement is not None:  # several nodes: web.cluster opens the sittings this node holds
            return
        hosted.on_added.append(open_sitting)
        for spec in list(hosted.specs.values()):
            await open_sitting(spec)

    async def stop_refreshing(app: web.Application) -> None:
        for task in refreshing:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
    app.on_shutdown.append(stop_refreshing)
    app.on_shutdown.append(close_sockets)
    app.on_cleanup.append(close_rooms)

    add_page_routes(app)
    add_privacy_routes(app)
    add_audit_routes(app)
    add_admin_routes(app)
    add_actes_routes(app)
    add_replay_routes(app)
    add_screen_routes(app)
    add_document_routes(app)
    app.router.add_static("/static/", HERE / "static", append_version=True)
    if placement is not None:  # issue 5: workers and nodes (web/cluster.py)
        cluster.install(app, placement, config, open_sitting)
    return app
