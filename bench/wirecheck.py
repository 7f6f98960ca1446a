"""Where did a benchmark run send packets? A small capture for checking it (root).

``python -m bench.wirecheck [--iface eth0 …] -- python -m bench --janus-only …`` captures
every frame on every interface of the root network namespace (one ``AF_PACKET``
socket, like ``tcpdump -i any``) while the command runs, then prints, per interface,
the IP packets by address class: loopback (127.0.0.0/8, ::1), ours (the benchmark's
namespaces, :data:`bench.netns.RANGE`) and other (anything else: eth0's address, any
other range). It exits 1 when a packet with an *other* address was seen on the
interfaces given with ``--strict`` (default: ``lo`` and our veths), or any packet of
ours on an interface that is not ours (eth0), so it can gate a run.

Why ``lo`` matters as much as eth0: a packet to the machine's own eth0 address never
reaches eth0 — the kernel delivers it through ``lo`` — so "nothing on eth0" alone would
not catch benchmark traffic aimed at eth0's address. Traffic between processes inside
the benchmark's namespace stays on that namespace's own ``lo`` and is not seen here
(it cannot leave the namespace: no route beyond its /30).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter

from bench.netns import RANGE

ETH_P_ALL = 0x0003
LOOP = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def classify(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if any(addr in n for n in LOOP if n.version == addr.version):
        return "loopback"
    if addr.version == 4 and addr in RANGE:
        return "ours"
    return "other"


def parse(frame: bytes) -> tuple[str, str, str, int, int] | None:
    """(src, dst, proto, sport, dport) of an Ethernet (or loopback) frame carrying IP."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    off = 14
    if etype == 0x8100 and len(frame) >= 18:
        etype, off = struct.unpack("!H", frame[16:18])[0], 18
    ip = frame[off:]
    if etype == 0x0800 and len(ip) >= 20:
        proto = {6: "tcp", 17: "udp", 1: "icmp"}.get(ip[9], str(ip[9]))
        l4 = ip[(ip[0] & 0x0F) * 4 :]
        sport, dport = struct.unpack("!HH", l4[:4]) if proto in ("tcp", "udp") and len(l4) >= 4 else (0, 0)
        if proto == "icmp" and len(l4) >= 8 + 20 + 4 and l4[0] in (3, 11):  # an error: about which flow?
            inner = l4[8:]
            iproto = {6: "tcp", 17: "udp"}.get(inner[9])
            if iproto:
                ports = inner[(inner[0] & 0x0F) * 4 :][:4]
                if len(ports) == 4:
                    proto = f"icmp/{iproto}"
                    sport, dport = struct.unpack("!HH", ports)
        return str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20])), proto, sport, dport
    if etype == 0x86DD and len(ip) >= 40:
        proto = {6: "tcp", 17: "udp", 58: "icmp6"}.get(ip[6], str(ip[6]))
        sport, dport = struct.unpack("!HH", ip[40:44]) if proto in ("tcp", "udp") and len(ip) >= 44 else (0, 0)
        return str(ipaddress.IPv6Address(ip[8:24])), str(ipaddress.IPv6Address(ip[24:40])), proto, sport, dport
    return None


def qname(frame: bytes) -> str:
    """The name a DNS query over IPv4/UDP asks for ('?' when unreadable)."""
    try:
        ip = frame[14:]
        msg = ip[(ip[0] & 0x0F) * 4 + 8 :]
        labels, i = [], 12
        while msg[i]:
            labels.append(msg[i + 1 : i + 1 + msg[i]].decode("ascii", "replace"))
            i += 1 + msg[i]
        return ".".join(labels)
    except (IndexError, ValueError):
        return "?"


class Capture:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.settimeout(0.2)
        self.frames: Counter = Counter()  # iface -> frames (IP or not)
        self.classes: Counter = Counter()  # (iface, class) -> IP packets
        self.flows: Counter = Counter()  # (iface, src, dst, proto) -> packets, for "other" and "ours"
        self.dns: Counter = Counter()  # names asked to a DNS server (whose traffic is it?)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                break
            iface = addr[0]  # (ifname, proto, pkttype, hatype, hwaddr)
            if addr[2] == socket.PACKET_OUTGOING and iface == "lo":
                continue  # lo shows each packet twice: count the delivery only
            self.frames[iface] += 1
            p = parse(frame)
            if p is None:
                continue
            src, dst, proto, sport, dport = p
            cls = max((classify(ipaddress.ip_address(a)) for a in (src, dst)), key=("loopback", "ours", "other").index)
            self.classes[(iface, cls)] += 1
            if cls != "loopback":
                self.flows[(iface, src, dst, proto, sport, dport)] += 1
                if proto == "udp" and dport == 53:
                    self.dns[qname(frame)] += 1

    def start(self) -> Capture:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


