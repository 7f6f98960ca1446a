"""Handlers: one async function per client message type.

How to add a message type (the deliberation commands of the next issue go this way):

1. declare its dataclass in :mod:`signaling.protocol` (or in a new module, with
   ``@protocol.register``): fields, types, limits;
2. add its row to ``PERMISSIONS`` in :mod:`signaling.roles` (and a note if a handler
   adds a scope check), then regenerate the table in ``docs/protocol.md``;
3. write ``@HANDLERS.on(TheMessage) async def …(services, conn, msg)`` here or in a
   module imported at the bottom of this file. Check everything that can refuse
   *before* changing anything; refuse with ``ProtocolError(code, French message,
   field)``, where ``code`` is a rule id (``R7``…) when a rule refuses.

``tests/signaling/test_registry.py`` fails if the three disagree.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from deliberation.commands import COMMAND_TYPES
from deliberation.refusal import Refusal
from signaling.auth import Claims, TokenError, TokenSigner
from signaling.hub import Connection, Handler
from signaling.protocol import (
    CLIENT_MESSAGES,
    AudioOnly,
    CommandMessage,
    Hello,
    Join,
    Leave,
    Message,
    Mute,
    Offer,
    Pin,
    Ping,
    Present,
    ProtocolError,
    Reception,
    TurnPage,
)
from signaling.roles import PERMISSIONS, ROLE_LABELS_FR, Role, command_allowed
from signaling.room import SittingRoom, shows_view
from signaling.sitting import SittingService

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What handlers may use; built once per app by ``web.app.create_app``."""

    signer: TokenSigner
    rooms: dict[str, SittingRoom]
    #: sitting id -> its deliberation service (absent: a media-only sitting)
    sittings: dict[str, SittingService] = field(default_factory=dict)
    #: (claims, connection id) -> the browser's ``iceServers`` (TURN), sent in ``welcome``
    ice_servers: Callable[[Claims, int], list[dict[str, Any]]] | None = None


ServiceHandler = Callable[[Services, Connection, Any], Awaitable[None]]


