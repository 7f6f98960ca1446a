"""The annexes of the agenda's items: notes de synthèse, plans, budgets (L.2121-12 CGCT via
L.5211-1: « une note explicative de synthèse sur les affaires soumises à délibération doit
être adressée avec la convocation »; L.2121-13: each member's right to be informed).

``POST /admin/seances/<id>/annexes`` (multipart, RFC 7578) stores one PDF for one item,
before the convocation: the file under the data directory
(:meth:`signaling.datadir.DataDir.annex`, mode 0640), its SHA-256 and size in the council
store. The body is read as it comes and cut at :data:`MAX_ANNEX_BYTES` (the application's
64 KB bound is for forms: this route reads its multipart itself). A refusal (not a PDF,
too large, sitting already convened, unknown item) is in French, changes nothing, and is
the sitting's page again, or ``{ok, rule, field, message}`` for a client asking JSON.
``…/annexes/<annexe>/supprimer`` deletes one, before the convocation too; the convocation
then carries them (:mod:`web.admin.convocations`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from aiohttp import BodyPartReader, web

from signaling import datadir
from signaling.council_store import ANNEX_LABELS, Annex, CouncilStore, now_iso
from signaling.roles import Role
from web.admin.csrf import CSRF_FIELD, admin_claims, bad_token, foreign_origin
from web.admin.forms import Invalid
from web.admin.posts import SittingGet, SittingPost, sitting_get, sitting_or_404, sitting_post
from web.admin.render import page
from web.admin.views import journal_exists, sitting_context
from web.appkeys import CONFIG
from web.next_page import login_redirect
from web.session import error_page, session_account

#: The largest annex accepted (a scanned plan fits; the convocation links what exceeds its own bound).
MAX_ANNEX_BYTES = 20 * 1024 * 1024
#: The annexes of one sitting, at most.
MAX_ANNEXES = 50
#: Who reads the annexes besides the council's own members: its staff and the sitting's officers.
STAFF_ROLES = frozenset({Role.PRESIDENT, Role.MODERATOR, Role.AGENT, Role.AUDITOR, Role.ADMIN})
#: A PDF starts with this (ISO 32000-1 §7.5.2, the file header).
PDF_MAGIC = b"%PDF-"
#: The parts a form of this route has (csrf, point, nature, fichier): more is not this form.
MAX_PARTS = 8
#: Bytes of a text field of the form.
MAX_FIELD_BYTES = 1024


@dataclass(frozen=True)
class Upload:
    """The posted form: its text fields and the file's name and bytes (None: no file part)."""

    fields: dict[str, str]
    filename: str
    data: bytes | None


def display_name(filename: str) -> str:
    """The file's own name, without its folders or control characters, ending in ``.pdf``; as
    browsers send it (HTML's multipart encoding: UTF-8, ``"`` and newlines percent-encoded)
    or percent-encoded throughout (aiohttp's client)."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", unquote(filename).replace("\\", "/").rsplit("/", 1)[-1]).strip()[:120]
    name = name or "annexe.pdf"
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """RFC 6266 §4.3: an ASCII ``filename`` for old clients and the UTF-8 ``filename*`` (RFC 8187)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename) or "annexe.pdf"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def read_upload(request: web.Request) -> Upload:
    """The multipart body, the file cut at :data:`MAX_ANNEX_BYTES` (beyond: refused, 413)."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise Invalid("Envoyez le fichier avec le formulaire « Joindre une annexe ».", "fichier") from None
    fields: dict[str, str] = {}
    filename, data = "", None
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        limit = MAX_ANNEX_BYTES if part.name == "fichier" else MAX_FIELD_BYTES
        buf = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            buf += chunk
            if len(buf) > limit:
                if part.name == "fichier":
                    raise Invalid(
                        f"Le fichier dépasse {MAX_ANNEX_BYTES // (1024 * 1024)} Mo : réduisez-le (numérisation "
                        "en 150 dpi, par exemple) ou découpez-le en plusieurs annexes. Rien n'a été joint.",
                        "fichier",
                        status=413,
                    )
                raise Invalid("Formulaire trop long : rien n'a été joint.")
        if part.name == "fichier":
            filename, data = part.filename or "", bytes(buf)
        else:
            fields[part.name] = buf.decode("utf-8", "replace").strip()
    return Upload(fields, filename, data)


def check_open(store: CouncilStore, data_dir: Path, council_id: str, sitting_id: str) -> None:
    """Annexes change only before the convocation: it is the convocation's content (R6)."""
    if store.convened_at(council_id, sitting_id) is not None or journal_exists(data_dir, sitting_id):
        raise Invalid(
            "La séance est déjà convoquée : les annexes envoyées avec la convocation ne changent plus. Un "
            "document complémentaire se remet en séance ou par un nouvel envoi du secrétariat (R6).",
            status=409,
        )


