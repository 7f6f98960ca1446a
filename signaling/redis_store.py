"""Placement on Redis: several processes or machines form one installation (issue 5).

Keys (``seance:`` prefix; nothing else of Séance is kept in Redis, so Redis may run
without persistence and be restarted: the nodes announce themselves and take their
leases back within one heartbeat):

- ``seance:lease:<sitting>`` = node id, ``PX`` = lease TTL. Taken with ``SET NX PX``,
  extended only by its holder (Lua compare-and-extend), released only by its holder
  (Lua compare-and-delete).
- ``seance:node:<node id>`` = the node's advertised base URL, ``PX`` = lease TTL,
  refreshed by the heartbeat: where browsers are redirected.
- ``seance:fence:<sitting>``: counter incremented at each acquisition (the fencing token,
  written in ``holder.lock`` beside the journal and logged).
- channel ``seance:events:<sitting>``: JSON events of the sitting (placement, journal
  lines), for the dashboards of every node.

Deadlines are counted on this node's monotonic clock from *before* the command that set
the TTL was sent, so the local deadline always ends before the key expires in Redis.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, RedisError, TimeoutError
from redis.retry import Retry

from signaling.placement import LEASE_TTL_S, NodeInfo, Placement, rendezvous

log = logging.getLogger(__name__)

PREFIX = "seance:"

EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def lease_key(sitting: str) -> str:
    return f"{PREFIX}lease:{sitting}"


def node_key(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}"


def channel(sitting: str) -> str:
    return f"{PREFIX}events:{sitting}"


class RedisPlacement(Placement):
    def __init__(self, url: str, node: NodeInfo, *, lease_ttl_s: float = LEASE_TTL_S) -> None:
        self.url = url
        self.node = node
        self.lease_ttl_s = lease_ttl_s
        timeout = max(0.5, lease_ttl_s / 4)
        # One retry on a broken connection: after a Redis restart each pooled connection fails
        # once. Every command here is safe to repeat (SET NX then compare-and-extend, Lua CAS).
        self.redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[ConnectionError, TimeoutError],
        )
        self._extend = self.redis.register_script(EXTEND)
        self._release = self.redis.register_script(RELEASE)
        self.tokens: dict[str, int] = {}
        self._live: list[str] = [node.id]
        self._sub_task: asyncio.Task[None] | None = None

    @property
    def ttl_ms(self) -> int:
        return int(self.lease_ttl_s * 1000)

    async def start(self) -> None:
        try:
            await self.heartbeat()
        except RedisError as err:
            log.warning(
                "redis %s unreachable at start (%s): retrying at each heartbeat", self.url.split("@")[-1], err
            )  # never the password
        self._subscribed = asyncio.Event()
        self._sub_task = asyncio.get_running_loop().create_task(self._subscribe())
        try:  # so that this node sees its own first events too
            await asyncio.wait_for(self._subscribed.wait(), timeout=self.lease_ttl_s)
        except builtins.TimeoutError:
            pass

    async def stop(self) -> None:
        if self._sub_task is not None:
            self._sub_task.cancel()
            try:
                await self._sub_task
            except (asyncio.CancelledError, Exception):
                pass
        try:
            await self.redis.delete(node_key(self.node.id))
        except RedisError:
            pass
        await self.redis.aclose()

    async def heartbeat(self) -> None:
        await self.redis.set(node_key(self.node.id), self.node.url, px=self.ttl_ms)
        ids = [k.removeprefix(node_key("")) async for k in self.redis.scan_iter(match=node_key("*"), count=100)]
        self._live = sorted(set(ids) | {self.node.id})

    def prefers(self, sitting: str) -> bool:
        return rendezvous(sitting, self._live) == self.node.id

    async def acquire(self, sitting: str) -> float | None:
        start = time.monotonic()
        if await self.redis.set(lease_key(sitting), self.node.id, nx=True, px=self.ttl_ms):
            self.tokens[sitting] = int(await self.redis.incr(f"{PREFIX}fence:{sitting}"))
            log.info("lease of %s taken by %s (fencing token %d)", sitting, self.node.id, self.tokens[sitting])
            return start + self.lease_ttl_s
        return await self.renew(sitting)  # ours already (taken back after a restart of ours)

    async def renew(self, sitting: str) -> float | None:
        start = time.monotonic()
        if int(await self._extend(keys=[lease_key(sitting)], args=[self.node.id, self.ttl_ms])):
            return start + self.lease_ttl_s
        return None

    async def release(self, sitting: str) -> None:
        await self._release(keys=[lease_key(sitting)], args=[self.node.id])
        self.tokens.pop(sitting, None)

    async def locate(self, sitting: str) -> NodeInfo | None:
        holder = await self.redis.get(lease_key(sitting))
        if holder is None:
            return None
        if holder == self.node.id:
            return self.node
        holder = holder.decode() if isinstance(holder, bytes) else holder
        url = await self.redis.get(node_key(holder))
        if not url:
            return None
        return NodeInfo(holder, url.decode() if isinstance(url, bytes) else url)

    async def publish(self, sitting: str, event: dict[str, Any]) -> None:
        await self.redis.publish(channel(sitting), json.dumps({**event, "node": self.node.id}))

    async def _subscribe(self) -> None:
        """Deliver every node's events to this node's callbacks; reconnect after a Redis outage.

        Pub/sub is fire and forget: what is published while a node resubscribes is lost for
        its dashboard, whose next event brings it up to date (each event carries the state)."""
        delay = 0.1
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.psubscribe(channel("*"))
                self._subscribed.set()
                delay = 0.1
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    sitting = str(message["channel"]).removeprefix(channel(""))
                    try:
                        event = json.loads(message["data"])
                    except ValueError:
                        continue
                    if isinstance(event, dict):
                        self._deliver(sitting, event)
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except (RedisError, OSError) as err:
                log.warning("redis pub/sub lost (%s): resubscribing", err)
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0, self.lease_ttl_s / 3)
