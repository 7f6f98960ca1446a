"""The network lab's topology: the run's own namespace plays the Internet, each salle
(and each public viewer) sits behind a link of its own.

```
   nl-<pid>-0 (salle vaux)          the run's namespace ("the Internet")
   Chromium ── 10.221.a.2 ═══veth═══ 10.221.a.1   lo: 10.221.255.1  seance serve (HTTPS 443, ICE)
                           tbf down ◄─┤              10.221.255.2  coturn (TLS 443)
                           tbf up (ifb)
   nl-<pid>-1 (salle belcourt) ═══ … (unshaped)
```

The run must already be in a network namespace of its own (tests/conftest.py moves the
test process into one; ``tests/networks/baseline.py`` re-executes itself under
``unshare --net``): :class:`Lab` refuses the host's namespace, so the server's
addresses and every rule it adds live and die with the run. Each salle's namespace
(:class:`bench.netns.Netns` of the :data:`bench.netns.LAB` family, ``10.221.0.0/17``)
routes everything through its veth; the server and the TURN server have addresses of
their own on the run's ``lo`` (``10.221.255.0/24``), so that every byte between a salle
and them crosses that salle's link, whichever of the run's addresses it goes to.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
from dataclasses import dataclass, field

from bench.netns import LAB, UNSHAPED, Direction, Netns, unavailable

#: the lab's own addresses on the run's ``lo`` (outside :data:`bench.netns.LAB`'s /17)
SERVER_IP = "10.221.255.1"
TURN_IP = "10.221.255.2"
ADDRESSES = ipaddress.ip_network("10.221.255.0/24")


@dataclass(frozen=True)
class LinkSpec:
    """What a salle's access link does: each direction (:class:`bench.netns.Direction`),
    and optionally a firewall that lets only TCP to ``tcp_only`` out."""

    down: Direction = UNSHAPED
    up: Direction = UNSHAPED
    tcp_only: tuple[int, ...] | None = None

    @classmethod
    def kbit(cls, down: int | None, up: int | None, loss_pct: float = 0.0, queue_ms: int = 200) -> LinkSpec:
        """``down``/``up`` kbit/s (None: not shaped), the same random loss each way."""
        return cls(Direction(down, loss_pct, queue_ms), Direction(up, loss_pct, queue_ms))

    def describe(self) -> str:
        def one(d: Direction) -> str:
            rate = f"{d.kbit} kbit/s" if d.kbit else "unshaped"
            return rate + (f", {d.loss_pct:g} % loss" if d.loss_pct else "")

        text = f"down {one(self.down)}; up {one(self.up)}"
        if self.tcp_only is not None:
            text += f"; only TCP to port {', '.join(map(str, self.tcp_only))} out"
        return text


UNLIMITED = LinkSpec()


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0  # gone meanwhile
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_host_namespace() -> bool:
    """True when this process shares PID 1's network namespace (the machine's own)."""
    try:
        return os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino
    except OSError:
        return False


def lab_unavailable() -> str | None:
    """None when the lab can run here, else why not (for the tests' skip reason)."""
    reason = unavailable(link=True)
    if reason:
        return reason
    if in_host_namespace():
        return "the network lab runs in a network namespace of its own (tests/conftest.py, or unshare --net)"
    return None


@dataclass
class Lab:
    """The lab of one run: ``with Lab() as lab: ns = lab.add("vaux", spec)``.

    Leaving the block deletes every salle's namespace and link (also on error) and the
    lab's addresses."""

    links: dict[str, Netns] = field(default_factory=dict)
    specs: dict[str, LinkSpec] = field(default_factory=dict)
    _addresses: list[str] = field(default_factory=list)

    def __enter__(self) -> Lab:
        reason = lab_unavailable()
        if reason:
            raise RuntimeError(reason)
        for address in (SERVER_IP, TURN_IP):
            subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True, capture_output=True)
            self._addresses.append(address)
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, name: str, spec: LinkSpec = UNLIMITED) -> Netns:
        """A namespace for ``name`` (a salle or a viewer) behind a link set to ``spec``."""
        ns = Netns(LAB, index=len(self.links), default_route=True)
        self.links[name] = ns
        ns.create()
        self.set(name, spec)
        return ns

    def set(self, name: str, spec: LinkSpec) -> None:
        """Change ``name``'s link now (degrade, restore)."""
        ns = self.links[name]
        ns.shape(spec.down, spec.up)
        ns.firewall(spec.tcp_only)
        self.specs[name] = spec

    def counters(self) -> dict[str, dict]:
        return {name: ns.counters() for name, ns in self.links.items()}

    def cpu(self) -> dict:
        """CPU snapshot: the machine's busy and total jiffies, each namespace's processes'
        CPU seconds (for :func:`netlab.figures.machine_figures`)."""
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return {
            "t": time.monotonic(),
            "cpu": (sum(fields) - idle, sum(fields)),
            "pages": {name: sum(_cpu_seconds(pid) for pid in ns.pids()) for name, ns in self.links.items()},
        }

    def close(self) -> None:
        errors = []
        for ns in self.links.values():
            try:
                ns.delete()
            except Exception as exc:  # delete the others anyway
                errors.append(exc)
        self.links.clear()
        for address in self._addresses:
            subprocess.run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], capture_output=True)
        self._addresses.clear()
        if errors:
            raise errors[0]
