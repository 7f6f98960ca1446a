"""A network namespace of the benchmark's own, for targets that refuse loopback (Janus).

Benchmark traffic may only go to loopback or to addresses of our own test hosts in a
network namespace the run itself creates. Janus 1.1.2 (libnice) never gathers loopback
candidates, so it runs in :class:`BenchNetns`: a namespace ``seance-bench-<pid>`` with
``lo`` and one veth pair whose two ends carry a /30 of ``10.213.0.0/16`` (both addresses
ours, chosen so that they overlap no address or route of the machine). The namespace has
no default route: a process inside can reach its own addresses and the root-side end of
the veth, nothing else — in particular not eth0 or anything behind it. IPv6 is disabled
on both ends of the veth so the kernel sends no router solicitations or MLD on it.

The namespace is always deleted (``with BenchNetns() as ns``, also on error, timeout or
cancellation); a namespace left by a run that crashed (its owner PID gone) is removed at
the next start: only namespaces with our prefix whose owner PID is gone (or is a newer
process that reused the PID), and of the processes still inside one, only ours
(``janus`` or a synthetic salle) are killed, by PID. Janus and the salles also get
``PR_SET_PDEATHSIG`` (``setpriv``), so a SIGKILLed run leaves no process behind, only
the namespace for the next start to remove.

Needs root and ``ip netns`` (iproute2); :func:`unavailable` says why not when not.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time

PREFIX = "seance-bench-"
#: the private range the /30s are carved from (16,384 of them)
RANGE = ipaddress.ip_network("10.213.0.0/16")
#: what a process left in a stale namespace may be for us to kill it
OURS = (b"janus", b"bench.synthetic_salle")


def _ip(*args: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=timeout)


def unavailable() -> str | None:
    """None when a namespace can be created here, else why not."""
    if os.geteuid() != 0:
        return "creating the benchmark's network namespace needs root (ip netns add)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (Debian: apt-get install iproute2)"
    try:
        r = _ip("netns", "list", check=False, timeout=5)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`ip netns` is unavailable: {exc}"
    if r.returncode != 0:
        return f"`ip netns` is unavailable: {r.stderr.strip() or r.returncode}"
    return None


def _names() -> list[str]:
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rpartition(")")[2].split()[19])  # field 22: starttime
        with open("/proc/stat") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def _owner_alive(name: str, pid: int) -> bool:
    """The run that created ``seance-bench-<pid>`` is still going (another benchmark):
    process ``pid`` exists and is older than the namespace (a PID reused since is not)."""
    if pid == os.getpid():
        return False
    started = _started_at(pid)
    if started is None:
        return False
    try:
        created = os.stat(f"/run/netns/{name}").st_mtime
    except OSError:
        return True  # cannot tell: leave it alone
    return started <= created + 1.0


def _pids_in(name: str) -> list[int]:
    r = _ip("netns", "pids", name, check=False)
    return [int(x) for x in r.stdout.split() if x.isdigit()]


def _kill_ours(name: str, pids: list[int], timeout: float = 5) -> list[int]:
    """SIGTERM, then SIGKILL, each PID in ``pids`` (only those we started); returns the
    PIDs of other programs found in the namespace (left alone)."""
    others = []
    mine = []
    for pid in pids:
        cmd = _cmdline(pid)
        (mine if any(tag in cmd for tag in OURS) else others).append(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and set(_pids_in(name)) & set(mine):
            time.sleep(0.05)
        mine = [p for p in mine if p in _pids_in(name)]
        if not mine:
            break
    return others


def _veth_names(pid: int) -> tuple[str, str]:
    return f"sb{pid}h", f"sb{pid}n"  # root side, namespace side (≤ 15 characters)


def _remove(name: str) -> None:
    """Delete one of our namespaces: its processes (ours), its veth pair, the namespace."""
    others = _kill_ours(name, _pids_in(name))
    if others:
        raise RuntimeError(f"network namespace {name} holds processes that are not ours: {others}")
    host = _veth_names(int(name[len(PREFIX) :]))[0] if name[len(PREFIX) :].isdigit() else None
    if host and _ip("link", "show", "dev", host, check=False).returncode == 0:
        _ip("link", "del", "dev", host, check=False)  # destroys both ends at once
    _ip("netns", "delete", name, check=False)


def cleanup_stale() -> list[str]:
    """Remove namespaces ``seance-bench-<pid>`` whose run is gone; returns their names."""
    removed = []
    for name in _names():
        if not name.startswith(PREFIX):
            continue
        tail = name[len(PREFIX) :]
        if tail.isdigit() and _owner_alive(name, int(tail)):
            continue  # another benchmark run, still going
        _remove(name)
        removed.append(name)
    return removed


def _used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 address and route of the root namespace (all tables)."""
    nets = []
    for args in (("-j", "-4", "addr", "show"), ("-j", "-4", "route", "show", "table", "all")):
        try:
            data = json.loads(_ip(*args, check=False).stdout or "[]")
        except ValueError:
            data = []
        for item in data:
            for a in item.get("addr_info", []) or []:
                nets.append(ipaddress.ip_network(f"{a['local']}/{a.get('prefixlen', 32)}", strict=False))
            dst = item.get("dst")
            if dst and dst != "default":
                try:
                    nets.append(ipaddress.ip_network(dst if "/" in dst else f"{dst}/32", strict=False))
                except ValueError:
                    pass
    return nets


