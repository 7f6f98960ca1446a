"""The lab's link does what it claims, measured with plain sockets (no browser, no
server): a shaped direction caps a flood at its rate, random loss drops its share, a cut
drops everything, the HTTPS-only firewall lets TCP 443 out and nothing else.

Each check floods one direction of one salle's link for a few seconds from a process on
one side to a socket on the other, and counts what arrives. The bounds follow from the
bucket and from the binomial law, not from the machine's speed (see each test)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from bench.netns import Direction, Netns
from tests.networks.netlab.lab import Lab, LinkSpec, lab_unavailable

SECONDS = 3.0
PORT = 45000


@pytest.fixture
def link():
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    with Lab() as lab:
        yield lab, lab.add("vaux")


def receive(bind: str, out: dict, stop: threading.Event) -> threading.Thread:
    """Count the datagrams and bytes arriving on ``bind``:PORT until ``stop`` (a thread)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, PORT))
    sock.settimeout(0.2)

    def loop():
        out.update(packets=0, bytes=0, first=None, last=None)
        while not stop.is_set():
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            now = time.monotonic()
            out["first"] = out["first"] or now
            out["last"] = now
            out["packets"] += 1
            out["bytes"] += len(data)
        sock.close()

    thread = threading.Thread(target=loop)
    thread.start()
    return thread


SENDER = """
import socket, sys, time
dst, port, rate_bps, seconds, size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
interval, sent, start = size * 8 / rate_bps, 0, time.monotonic()
while time.monotonic() - start < seconds:
    s.sendto(b"x" * size, (dst, port)); sent += 1
    time.sleep(max(0.0, start + sent * interval - time.monotonic()))
print(sent)
"""

RECEIVER = """
import json, select, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2])))
n, b, first, last = 0, 0, None, None
print("ready", flush=True)
while True:  # until the harness closes our stdin
    ready, _, _ = select.select([s, sys.stdin], [], [], 0.2)
    if sys.stdin in ready and not sys.stdin.read(1):
        break
    if s in ready:
        data = s.recv(4096); now = time.monotonic(); first = first or now; last = now; n += 1; b += len(data)
print(json.dumps({"packets": n, "bytes": b, "first": first, "last": last}))
"""
#: after the sender is done, what is still queued in the bucket (200 ms) and in flight
DRAIN_S = 0.6


def send(prefix: list[str], dst: str, rate_bps: float, seconds: float = SECONDS, size: int = 1000) -> int:
    r = subprocess.run(
        [*prefix, sys.executable, "-c", SENDER, dst, str(PORT), str(rate_bps), str(seconds), str(size)],
        capture_output=True,
        text=True,
        timeout=seconds + 20,
        check=True,
    )
    return int(r.stdout)


def uplink(ns: Netns, rate_bps: float, size: int = 1000, seconds: float = SECONDS) -> tuple[int, dict]:
    """Flood from inside the salle to the root side; (sent, received)."""
    got: dict = {}
    stop = threading.Event()
    thread = receive(ns.host_ip, got, stop)
    try:
        sent = send(ns.exec_prefix(), ns.host_ip, rate_bps, seconds, size)
        time.sleep(DRAIN_S)
    finally:
        stop.set()
        thread.join()
    return sent, got


