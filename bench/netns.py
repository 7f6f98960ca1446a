"""Network namespaces of our own, with a link that can be shaped: the benchmark's Janus
namespace and the network lab's salles (tests/networks).

Traffic of the benchmark and of the tests may only go to loopback or to addresses of our
own in a network namespace the run itself creates. A :class:`Netns` is a namespace with
``lo`` and one veth pair whose two ends carry a /30 of its :class:`Family`'s private
range (both addresses ours, chosen so that they overlap no address or route of the
namespace the run is in). IPv6 is disabled on both ends of the veth so the kernel sends
no router solicitations or MLD on it. Two families use it:

- :data:`BENCH`, ``seance-bench-<pid>`` in ``10.213.0.0/16``: Janus 1.1.2 (libnice) never
  gathers loopback candidates, so the benchmark runs it in such a namespace, which has no
  default route: a process inside reaches its own addresses and the root-side end of the
  veth, nothing else — in particular not eth0 or anything behind it;
- :data:`LAB`, ``nl-<pid>-<k>`` in ``10.221.0.0/17``: one namespace per salle of the
  network lab, whose default route is the root-side end of the veth (the salle's
  "box"); the run's own namespace (tests/conftest.py isolates the test process) holds
  the server and the other end of every salle's link.

**The link** (:meth:`Netns.shape`, :meth:`Netns.firewall`). This kernel has ``tbf`` but
not ``netem``. The bottleneck sits where an access link's is, on the root side (the
salle's box), not in the salle's own kernel:

- downlink: ``tbf`` on the root-side veth's egress;
- uplink: the root-side veth's ingress is redirected (``u32`` match-all, ``mirred``) to an
  ``ifb`` device whose egress has the ``tbf``;
- random loss: nftables ``numgen random`` **on input** — in the namespace for the
  downlink, in the root namespace for packets arriving from the veth for the uplink. A
  drop on output makes the sender's ``sendto()`` fail with ``EPERM``: Chromium sends
  again and the path loses nothing;
- a firewall that lets only some TCP ports out (a mairie network that only lets HTTPS
  out): the root side drops whatever arrives from the veth but TCP to those ports, the
  namespace drops whatever arrives that it did not ask for (conntrack).

Any of these can be changed during a run (:meth:`Netns.shape` replaces the previous
shape). :meth:`Netns.counters` reads the bytes, packets and drops of each direction.

**Always removed.** ``with Netns(...) as ns`` deletes the namespace, its veth pair, the
``ifb`` and the root-side nftables table on any exit. A namespace left by a run that
crashed (its owner PID gone) is removed at the next start of its family: only
namespaces with the family's prefix whose owner PID is gone (or is a newer process that
reused the PID), and of the processes still inside one, only the family's own
(:attr:`Family.ours`) are killed, by PID. Janus and the salles also get
``PR_SET_PDEATHSIG`` (``setpriv``), so a SIGKILLed run leaves no process behind, only the
namespace for the next start to remove.

Needs root, ``ip netns`` (iproute2), and for the link ``tc`` and ``nft``;
:func:`unavailable` says why not when not.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """Who owns a set of namespaces: their names, their veths, their addresses, and
    what a process found in a stale one may be for us to kill it."""

    prefix: str  #: namespace names: ``<prefix><pid>`` or ``<prefix><pid>-<index>``
    veth: str  #: interface names: ``<veth><pid>h``/``n``, or ``<veth><pid>x<index>h``/``n``/``u``
    range: ipaddress.IPv4Network  #: the private range the /30s are carved from
    ours: tuple[bytes, ...]  #: substrings of the command lines of our processes

    def name(self, pid: int, index: int | None = None) -> str:
        return f"{self.prefix}{pid}" if index is None else f"{self.prefix}{pid}-{index}"

    def interfaces(self, pid: int, index: int | None = None) -> tuple[str, str, str]:
        """(root side, namespace side, uplink ifb), at most 15 characters each."""
        stem = f"{self.veth}{pid}" if index is None else f"{self.veth}{pid}x{index}"
        return f"{stem}h", f"{stem}n", f"{stem}u"

    def owner(self, name: str) -> tuple[int, int | None] | None:
        """(pid, index) of one of our namespace names, None if it is not ours."""
        m = re.fullmatch(re.escape(self.prefix) + r"(\d+)(?:-(\d+))?", name)
        if m is None:
            return None
        return int(m.group(1)), (int(m.group(2)) if m.group(2) is not None else None)


BENCH = Family("seance-bench-", "sb", ipaddress.ip_network("10.213.0.0/16"), (b"janus", b"bench.synthetic_salle"))
LAB = Family("nl-", "nl", ipaddress.ip_network("10.221.0.0/17"), (b"chromium", b"turnserver"))

# the benchmark's names, as before the lab shared this module
PREFIX = BENCH.prefix
RANGE = BENCH.range
OURS = BENCH.ours


def _run(args: list[str], check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout)


def _ip(*args: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
    return _run(["ip", *args], check=check, timeout=timeout)


def unavailable(link: bool = False) -> str | None:
    """None when a namespace (with ``link``: and a shaped link) can be created here, else why not."""
    if os.geteuid() != 0:
        return "creating a network namespace needs root (ip netns add)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (Debian: apt-get install iproute2)"
    try:
        r = _ip("netns", "list", check=False, timeout=5)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`ip netns` is unavailable: {exc}"
    if r.returncode != 0:
        return f"`ip netns` is unavailable: {r.stderr.strip() or r.returncode}"
    if link:
        if shutil.which("tc") is None:
            return "iproute2's `tc` is not installed (Debian: apt-get install iproute2)"
        if shutil.which("nft") is None:
            return "nftables is not installed (Debian: apt-get install nftables)"
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
    """The run that created namespace ``name`` is still going: this very process (its
    other namespaces are in use; :meth:`Netns.create` replaces one of the same name), or
    process ``pid`` exists and is older than the namespace (a PID reused since is not)."""
    if pid == os.getpid():
        return True
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


def _kill_ours(name: str, pids: list[int], ours: tuple[bytes, ...], timeout: float = 5) -> list[int]:
    """SIGTERM, then SIGKILL, each PID in ``pids`` (only those we started); returns the
    PIDs of other programs found in the namespace (left alone)."""
    others = []
    mine = []
    for pid in pids:
        cmd = _cmdline(pid)
        (mine if any(tag in cmd for tag in ours) else others).append(pid)
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
    return BENCH.interfaces(pid)[:2]  # root side, namespace side (≤ 15 characters)


def _link_exists(ifname: str) -> bool:
    return _ip("link", "show", "dev", ifname, check=False).returncode == 0


def _remove(family: Family, name: str) -> None:
    """Delete one of our namespaces: its processes (ours), its veth pair and ifb, the
    root-side nftables table, the namespace."""
    others = _kill_ours(name, _pids_in(name), family.ours)
    if others:
        raise RuntimeError(f"network namespace {name} holds processes that are not ours: {others}")
    owner = family.owner(name)
    if owner is not None:
        host, _, ifb = family.interfaces(*owner)
        for dev in (host, ifb):  # deleting the root side destroys both ends of the veth
            if _link_exists(dev):
                _ip("link", "del", "dev", dev, check=False)
        if shutil.which("nft"):
            _run(["nft", "delete", "table", "inet", _table(host)], check=False)
    _ip("netns", "delete", name, check=False)


def cleanup_stale(family: Family = BENCH) -> list[str]:
    """Remove the family's namespaces whose run is gone; returns their names."""
    removed = []
    for name in _names():
        if not name.startswith(family.prefix):
            continue
        owner = family.owner(name)
        if owner is not None and _owner_alive(name, owner[0]):
            continue  # another run, still going
        _remove(family, name)
        removed.append(name)
    return removed


