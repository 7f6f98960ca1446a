"""Issue 12.4: the audit page verifies off the event loop, incrementally, and caches its
outputs by journal head. Asserted structurally, never by a timing: the verification runs
in another thread, a ping is answered while it is held in progress, a second visit of an
unchanged journal verifies nothing, and after a command only the new lines are checked."""

from __future__ import annotations

import asyncio
import threading

from deliberation.audit import IncrementalAudit, audit_bytes
from deliberation.journal import generate_key, load_public_pem
from deliberation.rehearsal import run_rehearsal
from signaling.roles import Role
from tests.signaling.sitting_ws import Socket, connect, make_app
from web.app import ACCOUNTS
from web.audit_pages import AUDIT_CACHE


async def _auditor(client):
    client.app[ACCOUNTS].set_account("auditeur", "pw-secret-1", Role.AUDITOR)
    r = await client.post("/login", data={"login": "auditeur", "password": "pw-secret-1"}, allow_redirects=False)
    assert r.status == 303


async def test_the_audit_runs_in_a_thread_and_a_ping_is_answered_meanwhile(aiohttp_client, tmp_path, monkeypatch):
    client = await aiohttp_client(make_app(tmp_path))
    public: Socket = await connect(client, "public")  # before the login: an anonymous viewer
    await _auditor(client)
    started, release = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []
    real = IncrementalAudit.audit

    def held(self, content, allow_open=False):
        threads.append(threading.current_thread())
        started.set()
        assert release.wait(10), "never released"
        return real(self, content, allow_open)

    monkeypatch.setattr(IncrementalAudit, "audit", held)
    page = asyncio.create_task(client.get("/audit/demo"))
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, started.wait, 10)  # the audit is in progress…
    await public.ws.send_json({"type": "ping", "id": "p"})
    pong = await public.next("pong")  # …and the loop still answers
    assert pong["re"] == "p" and not page.done()
    release.set()
    response = await page
    assert response.status == 200 and "Journal vérifié" in await response.text()
    assert threads and all(t is not threading.main_thread() for t in threads)


async def test_a_second_visit_verifies_nothing_and_a_new_command_only_its_lines(aiohttp_client, tmp_path, monkeypatch):
    client = await aiohttp_client(make_app(tmp_path))
    await _auditor(client)
    calls = []
    real = IncrementalAudit.audit

    def counted(self, content, allow_open=False):
        calls.append(allow_open)
        return real(self, content, allow_open)

    monkeypatch.setattr(IncrementalAudit, "audit", counted)
    cache = client.app[AUDIT_CACHE]
    assert (await client.get("/audit/demo")).status == 200
    first = cache.checked_lines["demo"]
    assert first > 10  # the whole journal, the first time
    n = len(calls)
    assert (await client.get("/audit/demo")).status == 200
    assert (await client.get("/audit/demo/journal.jsonl")).status == 200
    assert len(calls) == n  # unchanged head: cached, nothing verified again
    agent = await connect(client, "agent", Role.AGENT, salle="vaux", agent="a-vaux")
    await agent.ok(type="CheckIn", member_id="m06", salle_id="vaux")
    assert (await client.get("/audit/demo")).status == 200
    assert cache.checked_lines["demo"] == 3  # the command, its event, its signature


def test_the_incremental_audit_equals_the_whole_audit_and_starts_over_on_a_rewrite(tmp_path):
    run_rehearsal(tmp_path, generate_key())
    content = (tmp_path / "journal.jsonl").read_bytes()
    key = load_public_pem((tmp_path / "journal.pub").read_bytes())
    lines = content.splitlines(keepends=True)
    cuts = [i + 1 for i, x in enumerate(lines) if b'"kind":"checkpoint"' in x]
    auditor = IncrementalAudit(key)
    checked = 0
    for cut in cuts[:: max(1, len(cuts) // 12)] + [len(lines)]:
        prefix = b"".join(lines[:cut])
        got, want = auditor.audit(prefix, allow_open=True), audit_bytes(prefix, key, allow_open=True)
        assert (got.ok, got.lines, got.checkpoints, got.votes) == (want.ok, want.lines, want.checkpoints, want.votes)
        checked += auditor.checked_lines
    assert checked == len(lines)  # each line verified once
    assert auditor.audit(content).ok == audit_bytes(content, key).ok is True
    # a byte changed in the part already verified: detected, from line 1 again
    forged = content.replace(b"Vaux", b"Vaud", 1)
    report = auditor.audit(forged, allow_open=True)
    want = audit_bytes(forged, key, allow_open=True)
    assert not report.ok and (report.line, report.reason) == (want.line, want.reason)
