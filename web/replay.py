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

Every export by an account is entered in the council's signed register
(:mod:`deliberation.register`, ``ReplayExported``: who, when, the journaled recording and
the digest of the WebM handed out), and so is the replay's publication and its withdrawal
(``ReplayPublished``, ``ReplayWithdrawn``: :func:`publish_replays`, run when the règlement's
setting changes and by the refresh loop). Not the sitting's journal: the recording's digest
is journaled at the closing and nothing is journaled after it (R11). The public link
serves a recording only while the register says it is published, as the very file
entered. Public downloads are also logged in the council store (``replay_export``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re

import aiohttp_jinja2
from aiohttp import web

from deliberation.journal import JournalError
from deliberation.minutes import french_date, french_time
from deliberation.refusal import Refusal
from deliberation.register import Publications, RegisterEntry, ReplayExported, ReplayPublished, ReplayWithdrawn
from deliberation.replay import EXPORT_ROLES, ReplayPolicy, journaled_recording, may_export
from signaling.council_store import CouncilStore, now_iso
from signaling.datadir import ID_RE
from signaling.recordings import SUFFIX, RecordingError, decrypt, recording_key, recordings_dir, sha256_file
from web.admin.csrf import checked_post
from web.appkeys import CONFIG, REGISTER_CACHE
from web.next_page import login_redirect
from web.publications import SERVER, council_register, read_publications
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


async def _export(request: web.Request, sitting_id: str, name: str, by: str | None) -> web.StreamResponse:
    """Decrypt the recording ``name`` of the sitting if the journal records its digest:
    exported by the account ``by`` (entered in the register), or, ``by`` None, downloaded
    from the Actes page (only the file the register published)."""
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
    file_sha256 = hashlib.sha256(webm).hexdigest()
    with CouncilStore.in_data_dir(data_dir) as store:
        council = store.current()
        assert council is not None
        if by is None:
            published = read_publications(request.app, council.id).replay(sitting_id, label)
            if published is None or published.file_sha256 != file_sha256:
                return _unpublished(request)
            store.record_export(council.id, sitting_id, label, digest, "public", now_iso())
        else:
            entry = ReplayExported(sitting_id, now_iso(), label, digest, file_sha256, by)
            council_register(data_dir, council.id).append(lambda pub: [entry])
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


def _unpublished(request: web.Request) -> web.Response:
    return error_page(
        request,
        404,
        "Enregistrement non publié",
        "Le règlement intérieur ne prévoit pas la publication des débats, ou cet enregistrement n'est pas publié.",
    )


async def public_export(request: web.Request) -> web.StreamResponse:
    """GET /actes/<seance>/enregistrement/<fichier>.webm, while the register says it is published."""
    found = _policy(request.app)
    if found is None or not found[1].publish:
        return _unpublished(request)
    return await _export(request, request.match_info["seance"], request.match_info["name"], None)


def published_recordings(app: web.Application, sitting_id: str) -> list[dict[str, str]]:
    """The sitting's recordings the register says are published (R5), for the Actes page."""
    with CouncilStore.in_data_dir(app[CONFIG].data_dir) as store:
        council = store.current()
    if council is None:
        return []
    pub = read_publications(app, council.id)
    return [r for r in recordings_of(app, sitting_id) if pub.replay(sitting_id, r["label"]) is not None]


def publish_replays(app: web.Application, by: str = SERVER) -> list[RegisterEntry]:
    """R5: bring the register in line with the règlement's setting: every recording of a
    closed sitting entered as published (with the digest of the WebM the public will get)
    when the règlement publishes them, every publication withdrawn when it no longer does,
    and a published recording whose file was deleted (end of retention) withdrawn."""
    data_dir = app[CONFIG].data_dir
    with CouncilStore.in_data_dir(data_dir) as store:
        council = store.current()
        if council is None:
            return []
        policy = store.replay_policy(council.id)
        sittings = [s.id for s in store.sittings(council.id)]
    register = council_register(data_dir, council.id)
    try:
        pub = register.read(app[REGISTER_CACHE])
    except JournalError:
        return []  # logged by the Actes pages; nothing is published from a register that does not verify
    due: list[RegisterEntry] = []
    if not policy.publish:
        due = [ReplayWithdrawn(p.sitting_id, now_iso(), p.recording, by) for p in pub.replays()]
    else:
        # a recording deleted at the end of its retention (R5, seance recordings purge) is withdrawn
        for p in pub.replays():
            if not (recordings_dir(data_dir, p.sitting_id) / p.recording.rsplit("/", 1)[-1]).is_file():
                due.append(ReplayWithdrawn(p.sitting_id, now_iso(), p.recording, by))
        key = recording_key(data_dir, app[CONFIG].recording_key_path)
        for sitting_id in sittings:
            record = sitting_record(app, sitting_id)
            if record is None or record.seance.state.status != "closed":
                continue
            for r in recordings_of(app, sitting_id):
                if pub.replay(sitting_id, r["label"]) is not None:
                    continue
                enc = recordings_dir(data_dir, sitting_id) / r["label"].rsplit("/", 1)[-1]
                try:
                    if sha256_file(enc) != r["sha256"]:
                        continue  # changed since it was journaled: never published
                    file_sha256 = hashlib.sha256(decrypt(enc, key)).hexdigest()
                except (OSError, RecordingError):
                    continue  # removed or unreadable meanwhile: not published (the export page says why)
                due.append(ReplayPublished(sitting_id, now_iso(), r["label"], file_sha256, by))
    if not due:
        return []

    def still_due(current: Publications) -> list[RegisterEntry]:
        published = {(p.sitting_id, p.recording) for p in current.replays()}
        return [e for e in due if ((e.sitting_id, e.recording) in published) == isinstance(e, ReplayWithdrawn)]

    return register.append(still_due)


async def save_policy(request: web.Request) -> web.StreamResponse:
    """POST /admin/rediffusion: the règlement's replay setting (roles, publication)."""
    checked = await checked_post(request)
    if isinstance(checked, web.Response):
        return checked
    claims, form = checked
    roles = frozenset(r for r in EXPORT_ROLES if form.get(f"role-{r}") == "on")
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.current()
        if council is None:
            return error_page(request, 400, "Conseil absent", "Enregistrez d'abord le conseil.")
        store.set_replay_policy(council.id, ReplayPolicy(roles, form.get("publish") == "on"))
    await asyncio.to_thread(publish_replays, request.app, claims.login or claims.role.value)
    raise web.HTTPSeeOther("/admin?ok=rediffusion#rediffusion")


def add_replay_routes(app: web.Application) -> None:
    name = r"{name:[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+\.webm}"
    app.router.add_post("/admin/rediffusion", save_policy)
    app.router.add_get("/enregistrements/{seance}", list_page)
    app.router.add_get(f"/enregistrements/{{seance}}/{name}", export)
    app.router.add_get(f"/actes/{{seance}}/enregistrement/{name}", public_export)
