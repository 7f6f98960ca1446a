"""The council's register of publications, as the server writes and reads it (R21, R22,
R26; L.2131-1, L.2121-25, L.2121-15 CGCT; issue 16 point 1).

:func:`publish_acts` enters in the register (:mod:`deliberation.register`) what the
journals make final and the register does not hold yet:

- the convocation of a sitting convened (``ConvocationPublished``, R6: on the Actes page
  from then on);
- the liste des délibérations of a sitting whose journal is closed (``ListePublished``:
  the closing's signed head, and each délibération's page, digested and frozen as it is
  served from then on: ``sittings/<id>/publies/<n°>.html``, so that a later version of
  Séance, whose templates may differ, still serves the very page published);
- the procès-verbal signed after its adoption (``MinutesPublished``: the PDF's digest,
  the one signed, in the approving sitting's journal or in this register:
  :func:`deliberation.adoption.minutes_signature`).

It runs at start, in the refresh loop (:mod:`web.app`), after a signature, and before the
Actes pages and the dashboard read the register, so the first view finds the act entered;
entries are decided under the register's lock, never twice. The Actes pages then show the
register's dates and serve a document only while its digest is the one entered.
Nothing else writes the register but :mod:`web.replay` (exports and replays) and
:mod:`web.admin.minutes` (a PV signed after its adopting sitting closed).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from aiohttp import web

from deliberation.adoption import adoption_of, minutes_signature
from deliberation.journal import JournalError, key_fingerprint
from deliberation.minutes import deliberation_html
from deliberation.publication import deliberation_ids
from deliberation.register import (
    ConvocationPublished,
    ListePublished,
    MinutesPublished,
    Publications,
    Register,
    RegisterEntry,
)
from signaling.council_store import CouncilStore, now_iso
from signaling.datadir import DataDir, private_dir
from signaling.sitting import council_key
from web.appkeys import CONFIG, REGISTER_CACHE, SITTINGS
from web.records import Record, signed_pdf_path, sitting_record

log = logging.getLogger(__name__)

#: who enters an act the journals made final, when no person did (the closing, a restart)
SERVER = "serveur"


def council_register(data_dir: Path, council_id: str) -> Register:
    """The register of the council ``council_id`` (``<data_dir>/registre.jsonl``)."""
    return Register(DataDir.of(data_dir).register, council_key(data_dir), council_id)


def read_publications(app: web.Application, council_id: str) -> Publications:
    """The verified register; an empty one when it does not verify (nothing is published
    from a register that does not verify; the error is logged for the DSI)."""
    try:
        return council_register(app[CONFIG].data_dir, council_id).read(app[REGISTER_CACHE])
    except JournalError as err:
        log.error("registre des publications : ne se vérifie pas (ligne %d : %s)", err.line, err.reason)
        return Publications()


def register_problem(app: web.Application, council_id: str) -> str | None:
    """Why the council's register does not verify, in French for the dashboard (None: it does)."""
    try:
        council_register(app[CONFIG].data_dir, council_id).read(app[REGISTER_CACHE])
    except JournalError as err:
        return (
            f"Le registre signé des publications ne se vérifie pas (ligne {err.line} : {err.reason}) : plus aucun "
            "acte n'est publié ni inscrit. Prévenez la DSI, qui compare le fichier registre.jsonl à sa dernière "
            "sauvegarde (seance audit register)."
        )
    return None


def fingerprint(app: web.Application) -> str:
    return key_fingerprint(council_key(app[CONFIG].data_dir).public_key())


def deliberation_documents(record: Record, published_at: str, key_fingerprint_hex: str) -> dict[str, str]:
    """Each délibération of a closed sitting as its page is served (L.2131-1), by identifier."""
    return {
        ident: deliberation_html(record.seance, item_id, ident, published_at, record.signed_head, key_fingerprint_hex)
        for item_id, ident in deliberation_ids(record.seance).items()
    }


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def _closed_record(app: web.Application, sitting_id: str) -> Record | None:
    service = app[SITTINGS].get(sitting_id)
    if service is not None and service.seance is not None and service.seance.state.status != "closed":
        return None  # served here and still running: no need to read its journal
    record = sitting_record(app, sitting_id)
    if record is None or record.seance.state.status != "closed" or record.signed_head is None:
        return None
    return record