def _used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 address and route of the current namespace (all tables)."""
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


def _pick_subnet(pid: int, network: ipaddress.IPv4Network = RANGE) -> ipaddress.IPv4Network:
    subnets = list(network.subnets(new_prefix=30))
    used = _used_networks()
    for k in range(len(subnets)):
        net = subnets[(pid + k) % len(subnets)]
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError(f"no free /30 in {network} on this machine")


def _table(host_if: str) -> str:
    """The nftables table (family ``inet``) of one link, on either side."""
    return host_if.removesuffix("h")


@dataclass(frozen=True)
class Direction:
    """One direction of a link: a token bucket and random loss.

    ``kbit``: the bucket's rate (None: not shaped). ``queue_ms``: how long a packet may
    wait in the bucket's queue before it is dropped (tbf ``latency``: the bottleneck's
    buffer, as a DSL or 4G box has one). ``loss_pct``: packets dropped at random after the
    bottleneck (100: the direction is cut)."""

    kbit: int | None = None
    loss_pct: float = 0.0
    queue_ms: int = 200

    def __post_init__(self) -> None:
        if self.kbit is not None and self.kbit < 8:
            raise ValueError(f"kbit must be at least 8, got {self.kbit}")
        if not 0.0 <= self.loss_pct <= 100.0:
            raise ValueError(f"loss_pct must be within 0..100, got {self.loss_pct}")

    def tbf(self) -> list[str]:
        """``tc qdisc … tbf`` arguments. The burst is 20 ms at the rate and at least two
        full-size packets (a smaller bucket would drop any packet larger than itself)."""
        assert self.kbit is not None
        burst = max(3028, self.kbit * 1000 // 8 // 50)
        return ["tbf", "rate", f"{self.kbit}kbit", "burst", str(burst), "latency", f"{self.queue_ms}ms"]


UNSHAPED = Direction()


class Netns:
    """``<prefix><pid>[-<index>]``: lo and a veth pair, root side ``host_ip``, inside ``inner_ip``.

    ``with Netns(LAB, index=0, default_route=True) as ns: subprocess.run(ns.exec_prefix() + cmd)``
    runs ``cmd`` inside; the namespace, its veth pair and its link's settings are gone when
    the block exits."""

    def __init__(self, family: Family = BENCH, index: int | None = None, default_route: bool = False) -> None:
        self.family = family
        self.index = index
        self.default_route = default_route
        self.pid = os.getpid()
        self.name = family.name(self.pid, index)
        self.host_if, self.inner_if, self.ifb = family.interfaces(self.pid, index)
        self.subnet: ipaddress.IPv4Network | None = None
        self.created = False
        self.down = UNSHAPED
        self.up = UNSHAPED
        self.firewalled: tuple[int, ...] | None = None
        self.loss_pct = (0.0, 0.0)  # (down, up)

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

    def create(self) -> Netns:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        cleanup_stale(self.family)
        if self.name in _names():  # ours from a previous run in this very process
            _remove(self.family, self.name)
        self.subnet = _pick_subnet(self.pid, self.family.range)
        plen = self.subnet.prefixlen
        self.created = True  # from here on, delete() has something to remove
        try:
            _ip("netns", "add", self.name)
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.inner_if, "netns", self.name)
            _disable_ipv6(self.host_if)
            self._inside("sysctl", "-qw", f"net.ipv6.conf.{self.inner_if}.disable_ipv6=1", check=False)
            _ip("addr", "add", f"{self.host_ip}/{plen}", "dev", self.host_if)
            _ip("-n", self.name, "addr", "add", f"{self.inner_ip}/{plen}", "dev", self.inner_if)
            _ip("link", "set", "dev", self.host_if, "up")
            _ip("-n", self.name, "link", "set", "dev", "lo", "up")
            _ip("-n", self.name, "link", "set", "dev", self.inner_if, "up")
            if self.default_route:
                _ip("-n", self.name, "route", "add", "default", "via", self.host_ip)
        except subprocess.CalledProcessError as exc:
            self.delete()
            raise RuntimeError(f"could not set up {self.name}: {' '.join(exc.cmd)}: {exc.stderr.strip()}") from None
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        """Idempotent; kills what is still inside (ours), removes the veth pair, the ifb,
        the root-side table and the namespace."""
        if not self.created:
            return
        try:
            _remove(self.family, self.name)
        finally:
            self.created = self.name in _names()
            if self.created:
                raise RuntimeError(f"network namespace {self.name} could not be deleted")

    def __enter__(self) -> Netns:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()

    def pids(self) -> list[int]:
        """The processes inside."""
        return _pids_in(self.name)

    # --- the link -----------------------------------------------------------------------
    def _inside(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run([*self.exec_prefix(), *args], check=check)

    def shape(self, down: Direction = UNSHAPED, up: Direction = UNSHAPED) -> None:
        """Set both directions of the link (replacing what was set before)."""
        self._bucket(self.host_if, down.tbf() if down.kbit else None)
        if up.kbit:
            if not _link_exists(self.ifb):
                _ip("link", "add", self.ifb, "type", "ifb")
                _ip("link", "set", "dev", self.ifb, "up")
                _run(["tc", "qdisc", "add", "dev", self.host_if, "handle", "ffff:", "ingress"])
                _run(
                    # match-all (u32 0/0): every packet from the salle goes through the ifb's bucket
                    [
                        "tc",
                        "filter",
                        "add",
                        "dev",
                        self.host_if,
                        "parent",
                        "ffff:",
                        "protocol",
                        "all",
                        "u32",
                        "match",
                        "u32",
                        "0",
                        "0",
                        "action",
                        "mirred",
                        "egress",
                        "redirect",
                        "dev",
                        self.ifb,
                    ]
                )
            self._bucket(self.ifb, up.tbf())
        elif _link_exists(self.ifb):
            _run(["tc", "qdisc", "del", "dev", self.host_if, "handle", "ffff:", "ingress"], check=False)
            _ip("link", "del", "dev", self.ifb, check=False)
        self.down, self.up = down, up
        self.loss_pct = (down.loss_pct, up.loss_pct)
        self._rules()

    def firewall(self, tcp_ports: tuple[int, ...] | None) -> None:
        """Let only TCP to ``tcp_ports`` out of the salle (None: no firewall): no UDP, no
        other TCP port; nothing comes in that the salle did not ask for."""
        self.firewalled = tcp_ports
        self._rules()

    def _bucket(self, dev: str, tbf: list[str] | None) -> None:
        if tbf is None:
            _run(["tc", "qdisc", "del", "dev", dev, "root"], check=False)
        else:
            _run(["tc", "qdisc", "replace", "dev", dev, "root", *tbf])

    def _rules(self) -> None:
        """Rewrite both sides' nftables tables from the link's state (one ruleset each,
        applied atomically by ``nft -f``)."""
        down_pct, up_pct = self.loss_pct
        table = _table(self.host_if)
        root: list[str] = []
        inner: list[str] = []
        if self.firewalled is not None:
            ports = ", ".join(str(p) for p in self.firewalled) or "0"
            root += [f'iifname "{self.host_if}" tcp dport {{ {ports} }} accept', f'iifname "{self.host_if}" drop']
            inner += ["ct state established,related accept", f'iifname "{self.inner_if}" drop']
        if up_pct:
            root.insert(0, _loss_rule(self.host_if, up_pct))
        if down_pct:
            inner.insert(0, _loss_rule(self.inner_if, down_pct))
        _nft(table, root, [])
        _nft(table, inner, self.exec_prefix())

    def counters(self) -> dict:
        """Bytes and packets each way on the wire, and the bottlenecks' drops:
        ``{"down": {"bytes", "packets", "dropped"}, "up": {...}}`` (down: to the salle)."""

        def stats(dev: str) -> dict:
            return json.loads(_ip("-s", "-j", "link", "show", "dev", dev).stdout)[0]["stats64"]

        host = stats(self.host_if)
        # what left the uplink's bucket (the root side's rx counts packets before it)
        up = stats(self.ifb)["tx"] if _link_exists(self.ifb) else host["rx"]
        out = {
            "down": {"bytes": host["tx"]["bytes"], "packets": host["tx"]["packets"], "dropped": 0},
            "up": {"bytes": up["bytes"], "packets": up["packets"], "dropped": 0},
        }
        for direction, dev in (("down", self.host_if), ("up", self.ifb)):
            if not _link_exists(dev):
                continue
            for q in json.loads(_run(["tc", "-s", "-j", "qdisc", "show", "dev", dev]).stdout or "[]"):
                if q.get("kind") == "tbf":
                    out[direction]["dropped"] += q.get("drops", 0)
        return out


def _loss_rule(ifname: str, pct: float) -> str:
    """Drop ``pct`` % of what arrives from ``ifname``, at random (in 1/10,000ths)."""
    if pct >= 100.0:
        return f'iifname "{ifname}" drop'
    return f'iifname "{ifname}" numgen random mod 10000 < {round(pct * 100)} drop'


def _nft(table: str, rules: list[str], prefix: list[str]) -> None:
    """Replace ``inet <table>`` (an input chain with ``rules``) in the namespace ``prefix``
    runs in; no rules: the table is removed."""
    _run([*prefix, "nft", "delete", "table", "inet", table], check=False)
    if not rules:
        return
    body = "\n".join(f"    {r}" for r in rules)
    script = f"table inet {table} {{\n  chain input {{\n    type filter hook input priority -10; policy accept;\n{body}\n  }}\n}}\n"
    r = subprocess.run([*prefix, "nft", "-f", "-"], input=script, capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise RuntimeError(f"nft refused the link's rules: {r.stderr.strip()}\n{script}")


class BenchNetns(Netns):
    """The benchmark's ``seance-bench-<pid>`` (no default route: Janus reaches nothing else)."""

    def __init__(self) -> None:
        super().__init__(BENCH)


def _disable_ipv6(ifname: str) -> None:
    path = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
    try:
        with open(path, "w") as f:
            f.write("1")
    except OSError:
        pass  # no IPv6 on this kernel: nothing to silence
