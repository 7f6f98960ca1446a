"""Fails loudly when an aiortc/aioice/pylibsrtp upgrade moves what sfu/library_surface.py
(the one module with private names of theirs) and the transport rely on."""

import tomllib
from pathlib import Path

import pytest

from sfu import library_surface
from sfu.router import Router


def test_aiortc_surface_unchanged():
    problems = library_surface.check_surface()
    assert problems == [], "aiortc internals moved, re-check sfu/library_surface.py:\n" + "\n".join(problems)


ROOT = Path(__file__).resolve().parents[2]


def test_the_three_libraries_are_pinned_to_the_versions_checked():
    """pyproject.toml and constraints.txt pin aiortc, aioice and pylibsrtp to exactly the
    versions check_surface() was written against (issue 11 point 8): an upgrade is a
    change of the pins and of the surface module together."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {d.split("==")[0].strip(): d.split("==")[1].strip() for d in dependencies if "==" in d}
    constraints = dict(
        line.strip().split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line
    )
    for dist, checked in library_surface.PINNED.items():
        assert pins.get(dist) == checked, f"pyproject.toml pins {dist}=={pins.get(dist)}, checked {checked}"
        assert constraints.get(dist) == checked, f"constraints.txt pins {dist}=={constraints.get(dist)}"


def test_the_surface_check_refuses_another_installed_version(monkeypatch):
    monkeypatch.setitem(library_surface.PINNED, "aioice", "0.12.0")
    problems = library_surface.check_surface()
    assert problems == ["aioice 0.13.0 installed, checked against 0.12.0"]


def test_a_router_refuses_to_start_on_a_moved_surface(monkeypatch):
    """What the server relies on is checked when a sitting's Router is built, not only by
    this suite: ``seance serve`` on other versions stops saying what moved."""
    monkeypatch.setitem(library_surface.PINNED, "pylibsrtp", "0.9.0")
    with pytest.raises(RuntimeError, match=r"pylibsrtp 1\.0\.0 installed, checked against 0\.9\.0"):
        Router()
