"""What the admin pages show, computed from the store: the semester standing (R23), the
warnings of a sitting (R6, R23), the sobriety figures, the sittings that failed for lack
of quorum (R8), the kiosk links, and the context of each page.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from deliberation.actes import ACTES_MATIERES
from deliberation.adoption import adoption_of, minutes_signature
from deliberation.agenda import BANNED_KINDS, BODY_LABELS, KIND_LABELS, NATURES, Body, title_warnings
from deliberation.commands import AddAgendaItem
from deliberation.convocation_date import journaled, sent_on
from deliberation.council import (
    Council,
    Reconvocation,
    Seat,
    SittingConfig,
)
from deliberation.deadlines import (
    CONVOCATION_CLEAR_DAYS,
    SittingSlot,
    clear_days_between,
    convocation_due,
    convocation_message,
    recorded_sending,
    semester_of,
    semester_standing,
    semester_warning,
)
from deliberation.journal import JournalError, key_fingerprint, load_public_pem, read_verified
from deliberation.minutes import french_date, french_time
from deliberation.publication import liste_publication, pv_publication
from deliberation.reconvocation import reconvocation_of
from deliberation.replay import EXPORT_ROLES, ROLE_LABELS
from signaling import datadir, sobriety
from signaling.council_store import ANNEX_LABELS, CouncilStore, Sending
from signaling.kiosk_links import kiosk_token
from signaling.roles import ROLE_LABELS_FR
from web.admin.csrf import csrf_token
from web.admin.forms import MANAGED_ROLES
from web.appkeys import ACCOUNTS, CONFIG, HOSTED, SIGNER, SITTINGS
from web.publications import publish_acts, read_publications, register_problem
from web.records import sitting_record


def semester_label(sem: tuple[int, int]) -> str:
    year, half = sem
    return f"{half}{'er' if half == 1 else 'e'} semestre {year}"


def _slots(sittings: list[SittingConfig]) -> list[SittingSlot]:
    return [SittingSlot(s.scheduled_at, s.teleconference) for s in sittings]


def r6_warning(sent: date | None, scheduled_at: str) -> str | None:
    """R6's French warning: not sent yet (by when it must leave), or sent too late; None when met."""
    if sent is None:
        return (
            "R6 — convocation pas encore envoyée : elle doit partir au plus tard le "
            f"{french_date(convocation_due(scheduled_at).isoformat())} ({CONVOCATION_CLEAR_DAYS} jours francs avant "
            "la séance)."
        )
    return convocation_message(sent, scheduled_at)


def sitting_warnings(sitting: SittingConfig, sittings: list[SittingConfig], sent: date | None = None) -> list[str]:
    """R6 (not sent yet, or late: from the journaled sending) and R23 (no single-place
    sitting this semester)."""
    out = []
    late = r6_warning(sent, sitting.scheduled_at)
    if late:
        out.append(late)
    r23 = semester_warning(
        _slots([s for s in sittings if s.id != sitting.id]), SittingSlot(sitting.scheduled_at, sitting.teleconference)
    )
    if r23:
        out.append(r23)
    return out


def standing_rows(sittings: list[SittingConfig], today: date) -> list[dict[str, Any]]:
    """R23: each semester with sittings, and the current one, with its single-place standing."""
    standing = semester_standing(_slots(sittings))
    standing.setdefault(semester_of(today), False)
    rows = []
    for sem in sorted(standing):
        held = [s for s in sittings if semester_of(s.scheduled_at) == sem]
        rows.append(
            {
                "label": semester_label(sem),
                "ok": standing[sem],
                "count": len(held),
                "visio": sum(s.teleconference for s in held),
                "current": sem == semester_of(today),
            }
        )
    return rows


def journaled_sending(app: web.Application, sitting_id: str) -> tuple[date | None, bool]:
    """R6's day as the sitting's journal records it (:func:`deliberation.convocation_date.sent_on`;
    the live state when this process serves it), and whether it comes from journaled sendings
    (False: nothing sent, or the date typed in a journal written before issue 16)."""
    service = app[SITTINGS].get(sitting_id)
    if service is not None and service.seance is not None:
        seance = service.seance
    elif (record := sitting_record(app, sitting_id)) is not None:
        seance = record.seance
    else:
        return None, False
    return sent_on(seance), journaled(seance)


def entered_sendings(app: web.Application, council: Council | None, sitting: SittingConfig) -> dict[str, str]:
    """R6: the sendings of the sitting's convocation entered in the council's register."""
    return read_publications(app, council.id).convocations_sent(sitting.id) if council is not None else {}


