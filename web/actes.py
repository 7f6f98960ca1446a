"""The public « Actes » pages of the council, without login (R6, R22, R26; L.2131-1,
L.2121-25, L.2121-15 CGCT; issue 16 point 3).

- ``/actes``: the convocations of the coming sittings, the sittings held with their liste
  des délibérations and, once adopted and signed, their procès-verbal; the open data;
- ``/actes/<seance>``: the liste des délibérations, online from the closing (the journaled
  publication date), each délibération linked;
- ``/actes/<seance>/<n°>`` and ``….pdf``: one délibération, as a page and a PDF/A;
- ``/actes/<seance>/convocation``: the convocation, as the members received it;
- ``/actes/<seance>/proces-verbal.pdf``: the signed procès-verbal (:mod:`web.admin.minutes`);
- ``/actes/donnees/deliberations-<année>.csv``: the SCDL « Délibérations » CSV of a year;
- ``/actes/flux.atom``: an Atom feed (RFC 4287) a council's website or data.gouv.fr follows;
- ``/actes/cle-publique.pem``: the council's public key, to verify the journals.

Everything is drawn from the verified journal of each sitting (:func:`web.records.sitting_record`;
a journal that does not verify publishes nothing) and carries its signed head, so each
published act traces back to the signed record. Nothing here writes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime

import aiohttp_jinja2
from aiohttp import web

from deliberation.adoption import Adoption, adoption_of, minutes_signature
from deliberation.council import Council, SittingConfig
from deliberation.minutes import french_date, french_time
from deliberation.publication import Publication, deliberation_ids, liste_publication, pv_publication
from deliberation.register import ListePublished, Publications
from deliberation.scdl import COLUMNS, deliberation_rows, neutralise
from deliberation.signed_minutes import html_pdf
from signaling.council_store import CouncilStore
from signaling.datadir import DataDir
from web.admin.views import convocation_context
from web.appkeys import CONFIG
from web.publications import digest, fingerprint, publish_acts, published_page, read_publications
from web.records import Record, signed_pdf_path, sitting_record
from web.replay import published_recordings
from web.session import error_page

ATOM = "http://www.w3.org/2005/Atom"
#: the standalone documents (a délibération) carry their own <style>: that, and nothing else
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_DELIB = re.compile(r"^\d{8}-\d{2}$")


@dataclass
class SittingActs:
    """What is published of one sitting."""

    config: SittingConfig
    record: Record | None
    convened_at: str | None
    liste: Publication | None
    adoption: Adoption | None
    pv: Publication
    pv_signed: bool  # signed, published as that PDF in the register, and the PDF kept is the one entered
    entered: ListePublished | None  # the register's entry of the liste


def _acts(
    app: web.Application, store: CouncilStore, council: Council, config: SittingConfig, pub: Publications
) -> SittingActs:
    """One sitting's acts: published when, and only as, the council's register enters them."""
    record = sitting_record(app, config.id)
    closed = record is not None and record.seance.state.status == "closed"
    link = store.minutes_link(council.id, config.id)
    approving = sitting_record(app, link.approving_sitting_id) if link else None
    adoption = adoption_of(approving.seance, config.id) if approving and link else None
    liste = pub.liste(config.id)
    minutes = pub.minutes(config.id)
    pdf = signed_pdf_path(app[CONFIG].data_dir, config.id)
    signature = minutes_signature(adoption, pub)
    signed = (
        minutes is not None
        and signature is not None
        and signature.pdf_sha256 == minutes.pdf_sha256
        and pdf.is_file()
        and digest(pdf.read_bytes()) == minutes.pdf_sha256
    )
    convocation = pub.convocation(config.id)
    return SittingActs(
        config,
        record,
        convocation.at if convocation else None,
        liste_publication(record.seance, liste) if closed and record and liste else None,
        adoption,
        pv_publication(adoption, minutes),
        signed,
        liste,
    )


def council_acts(app: web.Application) -> tuple[Council | None, list[SittingActs]]:
    """The council and what is published of each of its sittings, most recent first (the
    acts the journals made final entered in the register first: :func:`publish_acts`)."""
    publish_acts(app)
    with CouncilStore.in_data_dir(app[CONFIG].data_dir) as store:
        council = store.current()
        if council is None:
            return None, []
        pub = read_publications(app, council.id)
        acts = [_acts(app, store, council, c, pub) for c in store.sittings(council.id)]
    return council, sorted(acts, key=lambda a: a.config.scheduled_at, reverse=True)


def _publishes(app: web.Application) -> bool:
    """R5: the règlement publishes the recordings on the Actes page."""
    with CouncilStore.in_data_dir(app[CONFIG].data_dir) as store:
        council = store.current()
        return council is not None and store.replay_policy(council.id).publish


def _none(request: web.Request) -> web.Response:
    return error_page(request, 404, "Acte introuvable", "Aucun acte publié sous cette adresse. Voir la page des actes.")


async def index(request: web.Request) -> web.StreamResponse:
    """GET /actes: what the council has published."""
    council, acts = council_acts(request.app)
    if council is None:
        return _none(request)
    today = date.today()
    coming = [
        a
        for a in acts
        if a.convened_at
        and (a.record is None or a.record.seance.state.status == "convened")
        and datetime.fromisoformat(a.config.scheduled_at).date() >= today
    ]
    held = [a for a in acts if a.liste is not None]
    years = sorted({a.config.scheduled_at[:4] for a in held}, reverse=True)
    return aiohttp_jinja2.render_template(
        "actes.html",
        request,
        {
            "council": council,
            "coming": coming,
            "held": held,
            "years": years,
            "date_fr": french_date,
            "time_fr": french_time,
            "fingerprint": fingerprint(request.app),
        },
    )


def _held(request: web.Request) -> tuple[Council, SittingActs] | None:
    council, acts = council_acts(request.app)
    found = next((a for a in acts if a.config.id == request.match_info["seance"]), None)
    if council is None or found is None or found.liste is None or found.record is None:
        return None
    return council, found


async def sitting(request: web.Request) -> web.StreamResponse:
    """GET /actes/<seance>: the liste des délibérations (L.2121-25), once the sitting is closed."""
    held = _held(request)
    if held is None:
        return _none(request)
    council, acts = held
    assert acts.record is not None and acts.liste is not None
    return aiohttp_jinja2.render_template(
        "acte_seance.html",
        request,
        {
            "council": council,
            "a": acts,
            "ids": deliberation_ids(acts.record.seance),
            "items": acts.record.seance.state.agenda,
            "head": acts.record.signed_head,
            "recordings": published_recordings(request.app, acts.config.id) if _publishes(request.app) else [],
            "fingerprint": fingerprint(request.app),
            "date_fr": french_date,
            "time_fr": french_time,
        },
    )


def _deliberation(request: web.Request) -> tuple[str, str] | None:
    """(the HTML of the délibération, its identifier)."""
    held = _held(request)
    ident = request.match_info["delib"]
    if held is None or not _DELIB.match(ident):
        return None
    _council, acts = held
    assert acts.record is not None and acts.liste is not None and acts.liste.published_at is not None
    item_id = next((i for i, d in deliberation_ids(acts.record.seance).items() if d == ident), None)
    if item_id is None:
        return None
    assert acts.entered is not None
    html = published_page(request.app[CONFIG].data_dir, acts.entered, ident)
    if html is None:
        return None  # not the page the register entered (changed, or removed, since)
    return html, ident


async def deliberation_page(request: web.Request) -> web.StreamResponse:
    """GET /actes/<seance>/<n°>: one délibération (L.2131-1)."""
    found = _deliberation(request)
    if found is None:
        return _none(request)
    return web.Response(text=found[0], content_type="text/html", headers={"Content-Security-Policy": DOCUMENT_CSP})


async def deliberation_pdf(request: web.Request) -> web.StreamResponse:
    """GET /actes/<seance>/<n°>.pdf: the same, as a PDF/A-3b."""
    found = _deliberation(request)
    if found is None:
        return _none(request)
    pdf = await asyncio.to_thread(html_pdf, found[0])
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="deliberation-{found[1]}.pdf"'},
    )


async def convocation(request: web.Request) -> web.StreamResponse:
    """GET /actes/<seance>/convocation: the convocation of a convened sitting (R6), once
    entered in the council's register."""
    publish_acts(request.app)
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.current()
        config = store.sitting(council.id, request.match_info["seance"]) if council else None
        entered = read_publications(request.app, council.id).convocation(config.id) if council and config else None
        if council is None or config is None or entered is None:
            return _none(request)
        context = convocation_context(request.app, store, council, config)
    return aiohttp_jinja2.render_template("convocation.html", request, {**context, "public": True})


