"""Network faults between a kiosk and the server: health, suspension and recovery (R7, R17).

The real app and Router, two aiortc kiosks (belcourt, vaux) publishing real media, and a
sitting opened with a vote under way. Then, in the test's private network namespace
(tests/conftest.py: only ``lo``; root only):

1. light loss for ``LIGHT_S`` seconds: 3 % of UDP packets dropped, 20 ms delay. The salles
   stay *transmitting* all along and nothing is journaled: the health grace period
   (``uplink_timeout`` 2.5 s, ``downlink_timeout`` 10 s) and the hysteresis absorb it —
   R17 does not fire on a lost packet. Uses ``tc netem loss 3% delay 20ms`` on ``lo`` when
   the kernel has netem; this CI kernel has none (``Specified qdisc kind is unknown``),
   so the loss is an nftables rule (``numgen random mod 100 < 3 drop``) and the delay is
   added in the kiosks' own ICE transport (20 ms each way, order kept);
2. the vaux kiosk's path cut (every UDP packet from or to its ICE port dropped): the
   Router measures the loss, the sitting is suspended (R17), the open vote frozen, ballots,
   closing and resuming refused;
3. the path restored: vaux transmits again, the president resumes, the vote goes on.

Every rule and qdisc added is removed in a ``finally``; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import aioice
import pytest

from sfu.config import HealthSettings
from signaling.roles import Role
from tests.reliability.reliability_support import have, is_root, write_json, ws_connect
from tests.sfu.sfu_clients import Client
from web.app import ROOMS, SIGNER, SITTINGS, create_app
from web.commands.demo import demo_sitting, seed_demo
from web.config import WebConfig

LIGHT_S = 8.0
DELAY_S = 0.020
TABLE = "seance_reliability"

pytestmark = pytest.mark.skipif(
    not is_root() or not have("nft"), reason="needs root (own network namespace) and nft to drop packets on lo"
)


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=10)


class Link:
    """Faults on ``lo`` of the test's namespace: netem when available, else nftables."""

    def __init__(self) -> None:
        self.netem = False
        self.table = False

    def light(self) -> str:
        probe = run("tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss", "3%", "delay", "20ms", check=False)
        if probe.returncode == 0:
            self.netem = True
            return "tc netem loss 3% delay 20ms on lo"
        self._table()
        run(
            "nft",
            "add",
            "rule",
            "inet",
            TABLE,
            "light",
            "meta",
            "l4proto",
            "udp",
            "numgen",
            "random",
            "mod",
            "100",
            "<",
            "3",
            "drop",
        )
        return (
            f"nftables: 3% of UDP dropped on lo; 20 ms delay in the kiosks' transport (netem: {probe.stderr.strip()})"
        )

    def cut(self, port: int) -> None:
        self._table()
        run("nft", "add", "rule", "inet", TABLE, "cut", "udp", "sport", str(port), "drop")
        run("nft", "add", "rule", "inet", TABLE, "cut", "udp", "dport", str(port), "drop")

    def restore(self) -> None:
        if self.netem:
            run("tc", "qdisc", "del", "dev", "lo", "root", check=False)
            self.netem = False
        if self.table:
            run("nft", "delete", "table", "inet", TABLE, check=False)
            self.table = False

    def _table(self) -> None:
        if self.table:
            return
        run("nft", "add", "table", "inet", TABLE)
        self.table = True
        for chain, prio in (("light", "0"), ("cut", "1")):
            run(
                "nft",
                "add",
                "chain",
                "inet",
                TABLE,
                chain,
                f"{{ type filter hook output priority {prio}; policy accept; }}",
            )


def add_delay(pc, delay: float) -> None:
    """``delay`` seconds on each direction of the client's ICE transport, order kept."""
    ice = pc.pc.getTransceivers()[0].receiver.transport.transport
    recv, send = ice._recv, ice._send
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    async def pump() -> None:
        while True:
            try:
                data = await recv()
            except Exception as exc:  # closed: hand the error to the reader
                queue.put_nowait((0.0, exc))
                return
            queue.put_nowait((time.monotonic() + delay, data))

    async def delayed_recv() -> bytes:
        due, data = await queue.get()
        if isinstance(data, Exception):
            raise data
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return data

    async def delayed_send(data: bytes) -> None:
        loop.call_later(delay, lambda: loop.create_task(_quiet(send(data))))

    pc.pump = loop.create_task(pump())
    ice._recv, ice._send = delayed_recv, delayed_send


async def _quiet(coro) -> None:
    try:
        await coro
    except Exception:
        pass


def local_port(pc) -> int:
    ice = pc.pc.getTransceivers()[0].receiver.transport.transport
    pair = ice._connection._nominated.get(1)
    assert pair is not None, "no nominated ICE pair"
    return pair.local_candidate.port


