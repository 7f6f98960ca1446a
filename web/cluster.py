"""The web side of several workers and nodes (issue 5; docs/operations.md, "Several nodes").

- :class:`ClusterSettings`: ``server.workers``, ``server.redis``, ``server.node_url``,
  ``server.lease_ttl_s`` of ``seance.toml`` (read by :func:`read_settings`).
- :func:`install`: given a :class:`signaling.placement.Placement`, the app opens only the
  sittings its node acquires (:class:`signaling.placement.SittingHost`), fences their
  journal appends with the lease, sends a browser asking for a sitting held elsewhere to
  the right node (HTTP 307 for pages; ``redirect`` before ``welcome`` on ``/ws``,
  docs/protocol.md), publishes each journaled change on the sitting's channel and serves
  ``GET /cluster``: which node holds which sitting, and the last event of each, as every
  node's dashboard sees them through Redis pub/sub.

Without a placement (``create_app`` as before) none of this is installed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from signaling.auth import TokenError
from signaling.placement import Placement, SittingHost, redirect_message
from signaling.protocol import Hello, ProtocolError
from signaling.roles import Role
from web import relay
from web.appkeys import HANDLER_TABLE, HOSTED, ROOMS, SIGNER, SITTINGS

log = logging.getLogger(__name__)

HOST = web.AppKey("sitting_host", SittingHost)
PLACEMENT = web.AppKey("placement", Placement)
EVENTS = web.AppKey("cluster_events", dict)  # sitting -> last event seen (any node)

REDIS_URL_RE = re.compile(r"^(redis|rediss|unix)://\S+$")
#: Pages that need a sitting without naming it in the path: the first configured one.
SCREEN_PATHS = ("/president", "/agent", "/elu", "/moderation")


@dataclass(frozen=True)
class ClusterSettings:
    #: Worker processes on this machine (``"auto"`` in the file: one per core).
    workers: int = 1
    #: ``redis://`` URL shared by the nodes of the installation; None: no Redis.
    redis_url: str | None = None
    #: Base URL browsers reach this node at (``{port}`` is replaced by each worker's port);
    #: None: ``https://host:port`` (or ``http://`` behind the proxy).
    node_url: str | None = None
    lease_ttl_s: float = 15.0

    @property
    def clustered(self) -> bool:
        return self.workers > 1 or self.redis_url is not None


def read_settings(r: Any, server: dict) -> ClusterSettings:
    """Read the cluster keys of ``[server]`` with ``web.config_file``'s reader ``r``."""
    workers = 1
    if "workers" in server:
        if server["workers"] == "auto":
            workers = max(1, os.cpu_count() or 1)
        else:
            workers = r.integer(server, "workers", "server", 1, 64) or 1  # a bad value is reported
    redis_url = None
    if "redis" in server:
        redis_url = r.string(server, "redis", "server", max_len=1000)
        if redis_url is not None and not REDIS_URL_RE.match(redis_url):
            r.bad("server.redis", "URL redis://hôte:port/base attendue", "expected a redis://host:port/db URL")
            redis_url = None
    node_url = r.string(server, "node_url", "server", max_len=1000)
    if node_url is not None and urlsplit(node_url.replace("{port}", "1")).scheme not in ("http", "https"):
        r.bad("server.node_url", "URL http(s):// attendue", "expected an http(s):// URL")
        node_url = None
    ttl = r.number(server, "lease_ttl_s", "server", 1, 600) if "lease_ttl_s" in server else None
    return ClusterSettings(
        workers=workers,
        redis_url=redis_url,
        node_url=node_url,
        lease_ttl_s=ttl if ttl is not None else ClusterSettings.lease_ttl_s,
    )


# --------------------------------------------------------------------------- the app's side


def _sitting_of(
    request: web.Request, signer: Any, salle_sittings: dict[str, list[str]], first: str | None
) -> str | None:
    """The sitting a page is about, when it is about one.

    A kiosk page (``/salle/<salle>?token=…``) is about the sitting its link was made for:
    several sittings may share a salle (a council and a syndicate meeting in the same
    salles), and only the token says which. Without a readable token, the salle's sitting
    when it has only one; otherwise none (the page itself refuses the link)."""
    parts = request.path.strip("/").split("/")
    if parts[0] in ("public", "audit") and len(parts) >= 2:
        return parts[1]
    if parts[0] == "salle" and len(parts) >= 2:
        try:
            claims = signer.verify(request.query.get("token", ""), check_revocation=False)
        except TokenError:
            claims = None
        if claims is not None and claims.role is Role.KIOSK and claims.salle == parts[1] and claims.sitting:
            return claims.sitting
        candidates = salle_sittings.get(parts[1], [])
        return candidates[0] if len(candidates) == 1 else None
    if request.path.startswith(SCREEN_PATHS):
        return request.query.get("seance") or first
    return None


