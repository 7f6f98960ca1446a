"""pdf.js is vendored (issue 15 point 8): the files the app serves are those of the pdfjs-dist
pinned in package.json and package-lock.json, byte for byte, and the app serves them with
a JavaScript type (module scripts and module workers refuse any other)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from web.app import create_app
from web.config import WebConfig

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "web" / "static" / "vendor" / "pdfjs"
PACKAGE = REPO / "node_modules" / "pdfjs-dist"
FILES = {"pdf.min.mjs": "build/pdf.min.mjs", "pdf.worker.min.mjs": "build/pdf.worker.min.mjs", "LICENSE": "LICENSE"}


def test_the_pin_is_exact_and_locked_with_its_integrity():
    pin = json.loads((REPO / "package.json").read_text())["dependencies"]["pdfjs-dist"]
    locked = json.loads((REPO / "package-lock.json").read_text())["packages"]["node_modules/pdfjs-dist"]
    assert pin[0].isdigit() and locked["version"] == pin  # no range: the version vendored is the one locked
    assert locked["integrity"].startswith("sha512-")


def test_the_vendored_files_are_the_pinned_package_s():
    pin = json.loads((REPO / "package.json").read_text())["dependencies"]["pdfjs-dist"]
    assert (PACKAGE / "package.json").exists(), "run `make node_modules/pdfjs-dist/build/pdf.min.mjs` (npm ci)"
    assert json.loads((PACKAGE / "package.json").read_text())["version"] == pin, "node_modules is stale: npm ci"
    for vendored, packaged in FILES.items():
        assert (VENDOR / vendored).read_bytes() == (PACKAGE / packaged).read_bytes(), f"make vendor-pdfjs ({vendored})"


@pytest.mark.parametrize("name", ["pdf.min.mjs", "pdf.worker.min.mjs"])
async def test_the_app_serves_pdfjs_as_javascript(aiohttp_client, tmp_path, name):
    client = await aiohttp_client(create_app(WebConfig(tls=False, data_dir=tmp_path)))
    resp = await client.get(f"/static/vendor/pdfjs/{name}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] in ("text/javascript", "application/javascript")
    assert await resp.read() == (VENDOR / name).read_bytes()
