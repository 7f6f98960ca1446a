"""Cascading for the public, the signaling half (issue 5; docs/operations.md, "Cascading to
large audiences"; the media half is :mod:`sfu.cascade`).

A sitting lives on one node (the **holder**). When its public viewers there reach
``[server] public_viewers_per_node`` (``WebConfig.public_viewers_per_node``; unset: no
cascading), an anonymous viewer's ``hello`` (and a ``GET /public/<s>``) is sent to another
node **with room** (a ``redirect``, a 307): the **edge**. The edge creates, on demand, an
edge Router for the sitting, linked **once** to the holder with
:func:`sfu.cascade.connect`; its viewers' ``join as viewer`` and ``offer`` go to that
Router. The link's offer reaches the holder through:

- ``POST /cluster/relay/<sitting>`` (``Authorization: SeanceNode <token>``, body
  ``{"sdp": offer}``): the holder answers ``{"sdp": answer, "sitting": <sitting msg>,
  "state": <state msg>}`` with ``router.connect_viewer("relay:<node>", offer)``. A relay
  is a peer of the Router, not a socket of the room: it is not counted as a public viewer.
- the **node token**: ``<body>.<mac>``, body the base64url JSON ``{"v":1,"kind":"node",
  "node","sitting","iat","exp"}`` (60 s), mac the HMAC-SHA256 of ``"node:" + body`` under
  the installation's session key (:class:`signaling.auth.TokenSigner`, which every node of
  the installation shares): a person's token is never a node token and conversely. The
  holder also requires the node to be announced in Redis (``seance:node:<id>``).

The public's sitting view reaches the edge's sockets over Redis: the holder's room
broadcasts (``sitting``, ``state``, a ``journal_invalid`` error) are published on the
sitting's channel ``seance:events:<sitting>`` as ``{"type": "public_view", "message"}``
while the holder's Router has at least one ``relay:`` peer; each edge keeps the last one
of each type (for the sockets that arrive later) and pushes it to its sockets.

Each node announces its public viewers (holder and edge sockets) in
``seance:public:<node>`` = ``{"url", "public", "sittings": {sitting: n}}`` (TTL: the
lease's), refreshed on change and every third of the lease. An edge keeps its link while
it has sockets, and closes it ``edge_linger_s`` after the last one left.

The annex shown in séance reaches the edge's public through the edge itself
(``GET /public/<s>/documents/<a>``, answered here before web.cluster would redirect it to the
holder, a URL the page's CSP could not fetch): :mod:`web.edge_documents`.

``GET /cluster/cascade`` (monitoring, no personal data): per held sitting its public
sockets and relay peers, per edge its sockets and the link's ``stats()``, and the annexes
the node fetched from holders (``documents``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web

from signaling.auth import Claims, TokenError, TokenSigner
from signaling.placement import NodeInfo, Placement, redirect_message
from signaling.protocol import Hello
from signaling.roles import PERMISSIONS, Role
from signaling.room import SalleInfo, SittingRoom
from web.appkeys import HANDLER_TABLE, HOSTED, ROOMS, SIGNER, SITTINGS
from web.edge_documents import EdgeDocuments
from web.media import router_factory
from web.turn import turn_ice_servers

log = logging.getLogger(__name__)

NODE_TOKEN_TTL_S = 60
RELAY_PREFIX = "relay:"
LOAD_PREFIX = "seance:public:"
#: room broadcasts forwarded to the edges (public-grade: every public socket gets them)
FORWARDED = ("sitting", "state", "error")
TICK_S = 0.5


#: node tokens are sealed in a domain of their own: one can never pass for a person's
NODE_DOMAIN = "node:"


def issue_node_token(
    signer: TokenSigner, node: str, sitting: str, *, ttl_s: int = NODE_TOKEN_TTL_S, now: float | None = None
) -> str:
    now = int(time.time() if now is None else now)
    payload = {"v": 1, "kind": "node", "node": node, "sitting": sitting, "iat": now, "exp": now + int(ttl_s)}
    return signer.seal(payload, NODE_DOMAIN)


def verify_node_token(signer: TokenSigner, token: str, sitting: str, *, now: float | None = None) -> str:
    """The node id of a valid node token for ``sitting``; raise :class:`TokenError` otherwise."""
    data = signer.unseal(token, NODE_DOMAIN, max_len=2048, what="Jeton de nœud")
    try:
        node, for_sitting, exp = str(data["node"]), data["sitting"], int(data["exp"])
    except (ValueError, KeyError, TypeError):
        raise TokenError("bad_token", "Jeton de nœud illisible.") from None
    if data.get("v") != 1 or data.get("kind") != "node" or not node:
        raise TokenError("bad_token", "Ce jeton n'est pas un jeton de nœud.")
    if for_sitting != sitting:
        raise TokenError("forbidden", "Ce jeton de nœud ne vaut pas pour cette séance.")
    if (time.time() if now is None else now) >= exp:
        raise TokenError("token_expired", "Jeton de nœud expiré.")
    return node


def public_count(room: Any) -> int:
    return sum(1 for c in list(room.connections) if c.claims is not None and c.claims.role is Role.PUBLIC)


class Edge:
    """An edge Router of a sitting held elsewhere, in a room of its own."""

    def __init__(self, room: Any) -> None:
        self.room = room
        self.link: Any = None
        self.idle_since: float | None = None
        self.last: dict[str, dict[str, Any]] = {}  # message type -> last holder broadcast

    def remember(self, message: dict[str, Any]) -> None:
        self.last[message.get("type", "")] = message


class Cascade:
    def __init__(self, app: web.Application, placement: Placement, config: Any) -> None:
        self.app = app
        self.placement = placement
        self.config = config
        self.threshold: int = config.public_viewers_per_node
        self.linger: float = getattr(config, "edge_linger_s", 30.0)
        self.rooms: dict = app[ROOMS]
        self.services: dict = app[SITTINGS]
        self.signer: TokenSigner = app[SIGNER]
        self.specs = app[HOSTED].specs  # live: sittings convened after the start too
        self.edges: dict[str, Edge] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._announced: tuple[Any, ...] | None = None
        self._announced_at = 0.0
        self.documents = EdgeDocuments()

    @property
    def redis(self) -> Any:
        return getattr(self.placement, "redis", None)

    # ------------------------------------------------------------------ load table
    def counts(self) -> dict[str, int]:
        out = {sid: public_count(room) for sid, room in self.rooms.items()}
        for sid, edge in self.edges.items():
            out[sid] = out.get(sid, 0) + len(edge.room.connections)
        return out

    async def announce(self, force: bool = False) -> None:
        if self.redis is None:
            return
        counts = self.counts()
        key = tuple(sorted(counts.items()))
        now = time.monotonic()
        if not force and key == self._announced and now - self._announced_at < self.placement.lease_ttl_s / 3:
            return
        payload = {"url": self.placement.node.url, "public": sum(counts.values()), "sittings": counts}
        try:
            await self.redis.set(
                LOAD_PREFIX + self.placement.node.id, json.dumps(payload), px=int(self.placement.lease_ttl_s * 1000)
            )
            self._announced, self._announced_at = key, now
        except Exception as err:
            log.warning("cascade: load not announced (%s)", err)

    async def loads(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if self.redis is None:
            return out
        keys = [k async for k in self.redis.scan_iter(match=LOAD_PREFIX + "*", count=100)]
        if not keys:
            return out
        for key, raw in zip(keys, await self.redis.mget(keys)):
            try:
                entry = json.loads(raw) if raw else None
            except ValueError:
                entry = None
            if isinstance(entry, dict) and entry.get("url"):
                out[str(key).removeprefix(LOAD_PREFIX)] = entry
        return out

    async def pick_edge(self) -> NodeInfo | None:
        """Another node with room for public viewers (the least loaded), or None."""
        try:
            loads = await self.loads()
        except Exception as err:
            log.warning("cascade: loads unreadable (%s)", err)
            return None
        candidates = [
            (int(entry.get("public", 0)), node, entry["url"])
            for node, entry in loads.items()
            if node != self.placement.node.id and int(entry.get("public", 0)) < self.threshold
        ]
        if not candidates:
            return None
        _, node, url = min(candidates)
        return NodeInfo(node, url)

    async def holder_wants_edges(self, sitting: str) -> bool:
        try:
            holder = await self.placement.locate(sitting)
            if holder is None or holder.id == self.placement.node.id:
                return False
            raw = await self.redis.get(LOAD_PREFIX + holder.id) if self.redis is not None else None
            entry = json.loads(raw) if raw else {}
            return int(entry.get("sittings", {}).get(sitting, 0)) >= self.threshold
        except Exception as err:
            log.warning("cascade: holder load of %s unreadable (%s)", sitting, err)
            return False

    # ------------------------------------------------------------------ holder side
    def watch_room(self, sitting: str) -> None:
        room = self.rooms.get(sitting)
        if room is None:
            return

        def on_broadcast(message: dict[str, Any], room: Any = room) -> None:
            if message.get("type") not in FORWARDED or self._queue is None:
                return
            if not any(pid.startswith(RELAY_PREFIX) for pid in list(getattr(room.router, "peers", {}))):
                return
            self._queue.put_nowait((sitting, {"type": "public_view", "message": message}))

        room.on_broadcast = on_broadcast

    async def _publisher(self) -> None:
        assert self._queue is not None
        while True:  # one sender: the edges get the holder's broadcasts in order
            sitting, event = await self._queue.get()
            try:
                await self.placement.publish(sitting, event)
            except Exception as err:
                log.warning("cascade: public view of %s not published (%s)", sitting, err)

    async def relay_endpoint(self, request: web.Request) -> web.Response:
        sitting = request.match_info["sitting"]
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "SeanceNode" or not token:
            raise web.HTTPUnauthorized(text="jeton de nœud requis", headers={"WWW-Authenticate": "SeanceNode"})
        try:
            node = verify_node_token(self.signer, token.strip(), sitting)
        except TokenError as err:
            raise web.HTTPForbidden(text=err.message) from None
        if node == self.placement.node.id:
            raise web.HTTPForbidden(text="un nœud ne se relaie pas lui-même")
        if self.redis is not None and not await self.redis.exists(f"seance:node:{node}"):
            raise web.HTTPForbidden(text="nœud inconnu")
        room = self.rooms.get(sitting)
        if room is None:
            raise web.HTTPNotFound(text="séance non tenue par ce nœud")
        try:
            body = await request.json()
            sdp = body["sdp"]
        except (ValueError, KeyError, TypeError):
            raise web.HTTPBadRequest(text="offre attendue") from None
        if not isinstance(sdp, str) or not sdp.startswith("v=0"):
            raise web.HTTPBadRequest(text="offre SDP invalide")
        try:
            answer = await room.router.connect_viewer(RELAY_PREFIX + node, sdp)
        except (ValueError, KeyError) as err:
            raise web.HTTPBadRequest(text=f"offre refusée : {str(err)[:120]}") from None
        log.info("cascade: node %s relays sitting %s", node, sitting)
        service = self.services.get(sitting)
        view = None
        if service is not None:
            view = service.hello_messages()[0]
        return web.json_response({"sdp": answer, "sitting": view, "state": room.state_message()})

    # ------------------------------------------------------------------ edge side
    def _session_(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._session

    async def _offer(self, sitting: str, sdp: str) -> str:
        holder = await self.placement.locate(sitting)
        if holder is None or holder.id == self.placement.node.id:
            raise ConnectionError(f"no holder for {sitting}")
        token = issue_node_token(self.signer, self.placement.node.id, sitting)
        async with self._session_().post(
            f"{holder.url.rstrip('/')}/cluster/relay/{sitting}",
            json={"sdp": sdp},
            headers={"Authorization": f"SeanceNode {token}"},
        ) as r:
            if r.status != 200:
                raise ConnectionError(f"relay refused by {holder.id}: HTTP {r.status}")
            data = await r.json()
        edge = self.edges.get(sitting)
        if edge is not None:
            for message in (data.get("state"), data.get("sitting")):
                if isinstance(message, dict):
                    edge.remember(message)
                    edge.room.broadcast(message)
        return str(data["sdp"])

    async def ensure_edge(self, sitting: str) -> Edge | None:
        lock = self._locks.setdefault(sitting, asyncio.Lock())
        async with lock:
            edge = self.edges.get(sitting)
            if edge is not None:
                return edge
            from sfu import cascade  # the media stack when first needed, as web.media

            spec = self.specs[sitting]
            config = self.config

            build = router_factory(config, None)  # the node's registry carries the origin's metrics

            salles = [SalleInfo(s.id, s.name) for s in spec.salles]
            room = SittingRoom(sitting, spec.title, salles, None, build, config.viewer_limits)
            edge = Edge(room)
            self.edges[sitting] = edge
            try:
                edge.link = await cascade.connect(
                    room.router,
                    lambda sdp: self._offer(sitting, sdp),
                    relay_id=RELAY_PREFIX + self.placement.node.id,
                    wait=False,
                )
            except Exception:
                log.exception("cascade: edge of %s not linked", sitting)
                self.edges.pop(sitting, None)
                await room.close()
                return None
            log.info("cascade: node %s serves sitting %s as an edge", self.placement.node.id, sitting)
        await edge.link.wait_up(8.0)
        return edge

    async def edge_document(self, sitting: str, annex_id: str, sha256: str) -> web.StreamResponse | None:
        """The annex shown in ``sitting`` to this edge's public (web.edge_documents); None when
        this node has no edge of it (web.documents then answers 404)."""
        edge = self.edges.get(sitting)
        if edge is None:
            return None

        async def holder_url() -> str | None:
            holder = await self.placement.locate(sitting)
            return None if holder is None or holder.id == self.placement.node.id else holder.url

        view = (edge.last.get("sitting") or {}).get("view")
        return await self.documents.serve(self._session_(), holder_url, view, sitting, annex_id, sha256)

    async def close_edge(self, sitting: str) -> None:
        edge = self.edges.pop(sitting, None)
        if edge is None:
            return
        log.info("cascade: edge of %s closed", sitting)
        try:
            if edge.link is not None:
                await edge.link.close()
        finally:
            await edge.room.close()

    def on_event(self, sitting: str, event: dict[str, Any]) -> None:
        if event.get("type") != "public_view" or event.get("node") == self.placement.node.id:
            return
        edge = self.edges.get(sitting)
        message = event.get("message")
        if edge is not None and isinstance(message, dict) and message.get("type") in FORWARDED:
            edge.remember(message)
            edge.room.broadcast(message)

    async def serve_edge_hello(self, conn: Any, msg: Hello, edge: Edge) -> None:
        claims = Claims(role=Role.PUBLIC, member=None, salle=None, sitting=msg.sitting, issued_at=0, expires_at=0)
        conn.claims = claims
        await edge.room.attach(conn)
        edge.idle_since = None
        conn.send(
            {
                "type": "welcome",
                "re": msg.id,
                "role": claims.role.value,
                "member": None,
                "salle": None,
                "sitting": msg.sitting,
                "names": edge.room.names(),
                "allowed": sorted(t for t, roles in PERMISSIONS.items() if Role.PUBLIC in roles),
                "iceServers": turn_ice_servers(self.config.turn, f"public-{conn.id}"),
                "edge": True,
            }
        )
        conn.send(edge.last.get("state") or edge.room.state_message())
        for kind in ("sitting", "error"):
            if kind in edge.last:
                conn.send(edge.last[kind])
        await self.announce(force=True)

    # ------------------------------------------------------------------ loop
    async def _tick(self) -> None:
        while True:
            try:
                now = time.monotonic()
                for sitting, edge in list(self.edges.items()):
                    if sitting in self.rooms:  # held here now (failover): no edge of ourselves
                        await self.close_edge(sitting)
                    elif edge.room.connections:
                        edge.idle_since = None
                    elif edge.idle_since is None:
                        edge.idle_since = now
                    elif now - edge.idle_since >= self.linger:
                        await self.close_edge(sitting)
                await self.announce()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cascade: tick")
            await asyncio.sleep(TICK_S)

    async def start(self, app: web.Application) -> None:
        self._queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._publisher()), loop.create_task(self._tick())]

    async def stop(self, app: web.Application) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        for sitting in list(self.edges):
            try:
                await self.close_edge(sitting)
            except Exception:
                log.exception("cascade: closing the edge of %s", sitting)
        if self._session is not None:
            await self._session.close()
        if self.redis is not None:
            try:
                await self.redis.delete(LOAD_PREFIX + self.placement.node.id)
            except Exception:
                pass

    async def status(self, request: web.Request) -> web.Response:
        held = {
            sid: {
                "public": public_count(room),
                "relays": sorted(p for p in list(getattr(room.router, "peers", {})) if p.startswith(RELAY_PREFIX)),
            }
            for sid, room in self.rooms.items()
        }
        edges = {
            sid: {"viewers": len(edge.room.connections), "link": edge.link.stats() if edge.link else None}
            for sid, edge in self.edges.items()
        }
        documents = {"fetches": self.documents.fetches, "cached": len(self.documents.cache)}
        return web.json_response(
            {
                "node": self.placement.node.id,
                "threshold": self.threshold,
                "held": held,
                "edges": edges,
                "documents": documents,
            }
        )


def install(app: web.Application, placement: Placement, config: Any, sittings: list[str], host: Any) -> Cascade | None:
    """Install cascading (called by :func:`web.cluster.install`); nothing without a threshold or Redis."""
    if not getattr(config, "public_viewers_per_node", None) or getattr(placement, "redis", None) is None:
        return None
    cascade = Cascade(app, placement, config)
    rooms = cascade.rooms
    known = app[HOSTED].specs  # live

    async def opened(sitting: str) -> None:
        cascade.watch_room(sitting)

    host.on_opened.append(opened)
    placement.on_event(cascade.on_event)
    app.on_startup.append(cascade.start)
    app.on_shutdown.append(cascade.stop)

    handlers: dict = app[HANDLER_TABLE]
    inner_hello = handlers["hello"]

    async def hello(conn: Any, msg: Hello) -> None:
        anonymous = conn.claims is None and msg.token is None and conn.cookie_claims is None
        if anonymous and msg.sitting in known:
            room = rooms.get(msg.sitting)
            if room is not None:
                if public_count(room) >= cascade.threshold:
                    target = await cascade.pick_edge()
                    if target is not None:
                        await cascade.announce(force=True)
                        conn.send(redirect_message(target, msg.sitting, msg.id))
                        await conn.drain_and_stop()
                        await conn.close(code=1000, reason="redirect")
                        return
            elif msg.sitting in cascade.edges or await cascade.holder_wants_edges(msg.sitting):
                edge = await cascade.ensure_edge(msg.sitting)
                if edge is not None:
                    await cascade.serve_edge_hello(conn, msg, edge)
                    return
        await inner_hello(conn, msg)

    handlers["hello"] = hello

    @web.middleware
    async def public_pages(request: web.Request, handler):
        parts = request.path.strip("/").split("/")
        if (
            request.method in ("GET", "HEAD")
            and len(parts) == 4
            and parts[0] == "public"
            and parts[2] == "documents"
            and parts[1] not in rooms
        ):
            # the annex shown, for this edge's public (web.edge_documents), rather than a
            # redirect to the holder that the page's CSP could not follow
            served = await cascade.edge_document(parts[1], parts[3], request.query.get("sha256", ""))
            if served is not None:
                return served
        if request.method in ("GET", "HEAD") and len(parts) == 2 and parts[0] == "public" and parts[1] in known:
            sitting = parts[1]
            room = rooms.get(sitting)
            if room is not None:
                if public_count(room) >= cascade.threshold:
                    target = await cascade.pick_edge()
                    if target is not None:
                        raise web.HTTPTemporaryRedirect(target.url.rstrip("/") + request.path_qs)
            elif sitting in cascade.edges or await cascade.holder_wants_edges(sitting):
                import aiohttp_jinja2

                spec = cascade.specs[sitting]
                return aiohttp_jinja2.render_template(
                    "public.html", request, {"room": SimpleNamespace(title=spec.title, sitting_id=sitting)}
                )
        return await handler(request)

    # before web.cluster's redirect_pages, which would send the page back to the holder
    mws = app.middlewares
    mws.insert(len(mws) - 1 if mws else 0, public_pages)

    app.router.add_post("/cluster/relay/{sitting}", cascade.relay_endpoint)
    app.router.add_get("/cluster/cascade", cascade.status)
    return cascade