class Registry:
    """message type -> handler. Bound to the app's services with :meth:`bind`."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[type[Message], ServiceHandler]] = {}

    def on(self, cls: type[Message]) -> Callable[[ServiceHandler], ServiceHandler]:
        def decorate(fn: ServiceHandler) -> ServiceHandler:
            if cls.type in self.entries:
                raise ValueError(f"handler for {cls.type!r} already registered")
            if CLIENT_MESSAGES.get(cls.type) is not cls:
                raise ValueError(f"message type {cls.type!r} is not registered in signaling.protocol")
            if cls.type not in PERMISSIONS:
                raise ValueError(f"message type {cls.type!r} has no row in signaling.roles.PERMISSIONS")
            self.entries[cls.type] = (cls, fn)
            return fn

        return decorate

    def bind(self, services: Services) -> dict[str, Handler]:
        return {t: functools.partial(fn, services) for t, (_, fn) in self.entries.items()}


HANDLERS = Registry()


def _room(conn: Connection) -> SittingRoom:
    assert conn.room is not None  # every message after hello has a room
    return conn.room


def _salle(room: SittingRoom, salle_id: str, field: str = "salle") -> str:
    if salle_id not in room.salles:
        raise ProtocolError("unknown_salle", f"Salle inconnue : « {salle_id} ».", field)
    return salle_id


@HANDLERS.on(Hello)
async def hello(services: Services, conn: Connection, msg: Hello) -> None:
    if conn.claims is not None:
        raise ProtocolError("already_authenticated", "Vous êtes déjà identifié sur cette connexion.")
    room = services.rooms.get(msg.sitting)
    if room is None:
        raise ProtocolError("unknown_sitting", f"Séance inconnue : « {msg.sitting} ».", "sitting")
    if msg.token is not None:
        try:
            claims = services.signer.verify(msg.token)
        except TokenError as err:
            raise ProtocolError(err.code, err.message, "token") from None
    elif conn.cookie_claims is not None:
        claims = conn.cookie_claims
        try:  # the session may have been closed (logout, password change) since the upgrade
            services.signer.check(claims)
        except TokenError as err:
            raise ProtocolError(err.code, err.message, "token") from None
    else:  # anonymous: the public (R2)
        claims = Claims(role=Role.PUBLIC, member=None, salle=None, sitting=msg.sitting, issued_at=0, expires_at=0)
    if claims.sitting is not None and claims.sitting != msg.sitting:
        raise ProtocolError("forbidden", "Ce jeton ne vaut pas pour cette séance.", "sitting")
    if claims.role is Role.KIOSK and claims.salle not in room.salles:
        raise ProtocolError("unknown_salle", "Cette borne n'appartient à aucune salle de la séance.", "token")
    conn.claims = claims
    await room.attach(conn)
    conn.send(
        {
            "type": "welcome",
            "re": msg.id,
            "role": claims.role.value,
            "member": claims.member,
            "salle": claims.salle,
            "sitting": room.sitting_id,
            "names": room.names(),
            "allowed": sorted(t for t, roles in PERMISSIONS.items() if claims.role in roles),
            "iceServers": services.ice_servers(claims, conn.id) if services.ice_servers else [],
        }
    )
    conn.send(room.state_message())
    service = services.sittings.get(room.sitting_id)
    if service is not None:
        for message in service.hello_messages():
            if message["type"] == "sitting" and not shows_view(claims):
                continue  # a kiosk shows the room display's summary (board), not the view
            if message["type"] == "board" and shows_view(claims):
                continue
            conn.send(message)


@HANDLERS.on(Join)
async def join(services: Services, conn: Connection, msg: Join) -> None:
    room, claims = _room(conn), conn.claims
    assert claims is not None
    if msg.as_ == "salle":
        if claims.role is not Role.KIOSK or claims.salle is None:
            raise ProtocolError("forbidden", "Seule la borne d'une salle peut publier son image et son son.", "as")
        if conn.media is not None:
            await room.leave_media(conn)
        await room.join_salle(conn, claims.salle)
        kind = "salle"
    elif msg.as_ == "monitor":
        if claims.role not in (Role.PRESIDENT, Role.MODERATOR):
            raise ProtocolError("forbidden", "Seules la présidence et la modération voient toutes les salles.", "as")
        if conn.media is not None:
            await room.leave_media(conn)
        room.join_monitor(conn, f"monitor-{conn.id}-{secrets.token_hex(3)}")
        kind = "monitor"
    else:
        if conn.media is not None:
            await room.leave_media(conn)
        room.join_viewer(conn, f"viewer-{conn.id}-{secrets.token_hex(3)}")
        kind = "viewer"
    conn.send(
        {
            "type": "slots",
            "re": msg.id,
            "as": kind,
            "peer": conn.peer_id,
            "layout": room.router.slot_layout(kind),
            "assignments": room.assignments.get(conn.peer_id or "", {}),
            "names": room.names(),
        }
    )
    if kind == "monitor":
        conn.send(room.voices_message())


@HANDLERS.on(Offer)
async def offer(services: Services, conn: Connection, msg: Offer) -> None:
    room = _room(conn)
    if conn.peer_id is None:
        raise ProtocolError("not_joined", "Envoyez d'abord « join ».")
    if not msg.sdp.startswith("v=0"):
        raise ProtocolError("invalid_field", "Offre SDP invalide.", "sdp")
    try:
        answer_sdp = await room.negotiate(conn, msg.sdp)
    except ProtocolError:
        raise
    except (ValueError, KeyError) as err:
        raise ProtocolError("bad_offer", f"Offre SDP refusée par le serveur média : {str(err)[:120]}", "sdp") from None
    conn.send({"type": "answer", "re": msg.id, "sdp": answer_sdp})


@HANDLERS.on(Leave)
async def leave(services: Services, conn: Connection, msg: Leave) -> None:
    await _room(conn).leave_media(conn)


@HANDLERS.on(Mute)
async def mute(services: Services, conn: Connection, msg: Mute) -> None:
    room, claims = _room(conn), conn.claims
    assert claims is not None
    room.set_muted(_salle(room, msg.salle), msg.muted)
    # media only (not a deliberation act), but logged: who muted which salle
    log.info(
        "sitting %s: salle %s %s by %s %s",
        room.sitting_id,
        msg.salle,
        "muted" if msg.muted else "unmuted",
        claims.role.value,
        claims.member or "",
    )


@HANDLERS.on(AudioOnly)
async def audio_only(services: Services, conn: Connection, msg: AudioOnly) -> None:
    room, claims = _room(conn), conn.claims
    assert claims is not None
    _salle(room, msg.salle)
    if claims.salle != msg.salle:  # R4: an agent acts on its own salle only
        raise ProtocolError("R4", "Un agent ne peut agir que sur sa propre salle.", "salle")
    service = services.sittings.get(room.sitting_id)
    if service is None:  # a media-only sitting: nothing to journal
        room.set_audio_only(msg.salle, msg.audio_only)
        return
    # R3: the switch is journaled, then applied to the Router by the service
    await _run_command(
        service, conn, {"type": "SetAudioOnly", "salle_id": msg.salle, "audio_only": msg.audio_only}, msg.id
    )


@HANDLERS.on(Reception)
async def reception(services: Services, conn: Connection, msg: Reception) -> None:
    """A kiosk's reception figures: for the router's judgement of its salle (R7, R17, R3)."""
    room, claims = _room(conn), conn.claims
    assert claims is not None
    if claims.salle is None or room.kiosks.get(claims.salle) is not conn or msg.period_ms <= 0:
        return  # not the socket that holds the salle's media: nothing to judge
    room.report_reception(
        claims.salle,
        seconds=msg.period_ms / 1000,
        video_frames=msg.video_frames,
        video_slots=msg.video_slots,
        audio_samples=msg.audio_samples,
        audio_concealed=msg.audio_concealed,
        outgoing_bps=None if msg.outgoing_kbps is None else msg.outgoing_kbps * 1000,
    )


@HANDLERS.on(Pin)
async def pin(services: Services, conn: Connection, msg: Pin) -> None:
    room = _room(conn)
    room.pin(None if msg.salle is None else _salle(room, msg.salle))


async def _run_command(service: SittingService, conn: Connection, command: dict[str, Any], re_id: str | None) -> None:
    assert conn.claims is not None
    result = await service.command(service.actor_for(conn.claims), command)
    if isinstance(result, Refusal):
        raise ProtocolError(result.rule, result.message, result.field)
    conn.send({"type": "ack", "re": re_id, "events": [e.to_dict() for e in result]})


@HANDLERS.on(CommandMessage)
async def command(services: Services, conn: Connection, msg: CommandMessage) -> None:
    """A deliberation command: the role table first, then the core (which checks scope and rules)."""
    room, claims = _room(conn), conn.claims
    assert claims is not None
    service = services.sittings.get(room.sitting_id)
    if service is None:
        raise ProtocolError("unknown_sitting", "Cette séance n'est pas délibérante sur ce serveur.", "command")
    ctype = msg.command.get("type")
    if not isinstance(ctype, str) or ctype not in COMMAND_TYPES:
        raise ProtocolError("SCHEMA", f"Commande inconnue : « {str(ctype)[:40]} ».", "type")
    if not command_allowed(claims.role, ctype):
        raise ProtocolError(
            "ROLE", f"Votre rôle ({ROLE_LABELS_FR[claims.role]}) ne permet pas la commande « {ctype} ».", "type"
        )
    await _run_command(service, conn, msg.command, msg.id)


def _deliberating(services: Services, conn: Connection) -> SittingService:
    service = services.sittings.get(_room(conn).sitting_id)
    if service is None:
        raise ProtocolError("unknown_sitting", "Cette séance n'est pas délibérante sur ce serveur.")
    return service


@HANDLERS.on(Present)
async def present(services: Services, conn: Connection, msg: Present) -> None:
    """An annex of the current item on the displays (issue 15 point 8): checked, then journaled."""
    service, claims = _deliberating(services, conn), conn.claims
    assert claims is not None
    result = await service.present(service.actor_for(claims), msg.annex, msg.pages)
    if isinstance(result, Refusal):
        raise ProtocolError(result.rule, result.message, result.field)
    conn.send({"type": "ack", "re": msg.id, "events": [e.to_dict() for e in result]})


@HANDLERS.on(TurnPage)
async def turn_page(services: Services, conn: Connection, msg: TurnPage) -> None:
    """The page of the document shown, turned; pushed with the view (not journaled)."""
    service, claims = _deliberating(services, conn), conn.claims
    assert claims is not None
    result = service.turn_page(service.actor_for(claims), msg.page)
    if isinstance(result, Refusal):
        raise ProtocolError(result.rule, result.message, result.field)
    conn.send({"type": "ack", "re": msg.id, "events": [], "page": result})


@HANDLERS.on(Ping)
async def ping(services: Services, conn: Connection, msg: Ping) -> None:
    conn.send({"type": "pong", "re": msg.id})
