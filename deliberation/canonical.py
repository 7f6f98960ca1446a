"""Canonical JSON: the one byte form used for hashing, signing and state comparison (R21).

Sorted keys, no insignificant whitespace (separators ``,`` and ``:``), UTF-8 with
non-ASCII characters written as themselves (``ensure_ascii=False``). Floats are never
used in journaled values (counts are integers, times are ISO 8601 strings), so the
serialisation is unambiguous across JSON libraries.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_bytes(value: Any) -> bytes:
    """Return the canonical UTF-8 encoding of ``value`` (see docs/journal.md)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def canonical_text(value: Any) -> str:
    """Same as :func:`canonical_bytes` as ``str``."""
    return canonical_bytes(value).decode("utf-8")
