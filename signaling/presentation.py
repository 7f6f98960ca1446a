"""The shell's side of the item's documents on screen (issue 15 point 8).

The core (:mod:`deliberation.presentation`) decides who may show which annex and journals
the start and end of a presentation. Two things it cannot know are here:

- :func:`checked_annex`: the annex named by the presenter, from the council store, with the
  file on disk hashed again (SHA-256) and compared with the digest stored when the admin
  joined it to the convocation, so that the digest journaled is the file's the screens get;
- :class:`ShownPage`: the page on the displays, which the chair turns and which is not
  journaled (a restart shows page 1 again).

The pages are drawn by each screen from the PDF itself (pdf.js, in the browser): the media
plane carries no picture of the document, and its text stays sharp on a weak link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from deliberation.records import Presentation
from deliberation.refusal import UNKNOWN, Refusal
from signaling import datadir
from signaling.council_store import ANNEX_LABELS, Annex, CouncilStore


@dataclass(frozen=True)
class CheckedAnnex:
    """An annex of the sitting, its file's digest checked: what ``PresentAnnex`` names."""

    annex: Annex
    path: Path

    @property
    def title(self) -> str:
        """What the displays say the document is: its nature, then its file's name."""
        return f"{ANNEX_LABELS.get(self.annex.label, 'Document')} — {self.annex.filename}"[:300]


def sitting_annexes(data_dir: Path, sitting_id: str) -> list[Annex]:
    """The annexes of the convocation of ``sitting_id`` (none when no council holds it)."""
    with CouncilStore.in_data_dir(data_dir) as store:
        for council_id, _name in store.councils():
            if store.sitting(council_id, sitting_id) is not None:
                return store.annexes(council_id, sitting_id)
    return []


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def checked_annex(data_dir: Path, sitting_id: str, annex_id: str) -> CheckedAnnex | Refusal:
    """The annex ``annex_id`` of the sitting's convocation, its file hashing to the digest
    stored (R26: the document shown is the one the members received), or why not. Blocking
    (reads the file): called in a worker thread."""
    annex = next((a for a in sitting_annexes(data_dir, sitting_id) if a.id == annex_id), None)
    if annex is None:
        return Refusal("R26", "R26 — ce document ne fait pas partie des annexes de la convocation.", "annex")
    path = datadir.DataDir.of(data_dir).annex(sitting_id, annex.id)
    try:
        digest = file_sha256(path)
    except OSError:
        return Refusal(UNKNOWN, f"Le fichier de l'annexe « {annex.filename} » est introuvable sur le serveur.", "annex")
    if digest != annex.sha256:
        return Refusal(
            "R26",
            f"R26 — le fichier de l'annexe « {annex.filename} » n'est plus celui joint à la convocation "
            "(empreinte différente) : il ne sera pas montré. Prévenez le secrétariat.",
            "annex",
        )
    return CheckedAnnex(annex, path)


@dataclass
class ShownPage:
    """The page on the displays for the presentation ``key`` (its annex, digest and start);
    page 1 for any other presentation, so a new one always starts at its first page."""

    key: tuple[str, str, str] | None = None
    page: int = 1

    @staticmethod
    def key_of(presentation: Presentation) -> tuple[str, str, str]:
        return (presentation["annex_id"], presentation["sha256"], presentation["since"])

    def of(self, presentation: Presentation | None) -> int:
        if presentation is None or self.key != self.key_of(presentation):
            return 1
        return self.page

    def turn(self, presentation: Presentation, page: int) -> None:
        self.key, self.page = self.key_of(presentation), page