def install(
    app: web.Application, placement: Placement, config: Any, open_spec: Callable[[Any], Awaitable[Any]]
) -> SittingHost:
    """Serve the app's hosted sittings (:mod:`web.sittings`: ``[[sittings]]`` and those the
    council store convened, including after the start) through ``placement``;
    ``open_spec(spec)`` opens one sitting here (its room, then its service resumed from
    the journal) and returns the service."""
    rooms: dict = app[ROOMS]
    services: dict = app[SITTINGS]
    handlers: dict = app[HANDLER_TABLE]
    hosted = app[HOSTED]
    specs = hosted.specs  # live: a sitting convened after the start is added here
    sittings = hosted.ids

    async def open_sitting(sitting: str) -> None:
        service = await open_spec(specs[sitting])
        if service is not None:
            service.fence = lambda: host.fence(sitting)

            def on_journaled(events: list[Any], service: Any = service) -> None:
                task = asyncio.get_running_loop().create_task(host.publish(sitting, journaled_event(service, events)))
                _tasks.add(task)
                task.add_done_callback(_tasks.discard)

            service.on_journaled = on_journaled

    async def close_sitting(sitting: str) -> None:
        room = rooms.get(sitting)
        if room is not None:  # the browsers reconnect, and are redirected to the new holder
            for conn in list(room.connections):
                await conn.close(code=1012, reason="sitting moved")
        service = services.pop(sitting, None)
        if service is not None:
            await service.close()
        room = rooms.pop(sitting, None)
        if room is not None:
            await room.close()

    _tasks: set[asyncio.Task[Any]] = set()
    data_dir = config.data_dir
    host = SittingHost(placement, sittings, data_dir, open_sitting=open_sitting, close_sitting=close_sitting)

    async def on_added(spec: Any) -> None:  # convened in /admin: this node takes it if it is its own
        sittings.append(spec.id)
        host.add(spec.id)
        await host.take()

    hosted.on_added.append(on_added)
    app[HOST] = host
    app[PLACEMENT] = placement
    app[EVENTS] = {}

    def on_event(sitting: str, event: dict[str, Any]) -> None:
        if event.get("type") == "public_view":  # web.relay's forwarding to the edges, not a change
            return
        app[EVENTS][sitting] = {**event, "seen_at": time.time()}

    placement.on_event(on_event)

    async def start(app: web.Application) -> None:
        await host.start()

    async def stop(app: web.Application) -> None:
        await host.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)

    # -- /ws: redirect before welcome
    inner_hello = handlers["hello"]

    async def hello(conn, msg: Hello) -> None:
        if conn.claims is None and msg.sitting not in rooms and msg.sitting in sittings:
            node = await placement.locate(msg.sitting)
            if node is not None and node.id != placement.node.id:
                conn.send(redirect_message(node, msg.sitting, msg.id))
                await conn.drain_and_stop()
                await conn.close(code=1000, reason="redirect")
                return
            conn.send(
                ProtocolError(
                    "sitting_moving", "La séance change de serveur : reconnexion dans un instant…", "sitting"
                ).to_message(msg.id)
            )
            await conn.drain_and_stop()
            await conn.close(code=1013, reason="sitting moving")
            return
        await inner_hello(conn, msg)

    handlers["hello"] = hello

    # -- pages: 307 to the node that holds the sitting
    @web.middleware
    async def redirect_pages(request: web.Request, handler):
        if request.method in ("GET", "HEAD"):
            sitting = _sitting_of(request, app[SIGNER], hosted.salle_sittings(), sittings[0] if sittings else None)
            if sitting is not None and sitting not in rooms and sitting in sittings:
                screens_without_sitting = request.path.startswith(SCREEN_PATHS) and "seance" not in request.query
                if not (screens_without_sitting and rooms):
                    try:
                        node = await placement.locate(sitting)
                    except Exception as err:
                        log.warning("placement lookup failed (%s)", err)
                        node = None
                    if node is not None and node.id != placement.node.id:
                        raise web.HTTPTemporaryRedirect(node.url.rstrip("/") + request.path_qs)
                    # between two nodes, or being opened here: the browser reloads by itself
                    raise web.HTTPServiceUnavailable(
                        text="La séance change de serveur : cette page se recharge dans un instant.",
                        headers={"Retry-After": "2", "Refresh": "2"},
                    )
        return await handler(request)

    app.middlewares.append(redirect_pages)

    async def cluster(request: web.Request) -> web.Response:
        out = {}
        for sitting in sittings:
            try:
                node = await placement.locate(sitting)
            except Exception:
                node = None
            out[sitting] = {
                "node": node.id if node else None,
                "url": node.url if node else None,
                "here": sitting in rooms,
                "last_event": app[EVENTS].get(sitting),
            }
        return web.json_response({"node": placement.node.id, "url": placement.node.url, "sittings": out})

    app.router.add_get("/cluster", cluster)

    # cascading for the public (when [server] public_viewers_per_node is set)
    relay.install(app, placement, config, sittings, host)
    return host


def journaled_event(service: Any, events: list[Any]) -> dict[str, Any]:
    """What the other nodes' dashboards learn of a journaled command: no personal data."""
    return {
        "type": "journal",
        "lines": service.journal.lines if service.journal else None,
        "head": service.journal.head if service.journal else None,
        "events": [e.type for e in events],
    }
