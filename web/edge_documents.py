"""The annex shown in séance, served to the public of an **edge** node (issue 15 point 8 on a
cascade; docs/operations.md, "Cascading to large audiences"; web/relay.py).

A public page redirected to an edge lives on the edge's origin (its own port or host in
deploy/nginx: each server block proxies to one node), so its pdf.js asks the edge for
``/public/<s>/documents/<a>?sha256=…``. The browser is not sent to the holder for it: the
pages' CSP allows ``connect-src 'self'`` only, and every edge viewer downloading from the
holder would put back on it the egress the cascade moves away. The edge instead:

- answers only for the annex the holder's public view says is shown (the ``sitting``
  message forwarded over Redis: sitting open, that annex, that digest, no sensitive
  passage, R2 and R19), with the holder's own refusals otherwise;
- fetches the file **once per digest** from the holder's public route at its node URL (the
  one ``POST /cluster/relay`` uses), so the holder checks again that it is shown now;
- reads at most :data:`MAX_ANNEX_BYTES` (the convocation's limit), checks its SHA-256
  against the digest journaled (``PresentAnnex``) before serving a byte, and keeps the last
  :data:`MAX_CACHED` documents in memory by digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from web.admin.annexes import MAX_ANNEX_BYTES
from web.documents import NOT_SHOWN_MESSAGE, SENSITIVE_MESSAGE, pdf_headers, refusal

log = logging.getLogger(__name__)

#: documents kept by an edge (a sitting shows one at a time; a few for the page turns back)
MAX_CACHED = 4
CHUNK = 64 * 1024


class FetchError(Exception):
    """The holder did not give the annex shown (refused, unreachable, too large, altered)."""


def public_refusal(view: dict[str, Any] | None, annex_id: str, sha256: str) -> web.Response | None:
    """The holder's refusal for this annex, read from its public view; None when it is shown."""
    if not isinstance(view, dict) or view.get("status") != "opened":
        return refusal(403, NOT_SHOWN_MESSAGE, "R2")
    shown = view.get("presentation")
    if not isinstance(shown, dict) or shown.get("annex_id") != annex_id or shown.get("sha256") != sha256:
        return refusal(403, NOT_SHOWN_MESSAGE, "R2")
    if view.get("sensitive"):
        return refusal(403, SENSITIVE_MESSAGE, "R19")
    return None


class EdgeDocuments:
    """The annexes an edge got from holders, by digest (at most :data:`MAX_CACHED`)."""

    def __init__(self, *, max_bytes: int = MAX_ANNEX_BYTES, max_cached: int = MAX_CACHED) -> None:
        self.max_bytes = max_bytes
        self.max_cached = max_cached
        self.cache: OrderedDict[str, bytes] = OrderedDict()
        self.fetches = 0  # from holders, for /cluster/cascade
        self.lock = asyncio.Lock()  # one fetch at a time: 300 viewers arriving make one

    async def serve(
        self,
        session: aiohttp.ClientSession,
        holder_url: Callable[[], Awaitable[str | None]],
        view: dict[str, Any] | None,
        sitting: str,
        annex_id: str,
        sha256: str,
    ) -> web.Response:
        refused = public_refusal(view, annex_id, sha256)
        if refused is not None:
            return refused
        try:
            data = await self.get(session, holder_url, sitting, annex_id, sha256)
        except FetchError as err:
            log.warning("edge: annex %s of %s not served (%s)", annex_id, sitting, err)
            return refusal(
                503, "Le document n'a pas pu être obtenu du serveur de la séance : il sera réessayé dans un instant."
            )
        return web.Response(body=data, headers=pdf_headers())

    async def get(
        self,
        session: aiohttp.ClientSession,
        holder_url: Callable[[], Awaitable[str | None]],
        sitting: str,
        annex_id: str,
        sha256: str,
    ) -> bytes:
        async with self.lock:
            data = self.cache.get(sha256)
            if data is None:
                base = await holder_url()
                if not base:
                    raise FetchError("no holder")
                data = await self.fetch(session, base, sitting, annex_id, sha256)
                self.cache[sha256] = data
                while len(self.cache) > self.max_cached:
                    self.cache.popitem(last=False)
            self.cache.move_to_end(sha256)
            return data

    async def fetch(self, session: aiohttp.ClientSession, base: str, sitting: str, annex_id: str, sha256: str) -> bytes:
        """The annex from the holder's public route, cut at ``max_bytes``, its digest checked."""
        url = f"{base.rstrip('/')}/public/{quote(sitting)}/documents/{quote(annex_id)}"
        self.fetches += 1
        try:
            async with session.get(url, params={"sha256": sha256}, allow_redirects=False) as r:
                if r.status != 200:
                    raise FetchError(f"holder answered HTTP {r.status}")
                if (r.content_length or 0) > self.max_bytes:
                    raise FetchError(f"{r.content_length} bytes announced, more than {self.max_bytes}")
                digest, size, parts = hashlib.sha256(), 0, []
                for _ in range(self.max_bytes // CHUNK + 2):  # bounded: at most max_bytes + one chunk read
                    chunk = await r.content.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"more than {self.max_bytes} bytes")
                    digest.update(chunk)
                    parts.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise FetchError(f"holder unreachable: {err}") from None
        if digest.hexdigest() != sha256:
            raise FetchError(f"digest {digest.hexdigest()[:12]}… is not the one shown {sha256[:12]}…")
        return b"".join(parts)