def sitting_view(
    app: web.Application, s: SittingConfig, sittings: list[SittingConfig], entered: dict[str, str] | None = None
) -> dict[str, Any]:
    """A sitting for the pages; R6 counted from its journaled sending (``by_mail``), or the
    date an older journal carries; none yet: ``convened`` None and the warning says by when.
    ``entered``: the sendings the council's signed register holds for it (per member, the
    first), read only when the journal has none (a sending made by a worker that does not
    serve the sitting is entered there): then ``in_register`` says so."""
    sent, by_mail = journaled_sending(app, s.id)
    in_register = False
    if sent is None and entered:
        sent = recorded_sending(entered.values())
        in_register = sent is not None
    return {
        "config": s,
        "date": french_date(s.scheduled_at),
        "time": french_time(s.scheduled_at),
        "convened": french_date(sent.isoformat()) if sent else None,
        "by_mail": by_mail,
        "in_register": in_register,
        "clear_days": clear_days_between(sent, s.scheduled_at) if sent else None,
        "warnings": sitting_warnings(s, sittings, sent),
    }


def convocation_rows(
    council: Council, emails: dict[str, str], sendings: list[Sending], acks: dict[str, str]
) -> list[dict[str, Any]]:
    """Per member: the address, the last attempt (sent or failed with the reason) and the
    acknowledgement, dated (the proof of R6 the admin reads)."""
    last: dict[str, Sending] = {}
    first_ok: dict[str, Sending] = {}
    for x in sendings:
        last[x.member_id] = x
        if x.sent:
            first_ok.setdefault(x.member_id, x)
    rows = []
    for m in council.members:
        ok = first_ok.get(m.id)
        attempt = last.get(m.id)
        if m.id in acks:
            state, label = "acknowledged", f"reçue, accusé de réception le {_when(acks[m.id])}"
        elif ok is not None:
            state, label = "sent", f"envoyée le {_when(ok.at)}"
        elif attempt is not None:
            state, label = "failed", f"échec le {_when(attempt.at)} : {attempt.reason}"
        elif m.id in emails:
            state, label = "pending", "à envoyer"
        else:
            state, label = "paper", "sans adresse électronique : convocation sur papier"
        rows.append(
            {
                "member": m,
                "email": emails.get(m.id, ""),
                "state": state,
                "label": label,
                "sent_at": ok and _when(ok.at),
            }
        )
    return rows


def _when(at: str) -> str:
    return f"{french_date(at)} à {french_time(at)}"


def sobriety_view(data_dir: Path, sitting_id: str, council: Council | None) -> dict[str, Any] | None:
    """The data a sitting moved, as stored with it (signaling.sobriety), for the admin pages."""
    record = sobriety.read(data_dir, sitting_id)
    if record is None:
        return None
    figures = record["figures"]
    size = sobriety.french_size
    rows = [
        {
            "salle": council.salle(sid).name if council and council.salle(sid) else sid,
            "moved": size(r["moved_bytes"]),
            "in": size(r["in_bytes"]),
            "out": size(r["out_bytes"]),
            "mesh": size(r["mesh_bytes"]),
            "slots_saved": size(r["slots_saved_bytes"]),
            "audio_only_saved": size(r["audio_only_saved_bytes"]) if r["audio_only_seconds"] else "—",
            "audio_only_minutes": round(r["audio_only_seconds"] / 60),
        }
        for sid, r in figures["salles"].items()
    ]
    t = figures["totals"]
    return {
        "totals": sobriety.summary_fr(figures),
        "viewers": size(t["viewers_out_bytes"]),
        "salles": rows,
        "closed": bool(record.get("closed")),
        "updated_at": record.get("updated_at", ""),
    }


def journal_exists(data_dir: Path, sitting_id: str) -> bool:
    return datadir.DataDir.of(data_dir).journal(sitting_id).exists()


def failed_sittings(data_dir: Path, sittings: list[SittingConfig]) -> dict[str, Reconvocation]:
    """R8: the sittings whose verified journal records a lack of quorum, each with the link a
    new convocation carries (deliberation.reconvocation). A journal that does not verify with
    the council's key is left out: the link would prove nothing."""
    pub = Path(data_dir) / "keys" / "council-ed25519.pub"
    if not pub.is_file():
        return {}
    try:
        key = load_public_pem(pub.read_bytes())
    except ValueError:
        return {}
    out: dict[str, Reconvocation] = {}
    for sitting in sittings:
        path = Path(data_dir) / "sittings" / sitting.id / "journal.jsonl"
        if not path.is_file():
            continue
        try:
            found = reconvocation_of(read_verified(path, key))
        except (JournalError, OSError, ValueError):
            continue
        if found is not None:
            out[sitting.id] = found
    return out


