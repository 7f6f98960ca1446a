"""One sitting as signaling sees it: its salles, its media Router, its sockets.

The room owns the sitting's :class:`sfu.router.Router` (through the :class:`MediaRouter`
protocol, so signaling is typed against the contract and not against aiortc), keeps the
media-facing state (muted, audio-only, pinned, health) and pushes ``state`` and
``health`` to every socket of the sitting when it changes. The Router calls back
``on_health`` and ``on_slots``; both are wired here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from signaling.hub import Connection, encode
from signaling.login_throttle import address_key
from signaling.protocol import ProtocolError
from signaling.roles import Role
from signaling.throttle import Throttle

log = logging.getLogger(__name__)

#: seconds between two samples of the voice activity sent to the mosaics
VOICE_INTERVAL_S = 0.3


def shows_view(claims: Any) -> bool:
    """Whether a socket gets the sitting view: every screen, not the salles' kiosks (a
    kiosk shows its slots and the ``state``; at 158 salles the view is 100 KB a socket)."""
    return claims is None or claims.role is not Role.KIOSK


@runtime_checkable
class MediaRouter(Protocol):
    """The subset of ``sfu.router.Router`` signaling uses (docs/interfaces.md)."""

    def slot_layout(self, kind: str) -> list[dict[str, Any]]: ...
    async def connect_salle(self, salle_id: str, offer_sdp: str) -> str: ...
    async def connect_viewer(self, viewer_id: str, offer_sdp: str) -> str: ...
    async def connect_monitor(self, monitor_id: str, offer_sdp: str) -> str: ...
    def voice_activity(self) -> dict[str, Any]: ...
    async def disconnect(self, peer_id: str) -> None: ...
    def connected(self, peer_id: str) -> bool: ...
    def set_muted(self, salle_id: str, muted: bool) -> None: ...
    def set_audio_only(self, salle_id: str, audio_only: bool) -> None: ...
    def set_public_silenced(self, silenced: bool) -> None: ...
    def set_public_fed(self, fed: bool) -> None: ...
    def set_no_broadcast(self, salle_ids: set[str] | frozenset[str]) -> None: ...
    def pin(self, salle_id: str | None) -> None: ...
    def set_president_salle(self, salle_id: str) -> None: ...
    def set_floor_salle(self, salle_id: str | None) -> None: ...
    def health(self, salle_id: str) -> Any: ...
    def stats(self) -> dict[str, Any]: ...
    def start_recording(self, sink: Any, **options: Any) -> Any: ...
    async def stop_recording(self) -> dict[str, Any] | None: ...
    def traffic(self) -> dict[str, Any]: ...
    async def close(self) -> None: ...

    #: the video slots the router pauses for a subscriber, when they change (set by the room)
    on_paused: Callable[[str, list[str]], Any] | None
    #: a salle switched to audio only by itself, or back (R3), with the reason and figures
    on_fallback: Callable[[str, bool, str, dict[str, Any]], Any] | None
    #: which simulcast encodings a salle's kiosk keeps sending (dynacast), when it changes
    on_layers: Callable[[str, list[bool]], Any] | None

    def report_reception(
        self,
        salle_id: str,
        *,
        seconds: float,
        video_frames: int,
        video_slots: int,
        audio_samples: int,
        audio_concealed: int,
        outgoing_bps: float | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class ViewerLimits:
    """The anonymous public's media on this node, per sitting (issue 12 point 10: 40
    replayed offers held 40 Router peers and their UDP sockets 45 s later, ICE never
    completed): at most ``max_total`` viewers, ``max_per_address`` from one address (an
    IPv6 address counts for its /64), and a viewer's peer whose ICE and DTLS have not
    completed ``connect_timeout_s`` after its offer is closed. ``[web]`` of seance.toml."""

    max_total: int = 500
    max_per_address: int = 20
    connect_timeout_s: float = 30.0


#: Builds the Router of a sitting: (on_health, on_slots) -> router.
RouterFactory = Callable[[Callable[[str, bool], None], Callable[[str, dict[str, str | None]], None]], MediaRouter]


def fallback_summary(audio_only: bool, reason: str, figures: dict[str, Any]) -> str:
    """The figures of an automatic R3 switch, in the words of the journal: what the link
    carried against what the picture needs, the loss, and for how long."""

    def kbps(value: Any) -> str:
        return "?" if value is None else f"{value:g} kbit/s"

    parts = []
    if figures.get("down_kbps") is not None:
        parts.append(
            f"réception {kbps(figures.get('down_kbps'))} pour {kbps(figures.get('down_need_kbps'))} nécessaires"
        )
    if figures.get("up_kbps") is not None:
        parts.append(f"émission {kbps(figures.get('up_kbps'))} pour {kbps(figures.get('up_need_kbps'))} nécessaires")
    for key, label in (("down_loss_pct", "pertes en réception"), ("up_loss_pct", "pertes en émission")):
        if figures.get(key) is not None:
            parts.append(f"{label} {figures[key]:g} %")
    why = {
        "down": "la liaison ne reçoit plus l'image",
        "up": "la liaison n'envoie plus l'image",
        "down+up": "la liaison ne porte plus l'image",
        "trial": "essai de la vidéo concluant",
        "recovered": "liaison rétablie",
    }.get(reason, reason)
    seconds = figures.get("seconds")
    during = f" pendant {seconds:g} s" if isinstance(seconds, (int, float)) else ""
    return f"{why}{during}" + (f" ({', '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class SalleInfo:
    id: str
    name: str


class SittingRoom:
    def __init__(
        self,
        sitting_id: str,
        title: str,
        salles: list[SalleInfo],
        president_salle: str | None,
        router_factory: RouterFactory,
        viewer_limits: ViewerLimits | None = None,
    ) -> None:
        self.sitting_id = sitting_id
        self.viewer_limits = viewer_limits if viewer_limits is not None else ViewerLimits()
        #: viewer peer id -> the task that closes it if its ICE does not complete in time
        self._reapers: dict[str, asyncio.Task[None]] = {}
        self.title = title
        self.salles = {s.id: s for s in salles}
        self.president_salle = president_salle
        self.connections: set[Connection] = set()
        self.kiosks: dict[str, Connection] = {}  # salle id -> the socket that holds its media
        self.viewers: dict[str, Connection] = {}  # viewer peer id -> socket
        self.monitors: dict[str, Connection] = {}  # monitor peer id -> socket (president, moderator)
        self.voices: dict[str, Any] = {"active": None, "speaking": []}  # last voice activity sent
        self._voice_task: asyncio.Task[None] | None = None
        self.muted: set[str] = set()
        self.audio_only: set[str] = set()
        self.pinned: str | None = None
        self.floor_salle: str | None = None  # the salle of whoever has the floor
        self.public_silenced = False  # R19
        #: R2, R11: set by the sitting's service from its state (fed only while open); an edge's
        #: room has no service and stays fed (its holder already gates the relay)
        self.public_fed = True
        self.no_broadcast: frozenset[str] = frozenset()  # R20
        self.transmitting: dict[str, bool] = {s.id: False for s in salles}
        self.health_changed_at: dict[str, float] = {}
        self.assignments: dict[str, dict[str, str | None]] = {}  # peer id -> slot -> salle
        self.paused: dict[str, list[str]] = {}  # peer id -> video slots paused for it
        #: hooks set by the sitting's deliberation service (signaling.sitting): the measured
        #: transmission of a salle (R7, R17), and any change of the media state
        self.on_transmission: Callable[[str, bool], None] | None = None
        self.on_media_change: Callable[[], None] | None = None
        #: the sitting's service journals an automatic R3 switch (salle, audio_only, French
        #: summary of the figures) and applies it; without one the room applies it
        self.on_audio_fallback: Callable[[str, bool, str], None] | None = None
        #: every message broadcast to the sitting's sockets (web.relay forwards them to the edges)
        self.on_broadcast: Callable[[dict[str, Any]], None] | None = None
        self.router = router_factory(self._on_health, self._on_slots)
        self.router.on_paused = self._on_paused
        self.router.on_fallback = self._on_fallback
        self.router.on_layers = self._on_layers
        if president_salle is not None:
            self.router.set_president_salle(president_salle)
        self._lock = asyncio.Lock()
        self._state_throttle = Throttle(self._broadcast_state, immediate=True)

    # ----------------------------------------------------------------- router callbacks

    def _on_health(self, salle_id: str, transmitting: bool) -> None:
        if salle_id not in self.salles or self.transmitting.get(salle_id) == transmitting:
            return
        self.transmitting[salle_id] = transmitting
        self.health_changed_at[salle_id] = time.time()
        log.info("salle %s transmitting=%s", salle_id, transmitting)
        self.broadcast(self.health_message(salle_id))
        self._state_changed()
        if self.on_transmission is not None:
            self.on_transmission(salle_id, transmitting)

    def _on_slots(self, peer_id: str, assignments: dict[str, str | None]) -> None:
        self.assignments[peer_id] = dict(assignments)
        conn = self.kiosks.get(peer_id) or self.viewers.get(peer_id) or self.monitors.get(peer_id)
        if conn is not None:
            conn.send({"type": "slots", "assignments": dict(assignments)})

    def _on_paused(self, peer_id: str, slots: list[str]) -> None:
        """The router paused (or resumed) video slots of a subscriber whose link cannot
        carry them: its page shows them as suspended, not frozen (docs/protocol.md)."""
        if slots:
            self.paused[peer_id] = list(slots)
        else:
            self.paused.pop(peer_id, None)
        conn = self.kiosks.get(peer_id) or self.viewers.get(peer_id)
        if conn is not None:
            conn.send({"type": "paused", "slots": list(slots)})

    def _on_layers(self, salle_id: str, active: list[bool]) -> None:
        """Uplink follows demand: the kiosk switches off the encodings nobody receives
        (docs/protocol.md, `layers`; docs/media.md, "Simulcast")."""
        conn = self.kiosks.get(salle_id)
        if conn is not None:
            conn.send({"type": "layers", "active": [bool(a) for a in active]})

    def _on_fallback(self, salle_id: str, audio_only: bool, reason: str, figures: dict[str, Any]) -> None:
        """The router measured that a salle's link cannot carry the picture (or can again):
        R3's « à défaut par l'audio », journaled by the sitting's service with the figures."""
        if salle_id not in self.salles:
            return
        summary = fallback_summary(audio_only, reason, figures)
        log.info("salle %s audio_only=%s by itself: %s", salle_id, audio_only, summary)
        if self.on_audio_fallback is not None:
            self.on_audio_fallback(salle_id, audio_only, summary)
        elif (salle_id in self.audio_only) != audio_only:
            self.set_audio_only(salle_id, audio_only)

    def report_reception(self, salle_id: str, **figures: Any) -> None:
        """A kiosk's own reception figures (its ``reception`` message), for the router."""
        self.router.report_reception(salle_id, **figures)

    # ----------------------------------------------------------------- messages out

    def broadcast_board(self, message: dict[str, Any]) -> None:
        """The room display's summary (``board``, :mod:`signaling.board`) to the sockets
        that do not get the view: the salles' kiosks."""
        text = encode(message)
        for conn in list(self.connections):
            if not shows_view(conn.claims):
                conn.send(text)

    def broadcast(self, message: dict[str, Any], *, view: bool = False) -> None:
        """``message`` to every socket of the sitting, serialized once for all of them;
        ``view``: the sitting view, only to the sockets that show it (:func:`shows_view`)."""
        text = encode(message)
        for conn in list(self.connections):
            if not view or shows_view(conn.claims):
                conn.send(text)
        if self.on_broadcast is not None:
            try:
                self.on_broadcast(message)
            except Exception:  # forwarding to the edges must not break the sitting
                log.exception("on_broadcast failed")

    def _state_changed(self) -> None:
        self._state_throttle.trigger()  # coalesced: a join storm is not O(salles³)
        if self.on_media_change is not None:
            self.on_media_change()

    def _broadcast_state(self) -> None:
        self.broadcast(self.state_message())

    def media_view(self) -> dict[str, Any]:
        """Per salle, the media state merged into the sitting view (``media``)."""
        return {
            s.id: {
                "connected": s.id in self.kiosks,
                "muted": s.id in self.muted,
                "audio_only": s.id in self.audio_only,
                "transmitting": self.transmitting[s.id],
                "slots": dict(self.assignments.get(s.id, {})),
            }
            for s in self.salles.values()
        }

    def health_message(self, salle_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "health", "salle": salle_id, "transmitting": self.transmitting[salle_id]}
        try:
            h = self.router.health(salle_id)
        except Exception:  # a salle never seen by the router
            h = None
        if h is not None:
            out.update(
                packets_in=getattr(h, "packets_in", None),
                packets_out_acked=getattr(h, "packets_out_acked", None),
                last_packet_at=getattr(h, "last_packet_at", None),
            )
        return out

    def state_message(self) -> dict[str, Any]:
        return {
            "type": "state",
            "sitting": self.sitting_id,
            "title": self.title,
            "president_salle": self.president_salle,
            "pinned": self.pinned,
            "floor_salle": self.floor_salle,
            "salles": [
                {
                    "id": s.id,
                    "name": s.name,
                    "connected": s.id in self.kiosks,
                    "transmitting": self.transmitting[s.id],
                    "muted": s.id in self.muted,
                    "audio_only": s.id in self.audio_only,
                }
                for s in self.salles.values()
            ],
        }

    def names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.salles.values()}

    # ----------------------------------------------------------------- media actions

    async def attach(self, conn: Connection) -> None:
        self.connections.add(conn)
        conn.room = self

    async def detach(self, conn: Connection) -> None:
        self.connections.discard(conn)
        await self.leave_media(conn)

    async def leave_media(self, conn: Connection) -> None:
        peer_id, media = conn.peer_id, conn.media
        conn.peer_id = conn.media = None
        if peer_id is None:
            return
        if media == "salle":
            if self.kiosks.get(peer_id) is not conn:
                return  # a newer socket of that salle took over: leave its peer alone
            del self.kiosks[peer_id]
            self._state_changed()
        else:
            self.viewers.pop(peer_id, None)
            self.monitors.pop(peer_id, None)
        reaper = self._reapers.pop(peer_id, None)
        if reaper is not None and reaper is not asyncio.current_task():
            reaper.cancel()
        self.assignments.pop(peer_id, None)
        self.paused.pop(peer_id, None)
        try:
            await self.router.disconnect(peer_id)
        except Exception:
            log.exception("router.disconnect(%s) failed", peer_id)

    async def join_salle(self, conn: Connection, salle_id: str) -> None:
        previous = self.kiosks.get(salle_id)
        if previous is not None and previous is not conn:
            previous.send(
                {
                    "type": "error",
                    "code": "replaced",
                    "field": None,
                    "message": "Cette salle a été ouverte sur un autre poste ; cette page est inactive.",
                }
            )
            previous.media = previous.peer_id = None
        self.kiosks[salle_id] = conn
        conn.media, conn.peer_id = "salle", salle_id
        self._state_changed()

    def join_viewer(self, conn: Connection, viewer_id: str) -> None:
        """A receive-only viewer; an anonymous one within :class:`ViewerLimits`, or the
        refusal ``too_many_viewers`` (nothing changed: the socket keeps the sitting's view)."""
        if conn.claims is None or conn.claims.role is Role.PUBLIC:
            public = [c for c in self.viewers.values() if c.claims is None or c.claims.role is Role.PUBLIC]
            limits = self.viewer_limits
            if len(public) >= limits.max_total:
                raise ProtocolError(
                    "too_many_viewers",
                    f"La retransmission de cette séance a atteint son nombre de spectateurs ({limits.max_total}) : "
                    "réessayez dans quelques minutes.",
                    "as",
                )
            here = address_key(conn.address)
            if sum(address_key(c.address) == here for c in public) >= limits.max_per_address:
                raise ProtocolError(
                    "too_many_viewers",
                    f"Trop de retransmissions ouvertes depuis votre réseau ({limits.max_per_address} au plus) : "
                    "fermez-en une avant d'en ouvrir une autre.",
                    "as",
                )
        self.viewers[viewer_id] = conn
        conn.media, conn.peer_id = "viewer", viewer_id

    def join_monitor(self, conn: Connection, monitor_id: str) -> None:
        """The president's or the moderator's mosaic: every salle's picture, and who speaks
        (``voices`` messages: :meth:`voices_message` after the ``slots`` reply, then on
        change, sampled every ``VOICE_INTERVAL_S``)."""
        self.monitors[monitor_id] = conn
        conn.media, conn.peer_id = "monitor", monitor_id
        if self._voice_task is None or self._voice_task.done():
            self._voice_task = asyncio.get_running_loop().create_task(self._watch_voices())

    def voices_message(self) -> dict[str, Any]:
        return {"type": "voices", **self.voices}

    async def _watch_voices(self) -> None:
        """While a monitor is connected, push the voice activity the Router measures."""
        while self.monitors:
            await asyncio.sleep(VOICE_INTERVAL_S)
            try:
                voices = self.router.voice_activity()
            except Exception:
                log.exception("router.voice_activity failed")
                continue
            if voices != self.voices:
                self.voices = voices
                message = self.voices_message()
                for conn in list(self.monitors.values()):
                    conn.send(message)

    async def negotiate(self, conn: Connection, offer_sdp: str) -> str:
        peer_id = conn.peer_id
        if peer_id is None:
            raise ValueError("negotiate before join: the connection has no media peer")
        if conn.media == "salle":
            return await self.router.connect_salle(peer_id, offer_sdp)
        if conn.media == "monitor":
            return await self.router.connect_monitor(peer_id, offer_sdp)
        answer = await self.router.connect_viewer(peer_id, offer_sdp)
        self._reap_unless_connected(conn, peer_id)
        return answer

    def _reap_unless_connected(self, conn: Connection, peer_id: str) -> None:
        """Close the viewer's peer if its ICE and DTLS have not completed in time (its UDP
        sockets with it); the socket is told why and may join again."""
        previous = self._reapers.pop(peer_id, None)
        if previous is not None:
            previous.cancel()
        self._reapers[peer_id] = asyncio.get_running_loop().create_task(self._reap(conn, peer_id))

    async def _reap(self, conn: Connection, peer_id: str) -> None:
        await asyncio.sleep(self.viewer_limits.connect_timeout_s)
        if conn.peer_id != peer_id or self.router.connected(peer_id):
            self._reapers.pop(peer_id, None)
            return
        log.info("viewer %s: no media connection after %.0f s, closed", peer_id, self.viewer_limits.connect_timeout_s)
        await self.leave_media(conn)
        conn.send(
            {
                "type": "error",
                "code": "media_timeout",
                "field": None,
                "message": "La liaison média ne s'est pas établie à temps : rechargez la page. Si cela se répète, "
                "le réseau bloque peut-être la vidéo (pare-feu).",
            }
        )

    def set_muted(self, salle_id: str, muted: bool) -> None:
        self.router.set_muted(salle_id, muted)
        (self.muted.add if muted else self.muted.discard)(salle_id)
        self._state_changed()

    def set_audio_only(self, salle_id: str, audio_only: bool) -> None:
        self.router.set_audio_only(salle_id, audio_only)
        (self.audio_only.add if audio_only else self.audio_only.discard)(salle_id)
        self._state_changed()

    def set_public_silenced(self, silenced: bool) -> None:
        """R19: the public stream carries silence and no image while a passage is sensitive."""
        if silenced != self.public_silenced:
            self.router.set_public_silenced(silenced)
            self.public_silenced = silenced
            self._state_changed()

    def set_public_fed(self, fed: bool) -> None:
        """R2, R11: public viewers receive the salles only while the sitting is open (not
        before the opening, during a suspension or after the closing)."""
        if fed != self.public_fed:
            self.router.set_public_fed(fed)
            self.public_fed = fed
            self._state_changed()

    def set_no_broadcast(self, salle_ids: set[str] | frozenset[str]) -> None:
        """R20: cameras of these salles are not sent to the public stream."""
        salle_ids = frozenset(salle_ids)
        if salle_ids != self.no_broadcast:
            self.router.set_no_broadcast(salle_ids)
            self.no_broadcast = salle_ids
            self._state_changed()

    def set_floor_salle(self, salle_id: str | None) -> None:
        """The floor drives the picture: the speaker's salle goes on the public programme
        (unless one is pinned) and into the kiosks' slots (issue 15, point 2)."""
        if salle_id != self.floor_salle:
            self.router.set_floor_salle(salle_id)
            self.floor_salle = salle_id
            self._state_changed()

    def pin(self, salle_id: str | None) -> None:
        self.router.pin(salle_id)
        self.pinned = salle_id
        self._state_changed()

    async def close(self) -> None:
        self._state_throttle.cancel()
        for reaper in list(self._reapers.values()):
            reaper.cancel()
        self._reapers.clear()
        if self._voice_task is not None:
            self._voice_task.cancel()
        for conn in list(self.connections):
            await conn.close(code=1001, reason="server shutdown")
        await self.router.close()
