"""The journal under faults: a full disk while journaling, and damaged journals (R18, R21).

Disk full: the sitting's data dir is a tiny tmpfs mounted inside the test's temp dir
(root only; unmounted in a ``finally``), filled up with a filler file; commands are sent
until one is refused. The refusal is code ``JOURNAL`` with a French message, nothing
acknowledged is lost (a restart from what is on disk verifies and holds every acked
command) and no half line is left behind.

Damaged journals: extends tests/signaling/test_sitting_service.py (byte flip, truncation at
the end) with lines removed, reordered, a byte flipped in the middle and a truncation in
the middle of a line: the audit names the first bad line, the server refuses to resume and
says so in the log, on the socket and on the page — with the same line number.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess

import pytest

from deliberation.audit import audit_file
from deliberation.journal import load_public_pem
from signaling.roles import Role
from signaling.sitting import journal_path
from tests.reliability.reliability_support import WsClient, is_root, ws_connect
from tests.signaling.sitting_ws import make_app
from web.app import SIGNER, SITTINGS


def public_key(data_dir):
    return load_public_pem((data_dir / "keys" / "council-ed25519.pub").read_bytes())


async def sock(client, name, role=None, **claims) -> WsClient:
    return await ws_connect(client, "/ws", client.app[SIGNER], name, role, **claims)


def fill(directory, chunk=4096, limit=64 * 1024 * 1024):
    """Fill the file system of ``directory`` until ENOSPC (bounded); return the filler's path."""
    filler = directory / "filler.bin"
    written = 0
    with open(filler, "wb", buffering=0) as f:
        while written < limit:
            try:
                written += f.write(b"\0" * chunk)
            except OSError as err:
                assert err.errno == errno.ENOSPC, err
                if chunk == 1:
                    break
                chunk = max(1, chunk // 8)
    return filler


@pytest.fixture
def tiny_tmpfs(tmp_path):
    if not is_root():
        pytest.skip("mounting a tmpfs needs root (the suite runs as root in its own namespace)")
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


async def test_disk_full_refuses_the_command_in_french_and_loses_nothing_acknowledged(
    aiohttp_client, tiny_tmpfs, caplog
):
    data = tiny_tmpfs / "data"
    client = await aiohttp_client(make_app(data))
    svc = client.app[SITTINGS]["demo"]
    agent = await sock(client, "agent", Role.AGENT, salle="vaux", agent="a-vaux")
    public = await sock(client, "public")
    filler = fill(tiny_tmpfs)
    acked: list[list[dict]] = []
    refusal = None
    members = ["m06", "m07", "m08", "m09"]
    with caplog.at_level(logging.ERROR, logger="signaling.sitting"):
        for i in range(60):  # bounded: the last page of the journal holds a few commands at most
            m = members[i % len(members)]
            ctype = "CheckIn" if (i // len(members)) % 2 == 0 else "CheckOut"
            command = {"type": ctype, "member_id": m, "salle_id": "vaux"}
            reply = await agent.command(**command)
            if reply["type"] == "ack":
                acked.append(reply["events"])
                continue
            refusal = reply
            break
    assert refusal is not None, "the disk never filled up"
    assert refusal["code"] == "JOURNAL", refusal
    assert "journal" in refusal["message"].lower() and "disque plein" in refusal["message"], refusal["message"]
    assert any("disque plein" in r.getMessage() for r in caplog.records)
    # the sitting stops: later commands are refused the same way, the page says why
    assert (await agent.command(type="CheckIn", member_id="m10", salle_id="vaux"))["code"] == "JOURNAL"
    page = await client.get("/public/demo")
    assert page.status == 503 and "disque plein" in await page.text()
    assert (
        any(e.get("code") == "journal_invalid" for e in public.errors)
        or (await public.next("error"))["code"] == "journal_invalid"
    )

    # what is on disk: no half line; it verifies and holds every acknowledged command
    path = journal_path(data, "demo")
    content = path.read_bytes()
    assert content.endswith(b"\n"), f"a half line was left at the end: {content[-80:]!r}"
    report = audit_file(str(path), public_key(data), allow_open=True)
    assert report.ok, report.summary()
    journaled = [json.loads(line)["event"] for line in content.splitlines() if b'"kind":"event"' in line]
    for events in acked:
        for event in events:
            assert event in journaled, f"acknowledged event lost: {event}"
    print(f"\ndisk full: {len(acked)} commands acknowledged before ENOSPC, refusal: {refusal['message']}")
    await client.close()

    # the operator frees space and restarts: the sitting resumes with every acked command
    os.unlink(filler)
    again = await aiohttp_client(make_app(data))
    svc2 = again.app[SITTINGS]["demo"]
    assert svc2.error is None, svc2.error
    expected = {}
    for events in acked:
        for e in events:
            if e["type"] == "CheckedIn":
                expected[e["data"]["member_id"]] = e["data"]["salle_id"]
            elif e["type"] == "CheckedOut":
                expected.pop(e["data"]["member_id"], None)
    assert svc2.seance.state.presence == expected
    agent2 = await sock(again, "agent2", Role.AGENT, salle="vaux", agent="a-vaux")
    await agent2.ok(type="CheckIn", member_id="m10", salle_id="vaux")
    assert audit_file(str(path), public_key(data), allow_open=True).ok
    del svc


# ------------------------------------------------------------------------------------------ damaged journals
def damage(content: bytes, how: str) -> tuple[bytes, int]:
    """Damage a middle line of a journal; return the new bytes and the first bad line (1-based)."""
    lines = content.split(b"\n")[:-1]
    # 1-based line k+1 is the one damaged: a middle line, not the genesis, and a command or an
    # event (format 2 signs every batch: about one line in three is a checkpoint)
    k = next(i for i in range(len(lines) // 2, len(lines)) if b'"kind":"checkpoint"' not in lines[i])
    bad = k + 1
    if how == "byte_flipped":
        line = bytearray(lines[k])
        i = line.index(b'"at":"') + len(b'"at":"') + 3  # a digit of the year: stays valid JSON
        line[i] = ord("7") if line[i] != ord("7") else ord("8")
        lines[k] = bytes(line)
    elif how == "line_removed":
        del lines[k]
    elif how == "lines_reordered":
        lines[k], lines[k + 1] = lines[k + 1], lines[k]
    elif how == "truncated_mid_line":
        return b"\n".join(lines[:k]) + b"\n" + lines[k][: len(lines[k]) // 2], bad
    else:
        raise ValueError(how)
    return b"\n".join(lines) + b"\n", bad


@pytest.mark.parametrize("how", ["byte_flipped", "line_removed", "lines_reordered", "truncated_mid_line"])
async def test_a_damaged_journal_is_located_by_the_audit_and_refused_by_the_server(
    aiohttp_client, tmp_path, caplog, how
):
    first = await aiohttp_client(make_app(tmp_path))
    agent = await sock(first, "agent", Role.AGENT, salle="vaux", agent="a-vaux")
    for m in ("m06", "m07", "m08", "m09"):
        await agent.ok(type="CheckIn", member_id=m, salle_id="vaux")
    await agent.ok(type="RecordProxy", giver_id="m10", holder_id="m07", document_ref="pouvoir-m10.pdf")
    await first.close()
    path = journal_path(tmp_path, "demo")
    assert audit_file(str(path), public_key(tmp_path), allow_open=True).ok
    damaged, bad = damage(path.read_bytes(), how)
    path.write_bytes(damaged)

    report = audit_file(str(path), public_key(tmp_path), allow_open=True)
    assert not report.ok and report.line == bad, (how, report.summary())

    with caplog.at_level(logging.ERROR, logger="signaling.sitting"):
        client = await aiohttp_client(make_app(tmp_path))
    svc = client.app[SITTINGS]["demo"]
    assert svc.seance is None and svc.journal is None
    assert f"ligne {bad} " in svc.error and "ne se vérifie pas" in svc.error, svc.error
    assert any(f"ligne {bad} " in r.getMessage() for r in caplog.records)
    pres = await ws_connect(
        client,
        "/ws",
        client.app[SIGNER],
        "president",
        Role.PRESIDENT,
        expect_view=False,
        member="m01",
        salle="belcourt",
    )
    err = await pres.next("error")
    assert err["code"] == "journal_invalid" and f"ligne {bad} " in err["message"]
    assert (await pres.command(type="OpenSitting"))["code"] == "JOURNAL"
    page = await client.get("/public/demo")
    assert page.status == 503 and f"ligne {bad} " in await page.text()
    assert path.read_bytes() == damaged, "the server never rewrites a journal that does not verify"
