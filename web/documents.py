"""The annex shown in séance, for the salles' displays and the public page (issue 15 point 8).

``GET /public/<seance>/documents/<annexe>?sha256=<digest>`` gives the PDF of the annex the
chair has put on the displays, to anyone, while it is shown in the open sitting and ``sha256``
is the digest journaled when it was shown (``PresentAnnex``): what the public receives is
what the journal says it saw. The other annexes of the convocation (a note de synthèse
not shown) are the members' (L.2121-13): a member of the council or its staff logged in
gets any of them here as at ``/elu/annexes/…``; anyone else gets 403 (the annex exists but
is not shown) or 404 (no such annex, or no such sitting served here), in the one JSON
shape ``{"ok": false, "rule", "field", "message"}``.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from signaling import datadir
from signaling.council_store import ANNEX_LABELS, Annex
from signaling.presentation import sitting_annexes
from signaling.roles import Role
from signaling.sitting import SittingService
from web.admin.annexes import STAFF_ROLES, annex_response
from web.appkeys import CONFIG, SITTINGS
from web.session import session_account


def presentable_annexes(data_dir: Path, sitting_id: str) -> dict[str, list[dict[str, str]]]:
    """The convocation's annexes by item, for the chair's control (« Présenter l'annexe »)."""
    out: dict[str, list[dict[str, str]]] = {}
    for annex in sitting_annexes(data_dir, sitting_id):
        label = ANNEX_LABELS.get(annex.label, "Document")
        out.setdefault(annex.item_id, []).append({"id": annex.id, "label": label, "filename": annex.filename})
    return out


def refusal(status: int, message: str, rule: str | None = None, field: str | None = None) -> web.Response:
    return web.json_response({"ok": False, "rule": rule, "field": field, "message": message}, status=status)


def _member_or_staff(request: web.Request, service: SittingService) -> bool:
    """A person logged in who may read every annex of the convocation: its staff, or a member
    of the council holding the sitting (as web.admin.annexes.member_annex)."""
    claims = session_account(request)
    if claims is None:
        return False
    if claims.role in STAFF_ROLES:
        return True
    council = service.seance.council if service.seance is not None else None
    return (
        claims.role is Role.COUNCILLOR
        and claims.member is not None
        and council is not None
        and council.member(claims.member) is not None
    )


async def presented_document(request: web.Request) -> web.StreamResponse:
    """GET /public/<seance>/documents/<annexe>?sha256=…: the annex on the displays (see the module)."""
    sitting_id, annex_id = request.match_info["seance"], request.match_info["annexe"]
    sha256 = request.query.get("sha256", "")
    service = request.app[SITTINGS].get(sitting_id) if datadir.ID_RE.match(sitting_id) else None
    if service is None or not datadir.ID_RE.match(annex_id):
        return refusal(404, "Aucun document sous cette adresse.")
    path = service.presented(annex_id, sha256)
    if path is not None:
        return _pdf(path)
    data_dir = request.app[CONFIG].data_dir
    annex: Annex | None = next((a for a in sitting_annexes(data_dir, sitting_id) if a.id == annex_id), None)
    if annex is None:
        return refusal(404, "Cette annexe n'existe pas pour cette séance.")
    if _member_or_staff(request, service):
        return annex_response(data_dir, sitting_id, annex)
    return refusal(
        403,
        "Ce document n'est pas montré en séance en ce moment : les annexes de la convocation sont réservées "
        "aux membres du conseil tant qu'elles ne sont pas présentées en séance publique.",
        "R2",
    )


def _pdf(path: Path) -> web.StreamResponse:
    if not path.exists():
        return refusal(404, "Le fichier de ce document est introuvable sur le serveur.")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": "inline",
            # shown now, maybe not in a minute: never kept by a shared cache
            "Cache-Control": "private, no-store",
        },
    )


def add_document_routes(app: web.Application) -> None:
    app.router.add_get("/public/{seance}/documents/{annexe}", presented_document)
