"""One version, exact pins, a lock that covers what the server needs (issue 18.4).

The version lives in ``web/version.py``; the wheel's metadata, ``seance --version``,
``/healthz`` and the changelog must all say the same. aiortc, aioice and pylibsrtp are
pinned exactly in ``pyproject.toml``, and installed at those versions (the media plane's
surface check, the ``transport`` engineer's, compares the installed versions with the
ones it was written for), and ``constraints.txt`` (what ``deploy/install.sh`` installs
with) pins them and every other runtime dependency.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from web.app import create_app
from web.config import WebConfig
from web.version import VERSION

REPO = Path(__file__).resolve().parents[2]


def constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_one_version_everywhere():
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", VERSION)
    assert metadata.version("seance") == VERSION  # the installed wheel (make install re-reads it)
    seance = Path(sys.executable).parent / "seance"
    out = subprocess.run([str(seance), "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    assert out.startswith(f"seance {VERSION} (aiortc {metadata.version('aiortc')}, aioice ")
    changelog = (REPO / "CHANGELOG.md").read_text()
    release = VERSION.split(".dev")[0]
    heading = f"## [Unreleased] — {release}" if ".dev" in VERSION else f"## [{release}]"
    assert heading in changelog, heading


async def test_healthz_says_the_version(tmp_path, aiohttp_client):
    client = await aiohttp_client(create_app(WebConfig(tls=False, data_dir=tmp_path)))
    response = await client.get("/healthz")
    assert response.status == 200 and await response.json() == {"ok": True, "version": VERSION}


def test_media_stack_pinned_exactly_and_installed_so():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = {}
    for text in project["dependencies"]:
        req = Requirement(text)
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator == "==":
            pinned[req.name] = specs[0].version
    assert {"aiortc", "aioice", "pylibsrtp"} <= set(pinned), pinned
    lock = constraints()
    for name in ("aiortc", "aioice", "pylibsrtp"):
        assert lock[name] == pinned[name] == metadata.version(name), name


def test_constraints_cover_every_runtime_dependency():
    """Walk the installed requirement graph from ``seance``: each distribution it pulls in
    on this platform is pinned in constraints.txt, at the version installed here."""
    lock = constraints()
    seen: set[str] = set()
    todo = ["seance"]
    while todo:
        name = todo.pop()
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue  # test extras, other platforms
            key = req.name.lower().replace("_", "-")
            if key not in seen:
                seen.add(key)
                todo.append(req.name)
    missing = sorted(seen - set(lock))
    assert not missing, f"not in constraints.txt (make constraints): {missing}"
    wrong = {n: (lock[n], metadata.version(n)) for n in seen if metadata.version(n) != lock[n]}
    assert not wrong, f"installed version differs from constraints.txt: {wrong}"


def test_the_wheel_ships_the_server_only(tmp_path):
    """A release carries the four packages of the server (issue 14 point 7): not the
    benchmark, not the tests; the templates and static files of the screens are in it."""
    root = Path(__file__).resolve().parents[2]
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("seance-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"deliberation", "sfu", "signaling", "web"}, top
    assert "web/templates/base.html" in names and "web/static/kiosk.js" in names
    assert "deliberation/templates/" in {n[: len("deliberation/templates/")] for n in names}
