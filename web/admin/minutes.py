"""The secretariat's procès-verbal page (R22, L.2121-15 CGCT): written, adopted, signed.

``/admin/seances/<id>/proces-verbal`` shows the procès-verbal of a sitting item by item,
with who spoke and for how long (the journaled floor events, :mod:`deliberation.speaking`),
and a text area per item for the exposé and the substance of the debates, during or after
the sitting. Each save appends a dated version to the council store (never overwritten;
the page lists them). Once the sitting is closed, the secretariat submits the text to the
council: it picks the « Approbation du procès-verbal » item of a following sitting served
here; the HTML is frozen in the store and its digest journaled in that sitting
(``LinkMinutes``), after which the text no longer changes. When that item's vote has
adopted it, « Signer » writes the PDF/A (:mod:`deliberation.signed_minutes`) to
``<data_dir>/sittings/<id>/proces-verbal-signe.pdf`` and enters its digest where the
signature can still be written: the adopting sitting's journal while it is open
(``RecordMinutesSigned``), else, once that journal is closed (R11: the usual order, the PV
being signed days after the vote), the council's signed register
(:class:`deliberation.register.MinutesSigned`). ``seance audit pv`` verifies either offline.

Who writes: the secretariat (an admin account) or the secrétaire de séance appointed at
the opening (R10), from their own councillor session (:func:`writer_claims`); submitting
the text to the council and signing it are the secretariat's.

Why the drafts live in the council store and not the journal: they are working text, many
versions of it; the journal signs what the council voted on (the digest of the text
linked) and what it adopted (the digest of the signed PDF).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from aiohttp import web

from deliberation.actors import ADMIN
from deliberation.adoption import Adoption, adoption_of, minutes_signature, sha256_text
from deliberation.commands import LinkMinutes, RecordMinutesSigned
from deliberation.council import Council, SittingConfig
from deliberation.journal import JournalError, key_fingerprint
from deliberation.minutes import french_date, french_time, minutes_context, proces_verbal_html, speakers_by_item
from deliberation.pades import sign_minutes
from deliberation.refusal import Refusal
from deliberation.register import MinutesSigned, Publications, RegisterEntry
from deliberation.signed_minutes import certificate_html, signed_pdf
from deliberation.speaking import speaking_times
from signaling.council_store import CouncilStore, MinutesLink, now_iso
from signaling.roles import Role
from signaling.sitting import council_key
from web.admin.csrf import admin_claims, checked_post, csrf_token
from web.admin.render import error, page
from web.appkeys import CONFIG, SITTINGS
from web.next_page import login_redirect
from web.publications import council_register, publish_acts, read_publications
from web.records import Record, signed_pdf_path, sitting_record
from web.session import session_account

#: the secretary's text of one item: generous for a long debate, bounded for the store
MAX_TEXT = 20_000


def writer_claims(request: web.Request) -> Any | web.Response:
    """The admin (secretariat), or the sitting's secrétaire de séance (R10) in their own
    session; else the French refusal."""
    claims = session_account(request)
    if claims is None and request.method == "GET":
        raise login_redirect(request)
    if claims is not None and claims.role is Role.ADMIN:
        return claims
    record = sitting_record(request.app, request.match_info["seance"])
    secretary = record.seance.state.secretary if record is not None else None
    if claims is not None and secretary is not None and claims.member == secretary:
        return claims
    return error(
        request,
        403,
        "Accès refusé",
        "Le procès-verbal s'écrit par le secrétaire de séance désigné à l'ouverture (article L.2121-15 du CGCT) "
        "ou par le secrétariat. Connectez-vous avec l'un de ces comptes.",
    )


def _speakers(record: Record) -> dict[str | None, list[tuple[str, int | None]]]:
    return speakers_by_item(speaking_times(record.events))


def _approving(app: web.Application, store: CouncilStore, council: Council, pv: SittingConfig) -> list[dict[str, Any]]:
    """The items that may approve ``pv``: in a later sitting served here, not closed, not voted."""
    out = []
    for s in store.sittings(council.id):
        service = app[SITTINGS].get(s.id)
        if s.scheduled_at <= pv.scheduled_at or service is None or service.seance is None:
            continue
        state = service.seance.state
        if state.status == "closed":
            continue
        for n, item in enumerate(state.agenda, start=1):
            if item["kind"] == "deliberation" and not item["votes"] and item["status"] in ("pending", "current"):
                out.append(
                    {
                        "value": f"{s.id}/{item['id']}",
                        "label": f"{s.title} — point {n} : {item['title']}",
                        "preferred": "procès-verbal" in item["title"].lower(),
                    }
                )
    return out


def _approving_closed(app: web.Application, link: MinutesLink) -> bool:
    """The sitting that approves the procès-verbal is closed: its journal takes nothing more
    (R11), a signature goes into the council's register."""
    record = sitting_record(app, link.approving_sitting_id)
    return record is not None and record.seance.state.status == "closed"


