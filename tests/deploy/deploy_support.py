"""Helpers of tests/deploy: the shipped nginx files in a real nginx, a real ``seance serve``.

:func:`render_nginx` copies ``deploy/nginx/`` as a DSI installs it and changes only what
a test machine needs: the listening addresses and ports, the upstream ports, the
certificate, and the paths of logs, snippet and ACME root. The public address
203.0.113.10 becomes 127.0.0.2 (all of 127/8 is loopback on Linux) while Séance listens
on 127.0.0.1, as on a real node: nginx on the public address, Séance on loopback, the
same port numbers on both for the workers (``node_url = "https://…:{port}"``).

Every process is started by the test and stopped by its PID; every wait is bounded.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.multinode.multinode_support import wait_for

REPO = Path(__file__).resolve().parents[2]
NGINX_DIR = REPO / "deploy" / "nginx"
PUBLIC = "127.0.0.2"


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def consecutive_ports(n: int, hosts: tuple[str, ...] = ("127.0.0.1", PUBLIC)) -> int:
    """A base port p such that p..p+n-1 are free on every host (workers: port + i)."""
    for _ in range(100):
        base = free_port()
        socks = []
        try:
            for port in range(base, base + n):
                for host in hosts:
                    s = socket.socket()
                    socks.append(s)
                    s.bind((host, port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports")


def stop_pid(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


def seance_argv() -> list[str]:
    seance = Path(sys.executable).parent / "seance"
    return [str(seance)] if seance.exists() else [sys.executable, "-m", "web.cli"]


# --------------------------------------------------------------------------- nginx


@dataclass
class NginxSite:
    main: Path  # nginx.conf to run
    prefix: Path
    access_log: Path
    https_port: int
    http_port: int

    @property
    def url(self) -> str:
        return f"https://{PUBLIC}:{self.https_port}"


def render_nginx(
    tmp: Path,
    cert: tuple[Path, Path],
    *,
    https_port: int,
    http_port: int,
    seance_port: int,
    workers: int = 1,
) -> NginxSite:
    """The shipped files with this machine's ports and paths (and, with ``workers`` > 1,
    ``seance-workers.conf``'s worker-1 block copied for each worker as its header says)."""
    tmp.mkdir(parents=True, exist_ok=True)
    logs = tmp / "log"
    logs.mkdir(exist_ok=True)
    snippet = tmp / "seance-proxy.conf"

    def common(text: str) -> str:
        text = re.sub(r"^\s*listen \[::\]:\d+.*\n", "", text, flags=re.M)  # no IPv6 on this machine's lo
        text = text.replace("203.0.113.10", PUBLIC)
        text = text.replace("/var/log/nginx/", f"{logs}/")
        text = text.replace("/etc/nginx/snippets/seance-proxy.conf", str(snippet))
        return text.replace("/var/www/letsencrypt", str(tmp / "www"))

    proxy = (NGINX_DIR / "seance-proxy.conf").read_text()
    proxy = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert[0]};", proxy)
    proxy = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {cert[1]};", proxy)
    snippet.write_text(common(proxy))

    http = (NGINX_DIR / "seance-http.conf").read_text()
    http = http.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{seance_port};")
    site = (NGINX_DIR / "seance.conf").read_text()
    site = site.replace("203.0.113.10:443 ", f"203.0.113.10:{https_port} ").replace(
        "203.0.113.10:80;", f"203.0.113.10:{http_port};"
    )
    # as Debian's nginx.conf loads them: conf.d/*.conf, then sites-enabled/* in name order
    # (seance-workers.conf sorts before seance.conf)
    sites = {"seance.conf": common(site)}
    if workers > 1:
        text = (NGINX_DIR / "seance-workers.conf").read_text()
        # as the file's header says (and deploy/install.sh does): the worker-1 lines once per worker
        before, rest = text.split("# >>> worker 1\n")
        worker_1, after = rest.split("# <<< worker 1\n")
        blocks = [before, after.replace(":8080 ", f":{seance_port} ")]
        for i in range(1, workers):
            blocks.append(worker_1.replace("8081", str(seance_port + i)).replace("seance_w1", f"seance_w{i}"))
        sites["seance-workers.conf"] = common("\n".join(blocks))
    (tmp / "sites.conf").write_text(common(http) + "\n".join(sites[name] for name in sorted(sites)))
    temp = " ".join(f"{d}_temp_path {tmp / d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main = tmp / "nginx.conf"
    main.write_text(
        f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {logs}/error.log;\n"
        f"events {{}}\nhttp {{\n  access_log off;\n  {temp}\n  include {tmp / 'sites.conf'};\n}}\n"
    )
    return NginxSite(main, tmp, logs / "seance.access.log", https_port, http_port)


def nginx_binary() -> str:
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(path).exists(), "nginx not installed (Debian package nginx-light: make system-deps)"
    return path


class Nginx:
    """A real nginx (master and one worker) on a rendered site, stopped by its master's PID."""

    def __init__(self, site: NginxSite) -> None:
        self.site = site
        self.proc: subprocess.Popen | None = None

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            [nginx_binary(), "-t", "-q", "-c", str(self.site.main), "-p", f"{self.site.prefix}/"],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def __enter__(self) -> Nginx:
        done = self.check()
        assert done.returncode == 0, done.stderr
        self.proc = subprocess.Popen(
            [nginx_binary(), "-c", str(self.site.main), "-p", f"{self.site.prefix}/", "-g", "daemon off;"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

        def listening() -> bool:
            assert self.proc.poll() is None, self.proc.stdout.read().decode(errors="replace")
            with socket.create_connection((PUBLIC, self.site.https_port), timeout=1):
                return True

        wait_for(listening, 15, "nginx to listen")
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_pid(self.proc, signal.SIGQUIT)  # graceful: finish the open requests


# --------------------------------------------------------------------------- seance serve


def write_seance_toml(folder: Path, port: int, *, server: str = "", proxy: str = "", more: str = "") -> Path:
    """``folder/seance.toml`` of an installation behind nginx ([proxy]), data in ``folder/data``."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "seance.toml"
    conf.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{folder / "data"}"\n{server}\n\n'
        f'[proxy]\ntrusted = ["127.0.0.1"]\n{proxy}\n\n'
        '[ice]\nlisten_addresses = ["127.0.0.1"]\n\n[web]\nreconcile_after_s = false\n\n'
        f"{more}"
    )
    return conf


class SeanceServe:
    """``seance serve --config FILE`` as a real process (the supervisor with workers)."""

    def __init__(self, config: Path, log: Path, health_urls: list[str]) -> None:
        self.config = config
        self.log = log
        self.health_urls = health_urls
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> SeanceServe:
        self._log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [*seance_argv(), "serve", "--config", str(self.config)],
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            for url in self.health_urls:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status != 200:
                        return False
            return True

        wait_for(healthy, 60, "seance serve to answer")
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_pid(self.proc)
        self._log.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")
