"""The auditor's pages: a sitting's journal as a readable timeline, its verification (R21),
and the downloads an auditor needs to check it offline.

Read-only: every route here is a GET and nothing is written. The page works from the
files of the data dir alone (contract "Files of a sitting in the data dir"):

- journal: ``<data_dir>/sittings/<sitting_id>/journal.jsonl``
- public key: ``<data_dir>/keys/council-ed25519.pub``

When the sitting service runs (``request.app[SITTINGS][id]``, signaling/sitting.py), its
current state gives the live procès-verbal and the public key it holds; otherwise the
sitting is rebuilt by replaying the verified journal (:meth:`Journal.replay`). The
procès-verbal and the exports are produced only from a journal that verifies: a forged
journal gives no minutes.

Who: the auditor; the president and the admin may read too (R21: the auditor verifies).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp_jinja2
from aiohttp import web

from deliberation.audit import AuditReport
from deliberation.council import Council
from deliberation.journal import key_fingerprint, load_public_pem, signed_prefix
from deliberation.labels import CHOICE_LABELS
from deliberation.minutes import french_date, french_time, liste_deliberations_html, proces_verbal_html
from deliberation.scdl import deliberations_csv
from deliberation.seance import Seance
from deliberation.secrecy import OpenBallots, open_ballots
from signaling.datadir import DataDir
from signaling.roles import ROLE_LABELS_FR, Role
from web.appkeys import CONFIG, ROOMS, SITTINGS
from web.audit_cache import AuditCache
from web.next_page import login_redirect
from web.session import session_account

AUDIT_ROLES = frozenset({Role.AUDITOR, Role.PRESIDENT, Role.ADMIN})
#: the verification and the outputs of each sitting's journal, by head (issue 12.4)
AUDIT_CACHE = web.AppKey("audit_cache", AuditCache)
T = TypeVar("T")
_SITTING_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

#: Downloaded minutes carry their own <style>: let them use it, and nothing else.
DOWNLOAD_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


# --------------------------------------------------------------------------- files and access


def journal_path(data_dir: Path, sitting_id: str) -> Path:
    return DataDir.of(data_dir).journal(sitting_id)


def public_key_path(data_dir: Path) -> Path:
    return DataDir.of(data_dir).council_public_key


def _service(request: web.Request, sitting_id: str) -> Any | None:
    """The running sitting service, if the backend has registered one (optional)."""
    try:
        services = request.app[SITTINGS]
    except KeyError:
        return None
    return services.get(sitting_id) if isinstance(services, dict) else None


def _forbidden(request: web.Request, detail: str) -> web.Response:
    return aiohttp_jinja2.render_template(
        "error.html", request, {"title": "Accès refusé", "detail": detail}, status=403
    )


def _not_found(request: web.Request, title: str, detail: str) -> web.Response:
    return aiohttp_jinja2.render_template("error.html", request, {"title": title, "detail": detail}, status=404)


def _check(request: web.Request) -> tuple[Any, str] | web.Response:
    """(claims, sitting id) or the French refusal page."""
    claims = session_account(request)
    if claims is None:
        raise login_redirect(request)  # and back to this page once logged in
    if claims.role not in AUDIT_ROLES:
        return _forbidden(
            request,
            "Le journal et sa vérification sont réservés à l'auditeur, au président et à "
            "l'administrateur. Connectez-vous avec l'un de ces comptes.",
        )
    sitting_id = request.match_info["seance"]
    if not _SITTING_ID.match(sitting_id):
        return _not_found(request, "Séance inconnue", "Cet identifiant de séance n'est pas valide.")
    return claims, sitting_id


@dataclass
class Material:
    """What the files (and the live service) say about one sitting."""

    sitting_id: str
    journal: bytes | None = None
    key_pem: bytes | None = None
    key_error: str | None = None
    live: bool = False
    seance: Seance | None = None
    seance_error: str | None = None
    report: AuditReport | None = None
    open_sitting: bool = False  # verified up to its last line, not closed yet
    secret: OpenBallots | None = None  # a vote still open: its ballots are not shown (R13)
    extra: dict[str, Any] = field(default_factory=dict)


async def _load(
    request: web.Request, sitting_id: str, *, render: Callable[[Material], T] | None = None, needs_seance: bool = False
) -> tuple[Material, T | None]:
    """What the files say about a sitting, verified (and ``render(m)`` made) in a thread.

    The journal is read, verified and re-decided off the event loop, incrementally, and
    ``render``'s output cached by the journal's head (:mod:`web.audit_cache`, issue 12.4).
    For a sitting served here, ``m.seance`` is the live state: ``render`` then runs on the
    loop (the state changes on it), and is not cached."""
    config = request.app[CONFIG]
    service = _service(request, sitting_id)
    jpath = Path(getattr(service, "journal_path", None) or journal_path(config.data_dir, sitting_id))
    pem = getattr(service, "public_key_pem", None)
    live_seance = getattr(service, "seance", None) if service is not None and needs_seance else None
    cache = request.app[AUDIT_CACHE]
    loop = asyncio.get_running_loop()
    m, out = await loop.run_in_executor(
        None,
        _load_in_thread,
        cache,
        sitting_id,
        jpath,
        pem,
        public_key_path(config.data_dir),
        service is not None,
        None if live_seance is not None else render,
    )
    if live_seance is not None and (m.report is None or m.report.ok):
        m.seance = live_seance
        if render is not None and m.journal is not None and m.key_error is None:
            out = render(m)
    elif render is not None and out is None and m.seance is None and m.journal is not None:
        m.seance_error = m.seance_error or "le journal ne se vérifie pas"
    return m, out


def _load_in_thread(
    cache: AuditCache,
    sitting_id: str,
    jpath: Path,
    pem: Any,
    pem_path: Path,
    live: bool,
    render: Callable[[Material], T] | None,
) -> tuple[Material, T | None]:
    m = Material(sitting_id, live=live)
    if jpath.is_file():
        m.journal = jpath.read_bytes()
        if m.live:  # a batch being written, not yet acknowledged: up to the last signature
            m.journal = signed_prefix(m.journal)
    if pem is None and pem_path.is_file():
        pem = pem_path.read_bytes()
    if pem is not None:
        m.key_pem = pem if isinstance(pem, bytes) else str(pem).encode()
    if m.journal is None:
        return m, None
    m.secret = open_ballots(m.journal)
    if m.key_pem is None:
        m.key_error = "La clé publique du conseil est introuvable : le journal ne peut pas être vérifié."
        return m, None
    try:
        public_key = load_public_pem(m.key_pem)
    except ValueError:
        m.key_error = "La clé publique du conseil est illisible : le journal ne peut pas être vérifié."
        return m, None
    m.extra["fingerprint"] = key_fingerprint(public_key)
    with cache.lock(sitting_id):
        m.report, m.open_sitting = cache.audit(sitting_id, m.journal, public_key)
        if render is None:
            return m, None
        if not m.report.ok:
            m.seance_error = "le journal ne se vérifie pas"
        else:
            m.seance = cache.seance(sitting_id, public_key)
        kind = getattr(render, "cache_kind", None)
        if kind is None:
            return m, render(m)
        kind += f":{m.extra['fingerprint']}:{'live' if live else 'files'}"
        return m, cache.cached(sitting_id, kind, AuditCache.head(m.journal), lambda: render(m))


# --------------------------------------------------------------------------- timeline


def _parse_lines(content: bytes) -> list[tuple[int, dict[str, Any] | None, str]]:
    out = []
    lines = content.split(b"\n")
    if content.endswith(b"\n"):
        lines.pop()
    for n, raw in enumerate(lines, start=1):
        try:
            data = json.loads(raw.decode("utf-8"))
            out.append((n, data if isinstance(data, dict) else None, ""))
        except (UnicodeDecodeError, ValueError):
            out.append((n, None, raw.decode("utf-8", "replace")[:300]))
    return out


class Names:
    """Resolves ids into the names people know (council of the genesis line)."""

    def __init__(self, council: Council | None, items: dict[str, str]) -> None:
        self.council = council
        self.items = items

    def member(self, member_id: str | None) -> str:
        if not member_id:
            return "—"
        m = self.council.member(member_id) if self.council else None
        return m.name if m else member_id

    def salle(self, salle_id: str | None) -> str:
        s = self.council.salle(salle_id) if self.council and salle_id else None
        return s.name if s else (salle_id or "—")

    def item(self, item_id: str | None) -> str:
        return f"« {self.items.get(item_id, item_id)} »"

    def actor(self, actor: dict[str, Any] | None) -> str:
        if not actor:
            return "—"
        role = actor.get("role")
        if role == "system":
            return "Système (serveur média)"
        if role == "admin":
            return "Administration"
        if role == "agent":
            agent = self.council.agent(actor.get("agent_id") or "") if self.council else None
            who = agent.name if agent else (actor.get("agent_id") or "")
            return f"{who}, agent de salle ({self.salle(actor.get('salle_id'))})"
        labels = {
            "president": "président(e)",
            "secretary": "secrétaire de séance",
            "councillor": "élu(e)",
            "moderator": "modérateur",
            "auditor": "auditeur",
        }
        who = self.member(actor.get("member_id")) if actor.get("member_id") else ""
        label = labels.get(role or "", role or "")
        return f"{who}, {label}" if who else label.capitalize()


def _quorum(q: dict[str, Any]) -> str:
    text = f"quorum {q.get('present')} présents sur {q.get('in_office')} (requis {q.get('required')})"
    return text + (", sans condition de quorum (R8)" if q.get("waived") else "")


def describe_event(ev: dict[str, Any], names: Names, *, secret: bool = False) -> str:
    """One event, in French, for people (the raw line stays available).

    ``secret``: a ballot of the vote still open, written without its choice (R13)."""
    t, d = ev.get("type"), ev.get("data") or {}
    mem, sal, item = names.member, names.salle, names.item
    match t:
        case "ItemAdded":
            return f"Point inscrit à l'ordre du jour : {item(d.get('item_id'))} ({d.get('kind')}, matière {d.get('matiere_code')})"
        case "ConvertedToTeleconference":
            return "Séance convertie en visioconférence"
        case "CheckedIn":
            return f"Arrivée de {mem(d.get('member_id'))} — {sal(d.get('salle_id'))}"
        case "CheckedOut":
            return f"Départ de {mem(d.get('member_id'))} — {sal(d.get('salle_id'))}"
        case "SuppleanceDeclared":
            return f"Suppléance de {mem(d.get('titulaire_id'))} déclarée (document : {d.get('document_ref')})"
        case "ProxyRecorded":
            return (
                f"Pouvoir de {mem(d.get('giver_id'))} à {mem(d.get('holder_id'))} enregistré "
                f"(document : {d.get('document_ref')})"
            )
        case "ProxyEnded":
            why = {"giver_arrived": "arrivée du mandant", "revoked": "révocation"}.get(d.get("reason"), d.get("reason"))
            return f"Fin du pouvoir de {mem(d.get('giver_id'))} ({why})"
        case "SecretaryAppointed":
            return f"{mem(d.get('member_id'))} désigné(e) secrétaire de séance (R10)"
        case "TransmissionChanged":
            state = "transmission établie" if d.get("transmitting") else "perte de transmission"
            return f"{sal(d.get('salle_id'))} : {state} (mesurée par le serveur)"
        case "PublicStreamChanged":
            return "Retransmission publique en direct : " + ("active" if d.get("up") else "interrompue") + " (R2)"
        case "AudioOnlyChanged":
            line = f"{sal(d.get('salle_id'))} : " + (
                "passage en audio seul (R3)" if d.get("audio_only") else "retour à la vidéo (R3)"
            )
            if d.get("automatic"):
                line += " — automatique, mesuré par le serveur" + (f" : {d['figures']}" if d.get("figures") else "")
            return line
        case "BroadcastObjection":
            verb = "s'oppose à" if d.get("objecting") else "lève son opposition à"
            return f"{sal(d.get('salle_id'))} : {d.get('person')} {verb} la diffusion de son image (R20)"
        case "SittingOpened":
            return f"Ouverture de la séance — {_quorum(d.get('quorum') or {})}"
        case "SittingSuspended":
            if d.get("rule") == "R17":
                salles = ", ".join(sal(s) for s in d.get("salles") or [])
                return f"Séance suspendue : perte de transmission ({salles}) (R17)"
            return "Séance suspendue par le président" + (f" : {d['reason']}" if d.get("reason") else "")
        case "SittingResumed":
            return f"Reprise de la séance — {_quorum(d.get('quorum') or {})}"
        case "ItemTakenUp":
            return f"Examen du point {item(d.get('item_id'))}"
        case "SensitivePassage":
            if d.get("on"):
                return "Début d'un passage sensible : diffusion et enregistrement coupés (R19)"
            return "Fin du passage sensible (R19)"
        case "RecordingDigest":
            return f"Empreinte d'enregistrement journalisée ({d.get('label')}) (R5)"
        case "SittingClosed":
            return "Clôture de la séance par le président (R11)"
        case "WithdrawalDeclared":
            return f"{mem(d.get('member_id'))} se retire pour le point {item(d.get('item_id'))} (intérêt personnel)"
        case "SecretBallotRequested":
            return f"{mem(d.get('member_id'))} demande le scrutin secret sur {item(d.get('item_id'))} (R15)"
        case "SecretBallotRequestWithdrawn":
            return f"{mem(d.get('member_id'))} retire sa demande de scrutin secret sur {item(d.get('item_id'))} (R15)"
        case "ItemPostponed":
            return f"Point {item(d.get('item_id'))} : {d.get('mention') or 'reporté'} ({d.get('rule')})"
        case "PublicAppointmentDecided":
            return f"Le conseil décide à l'unanimité de ne pas voter au scrutin secret sur {item(d.get('item_id'))}"
        case "VoteOpened":
            method = "appel nominal" if d.get("method") == "appel_nominal" else "vote électronique"
            return (
                f"Ouverture du vote sur {item(d.get('item_id'))}{_subject(d)} ({method}) — "
                f"{len(d.get('electorate') or [])} voix possibles, {_quorum(d.get('quorum') or {})}"
            )
        case "BallotCast":
            on = f" pour {mem(d['on_behalf_of'])} (pouvoir)" if d.get("on_behalf_of") else ""
            if secret:
                return f"{mem(d.get('voter_id'))}{on} : vote enregistré (le choix sera lisible à la clôture du vote)"
            if d.get("candidate_id"):
                return f"{mem(d.get('voter_id'))}{on} : vote pour {mem(d['candidate_id'])}"
            return f"{mem(d.get('voter_id'))}{on} : {CHOICE_LABELS.get(d.get('choice'), d.get('choice'))}"
        case "BallotChanged":
            on = f" pour {mem(d['on_behalf_of'])} (pouvoir)" if d.get("on_behalf_of") else ""
            if secret:
                return f"{mem(d.get('voter_id'))}{on} : vote modifié (le choix sera lisible à la clôture du vote)"
            new = (
                f"pour {mem(d['candidate_id'])}"
                if d.get("candidate_id")
                else CHOICE_LABELS.get(d.get("choice"), d.get("choice"))
            )
            old = CHOICE_LABELS.get(d.get("previous_choice"), d.get("previous_choice"))
            return f"{mem(d.get('voter_id'))}{on} modifie son vote : {old} → {new} (R13)"
        case "ItemWithdrawn":
            why = f" : {d['reason']}" if d.get("reason") else ""
            return f"Point {item(d.get('item_id'))} retiré de l'ordre du jour par le président{why} (R25)"
        case "AmendmentProposed":
            return (
                f"Amendement « {d.get('amendment_id')} » de {mem(d.get('author_id'))} sur {item(d.get('item_id'))} : "
                f"{d.get('text')} (R25)"
            )
        case "AmendmentWithdrawn":
            return f"Amendement « {d.get('amendment_id')} » retiré (R25)"
        case "CandidacyRegistered":
            return (
                f"Candidature de {mem(d.get('member_id'))} au siège {d.get('seat')} de {item(d.get('item_id'))} (R24)"
            )
        case "CandidaciesClosed":
            named = ", ".join(f"{mem(a.get('member_id'))} (siège {a.get('seat')})" for a in d.get("appointed") or [])
            return f"Appel à candidatures clos sur {item(d.get('item_id'))}" + (
                f" — candidature unique, nomination immédiate : {named} (L.2121-21)" if named else ""
            )
        case "QuorumFailed":
            return f"Le président constate que le quorum n'est pas atteint — {_quorum(d.get('quorum') or {})} (R8)"
        case "PresidentDecision":
            return f"Décision du président : le vote gelé de {item(d.get('item_id'))} se poursuit ({d.get('reason')})"
        case "VoteClosed" if "round" in d:
            c = d.get("counts") or {}
            votes = ", ".join(f"{mem(m)} {n}" for m, n in (c.get("candidates") or {}).items())
            who = f"{mem(d['appointed'])} est nommé(e)" if d.get("appointed") else "personne n'est nommé"
            if d.get("tie_broken_by_age"):
                who += " au bénéfice de l'âge"
            return f"Tour {d.get('round')} clos sur {item(d.get('item_id'))}, siège {d.get('seat')} : {votes} — {who}"
        case "VoteClosed":
            c = d.get("counts") or {}
            verdict = "adopté" if d.get("adopted") else "rejeté"
            if d.get("casting_vote"):
                verdict += " (voix prépondérante du président)"
            return (
                f"Vote clos sur {item(d.get('item_id'))}{_subject(d)} : {c.get('pour')} pour, {c.get('contre')} contre, "
                f"{c.get('abstention')} abstention(s), {c.get('nppv')} ne prend pas part — {verdict}"
            )
    return f"Événement {t}"


def _subject(d: dict[str, Any]) -> str:
    if d.get("amendment_id"):
        return f" — amendement « {d['amendment_id']} »"
    if d.get("seat"):
        return f" — siège {d['seat']}, tour {d.get('round')}"
    return ""


def _time(at: str | None) -> str:
    try:
        return french_time(at) if at else ""
    except ValueError:
        return at or ""


def timeline(
    content: bytes, failing_line: int | None, secret_from: int | None = None
) -> tuple[list[dict[str, Any]], Names]:
    """Rows for the page: one per command (with its events), checkpoint or genesis.

    From line ``secret_from`` on (the ballots of the vote still open), ballots are written
    without their choice (R13)."""
    parsed = _parse_lines(content)
    council = None
    if parsed and parsed[0][1] and parsed[0][1].get("kind") == "genesis":
        try:
            council = Council.from_dict(parsed[0][1]["council"])
        except (KeyError, TypeError, ValueError):
            council = None
    items = {}
    for _, data, _raw in parsed:
        ev = (data or {}).get("event") or {}
        if ev.get("type") == "ItemAdded":
            items[(ev.get("data") or {}).get("item_id")] = (ev.get("data") or {}).get("title")
    names = Names(council, items)
    rows: list[dict[str, Any]] = []
    for n, data, raw in parsed:
        failing = n == failing_line
        if data is None:
            rows.append(
                {
                    "line": n,
                    "kind": "unreadable",
                    "time": "",
                    "actor": "",
                    "what": f"Ligne illisible : {raw}",
                    "events": [],
                    "failing": failing,
                }
            )
            continue
        kind = data.get("kind")
        if kind == "genesis":
            cfg = data.get("config") or {}
            rows.append(
                {
                    "line": n,
                    "kind": kind,
                    "time": "",
                    "actor": "Serveur",
                    "what": f"Genèse du journal : {cfg.get('title', '')} — "
                    f"{council.name if council else ''} (clé {str(data.get('key_sha256', ''))[:16]}…)",
                    "events": [],
                    "failing": failing,
                }
            )
        elif kind == "command":
            cmd = data.get("command") or {}
            rows.append(
                {
                    "line": n,
                    "kind": kind,
                    "time": _time(cmd.get("at")),
                    "at": cmd.get("at"),
                    "actor": names.actor(data.get("actor")),
                    "what": "",
                    "command": cmd.get("type"),
                    "events": [],
                    "failing": failing,
                }
            )
        elif kind == "event":
            ev = data.get("event") or {}
            target = rows[-1] if rows and rows[-1]["kind"] == "command" else None
            secret = secret_from is not None and n >= secret_from
            entry = {
                "line": n,
                "text": describe_event(ev, names, secret=secret),
                "type": ev.get("type"),
                "failing": failing,
            }
            if target is not None:
                target["events"].append(entry)
                target["failing"] = target["failing"] or failing
            else:
                rows.append(
                    {
                        "line": n,
                        "kind": "event",
                        "time": _time(ev.get("at")),
                        "actor": "",
                        "what": entry["text"],
                        "events": [],
                        "failing": failing,
                    }
                )
        elif kind == "checkpoint" and data.get("reason") == "batch" and rows and rows[-1]["kind"] == "command":
            # format 2: each command's batch ends with its own signature, shown with the command
            rows[-1]["events"].append(
                {"line": n, "text": "Scellé : signature Ed25519 du conseil", "type": "checkpoint", "failing": failing}
            )
            rows[-1]["failing"] = rows[-1]["failing"] or failing
        elif kind == "checkpoint":
            reason = {"genesis": "genèse", "VoteClosed": "résultat d'un vote", "SittingClosed": "clôture"}.get(
                data.get("reason"), data.get("reason")
            )
            rows.append(
                {
                    "line": n,
                    "kind": kind,
                    "time": "",
                    "actor": "Serveur",
                    "what": f"Point de contrôle signé (Ed25519) — {reason}",
                    "events": [],
                    "failing": failing,
                }
            )
        else:
            rows.append(
                {
                    "line": n,
                    "kind": "unknown",
                    "time": "",
                    "actor": "",
                    "what": f"Ligne de nature inconnue ({kind})",
                    "events": [],
                    "failing": failing,
                }
            )
    return rows, names


# --------------------------------------------------------------------------- pages


async def audit_page(request: web.Request) -> web.StreamResponse:
    checked = _check(request)
    if isinstance(checked, web.Response):
        return checked
    claims, sitting_id = checked
    rooms = request.app[ROOMS]
    room_title = rooms[sitting_id].title if sitting_id in rooms else None
    template = aiohttp_jinja2.get_env(request.app).get_template("audit.html")
    role_label = ROLE_LABELS_FR[claims.role]

    def render(m: Material) -> str:
        """The page's HTML: the timeline of every line, rendered in the thread."""
        rows, names, votes, title = [], Names(None, {}), [], room_title or sitting_id
        if m.journal is not None:
            rows, names = timeline(
                m.journal,
                None if m.report is None or m.report.ok else m.report.line,
                m.secret.first_line if m.secret else None,
            )
            if names.council is not None and rows and rows[0]["kind"] == "genesis":
                genesis = _parse_lines(m.journal[: m.journal.find(b"\n") + 1])[0][1] or {}
                title = (genesis.get("config") or {}).get("title") or sitting_id
            for v in m.report.votes if m.report and m.report.ok else []:
                votes.append({**v, "title": names.items.get(v["item_id"], v["item_id"]), "c": v["counts"]})
        context = {
            "sitting_id": sitting_id,
            "title": title,
            "m": m,
            "rows": rows,
            "votes": votes,
            "role_label": role_label,
            "council": names.council,
        }
        return template.render(context)

    render.cache_kind = f"page:{role_label}:{room_title}"  # type: ignore[attr-defined]
    m, html = await _load(request, sitting_id, render=render)
    if m.journal is None and sitting_id not in rooms and not m.live:
        return _not_found(request, "Séance inconnue", "Aucune séance ni aucun journal sous cet identifiant.")
    if html is None:  # no journal, or no key: nothing was rendered in the thread
        html = render(m)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


