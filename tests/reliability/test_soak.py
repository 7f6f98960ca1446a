"""A bounded soak: ten salles publishing real media, a vote every few seconds (T15).

``seance serve --config`` runs as a real process with a generated ``seance.toml`` (HTTP
behind a loopback "proxy", ICE on 127.0.0.1) and a sitting of ten salles whose journal
the test creates beforehand, as the admin would (council of 20 members, two per salle,
one agent per salle, an agenda with one item per planned vote; recording off). Ten aiortc
kiosks publish audio and low-resolution video (160x120 at 5 fps) through the real Router;
the agents check everyone in, the president opens the sitting, then every ``VOTE_EVERY_S``
seconds a vote is opened, every member casts a ballot over their own WebSocket and the
vote is closed.

It runs ``SEANCE_SOAK_SECONDS`` (default 60; set hours for a real soak). The server's
RSS (``/proc/PID/status``) is sampled every ``SAMPLE_S`` seconds.

Fails when:

- memory keeps growing: a least-squares line through the samples of the second half
  (the first half is warm-up: allocator arenas, jitter buffers, caches fill) has a slope
  above ``MAX_SLOPE_MIB_PER_MIN`` (4 MiB/min, i.e. 240 MiB/h — generous: the journaled
  state itself grows by a few KiB per vote);
- a single packet-path error: ``seance_sfu_hook_errors`` in ``/metrics`` is not 0, or the
  server logged an ERROR from ``sfu`` or an ``sfu hook`` warning;
- a vote could not be held (every vote opened must close).

A kiosk that reconnects (when the test rig starves so badly that it misses the server's
ICE consent checks) makes the server allocate a new peer's buffers: a step in the RSS,
not a leak. The slope is therefore fitted within the stretches between reconnections
(one intercept per stretch, one common slope: a pooled within-segment least squares),
so a reconnection neither hides a leak nor fakes one. Every assertion runs whatever the
load; a second half too broken up to fit a slope fails the soak and says so.

"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time

import aiohttp
import aioice
import aiortc.rtcrtpreceiver
import pytest

from deliberation.actors import ADMIN
from deliberation.commands import AddAgendaItem
from deliberation.council import Agent, Commune, Council, Designation, Member, Reglement, Salle, Seat, SittingConfig
from deliberation.journal import Journal
from deliberation.refusal import Refusal
from deliberation.seance import Seance
from signaling.roles import Role
from signaling.sitting import council_key, journal_path
from tests.reliability.reliability_support import OUTPUT, Server, free_port, signer, write_json, ws_connect
from tests.sfu.sfu_clients import Client, PatternTrack

SECONDS = float(os.environ.get("SEANCE_SOAK_SECONDS", "60"))
SALLES = 10
VOTE_EVERY_S = 4.0
RIG_TIMEOUT_S = 30.0  # a reply late because the test process starved is not the server's failure
SAMPLE_S = 2.0
MAX_SLOPE_MIB_PER_MIN = 4.0
SITTING = "soak"


def salle_ids() -> list[str]:
    return [f"s{n:02d}" for n in range(1, SALLES + 1)]


def members_of(salle: str) -> list[str]:
    n = int(salle[1:])
    return [f"m{2 * n - 1:02d}", f"m{2 * n:02d}"]


def create_sitting(data_dir, items: int) -> None:
    """The journal of a ten-salle sitting, as convened by the admin (genesis + agenda)."""
    designation = Designation(reference="DEL-2026-001", date="2026-01-15")
    communes, members, salles, agents = [], [], [], []
    for sid in salle_ids():
        communes.append(Commune(f"c-{sid}", f"Commune {sid}", f"71{int(sid[1:]):03d}"))
        salles.append(Salle(sid, f"Salle {sid}", f"c-{sid}", f"1 place de la Mairie, {sid}", designation, sid == "s01"))
        agents.append(Agent(f"a-{sid}", f"Agent {sid}", sid))
        for m in members_of(sid):
            members.append(Member(m, "Élu", m.upper(), f"c-{sid}", Seat.TITULAIRE))
    council = Council(
        id="cc-soak",
        name="Communauté de communes du Soak",
        siret="20000000000001",
        communes=tuple(communes),
        members=tuple(members),
        salles=tuple(salles),
        agents=tuple(agents),
        president_id="m01",
        reglement=Reglement(recording=False, retention_days=365),
    )
    config = SittingConfig(
        id=SITTING,
        title="Conseil communautaire (soak)",
        scheduled_at="2026-11-26T18:30:00+01:00",
        convened_on="2026-11-18",
        teleconference=True,
    )
    path = journal_path(data_dir, SITTING)
    path.parent.mkdir(parents=True, exist_ok=True)
    seance = Seance(council, config)
    journal = Journal.create(path, seance, council_key(data_dir))
    try:
        for n in range(items):
            result = journal.handle(
                seance,
                AddAgendaItem(
                    "2026-11-18T09:00:00+01:00", f"point-{n:04d}", f"Délibération n° {n + 1}", "deliberation", "5.2"
                ),
                ADMIN,
            )
            assert not isinstance(result, Refusal), result
    finally:
        journal.close()


def write_config(path, data_dir, port: int) -> None:
    salles = ",\n".join(f'  {{ id = "{s}", name = "Salle {s}" }}' for s in salle_ids())
    path.write_text(f"""[server]