async def pv_pdf(request: web.Request) -> web.StreamResponse:
    """GET /actes/<seance>/proces-verbal.pdf: the procès-verbal once adopted and signed (L.2121-15)."""
    _council, acts = council_acts(request.app)
    found = next((a for a in acts if a.config.id == request.match_info["seance"]), None)
    if found is None or not found.pv_signed:
        return _none(request)
    path = signed_pdf_path(request.app[CONFIG].data_dir, found.config.id)
    return web.Response(
        body=path.read_bytes(),
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="proces-verbal-{found.config.id}.pdf"'},
    )


async def scdl_year(request: web.Request) -> web.StreamResponse:
    """GET /actes/donnees/deliberations-<année>.csv: the SCDL « Délibérations » CSV of a year."""
    year = request.match_info["year"]
    _council, acts = council_acts(request.app)
    held = [a for a in acts if a.liste is not None and a.record is not None and a.config.scheduled_at[:4] == year]
    if not held:
        return _none(request)
    base = f"{request.scheme}://{request.host}/actes"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for a in sorted(held, key=lambda x: x.config.scheduled_at):
        assert a.record is not None
        for row in deliberation_rows(a.record.seance, f"{base}/{a.config.id}"):
            writer.writerow({k: neutralise(v) for k, v in row.items()})
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="deliberations-{year}.csv"'},
    )


