"""An edge's copy of the annex shown (web/edge_documents.py) against a REAL HTTP server standing
for the holder's public route: the size bound, the digest check, one fetch for many viewers,
and the holder's refusals passed on as "not served"."""

from __future__ import annotations

import asyncio
import hashlib

import aiohttp
import pytest
from aiohttp import web

from web.edge_documents import EdgeDocuments, FetchError

PDF = b"%PDF-1.4\n% plan\n" + b"x" * 5000
SHA = hashlib.sha256(PDF).hexdigest()
VIEW = {"status": "opened", "sensitive": False, "presentation": {"annex_id": "a1b2c3d4e5f60718", "sha256": SHA}}


@pytest.fixture
async def holder(aiohttp_server):
    """The holder's route: the PDF (in chunks, no Content-Length, when ?chunked), or 403."""
    calls = []
    settings = {"chunked": False, "body": PDF}

    async def document(request: web.Request) -> web.StreamResponse:
        calls.append(request.path_qs)
        if request.query.get("sha256") != SHA:
            return web.json_response({"ok": False, "rule": "R2", "field": None, "message": "non"}, status=403)
        await asyncio.sleep(0.05)  # the viewers arriving meanwhile wait for this one fetch
        body = settings["body"]
        if settings["chunked"]:
            resp = web.StreamResponse(headers={"Content-Type": "application/pdf"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for i in range(0, len(body), 1000):
                await resp.write(body[i : i + 1000])
            await resp.write_eof()
            return resp
        return web.Response(body=body, content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/public/{seance}/documents/{annexe}", document)
    server = await aiohttp_server(app)
    server.calls, server.settings = calls, settings
    return server


async def test_many_viewers_make_one_fetch_and_the_bytes_are_the_digest_s(holder):
    docs = EdgeDocuments()

    async def url() -> str:
        return str(holder.make_url(""))

    async with aiohttp.ClientSession() as session:
        got = await asyncio.gather(*(docs.get(session, url, "demo", "a1b2c3d4e5f60718", SHA) for _ in range(20)))
        resp = await docs.serve(session, url, VIEW, "demo", "a1b2c3d4e5f60718", SHA)
    assert got == [PDF] * 20 and resp.status == 200 and resp.body == PDF
    assert len(holder.calls) == 1 and docs.fetches == 1


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_file_larger_than_the_bound_is_not_kept(holder, chunked):
    """Announced (Content-Length) or not (chunked), more than max_bytes is refused, not cached."""
    holder.settings["chunked"] = chunked
    docs = EdgeDocuments(max_bytes=len(PDF) - 1)

    async def url() -> str:
        return str(holder.make_url(""))

    async with aiohttp.ClientSession() as session:
        with pytest.raises(FetchError, match="bytes"):
            await docs.get(session, url, "demo", "a1b2c3d4e5f60718", SHA)
    assert docs.cache == {}


async def test_bytes_that_are_not_the_digest_shown_are_not_served(holder):
    """The holder's file changed on disk since it was journaled: the edge serves nothing (503)."""
    holder.settings["body"] = PDF + b"% altered\n"
    docs = EdgeDocuments()

    async def url() -> str:
        return str(holder.make_url(""))

    async with aiohttp.ClientSession() as session:
        with pytest.raises(FetchError, match="digest"):
            await docs.get(session, url, "demo", "a1b2c3d4e5f60718", SHA)
        resp = await docs.serve(session, url, VIEW, "demo", "a1b2c3d4e5f60718", SHA)
    assert resp.status == 503 and docs.cache == {}


async def test_the_holder_s_refusal_and_the_public_view_s_are_passed_on(holder):
    docs = EdgeDocuments()
    other = hashlib.sha256(b"another file").hexdigest()

    async def url() -> str:
        return str(holder.make_url(""))

    async with aiohttp.ClientSession() as session:
        with pytest.raises(FetchError, match="HTTP 403"):
            await docs.get(session, url, "demo", "a1b2c3d4e5f60718", other)
        sensitive = await docs.serve(session, url, {**VIEW, "sensitive": True}, "demo", "a1b2c3d4e5f60718", SHA)
        closed = await docs.serve(session, url, {**VIEW, "status": "suspended"}, "demo", "a1b2c3d4e5f60718", SHA)
        other_annex = await docs.serve(session, url, VIEW, "demo", "0f0e0d0c0b0a0908", SHA)
    assert (sensitive.status, sensitive.text.count('"R19"')) == (403, 1)
    assert closed.status == other_annex.status == 403 and '"R2"' in closed.text and '"R2"' in other_annex.text
    assert len(holder.calls) == 1  # only the fetch asked directly: a refused view asks the holder nothing