async def wait_view(sock, predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while sock.view is None or not predicate(sock.view):
        left = deadline - time.monotonic()
        assert left > 0, f"view not reached in {timeout}s: status {sock.view and sock.view['status']}"
        try:
            await sock.next("sitting", timeout=left)
        except TimeoutError:
            pass
    return sock.view


def salle(view, salle_id):
    return next(s for s in view["salles"] if s["id"] == salle_id)


async def test_light_loss_is_absorbed_a_cut_suspends_R17_and_the_sitting_resumes(aiohttp_client, tmp_path, monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    health = HealthSettings()  # production thresholds: the grace period under test
    config = WebConfig(
        tls=False,
        data_dir=tmp_path,
        sittings=(demo_sitting(),),
        ice_addresses=("127.0.0.1",),
        reconcile_after_s=None,
        router_options={"health": health},
    )
    seed_demo(config.data_dir)  # the demo council, entered and convened as in /admin
    client = await aiohttp_client(create_app(config))
    sign = client.app[SIGNER]
    router = client.app[ROOMS]["demo"].router
    svc = client.app[SITTINGS]["demo"]
    public = await ws_connect(client, "/ws", None, "public")
    pres = await ws_connect(client, "/ws", sign, "president", Role.PRESIDENT, member="m01", salle="belcourt")
    agents = {
        s: await ws_connect(client, "/ws", sign, f"agent-{s}", Role.AGENT, salle=s, agent=f"a-{s}")
        for s in ("belcourt", "vaux")
    }
    m07 = await ws_connect(client, "/ws", sign, "m07", Role.COUNCILLOR, member="m07")
    m06 = await ws_connect(client, "/ws", sign, "m06", Role.COUNCILLOR, member="m06")
    pcs: dict[str, Client] = {}
    link = Link()
    figures: dict = {
        "health": {
            "uplink_timeout": health.uplink_timeout,
            "downlink_timeout": health.downlink_timeout,
            "recover_after": health.recover_after,
        }
    }
    try:
        for s in ("belcourt", "vaux"):
            k = await ws_connect(client, "/ws", sign, f"kiosk-{s}", Role.KIOSK, salle=s)
            await k.ws.send_json({"type": "join", "as": "salle", "id": "j"})
            pcs[s] = Client(s, (await k.next("slots"))["layout"])
            await k.ws.send_json({"type": "offer", "id": "o", "sdp": await pcs[s].offer()})
            await pcs[s].answer((await k.next("answer", timeout=10))["sdp"])
        await wait_view(public, lambda v: all(salle(v, s)["transmitting"] for s in pcs) and v["public_stream_up"], 20)
        for m in ("m01", "m02", "m03", "m04", "m05"):
            await agents["belcourt"].ok(type="CheckIn", member_id=m, salle_id="belcourt")
        for m in ("m06", "m07", "m08", "m09"):
            await agents["vaux"].ok(type="CheckIn", member_id=m, salle_id="vaux")
        await pres.ok(type="AppointSecretary", member_id="m03")
        await pres.ok(type="OpenSitting")
        await pres.ok(type="OpenVote", item_id="pv-precedent", method="electronique")
        await pres.ok(type="CastBallot", item_id="pv-precedent", voter_id="m01", choice="pour")

        # 1. light loss: nothing flips, nothing journaled
        lines = svc.journal.lines
        before = router.stats()
        figures["light"] = {"how": link.light()}
        if not link.netem:
            for pc in pcs.values():
                add_delay(pc, DELAY_S)
        seen_down: list[tuple[float, str]] = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < LIGHT_S:
            for s in pcs:
                if not router.health(s).transmitting:
                    seen_down.append((round(time.monotonic() - t0, 2), s))
            await asyncio.sleep(0.1)
        after = router.stats()
        figures["light"].update(
            seconds=LIGHT_S,
            packets_in=after["packets_in"] - before["packets_in"],
            nacks_received=after["nacks_received"] - before["nacks_received"],
            health_dropouts=seen_down,
        )
        assert not seen_down, f"R17 fired on light loss: {seen_down}"
        assert svc.journal.lines == lines, "light loss journaled a transmission change"
        assert svc.seance.state.status == "opened"
        assert after["packets_in"] - before["packets_in"] > 20 * LIGHT_S, "media kept flowing"
        m07_ok = await m07.command(type="CastBallot", item_id="pv-precedent", voter_id="m07", choice="pour")
        assert m07_ok["type"] == "ack", m07_ok

        # 2. the vaux kiosk's path cut: lost, suspended, the vote frozen (R17)
        port = local_port(pcs["vaux"])
        t1 = time.monotonic()
        link.cut(port)
        view = await wait_view(public, lambda v: v["status"] == "suspended", health.uplink_timeout + 8)
        figures["cut"] = {"port": port, "suspended_after_s": round(time.monotonic() - t1, 2)}
        assert not salle(view, "vaux")["transmitting"] and salle(view, "belcourt")["transmitting"]
        assert view["vote"]["frozen"] is True
        for sock, command in (
            (m06, {"type": "CastBallot", "item_id": "pv-precedent", "voter_id": "m06", "choice": "pour"}),
            (pres, {"type": "CloseVote", "item_id": "pv-precedent"}),
            (pres, {"type": "Resume"}),
        ):
            reply = await sock.command(**command)
            assert reply["type"] == "error" and reply["code"] == "R17", reply
        await asyncio.sleep(1.0)

        # 3. restored: vaux back, the president resumes, the vote goes on
        t2 = time.monotonic()
        link.restore()
        await wait_view(public, lambda v: salle(v, "vaux")["transmitting"], health.recover_after + 10)
        figures["restored"] = {"transmitting_after_s": round(time.monotonic() - t2, 2)}
        await pres.ok(type="Resume")
        await m06.ok(type="CastBallot", item_id="pv-precedent", voter_id="m06", choice="contre")
        await pres.ok(type="CloseVote", item_id="pv-precedent")
        stats = router.stats()
        figures["router"] = {
            "hook_errors": stats["hook_errors"],
            "packets_in": stats["packets_in"],
            "packets_out": stats["packets_out"],
        }
        assert not stats["hook_errors"], stats["hook_errors"]
    finally:
        link.restore()
        for pc in pcs.values():
            pump = getattr(pc, "pump", None)
            if pump is not None:
                pump.cancel()
            await pc.close()
        write_json("network_faults.json", figures)
        print("\nnetwork faults:", figures)