async def public_key(request: web.Request) -> web.StreamResponse:
    """GET /actes/cle-publique.pem: the council's Ed25519 public key (PEM)."""
    path = DataDir.of(request.app[CONFIG].data_dir).council_public_key
    return web.Response(body=path.read_bytes(), content_type="application/x-pem-file")


def atom_feed(base: str, council: Council, acts: list[SittingActs]) -> bytes:
    """RFC 4287: one entry per published act (convocation, liste, procès-verbal), updated at
    its journaled publication date."""
    entries: list[tuple[str, str, str, str, str]] = []  # (updated, id, title, href, summary)
    for a in acts:
        title, sid = a.config.title, a.config.id
        if a.convened_at:
            entries.append(
                (a.convened_at, f"{sid}/convocation", f"Convocation — {title}", f"{base}/{sid}/convocation", "R6")
            )
        if a.liste is not None and a.liste.published_at:
            entries.append(
                (a.liste.published_at, f"{sid}/liste", f"Liste des délibérations — {title}", f"{base}/{sid}", "")
            )
        if a.pv_signed and a.pv.published_at:
            entries.append(
                (
                    a.pv.published_at,
                    f"{sid}/proces-verbal",
                    f"Procès-verbal adopté — {title}",
                    f"{base}/{sid}/proces-verbal.pdf",
                    "",
                )
            )
    entries.sort(reverse=True)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "fr"})
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"Actes — {council.name}"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base}/flux.atom"
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = entries[0][0] if entries else "1970-01-01T00:00:00+00:00"
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": f"{base}/flux.atom"})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "href": base})
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = council.name
    for updated, ident, title, href, _summary in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{base}/{ident}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = title
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = updated
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": href})
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = f"Publié le {french_date(updated)} à {french_time(updated)}."
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


async def feed(request: web.Request) -> web.StreamResponse:
    """GET /actes/flux.atom."""
    council, acts = council_acts(request.app)
    if council is None:
        return _none(request)
    body = atom_feed(f"{request.scheme}://{request.host}/actes", council, acts)
    return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")


def add_actes_routes(app: web.Application) -> None:
    """Register the public Actes pages (GET only, no session needed)."""
    app.router.add_get("/actes", index)
    app.router.add_get("/actes/flux.atom", feed)
    app.router.add_get("/actes/cle-publique.pem", public_key)
    app.router.add_get(r"/actes/donnees/deliberations-{year:\d{4}}.csv", scdl_year)
    app.router.add_get("/actes/{seance:[a-z0-9][a-z0-9_-]*}", sitting)
    app.router.add_get("/actes/{seance:[a-z0-9][a-z0-9_-]*}/convocation", convocation)
    app.router.add_get("/actes/{seance:[a-z0-9][a-z0-9_-]*}/proces-verbal.pdf", pv_pdf)
    app.router.add_get(r"/actes/{seance:[a-z0-9][a-z0-9_-]*}/{delib:\d{8}-\d{2}}.pdf", deliberation_pdf)
    app.router.add_get(r"/actes/{seance:[a-z0-9][a-z0-9_-]*}/{delib:\d{8}-\d{2}}", deliberation_page)