def kiosk_links(request: web.Request, council: Council, sitting_id: str | None = None) -> list[dict[str, str]]:
    """The kiosk links of the hosted sittings (or of one), each saying which sitting it is
    for: a salle shared by two sittings has one link per sitting (the token names it). The
    same link at every view, until the admin revokes it (:mod:`signaling.kiosk_links`)."""
    signer, accounts, now = request.app[SIGNER], request.app[ACCOUNTS], int(time.time())
    origin = f"{request.scheme}://{request.host}"
    out = []
    for spec in request.app[HOSTED].specs.values():
        if sitting_id is not None and spec.id != sitting_id:
            continue
        hosted_salles = {s.id for s in spec.salles}
        for salle in council.salles:
            if salle.designated and salle.id in hosted_salles:
                token = kiosk_token(accounts, signer, spec.id, salle.id, now)
                out.append(
                    {
                        "sitting": spec.title,
                        "sitting_id": spec.id,
                        "salle": salle.name,
                        "salle_id": salle.id,
                        "url": f"{origin}/salle/{salle.id}?token={token}",
                    }
                )
    return out


def dashboard_context(request: web.Request, store: CouncilStore, **extra: Any) -> dict[str, Any]:
    council = store.current()
    config = request.app[CONFIG]
    sittings = store.sittings(council.id) if council else []
    accounts = request.app[ACCOUNTS].all()
    kiosks = kiosk_links(request, council) if council else []
    titulaires = [m for m in council.members if m.seat == Seat.TITULAIRE] if council else []
    return {
        "council": council,
        "titulaires": titulaires,
        "suppleants": [m for m in council.members if m.seat == Seat.SUPPLEANT] if council else [],
        "commune_name": (lambda cid: council.commune(cid).name if council and council.commune(cid) else cid),
        "member_name": (
            lambda mid: council.member(mid).name if council and mid and council.member(mid) else (mid or "")
        ),
        "salle_name": (lambda sid: council.salle(sid).name if council and sid and council.salle(sid) else (sid or "")),
        "sittings": [
            sitting_view(request.app, s, sittings, entered_sendings(request.app, council, s)) for s in sittings
        ],
        "failed_sittings": failed_sittings(config.data_dir, sittings),
        "sobriety": {s.id: sobriety_view(config.data_dir, s.id, council) for s in sittings},
        "standing": standing_rows(sittings, date.today()),
        "accounts": accounts,
        "role_labels": ROLE_LABELS_FR,
        "managed_roles": MANAGED_ROLES,
        "kiosks": kiosks,
        "convened_ids": {c.config.id for c in store.convened()},
        "publications": publication_rows(request.app, store, council, date.today()) if council else [],
        "register_problem": register_problem(request.app, council.id) if council else None,
        "replay": store.replay_policy(council.id) if council else None,
        "replay_roles": [(r, ROLE_LABELS[r]) for r in EXPORT_ROLES],
        "emails": store.emails(council.id) if council else {},
        "csrf": csrf_token(request),
        "form": {},
        "error": None,
        "notice": None,
        "password": None,
        "passwords": [],
        **extra,
    }


NOTICES = {
    "rediffusion": "Réglage de la rediffusion enregistré.",
    "conseil": "Conseil enregistré.",
    "commune": "Commune ajoutée.",
    "membre": "Membre ajouté.",
    "membre-modifier": "Membre modifié.",
    "salle": "Salle enregistrée avec sa délibération de désignation.",
    "agent": "Agent enregistré.",
}