def _liste(app: web.Application, sitting_id: str, fp: str) -> tuple[ListePublished, dict[str, str]] | None:
    """The entry of a closed sitting's liste, and its délibérations' pages to freeze."""
    record = _closed_record(app, sitting_id)
    if record is None:
        return None
    assert record.signed_head is not None
    at = now_iso()
    pages = deliberation_documents(record, at, fp)
    docs = {ident: digest(html) for ident, html in pages.items()}
    return ListePublished(sitting_id, at, str(record.signed_head["hash"]), docs), pages


def _freeze(data_dir: Path, sitting_id: str, pages: dict[str, str]) -> None:
    """Write the pages published (each to a temporary name, then renamed: whole or absent)."""
    layout = DataDir.of(data_dir)
    for ident, html in pages.items():
        path = layout.published(sitting_id, ident)
        private_dir(path.parent)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)


def published_page(data_dir: Path, entry: ListePublished, ident: str) -> str | None:
    """A délibération's page as published, only while it is the one the register entered."""
    path = DataDir.of(data_dir).published(entry.sitting_id, ident)
    if ident not in entry.documents or not path.is_file():
        return None
    data = path.read_bytes()
    return data.decode("utf-8") if digest(data) == entry.documents[ident] else None


def _minutes(
    app: web.Application, pub: Publications, sitting_id: str, approving_id: str, by: str
) -> MinutesPublished | None:
    path = signed_pdf_path(app[CONFIG].data_dir, sitting_id)
    approving = sitting_record(app, approving_id)
    if not path.is_file() or approving is None:
        return None
    signed = minutes_signature(adoption_of(approving.seance, sitting_id), pub)
    pdf_sha256 = digest(path.read_bytes())
    if signed is None or signed.pdf_sha256 != pdf_sha256:
        return None  # not adopted, or not the PDF signed (journal or register): not published
    return MinutesPublished(sitting_id, now_iso(), approving_id, pdf_sha256, by)


def publish_acts(app: web.Application, by: str = SERVER) -> list[RegisterEntry]:
    """Enter in the register the listes and procès-verbaux the journals made final and it
    does not hold yet; the entries written (none most of the time)."""
    data_dir = app[CONFIG].data_dir
    with CouncilStore.in_data_dir(data_dir) as store:
        council = store.current()
        if council is None:
            return []
        sittings = [s.id for s in store.sittings(council.id)]
        convened = {s for s in sittings if store.convened_at(council.id, s) is not None}
        links = {link.sitting_id: link.approving_sitting_id for link in store.minutes_links(council.id)}
    register = council_register(data_dir, council.id)
    try:
        pub = register.read(app[REGISTER_CACHE])
    except JournalError as err:
        log.error(
            "registre des publications : ne se vérifie pas (ligne %d : %s), rien n'est publié", err.line, err.reason
        )
        return []
    fp = fingerprint(app)
    due: list[RegisterEntry] = []
    pages: dict[str, dict[str, str]] = {}
    for sitting_id in sittings:
        if sitting_id in convened and pub.convocation(sitting_id) is None:
            due.append(ConvocationPublished(sitting_id, now_iso(), by))
        if pub.liste(sitting_id) is None and (found := _liste(app, sitting_id, fp)) is not None:
            due.append(found[0])
            pages[sitting_id] = found[1]
        if pub.minutes(sitting_id) is None and sitting_id in links:
            if (minutes := _minutes(app, pub, sitting_id, links[sitting_id], by)) is not None:
                due.append(minutes)
    if not due:
        return []

    def still_due(current: Publications) -> list[RegisterEntry]:
        """Under the lock: another worker may have entered some meanwhile; the pages of the
        listes still due are frozen here, before their entry is written."""
        kept = [e for e in due if not current.published(e)]
        for e in kept:
            if isinstance(e, ListePublished):
                _freeze(data_dir, e.sitting_id, pages[e.sitting_id])
        return kept

    written = register.append(still_due)
    for e in written:
        log.info("registre des publications : %s de la séance %s, le %s", e.type, e.sitting_id, e.at)
    return written