def _pick_subnet(pid: int) -> ipaddress.IPv4Network:
    subnets = list(RANGE.subnets(new_prefix=30))
    used = _used_networks()
    for k in range(len(subnets)):
        net = subnets[(pid + k) % len(subnets)]
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError(f"no free /30 in {RANGE} on this machine")


class BenchNetns:
    """``seance-bench-<pid>``: lo and a veth pair, root side ``host_ip``, inside ``inner_ip``.

    ``with BenchNetns() as ns: subprocess.run(ns.exec_prefix() + cmd)`` runs ``cmd``
    inside; the namespace and its veth pair are gone when the block exits."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.name = f"{PREFIX}{self.pid}"
        self.host_if, self.inner_if = _veth_names(self.pid)
        self.subnet: ipaddress.IPv4Network | None = None
        self.created = False

    @property
    def host_ip(self) -> str:
        assert self.subnet is not None
        return str(self.subnet.network_address + 1)

    @property
    def inner_ip(self) -> str:
        assert self.subnet is not None
        return str(self.subnet.network_address + 2)

    def exec_prefix(self) -> list[str]:
        """Run a command inside (``ip netns exec`` execs it: the PID stays the command's)."""
        return ["ip", "netns", "exec", self.name]

    def create(self) -> BenchNetns:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        cleanup_stale()
        if self.name in _names():  # ours from a previous run in this very process
            _remove(self.name)
        self.subnet = _pick_subnet(self.pid)
        plen = self.subnet.prefixlen
        self.created = True  # from here on, delete() has something to remove
        try:
            _ip("netns", "add", self.name)
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.inner_if, "netns", self.name)
            _disable_ipv6(self.host_if)
            subprocess.run(
                [*self.exec_prefix(), "sysctl", "-qw", f"net.ipv6.conf.{self.inner_if}.disable_ipv6=1"],
                capture_output=True,
                check=False,
                timeout=10,
            )
            _ip("addr", "add", f"{self.host_ip}/{plen}", "dev", self.host_if)
            _ip("-n", self.name, "addr", "add", f"{self.inner_ip}/{plen}", "dev", self.inner_if)
            _ip("link", "set", "dev", self.host_if, "up")
            _ip("-n", self.name, "link", "set", "dev", "lo", "up")
            _ip("-n", self.name, "link", "set", "dev", self.inner_if, "up")
        except subprocess.CalledProcessError as exc:
            self.delete()
            raise RuntimeError(f"could not set up {self.name}: {' '.join(exc.cmd)}: {exc.stderr.strip()}") from None
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        """Idempotent; kills what is still inside (ours), removes the veth pair and the namespace."""
        if not self.created:
            return
        try:
            _remove(self.name)
        finally:
            self.created = self.name in _names()
            if self.created:
                raise RuntimeError(f"network namespace {self.name} could not be deleted")

    def __enter__(self) -> BenchNetns:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()


def _disable_ipv6(ifname: str) -> None:
    path = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
    try:
        with open(path, "w") as f:
            f.write("1")
    except OSError:
        pass  # no IPv6 on this kernel: nothing to silence
