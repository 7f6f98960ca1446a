"""Convocations sent by email, with proof (R6, L.2121-10 and L.2121-12 CGCT via L.5211-1).

``POST /admin/seances/<id>/envoyer`` sends each member who has an address and has not yet
received it their convocation through the council's relay (``[smtp]``,
:mod:`signaling.mailer`), in a thread: the event loop keeps serving the sittings. Each
outcome (sent, or failed with the relay's reason) is written to the council store as it
comes, so a crash mid-way loses nothing already sent. ``GET /convocation/accuse?token=…``
is the member's personal link (no login): it records the first acknowledgement and says
so. R6's five clear days are then counted from the recorded sending
(:func:`web.admin.views.sent_on`). Why the proof lives in the council store and not the
journal: docs/operations.md, « Convocations par courriel ».
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from aiohttp import web

from deliberation.actors import SYSTEM
from deliberation.commands import AddAgendaItem, RecordConvocationReceipt, RecordConvocationSending
from deliberation.council import Council, SittingConfig
from deliberation.minutes import french_date, french_time
from deliberation.refusal import Refusal
from deliberation.register import ConvocationAcknowledged, ConvocationSent, RegisterEntry
from signaling import datadir
from signaling.auth import TokenError
from signaling.convocation import sitting_salles
from signaling.convocation_mail import (
    ACK_DOMAIN,
    ANNEX_DOMAIN,
    SentAnnex,
    ack_link_expiry,
    annex_link_expiry,
    attach,
    link_expiry,
    message,
)
from signaling.council_store import Annex, CouncilStore, Sending, now_iso
from signaling.mailer import Outcome, SmtpSettings, send_each
from web.admin.annexes import annex_response, wants_json
from web.admin.forms import Invalid
from web.admin.posts import SittingPost, sitting_post
from web.admin.render import error, page
from web.admin.views import convocation_rows
from web.appkeys import CONFIG, SIGNER, SITTINGS
from web.publications import council_register

log = logging.getLogger(__name__)

#: One sending at a time per process: a second click waits, then finds nobody left to reach
#: (each recipient is chosen from the store's record, read under the lock).
SENDING_LOCK = web.AppKey("convocation_sending_lock", asyncio.Lock)

#: One convocation: the member's id and the message to their address.
Outgoing = list[tuple[str, EmailMessage]]


async def journal(app: web.Application, sitting_id: str, command: dict[str, object]) -> Refusal | None:
    """Journal ``command`` from the system actor in the sitting this process serves (the
    signed record, R18); None when journaled. Not served here (another worker or node holds
    it, or the service failed): a sending or an acknowledgement is entered, dated, in the
    council's signed register instead (:mod:`deliberation.register`); a failed sending stays
    in the council store only; the refusal says so."""
    service = app[SITTINGS].get(sitting_id)
    if service is None or service.seance is None:
        await asyncio.to_thread(_enter_in_register, app, sitting_id, command)
        return Refusal("R6", "R6 — la séance n'est pas servie par ce processus : preuve gardée au registre du conseil.")
    result = await service.command(SYSTEM, command)
    if isinstance(result, Refusal):
        log.warning("séance %s : %s non journalisé : %s", sitting_id, command["type"], result.message)
        return result
    return None


def opened(app: web.Application, sitting_id: str) -> bool:
    """Whether the sitting served here is already open (a convocation then convenes nobody)."""
    service = app[SITTINGS].get(sitting_id)
    return service is not None and service.seance is not None and service.seance.state.status != "convened"


def _send_and_record(
    data_dir: Path, council_id: str, sitting_id: str, smtp: SmtpSettings, messages: Outgoing, emails: dict[str, str]
) -> list[Outcome]:
    """In a worker thread: send, and record each outcome in the store as it comes."""
    with CouncilStore.in_data_dir(data_dir) as store:

        def record(outcome: Outcome) -> None:
            store.record_sending(
                council_id,
                sitting_id,
                Sending(outcome.key, emails[outcome.key], now_iso(), outcome.sent, outcome.reason),
            )

        return send_each(smtp, messages, on_outcome=record)


def _enter_in_register(app: web.Application, sitting_id: str, command: dict[str, object]) -> None:
    member_id, at = str(command.get("member_id", "")), now_iso()
    entry: RegisterEntry | None = None
    if command["type"] == RecordConvocationSending.__name__ and command.get("sent"):
        entry = ConvocationSent(sitting_id, at, member_id)
    elif command["type"] == RecordConvocationReceipt.__name__:
        entry = ConvocationAcknowledged(sitting_id, at, member_id)
    if entry is None:
        return
    with CouncilStore.in_data_dir(app[CONFIG].data_dir) as store:
        council = store.current()
    if council is not None:
        council_register(app[CONFIG].data_dir, council.id).append(lambda pub: [entry])


def _messages(
    request: web.Request,
    council: Council,
    sitting: SittingConfig,
    items: list[AddAgendaItem],
    recipients: dict[str, str],
    smtp: SmtpSettings,
    annexes: list[Annex],
) -> Outgoing:
    """One message per recipient, the annexes attached (read once) or, too large, linked."""
    signer = request.app[SIGNER]
    attached = attach(annexes)
    folder = datadir.DataDir.of(request.app[CONFIG].data_dir)
    files = [folder.annex(sitting.id, a.id).read_bytes() for a in annexes] if attached else []
    origin = f"{request.scheme}://{request.host}"
    salles = sitting_salles(council, sitting)
    now = datetime.now().astimezone()
    out: Outgoing = []
    for member_id, address in recipients.items():
        member = council.member(member_id)
        if member is None:
            continue
        x = int(ack_link_expiry(sitting).timestamp())
        token = signer.seal({"v": 1, "c": council.id, "s": sitting.id, "m": member_id, "x": x}, ACK_DOMAIN)
        ack_url = f"{origin}/convocation/accuse?token={token}"  # a query: the access log drops it (T16)
        sent: list[SentAnnex] = [
            (
                a,
                None
                if attached
                else f"{origin}/convocation/annexe?token={annex_token(request, council.id, sitting, member_id, a)}",
            )
            for a in annexes
        ]
        mail = message(council, sitting, items, salles, member, address, ack_url, smtp.from_address, now, sent, files)
        out.append((member_id, mail))
    return out


def annex_token(request: web.Request, council_id: str, sitting: SittingConfig, member_id: str, annex: Annex) -> str:
    """The member's own link to one annex (a sealed token: council, sitting, member, annex,
    and its expiry)."""
    x = int(annex_link_expiry(sitting).timestamp())
    claims = {"v": 1, "c": council_id, "s": sitting.id, "m": member_id, "a": annex.id, "x": x}
    return request.app[SIGNER].seal(claims, ANNEX_DOMAIN)


def expired_link(request: web.Request, what: str, until: datetime) -> web.Response:
    """410: a convocation's link used after its expiry, in plain French (what to do), or as
    the one JSON error shape for a program."""
    message = (
        f"Ce lien {what} n'est plus valable depuis le {french_date(until.isoformat())} à "
        f"{french_time(until.isoformat())}. Pour toute question sur votre convocation ou ses documents, "
        "adressez-vous au secrétariat de la communauté, qui peut vous les remettre."
    )
    if wants_json(request):
        body = {"ok": False, "rule": "R6", "field": "token", "message": message, "expired_at": until.isoformat()}
        return web.json_response(body, status=410)
    return error(request, 410, "Lien expiré", message)


@sitting_post("envoi")
async def send_convocations(post: SittingPost) -> web.StreamResponse:
    """POST /admin/seances/<id>/envoyer: the convocation to each member with an address not
    yet reached (the first sending, or again to those whose sending failed)."""
    async with post.request.app[SENDING_LOCK]:
        return await _send(post)


async def _send(post: SittingPost) -> web.StreamResponse:
    request, store, council, sitting = post.request, post.store, post.council, post.sitting
    config = request.app[CONFIG]
    items = post.items()
    smtp = config.smtp
    if post.convened_at() is None:  # 409: not now (not convened, opened, no relay); 400: nothing to send
        raise Invalid(
            "R6 — convoquez d'abord la séance : l'ordre du jour que la convocation énonce est fixé à ce moment "
            "(art. L.2121-10 CGCT).",
            status=409,
        )
    if opened(request.app, sitting.id):
        raise Invalid(
            "R6 — la séance est ouverte : une convocation envoyée maintenant ne convoque plus personne.", status=409
        )
    if smtp is None:
        raise Invalid(
            "L'envoi par courriel n'est pas configuré sur ce serveur (section [smtp] du fichier seance.toml, "
            "à demander à la DSI) : imprimez la convocation et envoyez-la par d'autres moyens.",
            status=409,
        )
    rows = convocation_rows(council, store.emails(council.id), store.sendings(council.id, sitting.id), {})
    recipients = {r["member"].id: r["email"] for r in rows if r["state"] in ("pending", "failed")}
    if not recipients:
        raise Invalid("Aucune convocation à envoyer : chaque membre ayant une adresse l'a déjà reçue.")
    messages = _messages(request, council, sitting, items, recipients, smtp, store.annexes(council.id, sitting.id))
    outcomes = await asyncio.to_thread(
        _send_and_record, config.data_dir, council.id, sitting.id, smtp, messages, recipients
    )
    for o in outcomes:  # the signed record: who and when, never the address (docs/operations.md)
        await journal(
            request.app,
            sitting.id,
            {"type": RecordConvocationSending.__name__, "member_id": o.key, "sent": o.sent, "reason": o.reason[:500]},
        )
    sent = sum(o.sent for o in outcomes)
    raise web.HTTPSeeOther(
        f"/admin/seances/{sitting.id}?envoyee={sent}&echec={len(outcomes) - sent}#convocations-envoyees"
    )


async def acknowledge(request: web.Request) -> web.StreamResponse:
    """GET /convocation/accuse?token=…: the member's personal link, without login. The first
    acknowledgement is recorded; following the link again shows the same date."""
    signer = request.app[SIGNER]
    try:
        claims = signer.unseal(request.query.get("token", ""), ACK_DOMAIN, what="Lien d'accusé de réception")
    except TokenError as err:
        return error(
            request,
            400,
            "Lien d'accusé de réception invalide",
            f"{err.message} Copiez le lien en entier depuis le courriel de convocation, ou contactez le secrétariat.",
        )
    council_id, sitting_id, member_id = claims.get("c"), claims.get("s"), claims.get("m")
    with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
        council = store.load(council_id) if isinstance(council_id, str) else None
        sitting = store.sitting(council_id, sitting_id) if council and isinstance(sitting_id, str) else None
        member = council.member(member_id) if council and isinstance(member_id, str) else None
        sent = (
            sitting
            and member
            and any(x.sent and x.member_id == member.id for x in store.sendings(council.id, sitting.id))
        )
        if council is None or sitting is None or member is None or not sent:
            return error(
                request,
                404,
                "Convocation inconnue",
                "Ce lien ne correspond à aucune convocation envoyée. Contactez le secrétariat de la communauté.",
            )
        until = link_expiry(claims, sitting, ACK_DOMAIN)
        if datetime.now(until.tzinfo) >= until:
            return expired_link(request, "d'accusé de réception", until)
        first = member.id not in store.acknowledgements(council.id, sitting.id)
        at = store.acknowledge(council.id, sitting.id, member.id, now_iso())
    if first:
        await journal(request.app, sitting.id, {"type": RecordConvocationReceipt.__name__, "member_id": member.id})
    return page(
        request,
        "convocation_ack.html",
        {
            "council": council,
            "sitting": sitting,
            "member": member,
            "date": french_date(sitting.scheduled_at),
            "time": french_time(sitting.scheduled_at),
            "ack_date": french_date(at),
            "ack_time": french_time(at),
        },
    )


async def linked_annex(request: web.Request) -> web.StreamResponse:
    """GET /convocation/annexe?token=…: an annex sent as a personal link (too large to
    attach), without login, for the member it was sent to only."""
    signer = request.app[SIGNER]
    try:
        claims = signer.unseal(request.query.get("token", ""), ANNEX_DOMAIN, what="Lien vers l'annexe")
    except TokenError as err:
        return error(request, 400, "Lien vers l'annexe invalide", f"{err.message} Copiez le lien en entier.")
    council_id, sitting_id, member_id, annex_id = (claims.get(k) for k in ("c", "s", "m", "a"))
    data_dir = request.app[CONFIG].data_dir
    with CouncilStore.in_data_dir(data_dir) as store:
        ok = all(isinstance(v, str) for v in (council_id, sitting_id, member_id, annex_id))
        sent = ok and any(x.sent and x.member_id == member_id for x in store.sendings(council_id, sitting_id))
        annex = next((a for a in store.annexes(council_id, sitting_id) if a.id == annex_id), None) if sent else None
        sitting = store.sitting(council_id, sitting_id) if annex is not None else None
    if annex is None or sitting is None:
        return error(request, 404, "Annexe inconnue", "Ce lien ne correspond à aucune annexe envoyée.")
    until = link_expiry(claims, sitting, ANNEX_DOMAIN)
    if datetime.now(until.tzinfo) >= until:
        return expired_link(request, "vers le document", until)
    return annex_response(data_dir, sitting_id, annex)


def add_convocation_routes(app: web.Application) -> None:
    app[SENDING_LOCK] = asyncio.Lock()
    app.router.add_post("/admin/seances/{seance}/envoyer", send_convocations)
    app.router.add_get("/convocation/accuse", acknowledge)
    app.router.add_get("/convocation/annexe", linked_annex)
