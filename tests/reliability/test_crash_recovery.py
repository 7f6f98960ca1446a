"""Kill -9 of the real server during a scripted sitting, restart, and nothing is lost (R18, R21).

``seance demo --http`` runs as a real process on a free loopback port with its own data
dir. Two aiortc kiosks (belcourt, vaux) publish real media so that the Router measures
their transmission (R7); sockets of the president, the agents and councillors drive a
scripted sitting over the WebSocket: check-ins, a proxy, the secretary, the opening, three
votes with ballots (one under the proxy), the closing.

At a handful of kill points, chosen by a seeded RNG (``SEANCE_CRASH_SEED``, default 6) among
the steps, the server gets SIGKILL in one of three ways:

- ``after_ack``: right after the step's acknowledgement;
- ``no_wait``: right after sending the step's command, without waiting for anything;
- ``written``: as soon as the journal file grows after sending (between the write and the
  acknowledgement: during the fsync or just before the ack goes out).

After each kill the server is restarted on the same data dir and the test checks:

1. the journal verifies (``audit_file(..., allow_open=True)``: chain, signatures,
   recomputed counts, and every command re-decided to exactly its journaled events, so a
   command is there with all its events or not at all);
2. every acknowledged command is in the journal, with exactly the events its ack carried;
3. the command in flight at the kill is either wholly there (then the script goes on as if
   acked) or absent (then it is sent again);
4. the state the restarted server shows a reconnecting client (its ``sitting`` view, the
   media part aside) equals the view of the state rebuilt from the journal on disk;
5. the sockets and the kiosks reconnect and the sitting goes on to its end.

Finally the journal is damaged (one byte) and the server restarted once more: it refuses
to resume, in its log, on the socket and on the public page.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import sys
import time

import aiohttp
import aioice
import pytest

from deliberation.audit import audit_file, rebuild
from deliberation.journal import last_signed_head, load_public_pem, verify_lines
from deliberation.view import sitting_view
from signaling.roles import Role
from signaling.sitting import journal_path
from tests.reliability.reliability_support import Server, WsClient, signer, ws_connect
from tests.sfu.sfu_clients import Client

SEED = int(os.environ.get("SEANCE_CRASH_SEED", "6"))
KILLS = 5
MODES = ("after_ack", "no_wait", "written")


def script() -> list[tuple[str, dict]]:
    s: list[tuple[str, dict]] = []
    for m in ("m01", "m02", "m03", "m04", "m05"):
        s.append(("agent-belcourt", {"type": "CheckIn", "member_id": m, "salle_id": "belcourt"}))
    for m in ("m06", "m07", "m08", "m09"):
        s.append(("agent-vaux", {"type": "CheckIn", "member_id": m, "salle_id": "vaux"}))
    s.append(
        (
            "agent-vaux",
            {"type": "RecordProxy", "giver_id": "m10", "holder_id": "m07", "document_ref": "pouvoir-m10.pdf"},
        )
    )
    s.append(("president", {"type": "AppointSecretary", "member_id": "m03"}))
    s.append(("president", {"type": "OpenSitting"}))
    ballots = {
        "marche-collecte": [
            ("m01", "pour", None),
            ("m06", "pour", None),
            ("m07", "pour", None),
            ("m07", "contre", "m10"),
            ("m08", "abstention", None),
            ("m02", "contre", None),
        ],
        "pv-precedent": [("m06", "pour", None), ("m01", "pour", None), ("m07", "pour", "m10"), ("m08", "pour", None)],
        "voirie-programme": [
            ("m02", "pour", None),
            ("m07", "contre", None),
            ("m06", "contre", None),
            ("m01", "pour", None),
        ],
    }
    for item, votes in ballots.items():
        s.append(("president", {"type": "OpenVote", "item_id": item, "method": "electronique"}))
        for voter, choice, proxy in votes:
            cmd = {"type": "CastBallot", "item_id": item, "voter_id": voter, "choice": choice}
            if proxy:
                cmd["on_behalf_of"] = proxy
            s.append(("president" if voter == "m01" else voter, cmd))
        s.append(("president", {"type": "CloseVote", "item_id": item}))
    s.append(("president", {"type": "CloseSitting"}))
    return s


SOCKETS = {
    "president": (Role.PRESIDENT, {"member": "m01", "salle": "belcourt"}),
    "agent-belcourt": (Role.AGENT, {"salle": "belcourt", "agent": "a-belcourt"}),
    "agent-vaux": (Role.AGENT, {"salle": "vaux", "agent": "a-vaux"}),
    **{m: (Role.COUNCILLOR, {"member": m}) for m in ("m02", "m06", "m07", "m08")},
}


def kill_points(n_steps: int) -> dict[int, str]:
    rng = random.Random(SEED)
    steps = sorted(rng.sample(range(2, n_steps - 1), KILLS))
    modes = list(MODES) * (KILLS // len(MODES) + 1)
    rng.shuffle(modes)
    return dict(zip(steps, modes[:KILLS]))


def entries_of(path):
    key = load_public_pem((path.parents[2] / "keys" / "council-ed25519.pub").read_bytes())
    return verify_lines(path.read_bytes(), key), key


def groups(entries) -> list[tuple[dict, list[dict]]]:
    """(command, its events) for every journaled command, in order."""
    out: list[tuple[dict, list[dict]]] = []
    for e in entries:
        if e.kind == "command":
            out.append((e.data["command"], []))
        elif e.kind == "event":
            out[-1][1].append(e.data["event"])
    return out


def normal(obj):
    return json.loads(json.dumps(obj))


class Sitting:
    """The sockets and kiosks of one server life."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sign = signer(server.data_dir)
        self.http: aiohttp.ClientSession | None = None
        self.socks: dict[str, WsClient] = {}
        self.kiosks: list[Client] = []

    async def connect(self) -> dict:
        self.http = aiohttp.ClientSession()
        observer = await ws_connect(self.http, self.server.ws_url, None, "public")
        view = observer.view
        self.socks["public"] = observer
        for name, (role, claims) in SOCKETS.items():
            self.socks[name] = await ws_connect(self.http, self.server.ws_url, self.sign, name, role, **claims)
        for salle in ("belcourt", "vaux"):
            k = await ws_connect(self.http, self.server.ws_url, self.sign, f"kiosk-{salle}", Role.KIOSK, salle=salle)
            await k.ws.send_json({"type": "join", "as": "salle", "id": "j"})
            slots = await k.next("slots")
            pc = Client(salle, slots["layout"])
            self.kiosks.append(pc)
            await k.ws.send_json({"type": "offer", "id": "o", "sdp": await pc.offer()})
            await pc.answer((await k.next("answer", timeout=10))["sdp"])
            self.socks[f"kiosk-{salle}"] = k
        return view

    async def wait_transmitting(self, timeout: float = 15.0) -> None:
        obs = self.socks["public"]

        def ok(v):
            return (
                v is not None
                and all(v["media"].get(s, {}).get("transmitting") for s in ("belcourt", "vaux"))
                and all(s["transmitting"] for s in v["salles"] if s["id"] in ("belcourt", "vaux"))
                and v["public_stream_up"]
            )

        deadline = time.monotonic() + timeout
        while not ok(obs.view):
            left = deadline - time.monotonic()
            assert left > 0, f"kiosks not transmitting after {timeout}s: {obs.view and obs.view['media']}"
            try:
                await obs.next("sitting", timeout=left)
            except TimeoutError:
                pass

    async def close(self) -> None:
        for pc in self.kiosks:
            await pc.close()
        for s in self.socks.values():
            try:
                await asyncio.wait_for(s.close(), 1.0)
            except (TimeoutError, ConnectionError, RuntimeError):
                pass
        if self.http is not None:
            await self.http.close()


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def wait_journal_growth(path, size_before: int, bound: float = 3.0) -> None:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if path.stat().st_size != size_before:
            return
        await asyncio.sleep(0)  # as tight as a loop that lets the socket send can be
    raise AssertionError("the journal did not grow")