def sitting_context(
    request: web.Request,
    council: Council,
    sitting: SittingConfig,
    sittings: list[SittingConfig],
    items: list[AddAgendaItem],
    convened_at: str | None,
    store: CouncilStore,
    **extra: Any,
) -> dict[str, Any]:
    config = request.app[CONFIG]
    sendings = store.sendings(council.id, sitting.id)
    emails = store.emails(council.id)
    rows = convocation_rows(council, emails, sendings, store.acknowledgements(council.id, sitting.id))
    service = request.app[SITTINGS].get(sitting.id)
    journaled = service.seance.state.convocations if service is not None and service.seance is not None else {}
    for r in rows:
        r["journaled"] = r["member"].id in journaled
    return {
        "council": council,
        "s": sitting_view(request.app, sitting, sittings, entered_sendings(request.app, council, sitting)),
        "convocations": rows,
        "smtp": config.smtp,
        "to_send": [r for r in rows if r["state"] in ("pending", "failed")],
        "sent_notice": request.query.get("envoyee"),
        "items": items,
        "kind_labels": KIND_LABELS,
        "natures": NATURES,
        "bodies": [(b.value, BODY_LABELS[b]) for b in Body],
        "body_labels": {b.value: BODY_LABELS[b] for b in Body},
        "warnings_of": lambda i: title_warnings(i.kind, i.body, i.title),
        "banned_kinds": set(BANNED_KINDS),
        "matieres": ACTES_MATIERES,
        "csrf": csrf_token(request),
        "form": {},
        "error": None,
        "journaled": journal_exists(config.data_dir, sitting.id),
        "convened_at": convened_at and french_date(convened_at[:10]),
        "hosted": sitting.id in request.app[HOSTED].specs,
        "kiosks": kiosk_links(request, council, sitting.id),
        "convened_notice": request.query.get("convoquee") == "1",
        "created": request.query.get("cree") == "1",
        "added": request.query.get("ajoute") == "1",
        "kiosk_revoked": request.query.get("borne"),
        "sobriety": sobriety_view(config.data_dir, sitting.id, council),
        "annexes": store.annexes(council.id, sitting.id),
        "annex_notice": request.query.get("annexe"),
        "annex_labels": ANNEX_LABELS,
        **extra,
    }


def convocation_context(
    app: web.Application, store: CouncilStore, council: Council, sitting: SittingConfig
) -> dict[str, Any]:
    """The printable convocation (R6): the admin's page and the public Actes page show the same."""
    data_dir = app[CONFIG].data_dir
    sittings = store.sittings(council.id)
    items = store.agenda(council.id, sitting.id)
    view = sitting_view(app, sitting, sittings, entered_sendings(app, council, sitting))
    fingerprint = None
    pub = datadir.DataDir.of(data_dir).council_public_key
    if pub.is_file():
        try:
            fingerprint = key_fingerprint(load_public_pem(pub.read_bytes()))
        except ValueError:
            fingerprint = None
    return {
        "council": council,
        "s": view,
        "items": items,
        "kind_labels": KIND_LABELS,
        "salles": [x for x in council.salles if x.designated],
        "undesignated": [x for x in council.salles if not x.designated],
        "seat": next((x for x in council.salles if x.is_seat), None),
        "president": council.member(council.president_id),
        "fingerprint": fingerprint,
        "commune_name": lambda cid: council.commune(cid).name if council.commune(cid) else cid,
        "late": next((w for w in view["warnings"] if w.startswith("R6")), None),
    }


def publication_rows(app: web.Application, store: CouncilStore, council: Council, today: date) -> list[dict[str, Any]]:
    """R22, R26: per sitting held, where its liste des délibérations (L.2121-25) and its
    procès-verbal (L.2121-15) stand against their legal delays, by the dates of the council's
    signed register (:mod:`web.publications`); ``late`` flags a delay passed."""
    rows = []
    publish_acts(app)
    pub = read_publications(app, council.id)
    for sitting in store.sittings(council.id):
        record = sitting_record(app, sitting.id)
        if record is None or record.seance.state.status == "convened":
            continue
        seance = record.seance
        liste = liste_publication(seance, pub.liste(sitting.id))
        closed = seance.state.status == "closed"
        link = store.minutes_link(council.id, sitting.id)
        approving = sitting_record(app, link.approving_sitting_id) if link else None
        adoption = adoption_of(approving.seance, sitting.id) if approving else None
        pv = pv_publication(adoption, pub.minutes(sitting.id))
        if pv.published_at:
            pv_label = f"publié le {french_date(pv.published_at)}"
        elif pv.due is not None and minutes_signature(adoption, pub) is not None:
            pv_label = f"adopté et signé, à publier avant le {french_date(pv.due.isoformat())}"
        elif pv.due is not None:
            pv_label = f"adopté, à signer et publier avant le {french_date(pv.due.isoformat())}"
        elif link is not None:
            pv_label = "soumis à l'approbation du conseil"
        else:
            pv_label = "à rédiger et soumettre à la prochaine séance" if closed else "séance en cours"
        rows.append(
            {
                "sitting": sitting,
                "liste": f"publiée le {french_date(liste.published_at)}"
                if liste.published_at
                else f"non publiée : séance non close (dû le {french_date(liste.due.isoformat())})"
                if liste.due
                else "",
                "liste_late": liste.late(today),
                "pv": pv_label,
                "pv_late": pv.late(today),
            }
        )
    return rows
