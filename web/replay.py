"""The replay: a sitting's recording exported as a standard WebM (R5, R19; issue 16 point 4).

The recorder writes the public programme as WebM (VP8 and Opus, never decoded), encrypted
at rest (:mod:`signaling.recordings`); the R19 passages are recorded silent and black. An
export is that WebM decrypted, byte for byte as the muxer wrote it (no re-encoding), and
only when the encrypted file's SHA-256 is the one the sitting's journal records.

- ``POST /admin/rediffusion``: the règlement's setting (who may export, whether the council
  publishes the recordings), :class:`deliberation.replay.ReplayPolicy`, in the council store;
- ``GET /enregistrements/<seance>``: the sitting's recordings, for a role the règlement allows;
- ``GET /enregistrements/<seance>/<fichier>.webm``: one exported;
- ``GET /actes/<seance>/enregistrement/<fichier>.webm``: the same without login, when the
  règlement publishes them (linked from the Actes page).

Every export and every public download is appended to the council store (``replay_export``:
who, when, which file and its digest). Not to the sitting's journal: the recording's
digest is journaled at the closing and nothing is journaled after it (R11).
"""

from __future__ import annotations

import asyncio
import re

import aiohttp_jinja2
from aiohttp import web

from deliberation.minutes import french_date, french_time
from deliberation.refusal import Refusal
from deliberation.replay import EXPORT_ROLES, ReplayPolicy, journaled_recording, may_export
from signaling.council_store import CouncilStore, now_iso
from signaling.datadir import ID_RE
from signaling.recordings import SUFFIX, decrypt, recording_key, recordings_dir, sha256_file
from web.admin.csrf import checked_post
from web.appkeys import CONFIG
from web.next_page import login_redirect
from web.records import sitting_record
from web.session import error_page, session_account

_FILE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[a-z0-9-]{1,40}\.webm$")


def recordings_of(app: web.Application, sitting_id: str) -> list[dict[str, str]]:
    """The sitting's journaled recordings whose file is still kept: name, label, digest, date."""
    record = sitting_record(app, sitting_id)
    if record is None:
        return []
    folder = recordings_dir(app[CONFIG].data_dir, sitting_id)
    out = []
    for r in record.seance.state.recordings:
        enc = r["label"].rsplit("/", 1)[-1]
        if enc.endswith(SUFFIX) and (folder / enc).is_file():
            out.append({"name": enc[: -len(".enc")], "label": r["label"], "sha256": r["sha256"], "at": r["at"]})
    return out


def _policy(app: web.Application) -> tuple[str, ReplayPolicy] | None:
    with CouncilStore.in_data_dir(app[CONFIG].data_dir) as store:
        council = store.current()
        return (council.id, store.replay_policy(council.id)) if council else None


async def _export(request: web.Request, sitting_id: str, name: str, by: str) -> web.StreamResponse:
    """Decrypt the recording ``name`` of the sitting if the journal records its digest."""
    if not ID_RE.match(sitting_id) or not _FILE.match(name):
        return error_page(request, 404, "Enregistrement introuvable", "Aucun enregistrement sous cette adresse.")
    data_dir = request.app[CONFIG].data_dir
    enc = recordings_dir(data_dir, sitting_id) / f"{name}.enc"
    record = sitting_record(request.app, sitting_id)
    if record is None or not enc.is_file():
        return error_page(request, 404, "Enregistrement introuvable", "Aucun enregistrement sous cette adresse.")
    digest = await asyncio.to_thread(sha256_file, enc)
    label = f"recordings/{sitting_id}/{enc.name}"
    entry = journaled_recording(record.seance.state.recordings, label, digest)
    if isinstance(entry, Refusal):
        return error_page(request, 409, "Enregistrement non exporté", entry.message)
    webm = await asyncio.to_thread(decrypt, enc, recording_key(data_dir, request.app[CONFIG].recording_key_path))
    with CouncilStore.in_data_dir(data_dir) as store:
        council = store.current()
        assert council is not None
        store.record_export(council.id, sitting_id, label, digest, by, now_iso())
    return web.Response(
        body=webm,
        content_type="video/webm",
        headers={"Content-Disposition": f'attachment; filename="{sitting_id}-{name}"', "Cache-Control": "no-store"},
    )


def _allowed(request: web.Request) -> tuple[str, str] | web.Response:
    """(login, role) of a session the règlement lets export, or the French refusal."""
    claims = session_account(request)
    if claims is None:
        raise login_redirect(request)
    found = _policy(request.app)
    refusal = may_export(found[1], claims.role.value) if found else Refusal("R5", "R5 — aucun conseil enregistré.")
    if refusal is not None:
        return error_page(request, 403, "Export refusé", refusal.message)
    return claims.login or claims.role.value, claims.role.value


async def list_page(request: web.Request) -> web.StreamResponse:
    """GET /enregistrements/<seance>: the recordings the allowed person may export."""
    allowed = _allowed(request)
    if isinstance(allowed, web.Response):
        return allowed
    sitting_id = request.match_info["seance"]
    if not ID_RE.match(sitting_id):
        return error_page(request, 404, "Séance inconnue", "Cet identifiant de séance n'est pas valide.")
    return aiohttp_jinja2.render_template(
        "replay.html",
        request,
        {
            "sitting_id": sitting_id,
            "recordings": recordings_of(request.app, sitting_id),
            "date_fr": french_date,
            "time_fr": french_time,
        },
    )


async def export(request: web.Request) -> web.StreamResponse:
    """GET /enregistrements/<seance>/<fichier>.webm, for a role the règlement allows."""
    allowed = _allowed(request)
    if isinstance(allowed, web.Response):
        return allowed
    return await _export(request, request.match_info["seance"], request.match_info["name"], allowed[0])


async def public_export(request: web.Request) -> web.StreamResponse:
    """GET /actes/<seance>/enregistrement/<fichier>.webm, when the règlement publishes them."""
    found = _policy(request.app)
    if found is None or not found[1].publish:
        return error_page(
            request,
            404,
            "Enregistrement non publié",
            "Le règlement intérieur ne prévoit pas la publication des débats.",
        )
    return await _export(request, request.match_info["seance"], request.match_info["name"], "public")


async def save_policy(request: web.Request) -> web.StreamResponse:
    """POST /admin/rediffusion: the règlement's replay setting (roles, publication)."""
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    _claims, form = checked
    roles = frozenset(r for r in EXPORT_ROLES if form.get(f"role-{r}") == "on")
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.current()
        if council is None:
            return error_page(request, 400, "Conseil absent", "Enregistrez d'abord le conseil.")
        store.set_replay_policy(council.id, ReplayPolicy(roles, form.get("publish") == "on"))
    raise web.HTTPSeeOther("/admin?ok=rediffusion#rediffusion")


def add_replay_routes(app: web.Application) -> None:
    name = r"{name:[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+\.webm}"
    app.router.add_post("/admin/rediffusion", save_policy)
    app.router.add_get("/enregistrements/{seance}", list_page)
    app.router.add_get(f"/enregistrements/{{seance}}/{name}", export)
    app.router.add_get(f"/actes/{{seance}}/enregistrement/{name}", public_export)
