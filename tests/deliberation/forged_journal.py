"""Forging a sealed journal for the audit's tests: its entries decoded, an event found,
and the entries resealed with a valid chain and signatures (what a server holding the
key, or a bug, would write)."""

from __future__ import annotations

import json

from deliberation.journal import ZERO, seal, sha256_hex


def journal_lines(content: bytes) -> list[bytes]:
    return content.split(b"\n")[:-1]


def joined(lines: list[bytes]) -> bytes:
    return b"".join(x + b"\n" for x in lines)


def reseal(entries: list[dict], key) -> bytes:
    """What a server with the key (or a bug) would write: valid chain and signatures."""
    out, prev_raw = [], None
    renumber = {e["seq"]: n for n, e in enumerate(entries, start=1) if "seq" in e}
    for n, e in enumerate(entries, start=1):
        e = {k: v for k, v in e.items() if k not in ("hash", "signature")}
        if "cause" in e:
            e["cause"] = renumber.get(e["cause"], e["cause"])
        e["seq"], e["prev"] = n, sha256_hex(prev_raw) if prev_raw else ZERO
        if e["kind"] == "checkpoint":
            e["head"] = e["prev"]
        raw = seal(e, key)
        out.append(raw)
        prev_raw = raw
    return joined(out)


def entries_of(content: bytes) -> list[dict]:
    return [json.loads(x) for x in journal_lines(content)]


def find_event(entries, type_, **data):
    return next(
        i
        for i, e in enumerate(entries)
        if e["kind"] == "event"
        and e["event"]["type"] == type_
        and all(e["event"]["data"].get(k) == v for k, v in data.items())
    )