host = "127.0.0.1"
port = {port}
data_dir = "{data_dir}"

[proxy]
trusted = ["127.0.0.1"]

[ice]
listen_addresses = ["127.0.0.1"]

[[sittings]]
id = "{SITTING}"
title = "Conseil communautaire (soak)"
president_salle = "s01"
salles = [
{salles},
]
""")


def pooled_slope_per_min(samples: list[tuple[float, int]], breaks: list[float]) -> tuple[float, int]:
    """Common least-squares slope (MiB per minute) of (seconds, bytes) samples cut into
    stretches at ``breaks`` (seconds): each stretch is centred on its own means, so a step
    between stretches does not count. Returns the slope and the number of samples used
    (stretches of fewer than three samples say nothing about a slope and are left out)."""
    stretches: list[list[tuple[float, float]]] = [[]]
    cuts = sorted(breaks)
    for t, b in sorted(samples):
        while cuts and t >= cuts[0]:
            cuts.pop(0)
            stretches.append([])
        stretches[-1].append((t, b / 2**20))
    sxx = sxy = 0.0
    used = 0
    for stretch in stretches:
        if len(stretch) < 3:
            continue
        used += len(stretch)
        mx = sum(t for t, _ in stretch) / len(stretch)
        my = sum(y for _, y in stretch) / len(stretch)
        sxx += sum((t - mx) ** 2 for t, _ in stretch)
        sxy += sum((t - mx) * (y - my) for t, y in stretch)
    return (0.0 if sxx == 0 else 60.0 * sxy / sxx), used


def test_the_pooled_slope_ignores_a_step_and_finds_a_leak() -> None:
    """A reconnection's step is not a leak, a leak across a reconnection is still one."""
    mib = 2**20
    flat_with_step = [(t, 100 * mib + (30 * mib if t >= 20 else 0)) for t in range(0, 40, 2)]
    slope, used = pooled_slope_per_min(flat_with_step, [20.0])
    assert slope == pytest.approx(0.0, abs=1e-9) and used == 20
    naive, _ = pooled_slope_per_min(flat_with_step, [])  # one stretch: the step looks like growth
    assert naive > 30
    leaking = [(t, 100 * mib + t * mib // 10 + (30 * mib if t >= 20 else 0)) for t in range(0, 40, 2)]
    slope, _ = pooled_slope_per_min(leaking, [20.0])
    assert slope == pytest.approx(6.0, rel=0.01)  # 0.1 MiB/s
    assert pooled_slope_per_min(leaking[:4], [2.0, 4.0]) == (0.0, 0)  # stretches too short to say


def metric(text: str, name: str) -> float:
    """Sum of a counter's samples over its labels (``name`` or ``name_total``)."""
    total = 0.0
    for line in text.splitlines():
        family = re.split(r"[{ ]", line, maxsplit=1)[0]
        if family in (name, name + "_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _drain_worker(loop, input_q, output_q, decode_error) -> None:
    """aiortc 1.16 ``rtcrtpreceiver.decoder_worker`` without the decoding: the kiosks of
    this process still receive, count and acknowledge (RTCP) every packet, but do not
    spend the test machine's CPU decoding ten salles' pictures the server never sees."""
    while input_q.get() is not None:
        pass
    asyncio.run_coroutine_threadsafe(output_q.put(None), loop)


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "decoder_worker", _drain_worker)


@pytest.mark.timeout(SECONDS + 240)  # pytest's 300 s default would cut a soak of hours
async def test_soak_ten_salles_votes_memory_flat_and_no_packet_path_error(tmp_path, loopback):
    data = tmp_path / "data"
    votes_planned = math.ceil(SECONDS / VOTE_EVERY_S) + 5
    create_sitting(data, votes_planned)
    port = free_port()
    config = tmp_path / "seance.toml"
    write_config(config, data, port)
    server = Server(data, port=port, args=["serve", "--config", str(config)])
    sign = signer(data)
    figures: dict = {
        "seconds": SECONDS,
        "salles": SALLES,
        "vote_every_s": VOTE_EVERY_S,
        "max_slope_mib_per_min": MAX_SLOPE_MIB_PER_MIN,
    }
    pcs: list[Client] = []
    background: list[asyncio.Task] = []
    server.start()
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        await server.wait_ready()
        url = server.ws_url

        async def sock(name, role=None, keep_views=True, **claims):
            return await ws_connect(
                http, url, sign if role else None, name, role, sitting=SITTING, keep_views=keep_views, **claims
            )

        public = await sock("public")
        pres = await sock("president", Role.PRESIDENT, member="m01", salle="s01")
        agents = {
            s: await sock(f"agent-{s}", Role.AGENT, keep_views=False, salle=s, agent=f"a-{s}") for s in salle_ids()
        }
        voters = {
            m: (pres if m == "m01" else await sock(m, Role.COUNCILLOR, keep_views=False, member=m))
            for s in salle_ids()
            for m in members_of(s)
        }
        kiosks: dict[str, tuple] = {}  # salle -> (socket, client, connected at)

        async def connect_kiosk(s: str) -> None:
            old = kiosks.pop(s, None)
            if old is not None:
                await old[1].close()
                await old[0].close()
            k = await sock(f"kiosk-{s}", Role.KIOSK, keep_views=False, salle=s)
            await k.ws.send_json({"type": "join", "as": "salle", "id": "j"})
            pc = Client(s, (await k.next("slots", timeout=15))["layout"])
            pc.video = PatternTrack(fps=5, shade=int(s[1:]) * 20)
            pcs.append(pc)
            kiosks[s] = (k, pc, time.monotonic())  # a socket dropped is a kiosk gone: keep them
            await k.ws.send_json({"type": "offer", "id": "o", "sdp": await pc.offer()})
            await pc.answer((await k.next("answer", timeout=15))["sdp"])

        for s in salle_ids():
            await connect_kiosk(s)

        reconnects: list[str] = []
        reconnect_times: list[float] = []

        async def watchdog() -> None:
            """What the kiosk page does: a salle whose connection failed, or that has not been
            transmitting for a while, reconnects (on an overloaded CI machine the kiosks of
            this process can starve and the server rightly marks them lost, R17)."""
            while True:
                await asyncio.sleep(1.0)
                view = public.view
                for s in salle_ids():
                    _k, pc, since = kiosks[s]
                    state = pc.pc.connectionState
                    live = next(x for x in view["salles"] if x["id"] == s)["transmitting"]
                    if state in ("failed", "closed") or (not live and time.monotonic() - since > 10.0):
                        reconnects.append(f"{time.monotonic() - t_start:.0f}s {s} ({state})")
                        reconnect_times.append(time.monotonic())
                        try:
                            await connect_kiosk(s)
                        except (TimeoutError, ConnectionError):
                            pass

        t_start = time.monotonic()
        watch = asyncio.create_task(watchdog())
        background.append(watch)

        def all_transmitting(v):
            return all(s["transmitting"] for s in v["salles"]) and v["public_stream_up"]

        deadline = time.monotonic() + 40
        while not (public.view and all_transmitting(public.view)):
            assert time.monotonic() < deadline, [s["id"] for s in public.view["salles"] if not s["transmitting"]]
            try:
                await public.next("sitting", timeout=deadline - time.monotonic())
            except TimeoutError:
                pass
        for s in salle_ids():
            for m in members_of(s):
                await agents[s].ok(type="CheckIn", member_id=m, salle_id=s)
        await pres.ok(type="AppointSecretary", member_id="m02")
        await pres.ok(type="OpenSitting")

        async def pres_command(**command) -> dict:
            return await pres.reply(await pres.send_command(**command), timeout=RIG_TIMEOUT_S)

        lags: list[float] = []

        async def lag_probe() -> None:  # is the test process (the ten kiosks) starved of CPU?
            while True:
                t = time.monotonic()
                await asyncio.sleep(0.1)
                lags.append(time.monotonic() - t - 0.1)

        lag_task = asyncio.create_task(lag_probe())
        background.append(lag_task)
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        samples: list[tuple[float, int]] = []
        votes_done, suspensions, refusals = 0, 0, []
        rig_incidents: list[str] = []
        t0 = time.monotonic()
        next_sample = t0
        item = 0
        while time.monotonic() - t0 < SECONDS:
            start = time.monotonic()
            if start >= next_sample:
                samples.append((start - t0, server.rss_bytes()))
                next_sample += SAMPLE_S
            item_id = f"point-{item:04d}"
            reply = await pres_command(type="OpenVote", item_id=item_id, method="electronique")
            if reply["type"] == "error":
                refusals.append(reply["code"])
                if reply["code"] == "R17":  # a salle's health flapped under load: wait, resume
                    suspensions += 1
                    await asyncio.sleep(2.0)
                    await pres_command(type="Resume")
                    continue
                raise AssertionError(reply)
            choices = ("pour", "contre", "abstention", "pour")

            async def ballot(m: str, choice: str, item_id: str = item_id) -> dict:
                """A councillor's ballot; a socket the starved test rig let drop reconnects once."""
                try:
                    return await voters[m].reply(
                        await voters[m].send_command(type="CastBallot", item_id=item_id, voter_id=m, choice=choice),
                        timeout=RIG_TIMEOUT_S,
                    )
                except (TimeoutError, ConnectionError) as exc:
                    rig_incidents.append(f"{time.monotonic() - t0:.0f}s {m}: {exc.__class__.__name__}")
                    voters[m] = await sock(m, Role.COUNCILLOR, keep_views=False, member=m)
                    return {"type": "error", "code": "RIG"}

            replies = await asyncio.gather(*(ballot(m, choices[i % 4]) for i, m in enumerate(voters) if m != "m01"))
            replies.append(await pres_command(type="CastBallot", item_id=item_id, voter_id="m01", choice="pour"))
            refusals += [r["code"] for r in replies if r["type"] == "error"]
            for _ in range(60):  # bounded: a vote frozen by R17 waits for its salle to come back
                close = await pres_command(type="CloseVote", item_id=item_id)
                if close["type"] == "ack":
                    break
                refusals.append(close["code"])
                suspensions += close["code"] == "R17"
                await asyncio.sleep(1.0)
                await pres_command(type="Resume")
            assert close["type"] == "ack", (close, reconnects)
            votes_done += 1
            item += 1
            while time.monotonic() < min(start + VOTE_EVERY_S, t0 + SECONDS):
                if time.monotonic() >= next_sample:
                    samples.append((time.monotonic() - t0, server.rss_bytes()))
                    next_sample += SAMPLE_S
                await asyncio.sleep(0.2)
        samples.append((time.monotonic() - t0, server.rss_bytes()))
        lag_task.cancel()
        watch.cancel()
        server_cpu = (server.cpu_seconds() - cpu0) / (time.monotonic() - wall0)

        async with http.get(server.base + "/metrics") as r:
            metrics = await r.text()
        second_half = [s for s in samples if s[0] >= samples[-1][0] / 2]
        # a reconnection's allocations settle within a few samples: the stretch starts after them
        breaks = [t - t0 + SAMPLE_S for t in reconnect_times]
        slope, fitted = pooled_slope_per_min(second_half, breaks)
        hook_errors = metric(metrics, "seance_sfu_hook_errors")
        log = server.log()
        sfu_errors = [line for line in log.splitlines() if re.search(r" ERROR sfu", line) or "sfu hook" in line][:10]
        flips = re.findall(r"(\d\d:\d\d:\d\d),\d+ INFO signaling.room: salle (\w+) transmitting=(\w+)", log)
        figures.update(
            {
                "transmission_changes": [" ".join(f) for f in flips][:60],
                "client_loop_lag_ms_max": round(1000 * max(lags, default=0.0), 1),
                "server_cpu_share_of_one_core": round(server_cpu, 2),
                "ice_consent_expired": log.count("Consent to send expired"),
                "rss_mib_start": round(samples[0][1] / 2**20, 1),
                "rss_mib_end": round(samples[-1][1] / 2**20, 1),
                "rss_mib_max": round(max(b for _, b in samples) / 2**20, 1),
                "second_half_slope_mib_per_min": round(slope, 3),
                "samples": [(round(t, 1), round(b / 2**20, 1)) for t, b in samples],
                "kiosk_reconnects": reconnects[:20],
                "test_rig_incidents": rig_incidents[:20],
                "votes_done": votes_done,
                "ballots_per_vote": len(voters),
                "suspensions": suspensions,
                "refusals": refusals[:20],
                "packets_forwarded": metric(metrics, "seance_sfu_rtp_packets_out"),
                "packets_received": metric(metrics, "seance_sfu_rtp_packets_in"),
                "hook_errors": hook_errors,
                "sfu_error_log_lines": sfu_errors,
                "event_loop": re.findall(r'seance_event_loop_info\{loop="(\w+)"\}', metrics),
            }
        )
        # seance serve runs the media plane on uvloop (server.event_loop = "auto", uvloop is
        # a dependency): the soak is the whole sitting on the loop production uses
        assert figures["event_loop"] == ["uvloop"], figures["event_loop"]
        # a packet-path error fails the soak whatever the load
        assert hook_errors == 0 and not sfu_errors, figures
        half_at = t0 + samples[-1][0] / 2
        figures["reconnections_second_half"] = sum(t >= half_at for t in reconnect_times)
        figures["samples_fitted"] = fitted
        figures["load_average"] = os.getloadavg()
        assert votes_done >= max(1, int(SECONDS / VOTE_EVERY_S) // 2), figures
        # half of the second half's samples at least must lie in stretches long enough to fit
        assert fitted >= len(second_half) // 2, (
            f"memory verdict impossible: kiosks reconnected {figures['reconnections_second_half']} time(s) "
            f"in the second half (test rig starved, loop lag {figures['client_loop_lag_ms_max']} ms), "
            f"only {fitted} of {len(second_half)} samples in stretches of three or more"
        )
        assert slope <= MAX_SLOPE_MIB_PER_MIN, f"memory keeps growing: {slope:.2f} MiB/min"
    finally:
        for task in background:
            task.cancel()
        for pc in pcs:
            await pc.close()
        await http.close()
        server.kill9()
        keep = [
            line
            for line in server.log().splitlines()
            if re.search(r"transmitting=| WARNING | ERROR |Traceback|Error", line)
        ]
        (OUTPUT / "soak-server.log").write_text("\n".join(keep[-2000:]) + "\n")
        write_json("soak.json", figures)
        print("\nsoak:", json.dumps({k: v for k, v in figures.items() if k != "samples"}, ensure_ascii=False))