def downlink(ns: Netns, rate_bps: float, size: int = 1000, seconds: float = SECONDS) -> tuple[int, dict]:
    """Flood from the root side into the salle; (sent, received)."""
    receiver = subprocess.Popen(
        [*ns.exec_prefix(), sys.executable, "-c", RECEIVER, ns.inner_ip, str(PORT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout.readline().strip() == "ready"
        sent = send([], ns.inner_ip, rate_bps, seconds, size)
        time.sleep(DRAIN_S)
        out, _ = receiver.communicate(input="", timeout=30)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    return sent, json.loads(out)


def rate_kbps(got: dict) -> float:
    # bytes after the first datagram, over the time from the first to the last
    return (got["bytes"] - 1000) * 8 / (got["last"] - got["first"]) / 1000


def test_a_shaped_direction_caps_a_flood_at_its_rate(link):
    """2 Mbit/s offered to a 600 kbit/s downlink and to a 300 kbit/s uplink. What
    arrives flows at the bucket's rate: at most the rate plus its burst (3 KB: 8 kbit/s
    over 3 s) and the 2.8 % of UDP/IP/Ethernet headers the bucket counts and the
    payload does not; at least 80 % of it (the queue keeps the bucket busy the whole
    time; a sender stalled by a loaded machine would show here, not in the product)."""
    lab, ns = link
    lab.set("vaux", LinkSpec.kbit(600, 300))
    sent, got = downlink(ns, 2_000_000)
    assert got["packets"] < sent, "the downlink's bucket must drop a flood three times its rate"
    assert 0.8 * 600 <= rate_kbps(got) <= 600 + 8, got
    sent, got = uplink(ns, 2_000_000)
    assert got["packets"] < sent
    assert 0.8 * 300 <= rate_kbps(got) <= 300 + 8, got
    counters = ns.counters()
    assert counters["down"]["dropped"] > 0 and counters["up"]["dropped"] > 0, counters


def test_random_loss_drops_its_share_and_a_cut_drops_everything(link):
    """25 % loss each way on an unshaped link, ~1,500 datagrams each way (well under what
    the veth carries): the share received is binomial, mean 0.75, standard deviation
    sqrt(0.75 x 0.25 / n) (1.1 % for 1,500): it must be within five deviations (a
    loaded machine may send fewer datagrams; the bound follows the count). 100 % drops
    every datagram."""
    lab, ns = link
    lab.set("vaux", LinkSpec.kbit(None, None, loss_pct=25))
    for flow in (downlink, uplink):
        sent, got = flow(ns, 800_000, size=100, seconds=1.5)
        assert sent >= 300, f"too few datagrams sent for the statistics: {sent}"
        tolerance = 5 * (0.75 * 0.25 / sent) ** 0.5
        assert abs(got["packets"] / sent - 0.75) < tolerance, (flow.__name__, sent, got, tolerance)
    lab.set("vaux", LinkSpec.kbit(None, None, loss_pct=100))
    for flow in (downlink, uplink):
        sent, got = flow(ns, 200_000, size=100, seconds=1.0)
        assert sent > 0 and got["packets"] == 0, (flow.__name__, sent, got)
    lab.set("vaux", LinkSpec(Direction(), Direction()))
    sent, got = uplink(ns, 200_000, size=100, seconds=1.0)
    assert got["packets"] == sent, "restored: nothing lost"


def test_the_https_only_firewall_lets_tcp_443_out_and_nothing_else(link):
    lab, ns = link
    lab.set("vaux", LinkSpec(tcp_only=(443,)))
    listeners = []
    for port in (443, 8443):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((ns.host_ip, port))
        srv.listen()
        listeners.append(srv)
    try:
        probe = """
import socket, sys
for port in (443, 8443):
    try:
        socket.create_connection((sys.argv[1], port), timeout=2).close(); print(port, "open")
    except OSError as exc:
        print(port, type(exc).__name__)
"""
        out = subprocess.run(
            [*ns.exec_prefix(), sys.executable, "-c", probe, ns.host_ip], capture_output=True, text=True, timeout=20
        ).stdout
        assert "443 open" in out and "8443 open" not in out, out
    finally:
        for srv in listeners:
            srv.close()
    sent, got = uplink(ns, 100_000, size=100, seconds=1.0)
    assert sent > 0 and got["packets"] == 0, "UDP out of the salle is dropped"
    sent, got = downlink(ns, 100_000, size=100, seconds=1.0)
    assert sent > 0 and got["packets"] == 0, "UDP the salle did not ask for is dropped"
