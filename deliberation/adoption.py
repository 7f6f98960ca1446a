"""A procès-verbal's adoption, as the approving sitting's journal records it (R22, L.2121-15 CGCT).

The procès-verbal of a sitting is adopted at the start of a following one: its text's
SHA-256 is journaled in the approving sitting by ``LinkMinutes`` before the vote on the
« Approbation du procès-verbal » item; once the motion is adopted, the signed PDF's
SHA-256 is journaled by ``RecordMinutesSigned`` (:mod:`deliberation.signed_minutes`
produces it) while the approving sitting is still open; once its journal is closed (R11),
the signature is entered in the council's signed register instead
(:class:`deliberation.register.MinutesSigned`), the usual order since the PV is signed days
after the vote. :func:`minutes_signature` is the one place that says whether a PV is signed,
and as which PDF, from either source. :func:`check_signed_pdf` verifies a PDF against that
journal (and the register) offline (``seance audit pv``), without the server and without
reading the PDF: its digest must be the one signed, under a signed checkpoint, for an
adopted item.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .ballot import Counts
from .journal import Entry, replay_entries
from .minutes import item_number
from .records import Signature
from .register import Publications
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
    signed: tuple[Signature, ...]  # journaled by the approving sitting (RecordMinutesSigned)
    approving_sitting_id: str = ""


#: where a signature is entered: the approving sitting's journal, or the council's register
JOURNAL, REGISTER = "journal", "registre"


@dataclass(frozen=True)
class SignedMinutes:
    """The signature of an adopted procès-verbal: when, the signed PDF's SHA-256, and where it
    is entered (``source``: :data:`JOURNAL` or :data:`REGISTER`; ``by`` only in the register)."""

    at: str
    pdf_sha256: str
    source: str
    by: str | None = None


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
        approving_sitting_id=seance.config.id,
    )


def minutes_signature(adoption: Adoption | None, pub: Publications | None) -> SignedMinutes | None:
    """R22 (L.2121-15): the signature of the procès-verbal ``adoption`` describes, from the
    approving sitting's journal (signed while it was open) or else from the council's register
    ``pub`` (signed after its closing: an entry for that PV, that sitting and that item). None:
    not adopted, or not signed. Every reader of « is this PV signed, and which PDF » asks here."""
    if adoption is None or not adoption.adopted:
        return None
    if adoption.signed:
        first = adoption.signed[0]
        return SignedMinutes(first["at"], first["pdf_sha256"], JOURNAL)
    entry = pub.minutes_signed(adoption.sitting_id) if pub is not None else None
    if entry is None or (entry.approving_sitting_id, entry.item_id) != (
        adoption.approving_sitting_id,
        adoption.item_id,
    ):
        return None
    return SignedMinutes(entry.at, entry.pdf_sha256, REGISTER, entry.by)


def check_signed_pdf(pdf: bytes, entries: list[Entry], pub: Publications | None = None) -> str | None:
    """Offline: ``pdf`` is the signed procès-verbal the approving sitting's verified journal
    (``entries``) adopted, and signed there (``MinutesSigned``, under a signed checkpoint) or,
    with the council's verified register ``pub``, in that register after the sitting closed.
    None when it holds, else the reason, in French."""
    digest = hashlib.sha256(pdf).hexdigest()
    seance = replay_entries(entries)
    adoptions = [adoption_of(seance, link["sitting_id"]) for link in seance.state.minutes_links.values()]
    signed = [s for a in adoptions if (s := minutes_signature(a, pub)) is not None and s.pdf_sha256 == digest]
    if not signed:
        where = "dans ce journal ni dans ce registre" if pub is not None else "dans ce journal"
        return f"aucune signature de procès-verbal adopté d'empreinte {digest[:16]}… {where}"
    if signed[0].source == JOURNAL:
        seq = max(
            e.line
            for e in entries
            if e.kind == "event" and e.data["event"]["type"] == "MinutesSigned"
            if e.data["event"]["data"]["pdf_sha256"] == digest
        )
        if not any(e.kind == "checkpoint" and e.line > seq for e in entries):
            return f"la signature du procès-verbal (ligne {seq}) n'est couverte par aucun sceau signé du journal"
    return None