def _adoption(app: web.Application, link: MinutesLink | None) -> Adoption | None:
    if link is None:
        return None
    record = sitting_record(app, link.approving_sitting_id)
    return adoption_of(record.seance, link.sitting_id) if record is not None else None


async def minutes_page(request: web.Request, refusal: str | None = None, status: int = 200) -> web.StreamResponse:
    """GET /admin/seances/<id>/proces-verbal: the texts per item, their versions, the approval."""
    claims = writer_claims(request)
    if isinstance(claims, web.Response):
        return claims
    sitting_id = request.match_info["seance"]
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.current()
        sitting = store.sitting(council.id, sitting_id) if council else None
        if council is None or sitting is None:
            return error(request, 404, "Séance inconnue", "Aucune séance enregistrée sous cet identifiant.")
        record = sitting_record(request.app, sitting.id)
        if record is None:
            return error(
                request,
                404,
                "Procès-verbal indisponible",
                "La séance n'a pas encore de journal : son procès-verbal s'écrit une fois la séance convoquée.",
            )
        versions = store.text_versions(council.id, sitting.id)
        link = store.minutes_link(council.id, sitting.id)
        approving = [] if link else _approving(request.app, store, council, sitting)
    ctx = minutes_context(record.seance, {v.item_id: v.text for v in versions}, _speakers(record))
    adoption = _adoption(request.app, link)
    signature = minutes_signature(adoption, read_publications(request.app, council.id) if adoption else None)
    pdf = signed_pdf_path(request.app[CONFIG].data_dir, sitting.id)
    context = {
        "council": council,
        "sitting": sitting,
        "date": french_date(sitting.scheduled_at),
        "items": ctx["items"],
        "secretary": ctx["secretary"],
        "closed": record.seance.state.status == "closed",
        "versions": {item["id"]: [v for v in reversed(versions) if v.item_id == item["id"]] for item in ctx["items"]},
        "link": link,
        "adoption": adoption,
        "signature": signature if pdf.is_file() else None,
        "approving": approving,
        "csrf": csrf_token(request),
        "is_admin": claims.role is Role.ADMIN,
        "refusal": refusal,
        "saved": request.query.get("enregistre"),
        "date_fr": french_date,
        "time_fr": french_time,
    }
    return page(request, "admin_minutes.html", context, status=status)


async def _refused(request: web.Request, message: str, status: int = 409) -> web.StreamResponse:
    """The page again with the refusal in French; nothing was changed."""
    return await minutes_page(request, refusal=message, status=status)


async def save_text(request: web.Request) -> web.StreamResponse:
    """POST …/proces-verbal/texte: a new version of one item's text (``item``, ``text``)."""
    checked = await checked_post(request, writer_claims)
    if isinstance(checked, web.Response):
        return checked
    claims, form = checked
    sitting_id = request.match_info["seance"]
    item_id, text = form.get("item", ""), form.get("text", "").replace("\r\n", "\n")
    record = sitting_record(request.app, sitting_id)
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.current()
        if council is None or record is None or store.sitting(council.id, sitting_id) is None:
            return error(request, 404, "Séance inconnue", "Aucune séance enregistrée sous cet identifiant.")
        if record.seance.state.item(item_id) is None:
            return await _refused(
                request, "Ce point n'est pas à l'ordre du jour de la séance : rien n'est enregistré.", 400
            )
        if len(text) > MAX_TEXT:
            return await _refused(
                request, f"Texte trop long ({len(text)} caractères, {MAX_TEXT} au plus) : rien n'est enregistré.", 400
            )
        if store.minutes_link(council.id, sitting_id) is not None:
            return await _refused(
                request,
                "Le procès-verbal est soumis à l'approbation du conseil : son texte ne change plus (R22, "
                "article L.2121-15 du CGCT). Une rectification se vote à la séance qui l'approuve.",
            )
        version = store.save_text(council.id, sitting_id, item_id, text, now_iso(), claims.login or claims.role.value)
    raise web.HTTPSeeOther(f"/admin/seances/{sitting_id}/proces-verbal?enregistre={item_id}-{version}#point-{item_id}")


