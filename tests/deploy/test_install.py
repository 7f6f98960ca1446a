"""``deploy/install.sh`` run for real, as on a bare Debian 12 server, then run again (issue 18.3).

How, without damaging this machine: the script runs as root, unchanged, inside a mount
namespace and a network namespace of its own (``unshare --mount --net``), where ``/etc``,
``/opt`` and ``/var`` are overlays (overlayfs) whose upper layers are in the test's
temporary directory, and ``/run`` a fresh tmpfs. Everything it writes — the ``seance``
user in ``/etc/passwd``, ``/etc/seance``, the release in ``/opt/seance``,
``/var/lib/seance``, nginx's sites (two workers), coturn's and Redis's configuration, the units in
``/etc/systemd/system`` — lands in those upper layers and disappears with the namespace;
the host's files are only read (the test checks that the host has no ``seance`` user or
``/etc/seance`` afterwards). The network namespace holds only ``lo``: ports 80, 443,
3478, 6379 and 8080 are free there, nothing of it reaches the host's network. The
packages come from a wheelhouse made by ``install.sh --download-wheels`` (once, cached
in ``.venv/``, downloaded from the host's network namespace), so the install itself runs
offline, as ``--wheels`` does on a server without internet. The Debian packages are the
host's (``make system-deps`` installs them): the script finds them and installs none.

What systemd would do, the test does, since systemd is not PID 1 here: it checks the
units the script wrote with ``systemd-analyze verify``, and runs each unit's
``ExecStartPre``/``ExecStart`` as its ``User=`` with its ``UMask=`` (``setpriv``), in the
order systemd would start them: Redis, Séance, coturn (Debian's unit with Séance's
drop-in), nginx. Then a browser's requests go through the installed nginx, with the
given certificate, to the installed Séance: ``/healthz`` says the version, the first
administrator logs in with the password the script printed. The purge unit runs.

Then the script is run again with no answer given (they are remembered): an upgrade in
place. The data dir is backed up first, a new release is installed beside the old one
and ``/opt/seance/current`` switched; ``seance.toml``, the TURN secret, the council, session and CSRF keys
and the accounts are kept — the same administrator logs in on the upgraded server.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.deploy_support import REPO, stop_pid
from web.tls import ensure_self_signed
from web.version import VERSION

pytestmark = pytest.mark.timeout(900)

INSTALL = REPO / "deploy" / "install.sh"
HOST = "seance.test"
PUBLIC = "127.0.0.2"  # the server's public address (web, media, TURN); Séance itself is on 127.0.0.1
COUNCIL = "Communauté de communes des Trois Rivières"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
UNITS = ("seance.service", "seance-recordings-purge.service", "seance-recordings-purge.timer", "redis-seance.service")


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """Every package of constraints.txt (and the build tools), fetched once by the script."""
    digest = hashlib.sha256((REPO / "constraints.txt").read_bytes() + (REPO / "pyproject.toml").read_bytes())
    path = REPO / ".venv" / f"wheelhouse-{digest.hexdigest()[:12]}"
    if not (path / ".complete").exists():
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        argv = ["bash", str(INSTALL), "--download-wheels", str(partial)]
        host = os.environ.get("SEANCE_TEST_HOST_NETNS")  # tests/conftest.py: the suite has no network
        if host:
            argv = ["nsenter", f"--net={host}", *argv]
        done = subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        (partial / ".complete").touch()
        shutil.rmtree(path, ignore_errors=True)
        partial.rename(path)
    return path


class Namespace:
    """A mount and network namespace: overlays on /etc, /opt, /var, a tmpfs on /run, lo up.

    Kept alive by a ``sleep`` of its own; every process started inside is stopped by its
    PID at the end, then the ``sleep``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.holder: subprocess.Popen | None = None
        self.procs: list[subprocess.Popen] = []
        self.env = {**ENV, "TMPDIR": str(workdir / "tmp")}

    def __enter__(self) -> Namespace:
        (self.workdir / "tmp").mkdir(parents=True)
        self.holder = subprocess.Popen(["unshare", "--mount", "--net", "sleep", "infinity"])
        ours = os.readlink("/proc/self/ns/mnt")
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{self.holder.pid}/ns/mnt") == ours:  # unshare(2) not done yet
            assert time.monotonic() < deadline and self.holder.poll() is None, "unshare failed"
            time.sleep(0.01)
        setup = ["set -e"]
        for d in ("etc", "opt", "var"):
            upper, work = self.workdir / d / "upper", self.workdir / d / "work"
            upper.mkdir(parents=True)
            upper.chmod(Path(f"/{d}").stat().st_mode & 0o7777)  # the merged /opt is the upper's mode
            work.mkdir()
            setup.append(f"mount -t overlay overlay -o lowerdir=/{d},upperdir={upper},workdir={work} /{d}")
        setup += ["mount -t tmpfs -o mode=0755 tmpfs /run", "ip link set lo up"]
        self.run(["sh", "-c", "\n".join(setup)], check=True)
        return self

    def argv(self, argv: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-n", "--", "env", "-i", *_env(self.env), *argv]

    def run(self, argv: list[str], timeout: float = 120, check: bool = False) -> subprocess.CompletedProcess:
        done = subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
        return done

    def start(self, argv: list[str], log: Path) -> subprocess.Popen:
        proc = subprocess.Popen(self.argv(argv), stdout=open(log, "ab"), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def wait_for(self, argv: list[str], what: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"{what}: exited\n{log.read_text(errors='replace')[-3000:]}"
            done = self.run(argv, timeout=30)
            if done.returncode == 0:
                return done.stdout
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-3000:]}")

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        stop_pid(proc, sig)
        self.procs.remove(proc)

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            stop_pid(proc)
        if self.holder is not None:
            stop_pid(self.holder)


def _env(env: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in env.items()]


def unit(ns: Namespace, name: str) -> dict[str, list[str]]:
    """The directives of a unit file as installed (a key may repeat)."""
    out: dict[str, list[str]] = {}
    for line in ns.run(["cat", name], check=True).stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def as_unit(directives: dict[str, list[str]], command: str) -> list[str]:
    """``command`` run as the unit's User/Group, with its UMask and Environment (setpriv)."""
    user, group = directives["User"][0], directives.get("Group", directives["User"])[0]
    umask = directives.get("UMask", ["0022"])[0]
    env = [e for line in directives.get("Environment", []) for e in shlex.split(line)]
    return [
        "setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups", "--",
        "sh", "-c", f'umask {umask}; exec env {" ".join(map(shlex.quote, env))} "$@"', "sh",
        *shlex.split(command),
    ]  # fmt: skip


def install(ns: Namespace, *args: str) -> str:
    done = ns.run(["bash", str(INSTALL), *args], timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def stat(ns: Namespace, *paths: str) -> dict[str, str]:
    out = ns.run(["stat", "-c", "%n %a %U:%G", *paths], check=True).stdout
    return {line.split()[0]: " ".join(line.split()[1:]) for line in out.splitlines()}


def curl(ns: Namespace, cert: Path, path: str, *extra: str) -> list[str]:
    return [
        "curl", "-sS", "--max-time", "10", "--resolve", f"{HOST}:443:{PUBLIC}", "--cacert", str(cert),
        *extra, f"https://{HOST}{path}",
    ]  # fmt: skip


def login_status(ns: Namespace, cert: Path, password: str) -> str:
    done = ns.run(
        curl(ns, cert, "/login", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Origin: https://{HOST}",
             "--data-urlencode", "login=dsi", "--data-urlencode", f"password={password}"),
    )  # fmt: skip
    return done.stdout


def serve(ns: Namespace, logs: Path, cert: Path) -> list[subprocess.Popen]:
    """Start what systemd would: Redis, Séance (after its ExecStartPre), coturn, nginx."""
    redis = unit(ns, "/etc/systemd/system/redis-seance.service")
    redis_proc = ns.start(as_unit(redis, redis["ExecStart"][0]), logs / "redis.log")
    password = ns.run(["cat", "/etc/seance/redis-password"], check=True).stdout.strip()
    ns.wait_for(["redis-cli", "--no-auth-warning", "-a", password, "ping"], "redis", redis_proc, logs / "redis.log")

    seance = unit(ns, "/etc/systemd/system/seance.service")
    for pre in seance["ExecStartPre"]:
        ns.run(as_unit(seance, pre), check=True)
    seance_proc = ns.start(as_unit(seance, seance["ExecStart"][0]), logs / "seance.log")
    for port in (8080, 8081):  # --workers 2: the supervisor's two workers
        health = ns.wait_for(
            ["curl", "-fsS", f"http://127.0.0.1:{port}/healthz"], f"worker on {port}", seance_proc, logs / "seance.log"
        )
        assert f'"version": "{VERSION}"' in health

    coturn = unit(ns, "/lib/systemd/system/coturn.service")  # Debian's unit, with our drop-in
    coturn_proc = ns.start(as_unit(coturn, coturn["ExecStart"][0]), logs / "coturn.log")
    # TURN over TLS with the installed certificate: turnserver could read it as its own user
    ns.wait_for(
        ["sh", "-c", f"openssl s_client -connect {PUBLIC}:5349 -servername {HOST} -verify_return_error "
         f"-CAfile {cert} </dev/null"],
        "coturn's TLS", coturn_proc, logs / "coturn.log",
    )  # fmt: skip

    nginx_proc = ns.start(["nginx", "-g", "daemon off;"], logs / "nginx.log")
    ns.wait_for(curl(ns, cert, "/healthz", "-f"), "nginx", nginx_proc, logs / "nginx.log")
    # worker 1 at the public URL it advertises (node_url), through the block install.sh wrote
    worker_1 = ns.run(
        ["curl", "-fsS", "--resolve", f"{HOST}:8081:{PUBLIC}", "--cacert", str(cert), f"https://{HOST}:8081/cluster"]
    )
    assert worker_1.returncode == 0 and f'"url": "https://{HOST}:8081"' in worker_1.stdout, worker_1
    return [nginx_proc, coturn_proc, seance_proc, redis_proc]


def test_install_sh_installs_a_node_then_upgrades_it_in_place(tmp_path, wheelhouse):
    assert shutil.which("unshare") and shutil.which("nsenter"), "util-linux"
    assert os.geteuid() == 0, "install.sh is run as root (in namespaces of its own)"
    cert, key = ensure_self_signed(tmp_path / "tls", hostnames=(HOST,), addresses=(PUBLIC,))
    logs = tmp_path / "logs"
    logs.mkdir()
    with Namespace(tmp_path / "ns") as ns:
        out = install(
            ns,
            *("--hostname", HOST, "--council", COUNCIL, "--turn-secret", "s3cr3t-partage"),
            *("--cert", str(cert), "--key", str(key), "--ice-address", PUBLIC, "--redis", "--workers", "2"),
            *("--wheels", str(wheelhouse), "--yes"),
        )
        password = re.search(r"Premier administrateur : identifiant « dsi », mot de passe (\S+)", out).group(1)
        assert "systemd ne tourne pas ici" in out and f"installée pour « {COUNCIL} »" in out
        assert "Étapes suivantes" in out and "déjà installés" in out  # no apt-get run

        # the host is untouched: the user, the folders exist in the namespace only
        assert subprocess.run(["getent", "passwd", "seance"], capture_output=True).returncode != 0
        assert not Path("/etc/seance").exists() and not Path("/opt/seance").exists()
        account = ns.run(["getent", "passwd", "seance"], check=True).stdout.strip().split(":")
        assert account[5:] == ["/var/lib/seance", "/usr/sbin/nologin"]
        assert stat(ns, "/etc/seance", "/etc/seance/seance.toml", "/etc/seance/turn-secret", "/var/lib/seance") == {
            "/etc/seance": "750 root:seance",
            "/etc/seance/seance.toml": "640 root:seance",
            "/etc/seance/turn-secret": "640 root:seance",
            "/var/lib/seance": "750 seance:seance",
        }
        assert stat(ns, "/var/lib/seance/accounts.sqlite3")["/var/lib/seance/accounts.sqlite3"] == "640 seance:seance"
        version = ns.run(["/opt/seance/current/bin/seance", "--version"], check=True).stdout
        assert version.startswith(f"seance {VERSION} (aiortc 1.16.0") and "Python 3.11.2" in version
        assert ns.run(["cat", "/etc/seance/turn-secret"]).stdout.strip() == "s3cr3t-partage"
        turn = ns.run(["cat", "/etc/turnserver.conf"], check=True).stdout
        assert "static-auth-secret=s3cr3t-partage" in turn and f"allowed-peer-ip={PUBLIC}" in turn

        # the units systemd would load
        units = [f"/etc/systemd/system/{name}" for name in UNITS]
        verify = ns.run(["systemd-analyze", "verify", *units])
        ours = [line for line in (verify.stdout + verify.stderr).splitlines() if any(n in line for n in UNITS)]
        assert verify.returncode == 0 and not ours, "\n".join(ours)
        ns.run(["nginx", "-t", "-q"], check=True)

        procs = serve(ns, logs, cert)
        assert login_status(ns, cert, password) == "303"
        assert login_status(ns, cert, "not-the-password") == "401"
        headers = ns.run(curl(ns, cert, "/healthz", "-D", "-", "-o", "/dev/null"), check=True).stdout
        assert headers.lower().count("strict-transport-security") == 1
        purge = unit(ns, "/etc/systemd/system/seance-recordings-purge.service")
        done = ns.run(as_unit(purge, purge["ExecStart"][0]), check=True)
        assert "aucun enregistrement" in done.stdout
        for proc in procs:
            ns.stop(proc)

        # what an upgrade must keep
        kept = {
            path: ns.run(["sha256sum", path], check=True).stdout.split()[0]
            for path in (
                "/etc/seance/seance.toml",
                "/etc/seance/turn-secret",
                "/var/lib/seance/csrf.key",
                "/var/lib/seance/keys/council-ed25519.pem",  # made by the workers' supervisor
                "/var/lib/seance/session.key",
            )
        }
        first_release = ns.run(["readlink", "/opt/seance/current"], check=True).stdout.strip()

        out = install(ns, "--wheels", str(wheelhouse), "--yes")  # the answers are remembered
        assert f"Séance mise à jour en {VERSION} pour « {COUNCIL} »" in out
        assert "Premier administrateur" not in out and "Sauvegarde avant mise à jour" in out
        backups = ns.run(["sh", "-c", "ls /var/backups/seance/*.tar"], check=True).stdout.split()
        assert len(backups) == 1
        for path, digest in kept.items():
            assert ns.run(["sha256sum", path], check=True).stdout.split()[0] == digest, path
        release = ns.run(["readlink", "/opt/seance/current"], check=True).stdout.strip()
        assert release != first_release and ns.run(["test", "-d", first_release]).returncode == 0
        assert f"Retour arrière : ln -sfn {first_release} /opt/seance/current" in out

        procs = serve(ns, logs, cert)
        assert login_status(ns, cert, password) == "303"  # the same account, on the new release
        for proc in procs:
            ns.stop(proc)