async def test_kill_9_at_seeded_points_of_a_scripted_sitting_loses_nothing(tmp_path, loopback):
    data = tmp_path / "data"
    server = Server(data)
    steps = script()
    kills = kill_points(len(steps))
    path = journal_path(data, "demo")
    acked: list[tuple[int, list[dict]]] = []
    report: list[str] = [f"seed {SEED}, kill points {kills}"]
    server.start()
    sitting: Sitting | None = None
    try:
        await server.wait_ready()
        sitting = Sitting(server)
        await sitting.connect()
        await sitting.wait_transmitting()
        i = 0
        while i < len(steps):
            name, command = steps[i]
            sock = sitting.socks[name]
            mode = kills.pop(i, None)
            size = path.stat().st_size
            cid = await sock.send_command(**command)
            if mode is None or mode == "after_ack":
                reply = await sock.reply(cid)
                assert reply["type"] == "ack", f"step {i} {command}: {reply}"
                acked.append((i, reply["events"]))
            if mode is None:
                i += 1
                continue
            # ------------------------------------------------------------------ the kill
            if mode == "written":
                await wait_journal_growth(path, size)
            cycle_start = time.monotonic()
            server.kill9()
            await sitting.close()
            in_flight = None if mode == "after_ack" else (i, command)
            server.start()
            await server.wait_ready()

            # 1. the journal verifies; the audit re-decides every command (whole or absent)
            entries, key = entries_of(path)
            audit = audit_file(str(path), key, allow_open=True)
            assert audit.ok, f"after kill at step {i} ({mode}): {audit.summary()}"
            journaled = groups(entries)
            # 2. every acknowledged command is there with exactly its acked events
            events_groups = [evs for _, evs in journaled]
            for step, events in acked:
                assert events in events_groups, f"acknowledged step {step} lost after kill at step {i} ({mode})"
            # 3. the command in flight: wholly there, or absent
            last_acked_events = acked[-1][1] if acked else None
            after = journaled[events_groups.index(last_acked_events) + 1 :] if last_acked_events else journaled
            there = [(c, evs) for c, evs in after if all(c.get(k) == v for k, v in command.items())]
            outcome = "acked"
            if in_flight is not None:
                assert len(there) <= 1
                if there:
                    assert there[0][1], "a journaled command has its events"
                    acked.append((i, there[0][1]))
                    outcome = "in flight: journaled whole"
                else:
                    outcome = "in flight: absent, sent again"
            # 4. what a reconnecting client sees is the state rebuilt from the journal
            sitting = Sitting(server)
            view = await sitting.connect()
            entries, _ = entries_of(path)
            rebuilt = sitting_view(
                rebuild(entries),
                {
                    "lines": len(entries),
                    "head": hashlib.sha256(entries[-1].raw).hexdigest(),
                    "signed_checkpoints": sum(e.kind == "checkpoint" for e in entries),
                    "signed_head": last_signed_head(entries),
                },
            )
            shown = {k: v for k, v in view.items() if k != "media"}
            assert normal(shown) == normal(rebuilt), f"state after restart differs from the journal (kill at step {i})"
            # 5. kiosks reconnect and transmit again; the script goes on
            await sitting.wait_transmitting()
            elapsed = time.monotonic() - cycle_start
            report.append(
                f"kill at step {i} {command['type']} ({mode}): {outcome}; {len(entries)} lines; "
                f"restart+checks {elapsed:.1f}s"
            )
            if in_flight is None or there:
                i += 1
            # else: step i is sent again on the new server
        assert not kills, f"kill points not reached: {kills}"
        entries, key = entries_of(path)
        audit = audit_file(str(path), key)
        assert audit.ok and len(audit.votes) == 3, audit.summary()
        report.append(f"closed: {len(entries)} lines, {audit.checkpoints} signed checkpoints, {len(acked)} acked steps")

        # a damaged journal: the restarted server refuses to resume, and says so
        await sitting.close()
        sitting = None
        server.kill9()
        content = bytearray(path.read_bytes())
        at = content.index(b'"type":"OpenSitting"') + 9
        content[at] = ord("o")
        path.write_bytes(bytes(content))
        server.start()
        await server.wait_ready()
        async with aiohttp.ClientSession() as http:
            pres = await ws_connect(
                http,
                server.ws_url,
                signer(data),
                "president",
                Role.PRESIDENT,
                expect_view=False,
                member="m01",
                salle="belcourt",
            )
            err = await pres.next("error")
            assert err["code"] == "journal_invalid" and "ne se vérifie pas" in err["message"]
            async with http.get(server.base + "/public/demo") as page:
                assert page.status == 503 and "ne se vérifie pas" in await page.text()
            await pres.close()
        assert "ne se vérifie pas" in server.log()
        report.append("damaged journal: refused in the log, on the socket and on the page")
    finally:
        if sitting is not None:
            await sitting.close()
        server.kill9()
        print("\n" + "\n".join(report), file=sys.stderr)
