"""The only reasons a test may be skipped without failing the run.

A skipped test is a test that did not run: ``make test`` treats it as a failure unless
its reason starts with one of the prefixes below, each a property of the machine that
``make system-deps`` cannot change (privileges, the kernel, the init system). A missing
Debian package is *not* on the list: ``make test`` installs them, so a test skipped for a
missing tool means the run did not test what it claims to.

``tests/conftest.py`` checks every skip against this list at the end of the session and
fails the run with the unlisted reasons.
"""

from __future__ import annotations

import pytest

#: reason prefix -> why skipping is acceptable there
ENVIRONMENT_SKIPS: dict[str, str] = {
    "creating a network namespace needs root": "namespaces and tc need CAP_NET_ADMIN; CI runs as root",
    "needs root (own network namespace)": "nftables drops on lo need the suite's own namespace, made as root",
    "mounting a tmpfs needs root": "the full-disk fault needs a tmpfs of a fixed size, mounted as root",
    "the network lab runs in a network namespace of its own": "SEANCE_TEST_NETNS=0 keeps the host's namespace",
    "the Janus target runs in a network namespace of its own": "Janus's namespace needs root",
    "`ip netns` is unavailable": "a kernel or container without network namespaces",
    "systemd-analyze verify does not work here": "a container whose systemd cannot load unit files",
}


def listed(reason: str) -> bool:
    """Whether a skip's reason is an accepted environment skip."""
    reason = reason.removeprefix("Skipped: ")
    return any(reason.startswith(prefix) for prefix in ENVIRONMENT_SKIPS)


class SkipPolicy:
    """A skipped test fails the run unless its reason is on tests/environment_skips.py's
    list: a test that did not run must not pass for one that did (issue 14, point 8)."""

    def __init__(self) -> None:
        self.unlisted: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
            if not listed(reason):
                self.unlisted.append((report.nodeid, reason))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.unlisted:
            terminalreporter.section("skips that fail the run", sep="=", red=True)
            for nodeid, reason in self.unlisted:
                terminalreporter.line(f"{nodeid}: {reason}")
            terminalreporter.line(
                f"{len(self.unlisted)} skip(s) not on the list of environment skips "
                f"({len(ENVIRONMENT_SKIPS)} accepted reasons in tests/environment_skips.py): "
                "install what they name (make system-deps) or make the test run"
            )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if self.unlisted and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