async def preview(request: web.Request) -> web.StreamResponse:
    """GET …/proces-verbal/apercu.html: the procès-verbal with the texts saved so far."""
    claims = writer_claims(request)
    if isinstance(claims, web.Response):
        return claims
    sitting_id = request.match_info["seance"]
    record = sitting_record(request.app, sitting_id)
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.current()
        if council is None or record is None:
            return error(request, 404, "Séance inconnue", "Aucun journal pour cette séance.")
        link = store.minutes_link(council.id, sitting_id)
        html = (
            link.html
            if link
            else proces_verbal_html(record.seance, store.texts(council.id, sitting_id), _speakers(record))
        )
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


async def submit(request: web.Request) -> web.StreamResponse:
    """POST …/proces-verbal/arreter: the text frozen and linked to the item that approves it."""
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    _claims, form = checked
    sitting_id = request.match_info["seance"]
    approving_id, _, item_id = form.get("approbation", "").partition("/")
    record = sitting_record(request.app, sitting_id)
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.current()
        if council is None or record is None or store.sitting(council.id, sitting_id) is None:
            return error(request, 404, "Séance inconnue", "Aucun journal pour cette séance.")
        if record.seance.state.status != "closed":
            return await _refused(
                request,
                "La séance n'est pas close : son procès-verbal sera soumis à l'approbation une fois les débats clos "
                "(R22, article L.2121-15 du CGCT).",
            )
        if store.minutes_link(council.id, sitting_id) is not None:
            return await _refused(request, "Le procès-verbal est déjà soumis à l'approbation du conseil.")
        service = request.app[SITTINGS].get(approving_id)
        approving = store.sitting(council.id, approving_id) if approving_id else None
        pv_day = record.seance.config.scheduled_at
        if service is None or service.seance is None or approving is None or approving.scheduled_at <= pv_day:
            return await _refused(
                request,
                "Choisissez le point « Approbation du procès-verbal » d'une séance convoquée et servie par ce serveur.",
                400,
            )
        html = proces_verbal_html(record.seance, store.texts(council.id, sitting_id), _speakers(record))
        digest = sha256_text(html)
        result = await service.command(
            ADMIN, {"type": LinkMinutes.__name__, "item_id": item_id, "sitting_id": sitting_id, "sha256": digest}
        )
        if isinstance(result, Refusal):
            return await _refused(request, result.message)
        store.link_minutes(council.id, MinutesLink(sitting_id, approving_id, item_id, digest, html, now_iso()))
    raise web.HTTPSeeOther(f"/admin/seances/{sitting_id}/proces-verbal#approbation")


def _already_signed(adoption: Adoption, pub: Publications) -> str | None:
    """R22: the refusal of a second signature (journal or register), None when unsigned."""
    signed = minutes_signature(adoption, pub)
    if signed is None:
        return None
    return (
        f"Le procès-verbal adopté est déjà signé, le {french_date(signed.at)} à {french_time(signed.at)} : sa "
        "version signée ne change plus, rien n'est modifié (R22, article L.2121-15 du CGCT)."
    )


def _enter_in_register(
    app: web.Application, council_id: str, link: MinutesLink, adoption: Adoption, digest: str, by: str
) -> str | None:
    """R11, R22: the signature of a PV whose adopting sitting is closed, entered in the council's
    register under its lock (a signature entered meanwhile, either source, refuses it); the
    refusal in French, None once entered."""
    signature = MinutesSigned(link.sitting_id, now_iso(), link.approving_sitting_id, link.item_id, digest, by)
    refusal: list[str] = []

    def decide(pub: Publications) -> list[RegisterEntry]:
        if (why := _already_signed(adoption, pub)) is not None:
            refusal.append(why)
            return []
        return [signature]

    try:
        council_register(app[CONFIG].data_dir, council_id).append(decide)
    except JournalError as err:
        return (
            f"Le registre signé du conseil ne se vérifie pas (ligne {err.line} : {err.reason}) : la signature "
            "n'y est pas inscrite. Prévenez la DSI (seance audit register)."
        )
    return refusal[0] if refusal else None