def _download(body: bytes, content_type: str, filename: str, *, inline: bool = False) -> web.Response:
    disposition = "inline" if inline else "attachment"
    return web.Response(
        body=body,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Content-Security-Policy": DOWNLOAD_CSP,
            "Cache-Control": "no-store",
        },
    )


async def download_journal(request: web.Request) -> web.StreamResponse:
    checked = _check(request)
    if isinstance(checked, web.Response):
        return checked
    m, _ = await _load(request, checked[1])
    if m.journal is None:
        return _not_found(request, "Journal introuvable", "Cette séance n'a pas encore de journal.")
    # The bytes as stored, verified or not: the auditor checks them offline. While a vote is
    # open, up to the batch that opened it (R13: no choice before the close; in format 2 a
    # signed prefix, which verifies with --allow-open); the rest once the vote is closed.
    body = m.journal[: m.secret.cut] if m.secret else m.journal
    response = _download(body, "application/jsonl; charset=utf-8", f"journal-{checked[1]}.jsonl")
    if m.secret:
        response.headers["X-Seance-Journal-Withheld-From-Line"] = str(m.secret.first_line)
    return response


async def download_key(request: web.Request) -> web.StreamResponse:
    checked = _check(request)
    if isinstance(checked, web.Response):
        return checked
    m, _ = await _load(request, checked[1])
    if m.key_pem is None:
        return _not_found(request, "Clé introuvable", "La clé publique du conseil n'a pas encore été créée.")
    return _download(m.key_pem, "application/x-pem-file", "council-ed25519.pub")