def store_annex(store: CouncilStore, data_dir: Path, council_id: str, sitting_id: str, upload: Upload) -> Annex:
    """Check the upload, write the file (0640, synced), then record it; a refusal writes nothing."""
    check_open(store, data_dir, council_id, sitting_id)
    item_id = upload.fields.get("point", "")
    if item_id not in {i.item_id for i in store.agenda(council_id, sitting_id)}:
        raise Invalid("Choisissez le point de l'ordre du jour auquel joindre l'annexe.", "point")
    label = upload.fields.get("nature", "")
    if label not in ANNEX_LABELS:
        raise Invalid("Choisissez la nature du document (note de synthèse, plan, …).", "nature")
    data = upload.data
    if not data:
        raise Invalid("Choisissez le fichier PDF à joindre.", "fichier")
    if not data.startswith(PDF_MAGIC):
        raise Invalid(
            "Ce fichier n'est pas un PDF : enregistrez-le au format PDF (« Exporter en PDF » du traitement de "
            "texte ou du tableur), puis joignez-le.",
            "fichier",
            status=415,
        )
    if len(store.annexes(council_id, sitting_id)) >= MAX_ANNEXES:
        raise Invalid(f"Une séance a au plus {MAX_ANNEXES} annexes : regroupez des documents en un seul PDF.")
    annex = Annex(
        secrets.token_hex(8),
        item_id,
        label,
        display_name(upload.filename),
        hashlib.sha256(data).hexdigest(),
        len(data),
        now_iso(),
    )
    path = datadir.DataDir.of(data_dir).annex(sitting_id, annex.id)
    datadir.private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, datadir.FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        store.add_annex(council_id, sitting_id, annex)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return annex


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def upload_annex(request: web.Request) -> web.StreamResponse:
    """POST /admin/seances/<id>/annexes: one PDF for one item of the agenda."""
    claims = admin_claims(request)
    if isinstance(claims, web.Response):
        return claims
    foreign = foreign_origin(request)
    if foreign is not None:
        return foreign
    data_dir = request.app[CONFIG].data_dir
    with CouncilStore.in_data_dir(data_dir) as store:
        found = sitting_or_404(request, store)
        if isinstance(found, web.Response):
            return found
        council, sitting, sittings = found
        upload = Upload({}, "", None)
        try:
            upload = await read_upload(request)
            bad = bad_token(request, upload.fields.get(CSRF_FIELD, ""))
            if bad is not None:
                return bad
            annex = store_annex(store, data_dir, council.id, sitting.id, upload)
        except Invalid as err:
            if wants_json(request):
                rule = "R6" if err.status == 409 else None  # « not now »: the convocation is fixed
                body = {"ok": False, "rule": rule, "field": err.field, "message": err.message}
                return web.json_response(body, status=err.status)
            err.section = "annexes"
            items = store.agenda(council.id, sitting.id)
            convened_at = store.convened_at(council.id, sitting.id)
            form = {k: v for k, v in upload.fields.items() if k != CSRF_FIELD}
            context = sitting_context(
                request, council, sitting, sittings, items, convened_at, store, form=form, error=err
            )
            return page(request, "admin_sitting.html", context, status=err.status)
    if wants_json(request):
        return web.json_response({"ok": True, "id": annex.id, "sha256": annex.sha256, "size": annex.size})
    raise web.HTTPSeeOther(f"/admin/seances/{sitting.id}?annexe=1#annexes")


@sitting_post("annexes")
async def delete_annex(post: SittingPost) -> web.StreamResponse:
    """POST /admin/seances/<id>/annexes/<annexe>/supprimer: before the convocation only."""
    data_dir = post.request.app[CONFIG].data_dir
    check_open(post.store, data_dir, post.council.id, post.sitting.id)
    annex_id = post.request.match_info["annexe"]
    if not datadir.ID_RE.match(annex_id) or not post.store.delete_annex(post.council.id, post.sitting.id, annex_id):
        raise Invalid("Cette annexe n'existe pas (ou plus) : rien n'a été supprimé.", status=404)
    datadir.DataDir.of(data_dir).annex(post.sitting.id, annex_id).unlink(missing_ok=True)
    raise web.HTTPSeeOther(f"/admin/seances/{post.sitting.id}?annexe=0#annexes")


