"""A procès-verbal's adoption, as the approving sitting's journal records it (R22, L.2121-15 CGCT).

The procès-verbal of a sitting is adopted at the start of a following one: its text's
SHA-256 is journaled in the approving sitting by ``LinkMinutes`` before the vote on the
« Approbation du procès-verbal » item; once the motion is adopted, the signed PDF's
SHA-256 is journaled by ``RecordMinutesSigned`` (:mod:`deliberation.signed_minutes`
produces it). :func:`check_signed_pdf` verifies a PDF against that journal offline
(``seance audit pv``), without the server and without reading the PDF: its digest must
be the one journaled, under a signed checkpoint, for an adopted item.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .ballot import Counts
from .journal import Entry, replay_entries
from .minutes import item_number
from .records import Signature
from .seance import Seance

ATTACHMENT = "proces-verbal.html"


def sha256_text(html: str) -> str:
    """The digest the council votes on: SHA-256 of the procès-verbal's UTF-8 HTML."""
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Adoption:
    """What the approving sitting's state says of the procès-verbal of ``sitting_id``."""

    sitting_id: str  # the sitting the PV records
    sha256: str  # the digest of the text linked to the item (LinkMinutes)
    approving_title: str
    approving_scheduled_at: str
    item_id: str
    item_number: int
    item_title: str
    linked_at: str
    #: the motion's closed vote, or None while the item is not voted
    closed_at: str | None
    counts: Counts | None
    adopted: bool
    signed: tuple[Signature, ...]


def adoption_of(seance: Seance, sitting_id: str) -> Adoption | None:
    """The procès-verbal of ``sitting_id`` as ``seance`` (the approving sitting) adopts it,
    or None when none of its items is linked to that procès-verbal."""
    found = next(((i, x) for i, x in seance.state.minutes_links.items() if x["sitting_id"] == sitting_id), None)
    if found is None:
        return None
    item_id, link = found
    item = seance.state.item(item_id)
    assert item is not None
    motion = next((v for v in item["votes"] if v["subject"] == "motion" and v["closed_at"]), None)
    return Adoption(
        sitting_id=sitting_id,
        sha256=link["sha256"],
        approving_title=seance.config.title,
        approving_scheduled_at=seance.config.scheduled_at,
        item_id=item_id,
        item_number=item_number(seance, item_id),
        item_title=item["title"],
        linked_at=link["at"],
        closed_at=motion["closed_at"] if motion else None,
        counts=motion["counts"] if motion else None,
        adopted=bool(motion and motion["result"] and motion["result"]["adopted"]),
        signed=tuple(link["signed"]),
    )


def check_signed_pdf(pdf: bytes, entries: list[Entry]) -> str | None:
    """Offline: ``pdf`` is the signed procès-verbal the approving sitting's verified journal
    (``entries``) records: its SHA-256 is journaled by ``MinutesSigned`` for an item whose
    motion the council adopted. None when it holds, else the reason, in French."""
    digest = hashlib.sha256(pdf).hexdigest()
    signed = [
        e
        for e in entries
        if e.kind == "event" and e.data["event"]["type"] == "MinutesSigned"
        if e.data["event"]["data"]["pdf_sha256"] == digest
    ]
    if not signed:
        return f"aucune signature de procès-verbal d'empreinte {digest[:16]}… dans ce journal"
    entry = signed[-1]
    seq = entry.line
    if not any(e.kind == "checkpoint" and e.line > seq for e in entries):
        return f"la signature du procès-verbal (ligne {seq}) n'est couverte par aucun sceau signé du journal"
    seance = replay_entries(entries)
    adoption = adoption_of(seance, entry.data["event"]["data"]["sitting_id"])
    if adoption is None or not adoption.adopted:
        return "le point qui approuve ce procès-verbal n'est pas adopté dans ce journal"
    return None
