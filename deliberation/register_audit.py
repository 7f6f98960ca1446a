"""The register of publications checked offline against what was served and what the
journals say (R21, R22, R26; ``seance audit register``).

Given the verified register (:func:`deliberation.register.verify_register`):

- each document an auditor downloaded from the Actes pages (a délibération's page, the
  signed procès-verbal, a replay) must be one the register entered: its SHA-256 is found
  in an entry, and the entry says which act it is and on which line;
- each sitting journal given must be the one its liste was drawn from (its last signed
  line is the ``journal_head`` entered), and a procès-verbal the register publishes as
  adopted by that sitting must be the one signed (:func:`deliberation.adoption.minutes_signature`:
  in its journal while it was open, ``MinutesSigned``, or by an entry of this register after
  it closed); a signature the register enters for that sitting must be of a PV its journal
  adopted, after its closing, and not signed in the journal too; a replay exported must be
  a recording the journal records (``RecordingDigest``).

Pure: bytes and verified entries in, the matches and the problems (French) out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from .adoption import adoption_of, minutes_signature
from .journal import Entry, replay_entries
from .register import (
    ListePublished,
    MinutesPublished,
    MinutesSigned,
    Publications,
    ReplayExported,
    ReplayPublished,
)


@dataclass(frozen=True)
class Match:
    """A document found in the register: the line that entered it and what it is."""

    line: int
    what: str


def _label(entry: object, digest: str) -> str | None:
    """What ``entry`` says a document of SHA-256 ``digest`` is, or None if it does not enter it."""
    if isinstance(entry, ListePublished):
        ident = next((i for i, d in entry.documents.items() if d == digest), None)
        if ident is not None:
            return f"délibération n° {ident} (liste de la séance « {entry.sitting_id} » publiée le {entry.at})"
    if isinstance(entry, MinutesPublished) and entry.pdf_sha256 == digest:
        return f"procès-verbal de la séance « {entry.sitting_id} » publié le {entry.at}"
    if isinstance(entry, MinutesSigned) and entry.pdf_sha256 == digest:
        return f"procès-verbal de la séance « {entry.sitting_id} » signé par {entry.by} le {entry.at}"
    if isinstance(entry, ReplayPublished) and entry.file_sha256 == digest:
        return f"enregistrement « {entry.recording} » publié le {entry.at}"
    if isinstance(entry, ReplayExported) and entry.file_sha256 == digest:
        return f"enregistrement « {entry.recording} » exporté par {entry.by} le {entry.at}"
    return None


def find_document(pub: Publications, content: bytes) -> Match | None:
    """The first entry of the register that entered a document with these bytes."""
    digest = hashlib.sha256(content).hexdigest()
    for i in pub.inscriptions:
        if (what := _label(i.entry, digest)) is not None:
            return Match(i.line, what)
    return None


def journal_problem(pub: Publications, entries: list[Entry]) -> str | None:
    """A verified sitting journal against the register (None: they agree)."""
    sitting_id = entries[0].data["config"]["id"]
    checkpoints = [e for e in entries if e.kind == "checkpoint"]
    liste = pub.liste(sitting_id)
    if liste is not None and checkpoints and liste.journal_head != checkpoints[-1].data["hash"]:
        return (
            f"la liste de la séance « {sitting_id} » a été publiée depuis un journal dont le dernier sceau est "
            f"{liste.journal_head[:16]}…, ce journal se termine par {checkpoints[-1].data['hash'][:16]}… "
            f"(ligne {checkpoints[-1].line})"
        )
    events = [e.data["event"] for e in entries if e.kind == "event"]
    seance = replay_entries(entries)
    for signature in pub.of_type(MinutesSigned):
        if signature.approving_sitting_id != sitting_id:
            continue
        adoption = adoption_of(seance, signature.sitting_id)
        if adoption is None or not adoption.adopted or adoption.item_id != signature.item_id:
            return (
                f"le registre inscrit la signature du procès-verbal de « {signature.sitting_id} » comme adopté par "
                f"le point « {signature.item_id} » de « {sitting_id} », que ce journal n'adopte pas"
            )
        if adoption.signed:
            return (
                f"le procès-verbal de « {signature.sitting_id} » est signé deux fois : dans ce journal et au registre"
            )
        closed_at = seance.state.closed_at if seance.state.status == "closed" else None
        # the register dates to the second, the journal to the millisecond
        if closed_at is None or datetime.fromisoformat(signature.at) < datetime.fromisoformat(closed_at).replace(
            microsecond=0
        ):
            return (
                f"le registre inscrit la signature du procès-verbal de « {signature.sitting_id} » avant la clôture "
                "de ce journal (elle se journalise tant que la séance est ouverte)"
            )
    for minutes in pub.of_type(MinutesPublished):
        if minutes.approving_sitting_id != sitting_id:
            continue
        signed = minutes_signature(adoption_of(seance, minutes.sitting_id), pub)
        if signed is None or signed.pdf_sha256 != minutes.pdf_sha256:
            return (
                f"le procès-verbal de « {minutes.sitting_id} » publié comme adopté par « {sitting_id} » "
                f"(empreinte {minutes.pdf_sha256[:16]}…) n'est pas celui signé dans ce journal ou au registre"
            )
    recordings = {e["data"]["label"]: e["data"]["sha256"] for e in events if e["type"] == "RecordingDigest"}
    for export in pub.of_type(ReplayExported, sitting_id):
        if recordings.get(export.recording) != export.recording_sha256:
            return f"l'enregistrement exporté « {export.recording} » n'est pas celui que ce journal inscrit"
    return None