class Owners:
    """Which process holds which local UDP/TCP port, sampled with ``ss`` during the run,
    so a flagged flow can be told apart from another program's traffic (a browser test
    of someone else on the same machine, say)."""

    def __init__(self) -> None:
        self.by_port: dict[tuple[str, int], set[tuple[str, int]]] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        out = subprocess.run(["ss", "-Htuanp"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            cols = line.split()
            if len(cols) < 7:
                continue
            proto, local = cols[0], cols[4]
            _host, _, port = local.rpartition(":")
            for name, pid in re.findall(r'\("([^"]*)",pid=(\d+)', line):
                self.by_port.setdefault((proto, int(port)), set()).add((name, int(pid)))

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def start(self) -> Owners:
        if shutil.which("ss"):
            self.sample()
            self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(5)

    def of(self, proto: str, *ports: int) -> set[tuple[str, int]]:
        proto = proto.rpartition("/")[2]  # an ICMP error is about the flow it quotes
        return set().union(*(self.by_port.get((proto, p), set()) for p in ports))


def descendants(pid: int) -> set[int]:
    from bench.measure import process_tree

    return set(process_tree(pid, limit=4096))


def link_packets(iface: str) -> tuple[int, int]:
    """(rx, tx) packet counters of ``iface`` from /sys (what ``ip -s link`` shows)."""
    base = f"/sys/class/net/{iface}/statistics"
    try:
        with open(f"{base}/rx_packets") as r, open(f"{base}/tx_packets") as t:
            return int(r.read()), int(t.read())
    except OSError:
        return (0, 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.wirecheck")
    ap.add_argument("--iface", action="append", default=None, help="an external interface (default eth0)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    externals = args.iface or ["eth0"]
    before = {i: link_packets(i) for i in externals}
    cap = Capture().start()
    owners = Owners().start()
    ours: set[int] = set()
    try:
        if cmd:
            proc = subprocess.Popen(cmd)
            while proc.poll() is None:  # the run's processes, to attribute the flows
                ours |= descendants(proc.pid)
                time.sleep(0.2)
            rc = proc.returncode
        else:
            rc = 0
    finally:
        owners.stop()
        cap.stop()
    after = {i: link_packets(i) for i in externals}
    bad = 0
    print("wirecheck: frames per interface (root namespace):", dict(cap.frames))
    for (iface, cls), n in sorted(cap.classes.items()):
        print(f"  {iface:>14} {cls:>8}: {n} IP packets")
    for i in externals:
        (r0, t0), (r1, t1) = before[i], after[i]
        print(f"  {i} counters: rx +{r1 - r0}, tx +{t1 - t0} (all traffic of the machine, not only ours)")
    others = 0
    shown: Counter = Counter()  # lines printed per group, bounded
    for (iface, src, dst, proto, sport, dport), n in cap.flows.most_common():
        ours_here = iface.startswith("sb")  # our veths: sb<pid>h
        kinds = {classify(ipaddress.ip_address(a)) for a in (src, dst)}
        wrong = ("other" in kinds and (iface == "lo" or ours_here)) or ("ours" in kinds and not ours_here)
        who = owners.of(proto, sport, dport)
        label = ""
        if wrong:
            if who and not any(pid in ours for _, pid in who):
                label, wrong = "not the run's: ", False
                others += n
            else:
                label = "FORBIDDEN "
                bad += n
        group = label or iface
        shown[group] += 1
        if wrong or shown[group] <= (10 if label else 30):
            owner = ", ".join(f"{name} {pid}" for name, pid in sorted(who)) or "?"
            print(f"  {label}{iface}: {src}:{sport} -> {dst}:{dport} {proto}: {n} ({owner})")
    if cap.dns:
        print("  DNS queries seen (names):", dict(cap.dns.most_common(10)))
    if others:
        print(f"wirecheck: {others} packet(s) flagged but held by processes outside the run (not counted)")
    print(f"wirecheck: {bad} packet(s) of the run to or from an address that is not ours or loopback")
    return 1 if bad else rc


if __name__ == "__main__":
    sys.exit(main())