async def sign(request: web.Request) -> web.StreamResponse:
    """POST …/proces-verbal/signer: the adopted text as a signed PDF/A, its digest entered in the
    adopting sitting's journal while it is open, else in the council's register (R11, R22)."""
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    claims = checked[0]
    by = claims.login or claims.role.value
    sitting_id = request.match_info["seance"]
    data_dir = request.app[CONFIG].data_dir
    with CouncilStore.in_data_dir(data_dir) as store:
        council = store.current()
        link = store.minutes_link(council.id, sitting_id) if council else None
    record = sitting_record(request.app, sitting_id)
    if council is None or link is None or record is None:
        return await _refused(
            request, "Le procès-verbal n'a pas été soumis à l'approbation du conseil : rien à signer."
        )
    adoption = _adoption(request.app, link)
    if adoption is None or not adoption.adopted:
        return await _refused(
            request, "Le conseil n'a pas encore adopté ce procès-verbal : il se signe une fois le vote clos et adopté."
        )
    if (why := _already_signed(adoption, read_publications(request.app, council.id))) is not None:
        return await _refused(request, why)
    service = request.app[SITTINGS].get(link.approving_sitting_id)
    closed = _approving_closed(request.app, link)
    if not closed and (service is None or service.seance is None):
        return await _refused(
            request,
            f"La séance « {adoption.approving_title} », qui a adopté ce procès-verbal, n'est pas servie par ce "
            "serveur : la signature s'inscrit à son journal tant qu'elle est ouverte.",
        )
    if record.signed_head is None:
        return await _refused(request, "Le journal de la séance ne porte aucun sceau signé : rien ne peut l'attester.")
    ctx = minutes_context(record.seance)
    key = council_key(data_dir)
    certificate = certificate_html(
        adoption, record.signed_head, ctx["president"], ctx["secretary"] or "", key_fingerprint(key.public_key())
    )
    pdf = await asyncio.to_thread(signed_pdf, link.html, adoption, certificate)
    # PAdES inside the PDF, by the council's key, for the president and the secretary (L.2121-15)
    pdf = await asyncio.to_thread(sign_minutes, pdf, key, ctx["council"].name, ctx["president"], ctx["secretary"] or "")
    digest = hashlib.sha256(pdf).hexdigest()
    # written first under a name of its own, renamed once entered: a second click, refused
    # (R22: already signed), never replaces the file the journal or the register records
    path = signed_pdf_path(data_dir, sitting_id)
    pending = path.with_name(f"{path.stem}.{digest[:16]}.pdf.tmp")
    pending.write_bytes(pdf)
    refusal: str | None = None
    if not closed and service is not None:
        result = await service.command(
            ADMIN, {"type": RecordMinutesSigned.__name__, "item_id": link.item_id, "pdf_sha256": digest}
        )
        refusal = result.message if isinstance(result, Refusal) else None
        closed = refusal is not None and _approving_closed(request.app, link)  # closed meanwhile: the register
    if closed:
        refusal = await asyncio.to_thread(_enter_in_register, request.app, council.id, link, adoption, digest, by)
    if refusal is not None:
        pending.unlink(missing_ok=True)
        return await _refused(request, refusal)
    pending.replace(path)
    publish_acts(request.app, by=by)  # L.2121-15: online, dated in the register
    raise web.HTTPSeeOther(f"/admin/seances/{sitting_id}/proces-verbal#signature")


async def download_pdf(request: web.Request) -> web.StreamResponse:
    """GET …/proces-verbal.pdf: the signed procès-verbal (the admin's copy)."""
    claims = admin_claims(request)
    if isinstance(claims, web.Response):
        return claims
    path = signed_pdf_path(request.app[CONFIG].data_dir, request.match_info["seance"])
    if not path.is_file():
        return error(
            request, 404, "Procès-verbal non signé", "Le procès-verbal de cette séance n'est pas encore signé."
        )
    return web.Response(
        body=path.read_bytes(),
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{path.name}"', "Cache-Control": "no-store"},
    )


def add_minutes_routes(app: web.Application) -> None:
    app.router.add_get("/admin/seances/{seance}/proces-verbal", minutes_page)
    app.router.add_get("/admin/seances/{seance}/proces-verbal/apercu.html", preview)
    app.router.add_get("/admin/seances/{seance}/proces-verbal.pdf", download_pdf)
    app.router.add_post("/admin/seances/{seance}/proces-verbal/texte", save_text)
    app.router.add_post("/admin/seances/{seance}/proces-verbal/arreter", submit)
    app.router.add_post("/admin/seances/{seance}/proces-verbal/signer", sign)