def annex_response(data_dir: Path, sitting_id: str, annex: Annex) -> web.StreamResponse:
    """The annex as a PDF, opened in the browser under its own name."""
    path = datadir.DataDir.of(data_dir).annex(sitting_id, annex.id)
    if not path.exists():
        raise web.HTTPNotFound()
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": content_disposition(annex.filename),
            "Cache-Control": "private, no-store",
        },
    )


@sitting_get
async def admin_annex(get: SittingGet) -> web.StreamResponse:
    """GET /admin/seances/<id>/annexes/<annexe>: the admin reads what was joined."""
    annex_id = get.request.match_info["annexe"]
    annex = next((a for a in get.store.annexes(get.council.id, get.sitting.id) if a.id == annex_id), None)
    if annex is None:
        raise web.HTTPNotFound()
    return annex_response(get.request.app[CONFIG].data_dir, get.sitting.id, annex)


@dataclass(frozen=True)
class ItemDocuments:
    """One item of the convocation's agenda, numbered, with its annexes (the councillor's page)."""

    number: int
    item_id: str
    title: str
    annexes: tuple[Annex, ...]


def sitting_documents(data_dir: Path, sitting_id: str) -> tuple[str | None, list[ItemDocuments]]:
    """The id of the council holding ``sitting_id`` (None: no such sitting stored) and the
    agenda of its convocation, each item with its annexes."""
    with CouncilStore.in_data_dir(data_dir) as store:
        council_id = council_of(store, sitting_id)
        if council_id is None:
            return None, []
        annexes = store.annexes(council_id, sitting_id)
        return council_id, [
            ItemDocuments(n, i.item_id, i.title, tuple(a for a in annexes if a.item_id == i.item_id))
            for n, i in enumerate(store.agenda(council_id, sitting_id), 1)
        ]


def council_of(store: CouncilStore, sitting_id: str) -> str | None:
    """The id of the stored council that holds ``sitting_id``, or None."""
    return next((cid for cid, _name in store.councils() if store.sitting(cid, sitting_id) is not None), None)


async def member_annex(request: web.Request) -> web.StreamResponse:
    """GET /elu/annexes/<séance>/<annexe>: an annex for the council's logged-in members (L.2121-13:
    each member's right to be informed of the affairs deliberated) and its staff."""
    claims = session_account(request)
    if claims is None:
        raise login_redirect(request)
    sitting_id, annex_id = request.match_info["seance"], request.match_info["annexe"]
    if not (datadir.ID_RE.match(sitting_id) and datadir.ID_RE.match(annex_id)):
        return error_page(request, 404, "Annexe inconnue", "Aucune annexe sous cette adresse.")
    data_dir = request.app[CONFIG].data_dir
    with CouncilStore.in_data_dir(data_dir) as store:
        council_id = council_of(store, sitting_id)
        council = store.load(council_id) if council_id else None
        annexes = store.annexes(council_id, sitting_id) if council_id else []
    member = council is not None and claims.member is not None and council.member(claims.member) is not None
    if not (claims.role in STAFF_ROLES or (claims.role is Role.COUNCILLOR and member)):
        return error_page(
            request,
            403,
            "Accès refusé",
            "Les annexes de la convocation sont réservées aux membres du conseil et à ses services.",
        )
    annex = next((a for a in annexes if a.id == annex_id), None)
    if annex is None:
        return error_page(request, 404, "Annexe inconnue", "Cette annexe n'existe pas (ou plus) pour cette séance.")
    return annex_response(data_dir, sitting_id, annex)


def add_annex_routes(app: web.Application) -> None:
    app.router.add_post("/admin/seances/{seance}/annexes", upload_annex)
    app.router.add_get("/admin/seances/{seance}/annexes/{annexe}", admin_annex)
    app.router.add_post("/admin/seances/{seance}/annexes/{annexe}/supprimer", delete_annex)
    app.router.add_get("/elu/annexes/{seance}/{annexe}", member_annex)
