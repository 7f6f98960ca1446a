"""The version of Séance: one string, read by ``seance --version``, ``/healthz`` and packaging.

``pyproject.toml`` takes it from here (``[tool.setuptools.dynamic]``), so the wheel, the
running server and the tag agree. PEP 440: ``X.Y.Z`` for a release (tagged ``vX.Y.Z``,
CHANGELOG.md), ``X.Y.Z.devN`` between releases. How to cut a release: docs/operations.md,
"Releases".
"""

from __future__ import annotations

from importlib import metadata

VERSION = "0.2.0.dev0"

#: The libraries whose exact versions matter to a bug report: the media stack (pinned
#: exactly in pyproject.toml, its surface checked by sfu/), and the web server.
REPORTED = ("aiortc", "aioice", "pylibsrtp", "av", "aiohttp", "cryptography")


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def describe() -> str:
    """``seance 0.2.0 (aiortc 1.16.0, aioice 0.13.0, …, Python 3.11.2)``."""
    import platform

    libs = ", ".join(f"{name} {installed(name) or 'absent'}" for name in REPORTED)
    return f"seance {VERSION} ({libs}, Python {platform.python_version()})"
