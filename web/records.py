"""A sitting as its verified journal says, for the pages that publish or finish its acts
(the secretariat's procès-verbal, :mod:`web.admin.minutes`; the public « Actes »,
:mod:`web.actes`): its state (live when this process serves it), its events, its last
signed head; and where its signed procès-verbal is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from deliberation.events import Event
from deliberation.journal import JournalError, events_of, replay_entries, signed_prefix, verify_lines
from deliberation.seance import Seance
from signaling.datadir import ID_RE, DataDir
from signaling.sitting import council_key
from web.appkeys import CONFIG, SITTINGS

SIGNED_PDF = "proces-verbal-signe.pdf"


@dataclass
class Record:
    """A sitting as its journal says: the state (live when served here) and its events."""

    seance: Seance
    events: list[Event]
    signed_head: dict[str, Any] | None


def signed_pdf_path(data_dir: Path, sitting_id: str) -> Path:
    return DataDir.of(data_dir).sitting(sitting_id) / SIGNED_PDF


def sitting_record(app: web.Application, sitting_id: str) -> Record | None:
    """The sitting's state and events from its verified journal (None: no journal yet, not
    a sitting id, or a journal that does not verify). A sitting served here gives its live
    state; its file is read up to its last full line."""
    data_dir = app[CONFIG].data_dir
    if not ID_RE.match(sitting_id):
        return None
    path = DataDir.of(data_dir).journal(sitting_id)
    if not path.is_file():
        return None
    content = path.read_bytes()
    content = content[: content.rfind(b"\n") + 1]
    public_key = council_key(data_dir).public_key()
    try:
        entries = verify_lines(content, public_key)
    except JournalError:
        try:
            entries = verify_lines(signed_prefix(content), public_key)
        except JournalError:
            return None  # a journal that does not verify gives no record: nothing is shown from it
    service = app[SITTINGS].get(sitting_id)
    seance = service.seance if service is not None and service.seance is not None else replay_entries(entries)
    checkpoints = [e.data for e in entries if e.kind == "checkpoint"]
    head = (
        {k: checkpoints[-1][k] for k in ("seq", "hash", "signature") if k in checkpoints[-1]} if checkpoints else None
    )
    return Record(seance, events_of(entries), head)
