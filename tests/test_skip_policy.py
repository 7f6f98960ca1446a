"""The skip policy (tests/environment_skips.py) run on a small suite of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_suite(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text(
        "from tests.environment_skips import SkipPolicy\n\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(SkipPolicy(), 'seance-skip-policy')\n"
    )
    (tmp_path / "test_probe.py").write_text("import pytest\n\n" + body)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def test_an_unlisted_skip_fails_the_run(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "def test_a():\n    pytest.skip('coturn is not installed')\n\ndef test_b():\n    pass\n")
    assert done.returncode == 1, done.stdout
    assert "test_probe.py::test_a: Skipped: coturn is not installed" in done.stdout


def test_a_listed_environment_skip_passes(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "def test_a():\n    pytest.skip('mounting a tmpfs needs root')\n")
    assert done.returncode == 0, done.stdout
    assert "skips that fail the run" not in done.stdout


def test_a_failure_stays_a_failure(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "def test_a():\n    assert False\n")
    assert done.returncode == 1, done.stdout