_DOCUMENTS: dict[str, Callable[[Seance], str]] = {
    "pv": proces_verbal_html,
    "liste": liste_deliberations_html,
    "csv": deliberations_csv,
}


def _document(kind: str):
    make = _DOCUMENTS[kind]

    async def handler(request: web.Request) -> web.StreamResponse:
        checked = _check(request)
        if isinstance(checked, web.Response):
            return checked
        sitting_id = checked[1]

        def render(m: Material) -> bytes | None:
            return make(m.seance).encode("utf-8") if m.seance is not None else None

        render.cache_kind = f"document:{kind}"  # type: ignore[attr-defined]
        m, body = await _load(request, sitting_id, render=render, needs_seance=True)
        if m.journal is None:
            return _not_found(request, "Journal introuvable", "Cette séance n'a pas encore de journal.")
        if body is None:
            detail = m.key_error or f"Le journal ne se vérifie pas ({m.seance_error}) : aucun document n'en est tiré."
            return aiohttp_jinja2.render_template(
                "error.html", request, {"title": "Document indisponible", "detail": detail}, status=409
            )
        if kind == "csv":
            return _download(body, "text/csv; charset=utf-8", f"deliberations-{sitting_id}.csv")
        name = "proces-verbal" if kind == "pv" else "liste-deliberations"
        return _download(
            body, "text/html; charset=utf-8", f"{name}-{sitting_id}.html", inline=request.query.get("vue") == "1"
        )

    return handler


def add_audit_routes(app: web.Application) -> None:
    """Register the auditor's read-only routes (GET only), and their cache."""
    app[AUDIT_CACHE] = AuditCache()
    app.router.add_get("/audit/{seance}", audit_page)
    app.router.add_get("/audit/{seance}/journal.jsonl", download_journal)
    app.router.add_get("/audit/{seance}/council-ed25519.pub", download_key)
    app.router.add_get("/audit/{seance}/proces-verbal.html", _document("pv"))
    app.router.add_get("/audit/{seance}/liste-deliberations.html", _document("liste"))
    app.router.add_get("/audit/{seance}/deliberations.csv", _document("csv"))


__all__ = ["add_audit_routes", "describe_event", "french_date", "journal_path", "public_key_path"]
