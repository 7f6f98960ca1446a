"""WebSocket connections: bounded send queues, rate limits (per socket, and per session and
account over all their sockets), and dispatch to handlers.

One :class:`Connection` per browser socket. Everything the server sends goes through
:meth:`Connection.send`, which never blocks: it puts the message on a bounded queue
drained by one writer task. A browser that cannot keep up (queue full) is disconnected
with close code 1013 ("try again later") instead of making the server hold an
unbounded backlog; the kiosk reconnects and gets a fresh ``state``.

Incoming frames are parsed (:mod:`signaling.protocol`), checked against the role table
(:mod:`signaling.roles`), then given to the handler registered for their type
(:mod:`signaling.handlers`). Any refusal is one ``error`` message; nothing changed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from signaling.auth import Claims
from signaling.protocol import Hello, Message, ProtocolError, correlation_id, parse
from signaling.roles import allowed

if TYPE_CHECKING:
    from signaling.metrics import SignalingMetrics
    from signaling.room import SittingRoom

log = logging.getLogger(__name__)

SEND_QUEUE_MAX = 256
#: One socket's messages: 20 a second, 40 at once.
RATE_PER_S = 20.0
RATE_BURST = 40.0
#: All the sockets of one login session together, and of one account (issue 12 point 6:
#: one session opened 5 sockets and had 510 commands acknowledged in 9 s): as much as one
#: socket may send. A councillor's screens send a few messages a minute.
SHARED_RATE_PER_S = 20.0
SHARED_BURST = 40.0
#: Shared buckets kept before the idle (full) ones are dropped.
SHARED_BUCKETS_MAX = 4096

_ids = itertools.count(1)


def encode(message: dict[str, Any]) -> str:
    """A message's JSON text, as every socket receives it."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class TokenBucket:
    def __init__(
        self, rate: float = RATE_PER_S, burst: float = RATE_BURST, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = burst
        self.last = clock()

    def refill(self) -> float:
        """The tokens there are now."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return self.tokens

    def take(self) -> bool:
        if self.refill() >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def limit_keys(claims: Claims | None) -> tuple[str, ...]:
    """Who a socket's messages count for, beyond the socket itself: its login session and
    its account (people logged in through ``/login``), or the salle whose kiosk link it
    holds (a link opened on several screens). The public has none: a whole audience may
    come through one address; its viewers are capped per address (docs/security.md)."""
    if claims is None:
        return ()
    keys = []
    if claims.sid is not None:
        keys.append(f"session:{claims.sid}")
    if claims.login is not None:
        keys.append(f"account:{claims.login}")
    if not keys and claims.salle is not None and claims.member is None:
        keys.append(f"salle:{claims.sitting}:{claims.salle}:{claims.role.value}")
    if not keys and claims.member is not None:
        keys.append(f"member:{claims.member}:{claims.role.value}")
    return tuple(keys)


class SharedLimits:
    """The token buckets the sockets of one session (and of one account) share: opening
    more sockets gives no more messages. One per app (``web.app``); a message takes a
    token from its socket's bucket and from each shared one, or from none."""

    def __init__(
        self,
        rate: float = SHARED_RATE_PER_S,
        burst: float = SHARED_BURST,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = SHARED_BUCKETS_MAX,
    ) -> None:
        self.rate, self.burst, self.clock, self.max_buckets = rate, burst, clock, max_buckets
        self._buckets: dict[str, TokenBucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def admit(self, own: TokenBucket, keys: tuple[str, ...]) -> bool:
        """Take one token from ``own`` and from the bucket of each key, if every one has it."""
        buckets = [own, *(self._bucket(k) for k in keys)]
        if any(b.refill() < 1.0 for b in buckets):
            return False
        for b in buckets:
            b.tokens -= 1.0
        return True

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_buckets:  # drop the idle ones: a full bucket is a new one
                self._buckets = {k: b for k, b in self._buckets.items() if b.refill() < b.burst}
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
        return bucket


class Connection:
    """One browser socket: who it is (claims), which sitting, which media peer."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        *,
        cookie_claims: Claims | None = None,
        queue_max: int = SEND_QUEUE_MAX,
        limits: SharedLimits | None = None,
        address: str | None = None,
    ) -> None:
        self.id = next(_ids)
        self.ws = ws
        self.cookie_claims = cookie_claims
        self.address = address  # the browser's IP address (behind a trusted proxy: the forwarded one)
        self.claims: Claims | None = None
        self.room: SittingRoom | None = None
        self.media: str | None = None  # "salle" or "viewer" after join
        self.peer_id: str | None = None  # the Router's peer id after join
        self.closed = False
        self.dropped = 0
        self._queue: asyncio.Queue[dict[str, Any] | str | None] = asyncio.Queue(maxsize=queue_max)
        self._writer: asyncio.Task[None] | None = None
        self.bucket = TokenBucket()
        self.limits = limits if limits is not None else SharedLimits()

    def admit(self) -> bool:
        """Whether one more message may be handled: this socket's rate, and its session's
        and account's over all their sockets (:class:`SharedLimits`)."""
        return self.limits.admit(self.bucket, limit_keys(self.claims))

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def send(self, message: dict[str, Any] | str) -> bool:
        """Queue a message (or its JSON text, from :func:`encode`: a broadcast serializes
        once for all sockets) for this socket; never blocks. False if the socket is gone."""
        if self.closed:
            return False
        try:
            self._queue.put_nowait(message)
            return True
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("connection %s too slow (send queue full): closing", self.id)
            asyncio.get_running_loop().create_task(self.close(code=1013, reason="slow consumer"))
            return False

    async def _write_loop(self) -> None:
        try:
            while True:
                message = await self._queue.get()
                if message is None:
                    return
                try:
                    await self.ws.send_str(message if isinstance(message, str) else encode(message))
                except (UnicodeEncodeError, TypeError, ValueError):  # e.g. a lone surrogate: not UTF-8
                    log.error("connection %s: a message that cannot be sent was dropped", self.id)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            return

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        if not self.ws.closed:
            await self.ws.close(code=code, message=reason.encode())

    async def drain_and_stop(self) -> None:
        """Let queued messages go out, then stop the writer (bounded)."""
        if self._writer is None:
            return
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self._writer.cancel()
        try:
            await asyncio.wait_for(self._writer, timeout=2.0)
        except (TimeoutError, asyncio.CancelledError):
            self._writer.cancel()


Handler = Callable[[Connection, Message], Awaitable[None]]


async def dispatch(
    conn: Connection, raw: str, handlers: dict[str, Handler], metrics: SignalingMetrics | None = None
) -> None:
    """Parse, authorise and handle one frame; every refusal becomes one ``error``."""
    re_id = None
    msg: Message | None = None
    try:
        if not conn.admit():
            raise ProtocolError("rate_limited", "Trop de messages : ralentissez (toutes vos connexions comptent).")
        msg = parse(raw)
        re_id = msg.id
        if conn.claims is None and not isinstance(msg, Hello):
            raise ProtocolError("not_authenticated", "Identifiez-vous d'abord (message « hello »).")
        if conn.claims is not None and not allowed(conn.claims.role, msg.type):
            raise ProtocolError("forbidden", f"Votre rôle ne permet pas le message « {msg.type} ».", "type")
        if metrics is not None:
            metrics.messages.labels(msg.type).inc()
        await handlers[msg.type](conn, msg)
    except ProtocolError as err:
        if metrics is not None:
            metrics.errors.labels(err.code).inc()
        conn.send(err.to_message(re_id if re_id is not None else correlation_id(raw)))
    except Exception:  # a bug must not kill the socket, nor leak details
        log.exception("handler failed for connection %s (%s)", conn.id, msg.type if msg else "?")
        if metrics is not None:
            metrics.errors.labels("internal").inc()
        conn.send(ProtocolError("internal", "Erreur interne du serveur ; réessayez.").to_message(re_id))


async def serve(
    conn: Connection,
    handlers: dict[str, Handler],
    on_close: Callable[[Connection], Awaitable[None]],
    metrics: SignalingMetrics | None = None,
) -> None:
    """Read frames until the socket closes; then detach the connection."""
    conn.start()
    try:
        async for frame in conn.ws:
            if frame.type == WSMsgType.TEXT:
                await dispatch(conn, frame.data, handlers, metrics)
            elif frame.type == WSMsgType.BINARY:
                conn.send(ProtocolError("bad_json", "Messages binaires non acceptés.").to_message())
            elif frame.type == WSMsgType.ERROR:
                break
    finally:
        conn.closed = True
        try:
            await on_close(conn)
        finally:
            await conn.drain_and_stop()
