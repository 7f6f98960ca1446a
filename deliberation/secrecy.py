"""Ballots stay unread until the vote closes (R13, issue 12.2).

Who has voted may be shown while a vote is open (counts of ballots cast), never what
anyone chose: the president, who decides when to close (L.2121-20, R14), must not watch
the tally form, and neither may an auditor, an admin or a download. Choices become
readable with the vote's result (``VoteClosed``).

This module finds, in a journal's raw lines, where the ballots of the vote still open
begin; the shell serves the journal cut there and writes the ballots' lines without
their choice. A vote ends with ``VoteClosed``, or is cancelled when its item is
postponed (``ItemPostponed``, R15): then its ballots are in the journal as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenBallots:
    """The vote still open at the end of a journal.

    ``cut``: byte offset just after the batch that opened it (a signed prefix in format 2);
    ``first_line``: the 1-based line the lines kept secret start at; ``item_id``."""

    item_id: str
    cut: int
    first_line: int


def open_ballots(content: bytes) -> OpenBallots | None:
    """The vote open at the end of ``content`` (JSON lines of a journal), or None.

    Lines that do not parse are skipped: the verification names them elsewhere."""
    found: OpenBallots | None = None
    pending: str | None = None  # a VoteOpened seen, its batch not yet ended
    offset = 0
    lines = content.split(b"\n")
    if content.endswith(b"\n"):
        lines.pop()
    for n, raw in enumerate(lines, start=1):
        start = offset
        offset += len(raw) + 1
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        if pending is not None and data.get("kind") == "command":
            found, pending = OpenBallots(pending, start, n), None
        event = data.get("event") if data.get("kind") == "event" else None
        if not isinstance(event, dict):
            continue
        kind, d = event.get("type"), event.get("data") or {}
        if kind == "VoteOpened":
            found, pending = None, d.get("item_id")
        elif kind == "VoteClosed" or (
            kind == "ItemPostponed" and d.get("item_id") in {pending, found.item_id if found else None}
        ):
            found = pending = None
    if pending is not None:  # opened, no ballot yet: nothing to keep secret after the end
        found = OpenBallots(pending, min(offset, len(content)), len(lines) + 1)
    return found
