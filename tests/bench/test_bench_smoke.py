"""The benchmark runs and its report is well-formed. Timings are never asserted.

The short runs start real processes (synthetic salles, Janus) pinned like a real run,
for a few seconds each; ``make test`` installs Debian's ``janus`` and ``iproute2`` so the
Janus part runs there. Janus runs in a network namespace of the benchmark's own
(``seance-bench-<pid>``, needs root): the Janus part is skipped, with the reason, on a
machine without Janus, without root or without ``ip netns``. Whatever happens, no
namespace of the run may be left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench import netns
from bench import report as rep
from bench.janus import janus_available
from bench.synthetic_salle import Probe, subscriptions

ROOT = Path(__file__).resolve().parents[2]
JANUS_SKIP = janus_available()
NETNS_SKIP = netns.unavailable()


#: The suite runs in a loopback-only namespace (tests/conftest.py); the benchmark, which
#: confines its own traffic and needs the host namespace to build Janus's, runs there.
HOST = ["nsenter", f"--net={os.environ['SEANCE_TEST_HOST_NETNS']}"] if os.environ.get("SEANCE_TEST_HOST_NETNS") else []


def _left_behind(pid: int, where: list[str]) -> list[str]:
    """Namespaces and veths of the run ``pid`` still present (there must be none)."""
    left = [n for n in netns._names() if n == f"{netns.PREFIX}{pid}"]
    host = netns._veth_names(pid)[0]
    if subprocess.run([*where, "ip", "link", "show", "dev", host], capture_output=True).returncode == 0:
        left.append(host)
    return left


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory, bench_samples) -> tuple[dict, subprocess.CompletedProcess]:
    """One short run (2 salles, 2 s windows) of Séance, and of Janus when installed."""
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "--salles",
        "2",
        "--seconds",
        "2",
        "--warmup",
        "0.5",
        "--zero-seconds",
        "1",
        "--cache",
        str(bench_samples),
        "--json",
        str(out),
    ]
    if JANUS_SKIP is None:
        cmd.append("--vs-janus")
    proc = subprocess.Popen([*HOST, *cmd], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the bench cleans up (servers, salles, namespace) on SIGTERM
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
    done = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    if NETNS_SKIP is None:
        left = _left_behind(proc.pid, HOST)
        if left:
            netns.cleanup_stale()  # the run is over: remove them, then fail
        assert not left, f"the run left {left} behind"
    assert out.exists(), f"no report written (rc={proc.returncode})\n{stdout}\n{stderr}"
    return json.loads(out.read_text()), done


def _check_block(block: dict, salles: int) -> None:
    assert set(block) >= set(rep.FIGURE_KEYS)
    assert block["salles"] == salles
    assert block["seconds"] > 0
    for k in (
        "forwarded_pps",
        "incoming_pps",
        "server_cpu_us_per_forwarded_packet",
        "server_cpu_us_per_incoming_packet",
        "loss_pct",
        "rss_mb_per_salle",
    ):
        assert isinstance(block[k], (int, float)) and block[k] >= 0, (k, block[k])
    assert block["forwarded_pps"] > 0 and block["incoming_pps"] > 0
    assert 0 <= block["loss_pct"] <= 100
    d, j = block["added_delay_ms"], block["join_s"]
    assert 0 <= d["p50"] <= d["p99"] <= d["max"]
    assert 0 <= j["p50"] <= j["max"]
    # counts consistent: CPU per incoming packet = CPU per forwarded packet × forwarded / incoming
    ratio = block["forwarded_pps"] / block["incoming_pps"]
    assert block["server_cpu_us_per_incoming_packet"] == pytest.approx(
        block["server_cpu_us_per_forwarded_packet"] * ratio, rel=0.05, abs=0.05
    )


def _check_sizing(block: dict) -> None:
    """The sizing block is the run's own figures carried to 158 salles (issue 17)."""
    sz = block["sizing"]
    assert sz["rss_mb_per_salle"] == block["rss_mb_per_salle"]
    assert sz["video_pps_per_slot"] > 0 and sz["audio_pps_per_slot"] > 0
    # 2 salles: one video slot, one audio slot each, so the slots carry all that was forwarded
    assert sz["video_pps_per_slot"] + sz["audio_pps_per_slot"] == pytest.approx(block["forwarded_pps"] / 2, rel=0.05)
    assert sz["projected_cores"] == pytest.approx(
        block["server_cpu_us_per_forwarded_packet"] * sz["projected_forwarded_pps"] / 1e6, rel=0.01, abs=0.01
    )


def test_seance_report_is_well_formed(bench_run) -> None:
    report, proc = bench_run
    assert proc.returncode == 0, proc.stderr
    assert rep.validate(report, janus="janus" in report) == []
    assert set(report) - {"janus"} - set(rep.OPTIONAL_KEYS) == set(rep.FIGURE_KEYS)
    _check_block(report, 2)
    _check_sizing(report)
    assert "séance" in proc.stdout  # the table is printed too


