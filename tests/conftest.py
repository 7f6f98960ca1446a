"""Shared test configuration.

Network isolation: the tests may only send traffic to loopback addresses, or to
addresses of our own that exist only inside a namespace the tests made. Chromium and
the SFU both gather a host candidate on every interface, so a browser test on a machine
with eth0 would otherwise run ICE between 127.0.0.1 and eth0's own address. When the
suite runs as root on Linux, the pytest process therefore moves, before any thread or
child process exists, into a network namespace of its own that holds only ``lo``:
everything the tests start (the app, Chromium, redis-server, Janus's own namespace,
synthetic salles) inherits it, and no address but loopback and one dummy interface of
the namespace's own (``seancelan0``, 10.213.250.1/24, a stand-in for a LAN card) exists.

Set ``SEANCE_TEST_NETNS=0`` to keep the host's network namespace (for example to debug
with tools outside it); without root the suite runs in the host namespace and says so.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading

import pytest

from tests.environment_skips import SkipPolicy

CLONE_NEWNET = 0x40000000
#: the dummy interface and address of the test namespace (see _isolate_network)
TEST_LAN_IF = "seancelan0"
TEST_LAN_ADDRESS = "10.213.250.1"


#: ``nsenter --net=…`` path of the host's network namespace, kept open across the move
#: (None when the suite stays in the host namespace). Only the benchmark smoke test uses
#: it: the benchmark confines its own traffic (loopback, and Janus in a namespace of its
#: own, which libnice cannot set up from inside a nested namespace).
HOST_NETNS: str | None = None


def _isolate_network() -> str:
    """Move this process into a fresh network namespace with only ``lo`` up.

    Returns a one-line status for the test report header."""
    global HOST_NETNS  # set once, at import, before any test runs
    if os.environ.get("SEANCE_TEST_NETNS", "1") == "0":
        return "host network namespace (SEANCE_TEST_NETNS=0)"
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "host network namespace (not root: tests still target loopback only)"
    if threading.active_count() != 1:
        return "host network namespace (threads already running; unshare(2) would move only one)"
    libc = ctypes.CDLL(None, use_errno=True)
    host_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        os.close(host_fd)
        return f"host network namespace (unshare failed: {os.strerror(err)})"
    HOST_NETNS = f"/proc/{os.getpid()}/fd/{host_fd}"
    os.environ["SEANCE_TEST_HOST_NETNS"] = HOST_NETNS
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # A LAN-like interface of our own, inside this namespace only: Chromium behaves as
    # in a real deployment only when a non-loopback interface exists (mDNS host
    # candidates, gathering without --allow-loopback-in-peer-connection). Its address
    # is reachable from nowhere but this namespace.
    # (A veth pair with both ends here: this kernel has no dummy interfaces.)
    for cmd in (
        ["ip", "link", "add", TEST_LAN_IF, "type", "veth", "peer", "name", TEST_LAN_IF + "p"],
        ["ip", "addr", "add", f"{TEST_LAN_ADDRESS}/24", "dev", TEST_LAN_IF],
        ["ip", "link", "set", TEST_LAN_IF + "p", "up"],
        ["ip", "link", "set", TEST_LAN_IF, "up"],
        # Chromium's mDNS responder (which hides host addresses) needs a multicast route,
        # and a page without camera permission gathers only on the default route's
        # interface. The namespace is hermetic: the veth's other end is in this same
        # namespace, which does not forward, so nothing sent this way goes anywhere.
        ["ip", "route", "add", "224.0.0.0/4", "dev", TEST_LAN_IF],
        ["ip", "route", "add", "default", "dev", TEST_LAN_IF],
    ):
        subprocess.run(cmd, check=True)
    return f"private network namespace: lo and {TEST_LAN_IF} ({TEST_LAN_ADDRESS}, this namespace only)"


# Runs at import, i.e. when pytest loads the rootdir conftest: before collection, before
# any test starts a thread or a process.
NETWORK_STATUS = _isolate_network()


def pytest_report_header(config) -> str:
    return f"network: {NETWORK_STATUS}"


def pytest_configure(config) -> None:
    config.pluginmanager.register(SkipPolicy(), "seance-skip-policy")


@pytest.fixture(autouse=True)
def _process_umask():
    """Each test starts with the umask the suite started with: ``seance`` commands called
    in-process set the process's umask to 0027 (web.cli, issue 12.11), which leaked into
    later tests' files and subprocesses (test_install's /opt overlay became 0750)."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)
