"""deploy/ cannot rot: each configuration checked by its own tool where Debian has one.

| file | check |
| --- | --- |
| nginx/*.conf | ``nginx -t`` on the files as installed (deploy_support.render_nginx: test certificate, free ports); what they do in front of a real server: test_nginx_proxy.py |
| coturn/turnserver.conf | coturn 4.6 has no offline check (no ``--check-config``; unknown keys are only logged as "Bad configuration format"): the copy is started on loopback, its log must hold no such line, and a real TURN allocation with credentials from :func:`web.config_file.turn_rest_credentials` must succeed, a wrong secret and private peers be refused |
| prometheus/*.yml | ``promtool check config`` (which checks the rule file) and ``promtool check rules`` |
| redis/redis-seance.conf | ``redis-server`` started on the copy (free loopback port, temp dir), ``CONFIG GET`` of the keys we rely on, NOAUTH without the password |
| systemd/*.service, *.timer | ``systemd-analyze verify`` (ExecStart pointed at this venv), no warning about our units; their ExecStart run by test_install.py |
| install.sh | ``shellcheck -S warning``; run for real in namespaces by test_install.py |
| grafana/seance.json | parsed; every metric it and the alert rules query is in the /metrics of the app ``seance serve`` builds |

Debian packages: nginx-light (or nginx), coturn, prometheus (promtool), redis-server, systemd, shellcheck.
Every process started here is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.deploy_support import Nginx, free_port, render_nginx
from web.config_file import turn_rest_credentials
from web.tls import ensure_self_signed

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def need(tool: str, package: str) -> str:
    path = shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if Path(p).exists()), None)
    if path is None:
        pytest.skip(f"{tool} not installed (Debian package {package})")
    return path


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def cert(tmp_path) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path / "tls", hostnames=("seance.example.fr", "turn.seance.example.fr"))


# --------------------------------------------------------------------------- nginx
# What nginx does in front of Séance is tested with a real nginx and a real server in
# tests/deploy/test_nginx_proxy.py; here, what needs no server.


def test_nginx_files_load_and_agree_with_seance_toml(tmp_path, cert):
    need("nginx", "nginx-light")
    for workers in (1, 3):  # seance-workers.conf's block, copied for workers 1 and 2
        site = render_nginx(
            tmp_path / f"w{workers}",
            cert,
            https_port=free_port(),
            http_port=free_port(),
            seance_port=18080,
            workers=workers,
        )
        done = Nginx(site).check()
        assert done.returncode == 0, done.stderr
    upstream = re.search(
        r"upstream seance \{\s*server ([\d.]+):(\d+);", (DEPLOY / "nginx" / "seance-http.conf").read_text()
    )
    seance = tomllib.loads((DEPLOY / "seance.toml").read_text())
    assert (upstream.group(1), int(upstream.group(2))) == (seance["server"]["host"], seance["server"]["port"])
    workers = (DEPLOY / "nginx" / "seance-workers.conf").read_text()
    assert f"127.0.0.1:{seance['server']['port'] + 1};" in workers  # worker 1 is port + 1 (web/workers.py)


def test_nginx_check_catches_a_broken_file(tmp_path, cert):
    need("nginx", "nginx-light")
    site = render_nginx(tmp_path, cert, https_port=free_port(), http_port=free_port(), seance_port=18080)
    snippet = tmp_path / "seance-proxy.conf"
    snippet.write_text(snippet.read_text().replace("proxy_pass http://$seance_upstream;", "proxy_pas x;", 1))
    done = Nginx(site).check()
    assert done.returncode != 0 and 'unknown directive "proxy_pas"' in done.stderr, done.stderr


# --------------------------------------------------------------------------- coturn


def coturn_options(text: str) -> list[tuple[str, str | None]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip() if _ else None))
    return out


def test_coturn_keys_we_rely_on():
    opts = coturn_options((DEPLOY / "coturn" / "turnserver.conf").read_text())
    keys = {k for k, _ in opts}
    values = dict(opts)
    assert {
        "use-auth-secret",
        "static-auth-secret",
        "realm",
        "no-multicast-peers",
        "no-tcp-relay",
        "fingerprint",
        "cert",
        "pkey",
        "no-tlsv1",
        "no-tlsv1_1",
    } <= keys
    assert values["listening-port"] == "3478" and values["tls-listening-port"] == "443"
    denied = [v for k, v in opts if k == "denied-peer-ip"]
    for private in (
        "10.0.0.0-10.255.255.255",
        "172.16.0.0-172.31.255.255",
        "192.168.0.0-192.168.255.255",
        "127.0.0.0-127.255.255.255",
        "169.254.0.0-169.254.255.255",
        "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ):
        assert private in denied
    # the one allowed peer is Séance's ICE address, and the browsers are told this server
    seance = tomllib.loads((DEPLOY / "seance.toml").read_text())
    assert [v for k, v in opts if k == "allowed-peer-ip"] == seance["ice"]["listen_addresses"]
    assert all(values["server-name"] in url for url in seance["turn"]["urls"])
    assert any(url.startswith("turns:") and ":443" in url for url in seance["turn"]["urls"])
    # TURN's own address is not nginx's: both listen on 443
    nginx = (DEPLOY / "nginx" / "seance.conf").read_text()
    assert (
        f"listen {values['listening-ip']}:443" not in nginx
        and values["listening-ip"] != seance["ice"]["listen_addresses"][0]
    )


SECRET = "test-secret-" + "7" * 20


def start_coturn(
    turnserver: str, tmp_path: Path, cert: tuple[Path, Path], extra: str = ""
) -> tuple[subprocess.Popen, int, Path]:
    port, tls_port = free_port(kind=socket.SOCK_DGRAM), free_port()
    rewrite = {
        "listening-ip": "127.0.0.1",
        "relay-ip": "127.0.0.1",
        "listening-port": str(port),
        "tls-listening-port": str(tls_port),
        "min-port": "41000",
        "max-port": "41100",
        "cert": str(cert[0]),
        "pkey": str(cert[1]),
        "static-auth-secret": SECRET,
    }
    lines = []
    for line in (DEPLOY / "coturn" / "turnserver.conf").read_text().splitlines():
        key = line.partition("=")[0].strip()
        if key in rewrite:
            line = f"{key}={rewrite[key]}"
        elif key == "syslog":
            line = f"log-file={tmp_path}/turn.log\nsimple-log"
        lines.append(line)
    lines += [f"pidfile={tmp_path}/turn.pid", f"userdb={tmp_path}/turndb", extra]
    conf = tmp_path / "turnserver.conf"
    conf.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen(
        [turnserver, "-c", str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        start_new_session=True,
    )
    return proc, port, tmp_path / "turn.log"


def wait_for_log(proc: subprocess.Popen, log: Path, needle: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if needle in text:
            return text
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    out = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
    pytest.fail(f"turnserver did not log {needle!r}: {out}\n{log.read_text() if log.exists() else ''}")


async def test_coturn_serves_our_configuration(tmp_path, cert):
    turnserver = need("turnserver", "coturn")
    from aioice import stun
    from aioice.turn import create_turn_endpoint

    proc, port, log = start_coturn(turnserver, tmp_path, cert)
    try:
        text = wait_for_log(proc, log, "Total General servers")
        bad = [line for line in text.splitlines() if "Bad configuration format" in line or "CONFIG ERROR" in line]
        assert not bad, bad
        assert "Default realm: seance.example.fr" in text and "White listing: 203.0.113.10" in text

        # A browser's allocation with the credentials Séance derives from the shared secret.
        username, password = turn_rest_credentials(SECRET, "vaux", ttl_s=600)
        transport, _ = await asyncio.wait_for(
            create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", port), username, password, lifetime=60), 10
        )
        try:
            relayed = transport.get_extra_info("sockname")
            assert relayed[0] == "127.0.0.1" and 41000 <= relayed[1] <= 41100
            inner = transport._TurnTransport__inner_protocol  # aioice 0.13: send_data binds a channel
            await asyncio.wait_for(inner.send_data(b"hello", ("203.0.113.10", 40000)), 10)  # Séance: allowed
            for private in ("10.1.2.3", "192.168.1.20", "172.16.0.1"):  # the LAN: refused
                with pytest.raises(stun.TransactionFailed, match="403"):
                    await asyncio.wait_for(inner.send_data(b"hello", (private, 40000)), 10)
        finally:
            transport.close()

        # A wrong secret, or expired credentials, are refused.
        for creds in (
            turn_rest_credentials("not-the-secret", "vaux", ttl_s=600),
            turn_rest_credentials(SECRET, "vaux", ttl_s=600, now=time.time() - 3600),
        ):
            with pytest.raises((stun.TransactionFailed, ConnectionError)):
                t, _ = await asyncio.wait_for(
                    create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", port), *creds, lifetime=60), 10
                )
                t.close()
    finally:
        stop(proc)


async def test_coturn_check_catches_an_unknown_key(tmp_path, cert):
    turnserver = need("turnserver", "coturn")
    proc, _, log = start_coturn(turnserver, tmp_path, cert, extra="no-multicast-peer")
    try:
        text = wait_for_log(proc, log, "Total General servers")
        assert "Bad configuration format: no-multicast-peer" in text
    finally:
        stop(proc)


# --------------------------------------------------------------------------- Prometheus


def test_prometheus_configuration_and_rules():
    promtool = need("promtool", "prometheus")
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "seance-alerts.yml"]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60, cwd=DEPLOY / "prometheus")
        assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- Redis


def test_redis_configuration(tmp_path):
    redis_server = need("redis-server", "redis-server")
    import redis

    port = free_port()
    text = (DEPLOY / "redis" / "redis-seance.conf").read_text()
    password = re.search(r"^requirepass (\S+)", text, re.M).group(1)
    text = re.sub(r"^port \d+", f"port {port}", text, flags=re.M)
    text = re.sub(r"^dir .*", f"dir {tmp_path}", text, flags=re.M)
    text = re.sub(r"^supervised .*", "supervised no", text, flags=re.M)
    conf = tmp_path / "redis.conf"
    conf.write_text(text)
    proc = subprocess.Popen([redis_server, str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("redis-server did not start: " + proc.stdout.read().decode(errors="replace"))
                time.sleep(0.1)
        got = {
            k: v
            for key in (
                "bind",
                "protected-mode",
                "appendonly",
                "appendfsync",
                "maxmemory-policy",
                "requirepass",
                "maxmemory",
            )
            for k, v in client.config_get(key).items()
        }
        assert got["protected-mode"] == "yes" and got["appendonly"] == "yes" and got["appendfsync"] == "everysec"
        assert got["maxmemory-policy"] == "noeviction" and got["requirepass"] == password
        assert got["bind"].startswith("127.0.0.1") and int(got["maxmemory"]) == 256 * 1024 * 1024
        with pytest.raises(redis.ResponseError):
            client.execute_command("FLUSHALL")  # renamed away
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port, socket_timeout=5).set("k", "v")
        client.close()
    finally:
        stop(proc)


# --------------------------------------------------------------------------- systemd


UNITS = ("seance.service", "seance-recordings-purge.service", "seance-recordings-purge.timer", "redis-seance.service")


def test_systemd_units_verify(tmp_path):
    """``systemd-analyze verify`` on every shipped unit, pointed at this venv (the install
    test runs their ExecStart: tests/deploy/test_install.py)."""
    analyze = need("systemd-analyze", "systemd")
    venv = Path(sys.executable).parent.parent
    assert (venv / "bin" / "seance").exists(), "the test venv has no seance script"
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text()
        (tmp_path / name).write_text(text.replace("/opt/seance/current", str(venv)))
    done = subprocess.run(
        [analyze, "verify", *(str(tmp_path / name) for name in UNITS)], capture_output=True, text=True, timeout=60
    )
    ours = [line for line in (done.stdout + done.stderr).splitlines() if any(name in line for name in UNITS)]
    if done.returncode != 0 and not ours:
        pytest.skip(f"systemd-analyze verify does not work here: {done.stderr.strip()[:300]}")
    assert done.returncode == 0 and not ours, "\n".join(ours)
    # a broken unit is caught (the check is not vacuous)
    broken = tmp_path / "broken" / "seance.service"
    broken.parent.mkdir()
    broken.write_text((tmp_path / "seance.service").read_text().replace("ExecStart=", "ExecStrat=", 1))
    done = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "ExecStrat" in done.stdout + done.stderr


# --------------------------------------------------------------------------- Grafana


METRIC_RE = re.compile(r"\b((?:seance|process)_[a-z0-9_]+)\b")


def queried_metrics() -> dict[str, set[str]]:
    dashboard = json.loads((DEPLOY / "grafana" / "seance.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v.get("type") == "query"]
    rules = (DEPLOY / "prometheus" / "seance-alerts.yml").read_text()
    exprs += re.findall(r"^\s*expr: (.*)$", rules, re.M)
    found: dict[str, set[str]] = {}
    for expr in exprs:
        for name in METRIC_RE.findall(expr):
            found.setdefault(name, set()).add(expr)
    return found


async def test_grafana_dashboard_queries_exported_metrics(tmp_path, aiohttp_client):
    from web.commands.demo import demo_sitting
    from web.commands.serve import build_app
    from web.config import WebConfig
    from web.config_file import ServeConfig

    dashboard = json.loads((DEPLOY / "grafana" / "seance.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), panel["title"]

    config = ServeConfig(
        web=WebConfig(tls=False, data_dir=tmp_path, sittings=(demo_sitting(),), ice_addresses=("127.0.0.1",)),
        source=tmp_path / "seance.toml",
        trusted_proxies=("127.0.0.1",),
    )
    client = await aiohttp_client(build_app(config))
    response = await client.get("/metrics")
    assert response.status == 200
    exported: set[str] = set()
    for family in text_string_to_metric_families(await response.text()):
        exported.add(family.name)
        if family.type == "counter":
            exported |= {family.name + "_total", family.name + "_created"}
        exported |= {s.name for s in family.samples}
    queried = queried_metrics()
    assert {
        "seance_sittings",
        "process_cpu_seconds_total",
        "seance_sfu_salle_transmitting",
        "seance_sfu_packets_dropped_total",
        "seance_sfu_nacks_received_total",
        "seance_sfu_plis_received_total",
        "seance_sfu_rtp_packets_in_total",
        "seance_sfu_rtp_packets_out_total",
    } <= set(queried)
    missing = {name: sorted(exprs) for name, exprs in queried.items() if name not in exported}
    assert not missing, missing


async def test_nginx_privacy_log_truncates_every_address_form(tmp_path, cert):
    """The shipped ``map $remote_addr $seance_addr``, fed addresses through the realip
    module (a test server added beside the shipped ones answers with what it would log)."""

    need("nginx", "nginx-light")
    site = render_nginx(tmp_path, cert, https_port=free_port(), http_port=free_port(), seance_port=18080)
    probe = free_port()
    sites = tmp_path / "sites.conf"
    sites.write_text(
        sites.read_text()
        + f"\nserver {{ listen 127.0.0.1:{probe}; set_real_ip_from 127.0.0.0/8; real_ip_header X-Addr;"
        ' location / { return 200 "$seance_addr"; } }\n'
    )
    cases = {
        "198.51.100.23": "198.51.100.0",
        "2001:db8:1:2:aaaa:bbbb:cccc:dddd": "2001:db8:1:2::",
        "2001:db8:1:2::7": "2001:db8:1:2::",
        "2001:db8::7": "2001:db8::",  # its /64 is 2001:db8:0:0::
        "2001:db8:5::1:2": "2001:db8:5::",
        "::ffff:198.51.100.23": "::",
    }
    with Nginx(site):
        async with aiohttp.ClientSession() as session:
            for address, logged in cases.items():
                r = await session.get(f"http://127.0.0.1:{probe}/", headers={"X-Addr": address})
                assert (address, await r.text()) == (address, logged)


# --------------------------------------------------------------------------- install.sh


def test_install_sh_passes_shellcheck():
    """Warnings and errors only (test_install.py runs the script itself)."""
    shellcheck = need("shellcheck", "shellcheck")
    done = subprocess.run(
        [shellcheck, "-S", "warning", str(DEPLOY / "install.sh")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout
    broken = subprocess.run(
        [shellcheck, "-S", "warning", "-s", "bash", "-"], input="x=$(ls $1\n", capture_output=True, text=True
    )
    assert broken.returncode != 0  # the check is not vacuous