@pytest.mark.skipif(JANUS_SKIP is not None, reason=f"{JANUS_SKIP}")
def test_janus_report_is_well_formed(bench_run) -> None:
    report, proc = bench_run
    assert proc.returncode == 0, proc.stderr
    assert "in netns seance-bench-" in proc.stderr  # Janus ran in the benchmark's namespace
    assert set(report["janus"]) - set(rep.BLOCK_OPTIONAL_KEYS) == set(rep.FIGURE_KEYS)
    assert report["janus"]["load_generator"]["cpu_pct"] > 0  # the salles of the Janus run, measured too
    _check_block(report["janus"], 2)
    _check_sizing(report["janus"])


def test_workers_spread_sittings_over_processes(tmp_path, bench_samples) -> None:
    """--workers 2: two server processes, each hosting one of the two sittings (a salle
    reaching the other worker would be refused: unknown sitting), CPU and RSS summed."""
    out = tmp_path / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "--workers",
        "2",
        "--salles",
        "2",
        "--seconds",
        "2",
        "--warmup",
        "0.5",
        "--zero-seconds",
        "1",
        "--cache",
        str(bench_samples),
        "--json",
        str(out),
    ]
    proc = subprocess.run([*HOST, *cmd], cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert rep.validate(report) == []
    _check_block(report, 4)
    assert report["sittings"] == 2 and report["loss_pct"] == 0
    assert report["workers"]["count"] == 2
    assert all(pct > 0 for pct in report["workers"]["cpu_pct"]), report["workers"]
    pids = {line.split()[3] for line in proc.stderr.splitlines() if line.startswith("[bench] séance pid")}
    assert len(pids) == 2, proc.stderr
    assert "4/4 salles joined" in proc.stderr


def test_worker_cores_one_per_worker_and_the_rest_for_the_load(monkeypatch) -> None:
    from bench import run as bench_run

    monkeypatch.setattr(bench_run.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(bench_run.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert bench_run.worker_cores(2) == ([3, 2], "0,1")
    assert bench_run.worker_cores(1) == ([3], "0")
    assert bench_run.worker_cores(4) == ([3, 2, 1, 0], None)  # no core left: the load shares
    monkeypatch.setattr(bench_run.os, "sched_getaffinity", lambda pid: {0, 1})
    assert bench_run.worker_cores(2) == ([1, 0], None)
    assert bench_run.worker_cores(3) == ([1, 0, 1], None)


# -- the benchmark's network namespace (no load) ------------------------------------------


@pytest.mark.skipif(NETNS_SKIP is not None, reason=f"{NETNS_SKIP}")
def test_netns_is_ours_isolated_and_always_deleted() -> None:
    ns = netns.BenchNetns()
    with pytest.raises(RuntimeError, match="boom"):
        with ns:
            assert ns.name in netns._names()
            inside = subprocess.run(
                [*ns.exec_prefix(), "ip", "-4", "-o", "addr"], capture_output=True, text=True
            ).stdout
            routes = subprocess.run([*ns.exec_prefix(), "ip", "-4", "route"], capture_output=True, text=True).stdout
            assert ns.inner_ip in inside and "127.0.0.1" in inside
            assert "eth0" not in inside and "default" not in routes  # nowhere to go but our /30
            assert ns.subnet.subnet_of(netns.RANGE)
            raise RuntimeError("boom")
    assert _left_behind(os.getpid(), []) == []


@pytest.mark.skipif(NETNS_SKIP is not None, reason=f"{NETNS_SKIP}")
def test_stale_namespace_of_a_dead_run_is_removed() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()  # a PID whose run is gone
    name = f"{netns.PREFIX}{dead.pid}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert name in netns.cleanup_stale()
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    assert name not in netns._names()


# -- pure parts, no processes ----------------------------------------------------------


def test_wirecheck_classifies_addresses() -> None:
    import ipaddress

    from bench.wirecheck import classify

    assert classify(ipaddress.ip_address("127.0.0.1")) == "loopback"
    assert classify(ipaddress.ip_address("::1")) == "loopback"
    assert classify(ipaddress.ip_address("10.213.4.6")) == "ours"
    assert classify(ipaddress.ip_address("192.0.2.2")) == "other"
    assert classify(ipaddress.ip_address("10.1.2.3")) == "other"


def test_validate_accepts_unmeasured_and_refuses_bad_shapes() -> None:
    empty = rep.empty_figures(3, 10.0)
    assert rep.validate(empty) == []
    assert rep.validate({**empty, "janus": rep.empty_figures(3, 10.0)}, janus=True) == []
    assert rep.validate({**empty, "loss_pct": -1}) != []
    assert rep.validate({**empty, "extra": 1}) != []
    assert rep.validate(empty, janus=True) != []
    bad = dict(empty)
    del bad["join_s"]
    assert rep.validate(bad) != []


def test_figures_from_a_run() -> None:
    run = rep.TargetRun(
        salles=2,
        window_s=2.0,
        cpu_s=0.01,
        rss_idle=10 * 2**20,
        rss_loaded=12 * 2**20,
        sent=200,
        received=380,
        expected=400,
        delays_us=[1000, 1200, 5000],
        join_s=[0.5, 0.7],
    )
    f = rep.figures(run, zero_us=200)
    assert rep.validate(f) == []
    assert f["forwarded_pps"] == 190 and f["incoming_pps"] == 100
    assert f["loss_pct"] == 5.0
    assert f["server_cpu_us_per_forwarded_packet"] == pytest.approx(10000 / 380, abs=0.01)
    assert f["rss_mb_per_salle"] == 1.0
    assert f["added_delay_ms"] == {"p50": 1.0, "p99": 4.8, "max": 4.8}


def test_probe_counts_loss_across_sequence_wrap() -> None:
    probe = Probe(0, window=(0, 2**62))
    for seq in (65533, 65534, 0, 1, 3):  # 65535 and 2 lost, wrap in between
        header = bytes([0x80, 96]) + seq.to_bytes(2, "big") + bytes(4) + (1234).to_bytes(4, "big")
        probe.handle_rtp(header + bytes(20))
    r = probe.result()
    assert (r["received"], r["expected"], r["streams"]) == (5, 7, 1)


def test_subscriptions_never_include_self() -> None:
    for n in (2, 3, 5, 12):
        for i in range(n):
            video, audio = subscriptions(i, n, voices=3)
            assert i not in video and i not in audio
            assert len(video) == min(2, n - 1) and len(audio) == min(3, n - 1)


def test_new_keys_only_under_new_names() -> None:
    """Keys added after the first reports are optional and never replace a figure."""
    assert not set(rep.OPTIONAL_KEYS) & set(rep.FIGURE_KEYS)
    empty = rep.empty_figures(4, 5.0)
    full = {
        **empty,
        "sittings": 2,
        "event_loop": "uvloop",
        "load_generator": {"cpu_pct": 50.0, "cores": 1},
        "server_counters": {"dropped": {}, "hook_errors": {}},
        "capacity": {"max_salles": 4, "limit": "loss", "workers": 1, "steps": []},
        "mediarelay": rep.empty_figures(4, 5.0),
    }
    assert rep.validate(full, mediarelay=True) == []
    assert rep.validate(empty, mediarelay=True) != []  # asked for, missing
    assert rep.validate({**full, "mediarelay": {**empty, "loss_pct": -1}}, mediarelay=True) != []
    assert "mediarelay" in rep.table(full)


async def test_capacity_search_stops_where_loss_begins(monkeypatch) -> None:
    """The search logic alone (no processes): N grows until a step loses, a failing N is
    run twice, the largest N held is reported."""
    from bench import run as bench_run

    calls: list[int] = []

    async def fake_run(cfg, server_cpu, load_cpu):
        calls.append(cfg.salles)
        n = cfg.salles
        r = rep.TargetRun(
            salles=n,
            window_s=5.0,
            cpu_s=0.5,
            rss_idle=0,
            rss_loaded=n * 2**20,
            sent=100 * n,
            received=300 * n,
            expected=300 * n if n < 12 else 310 * n,
            delays_us=[1000] * 100,
            join_s=[1.0] * n,
        )
        r.load_cpu_s = 1.0
        return r

    monkeypatch.setattr(bench_run, "seance_run", fake_run)
    cfg = bench_run.BenchConfig(salles=4, seconds=5, capacity=True, capacity_budget=60, quiet=True)
    report = await bench_run.capacity_search(cfg, None, None, 0.0)
    assert calls == [4, 6, 9, 13, 13]  # 13 loses (3.2 %): run twice
    assert report["capacity"]["max_salles"] == 9 and report["capacity"]["limit"] == "loss"
    assert report["salles"] == 9 and rep.validate(report) == []


def test_signaling_storm_runs_and_reports(tmp_path) -> None:
    """python -m bench.signaling_storm: N kiosks join at once while screens watch; the
    report is well-formed and every screen saw every kiosk connected (timings not judged)."""
    out = tmp_path / "storm.json"
    proc = subprocess.run(
        [
            *HOST,
            sys.executable,
            "-m",
            "bench.signaling_storm",
            "--salles",
            "6",
            "--screens",
            "2",
            "--budget",
            "30",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert set(report) == {
        "salles",
        "screens",
        "budget_s",
        "all_seen_s",
        "server_cpu_s",
        "screen_messages",
        "screen_mb",
        "kiosk_messages",
        "kiosk_mb",
    }
    assert report["salles"] == 6 and report["screens"] == 2
    assert report["all_seen_s"] is not None and report["all_seen_s"] >= 0
    assert report["kiosk_messages"] >= 6 * 3  # each kiosk: welcome, state, slots at least
    assert report["screen_messages"] >= 2  # the screens saw the state change
