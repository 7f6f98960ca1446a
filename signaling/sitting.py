"""The deliberation of one sitting, served: journal on disk, one command at a time, views pushed.

:class:`SittingService` is the imperative shell around the pure core
(:class:`deliberation.seance.Seance`): for each command it stamps the time (the core
never reads the clock), decides, journals and fsyncs (R18, in a worker thread so the
event loop keeps serving sockets), applies, drives the media Router when the command has
a media effect (R3 audio only), and pushes the new sitting view to every socket of the
sitting. Commands of one sitting are strictly serialised by an :class:`asyncio.Lock`.

Files (docs/interfaces.md, "files of a sitting"):

- ``<data_dir>/sittings/<sitting_id>/journal.jsonl``: the journal (docs/journal.md);
- ``<data_dir>/keys/council-ed25519.pem``: the council's signing key (mode 0600),
  generated on first start, and ``council-ed25519.pub``, its public half.

On start the journal is verified and replayed (R18). A journal that does not verify is
never served: the service stays *refused* (``error`` says why, in French), every command
is refused with code ``JOURNAL``, and the pages show the message.

The media plane's port: the Router measures each salle's transmission and calls
``on_health``; the room forwards it to :meth:`SittingService.report_transmission`, which
journals ``ReportTransmission`` from the system actor (R7, R17) and derives the public
stream's state (R2, see :func:`public_stream_up`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deliberation.actors import SYSTEM, Actor
from deliberation.actors import Role as CoreRole
from deliberation.commands import (
    COMMAND_TYPES,
    RecordRecordingDigest,
    ReportPublicStream,
    ReportTransmission,
    SetAudioOnly,
    command_from_dict,
)
from deliberation.council import CompositionError
from deliberation.events import Event
from deliberation.journal import Journal, JournalError, generate_key, load_private_pem, private_pem, public_pem
from deliberation.presentation import decide_page
from deliberation.refusal import SCHEMA, Refusal
from deliberation.seance import Seance
from deliberation.view import sitting_view
from signaling import datadir, sobriety
from signaling.auth import session_ref
from signaling.board import board_message
from signaling.presentation import ShownPage, checked_annex
from signaling.recordings import (
    SUFFIX,
    EncryptedWriter,
    new_recording_path,
    recording_key,
    recordings_dir,
    sha256_file,
)
from signaling.roles import Role
from signaling.throttle import Throttle

if TYPE_CHECKING:
    from signaling.auth import Claims
    from signaling.room import SittingRoom

log = logging.getLogger(__name__)

KEY_DIR = datadir.KEYS
KEY_FILE = datadir.COUNCIL_KEY
PUBLIC_KEY_FILE = datadir.COUNCIL_PUBLIC_KEY
#: A refusal kind of the shell, not of a rule: the journal cannot be trusted or written.
JOURNAL = "JOURNAL"
#: After a restart, the Router has seen no packet yet: wait this long before correcting
#: the journaled transmission states from the measured ones (a kiosk reconnects in a few s).
RECONCILE_AFTER_S = 20.0

#: Builds a sitting's journal when none exists yet: (journal path, council key) -> (journal, seance).
JournalStarter = Callable[[str, Ed25519PrivateKey], tuple[Journal, Seance]]


def journal_path(data_dir: Path, sitting_id: str) -> Path:
    return datadir.DataDir.of(data_dir).journal(sitting_id)


def council_key(data_dir: Path) -> Ed25519PrivateKey:
    """The council's Ed25519 signing key, created on first start (private PEM mode 0600)."""
    layout = datadir.DataDir.of(data_dir)
    pem, pub = layout.council_key, layout.council_public_key
    key = generate_key() if not pem.exists() else None
    if key is None or not datadir.create_secret(pem, private_pem(key), datadir.PRIVATE_DIR_MODE):
        key = load_private_pem(pem.read_bytes())  # there already, or created meanwhile by another worker
    if not pub.exists() or pub.read_bytes() != public_pem(key):
        pub.write_bytes(public_pem(key))
    return key


#: What a failed journal write means, in French, for the refusal and the pages.
_DISK_ERRORS_FR = {
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota du disque dépassé",
    errno.EROFS: "disque en lecture seule",
    errno.EIO: "erreur d'entrée-sortie du disque",
}


def disk_error_fr(err: OSError) -> str:
    reason = _DISK_ERRORS_FR.get(err.errno or 0)
    return f"{reason}, {err.strerror}" if reason and err.strerror else (reason or err.strerror or str(err))


def now_iso() -> str:
    """The server's clock, with its UTC offset (ISO 8601), to the millisecond."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def public_stream_up(transmitting: dict[str, bool]) -> bool:
    """R2: the public stream is up when the Router has a live programme source for viewers.

    The programme slot of a public viewer carries the pinned salle, else the president's
    salle, else the active speaker; the Router switches it to whichever salle is live, and
    accepts viewers at any time. So the stream is up exactly when at least one salle of
    the sitting is transmitting as measured by the Router (both directions flowing).
    """
    return any(transmitting.values())


class SittingService:
    """One sitting's deliberation: ``seance`` (state), ``journal`` (on disk), views pushed."""

    def __init__(
        self,
        sitting_id: str,
        path: Path,
        key: Ed25519PrivateKey,
        *,
        journal: Journal | None,
        seance: Seance | None,
        room: SittingRoom | None = None,
        error: str | None = None,
    ) -> None:
        self.sitting_id = sitting_id
        self.journal_path = path
        self.public_key_pem = public_pem(key).decode("ascii")
        self.journal = journal
        self.seance = seance
        self.room = room
        self.error = error
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pusher = Throttle(self._push)  # the view, at most every BROADCAST_INTERVAL_S
        self._reconcile: asyncio.TimerHandle | None = None
        self._stream_reported: bool | None = None
        #: Several nodes (signaling/placement.py): None while this node may append to the
        #: journal, else why not; asked before every append. And told of each journaled change.
        self.fence: Callable[[], str | None] | None = None
        self.on_journaled: Callable[[list[Event]], None] | None = None
        if room is not None:
            room.on_transmission = self.report_transmission
            room.on_media_change = self.schedule_push
            room.on_audio_fallback = self.report_audio_fallback
        #: R5 recording: <data_dir>/recordings/<sitting>/, key from this path (None: the default
        #: <data_dir>/keys/recording-aes256.key, see signaling.recordings)
        self.data_dir = Path(path).parent.parent.parent
        self.recording_key_path: Path | None = None
        self._recording: tuple[Any, Path] | None = None
        self._recording_held = False
        self._closing = False  # close() runs: no recording starts any more (issue 12.9)
        #: sobriety (signaling.sobriety): this run's counters are kept under this id
        self._sobriety_run = f"{now_iso()}-{os.getpid()}"
        #: the page of the annex on the displays (issue 15 point 8): turned by the chair, not journaled
        self.shown_page = ShownPage()

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        data_dir: Path,
        sitting_id: str,
        room: SittingRoom | None = None,
        *,
        create: JournalStarter | None = None,
        reconcile_after_s: float | None = RECONCILE_AFTER_S,
        recording_key_path: Path | None = None,
    ) -> SittingService | None:
        """Resume the sitting from its journal, or create it with ``create``; None when neither.

        A journal that does not verify is refused (R21): the service is returned without a
        sitting, ``error`` saying why in French, and the log says so too.
        """
        path = journal_path(data_dir, sitting_id)
        key = council_key(data_dir)
        journal: Journal | None = None
        seance: Seance | None = None
        error: str | None = None
        try:
            if path.exists() and path.stat().st_size > 0:
                journal, seance = Journal.open(path, key)
                log.info("séance %s reprise depuis son journal (%d lignes)", sitting_id, journal.lines)
            elif create is not None:
                datadir.private_file(path)  # created here with its mode; the journal appends to it
                journal, seance = create(str(path), key)
                log.info("séance %s : journal créé (%s)", sitting_id, path)
            else:
                return None
        except CompositionError as err:  # the genesis's council (R9 and the CGCT's composition rules)
            error = (
                f"Le journal de la séance « {sitting_id} » porte une composition du conseil refusée : "
                f"{err.message} La séance ne peut pas reprendre."
            )
        except JournalError as err:
            error = (
                f"Le journal de la séance « {sitting_id} » ne se vérifie pas (ligne {err.line} : {err.reason}). "
                "La séance ne peut pas reprendre : faites vérifier le journal par l'auditeur "
                "(seance audit verify) avant toute autre action."
            )
        except (OSError, ValueError) as err:
            error = (
                f"Le journal de la séance « {sitting_id} » est illisible ({err.__class__.__name__}) : "
                "la séance ne peut pas reprendre."
            )
        if error is not None:
            log.error("%s [%s]", error, path)
        service = cls(sitting_id, path, key, journal=journal, seance=seance, room=room, error=error)
        service.recording_key_path = recording_key_path
        service.sync_media()
        if room is not None and seance is not None and reconcile_after_s is not None:
            service._reconcile = asyncio.get_running_loop().call_later(reconcile_after_s, service.reconcile)
        return service

    # ------------------------------------------------------------------ actors
    def actor_for(self, claims: Claims) -> Actor:
        """The core's actor from the session token's claims only (never from the browser).

        A councillor who is the appointed secrétaire de séance acts as ``secretary`` (R10).
        """
        role = claims.role
        # the login session it comes through (issue 12.11): a trace of who held it, journaled
        session = session_ref(claims.sid) if claims.sid else None
        gen = claims.gen if claims.sid else None
        if role is Role.PRESIDENT:
            return Actor(
                CoreRole.PRESIDENT, member_id=claims.member, salle_id=claims.salle, session=session, session_gen=gen
            )
        if role is Role.AGENT:
            return Actor(CoreRole.AGENT, salle_id=claims.salle, agent_id=claims.agent, session=session, session_gen=gen)
        if role is Role.MODERATOR:
            return Actor(CoreRole.MODERATOR, session=session, session_gen=gen)
        if role is Role.COUNCILLOR:
            secretary = (
                self.seance is not None and claims.member is not None and self.seance.state.secretary == claims.member
            )
            return Actor(
                CoreRole.SECRETARY if secretary else CoreRole.COUNCILLOR,
                member_id=claims.member,
                session=session,
                session_gen=gen,
            )
        return Actor(CoreRole.PUBLIC)

    # ------------------------------------------------------------------ commands
    async def command(self, actor: Actor, command_dict: dict[str, Any]) -> list[Event] | Refusal:
        """Stamp, decide, journal (fsync), apply, act on the media, push the view.

        Returns the events (possibly none: nothing to change) or the refusal; a refused
        command changes nothing and is not journaled.
        """
        if self.seance is None or self.journal is None:
            return Refusal(JOURNAL, self.error or "La séance n'est pas servie.")
        if not isinstance(command_dict, dict):
            return Refusal(SCHEMA, "La commande doit être un objet JSON.", None)
        if "at" in command_dict:
            return Refusal(SCHEMA, "Champ « at » : l'heure est fixée par le serveur.", "at")
        if command_dict.get("type") == "CloseSitting" and self._recording is not None:
            return await self._close_with_recording(actor, command_dict)
        if command_dict.get("type") == "CloseSitting":
            await self._sobriety_before_closing(actor, command_dict)
        return await self._journal_command(actor, command_dict)

    async def _journal_command(self, actor: Actor, command_dict: dict[str, Any]) -> list[Event] | Refusal:
        """Under the lock: stamp, decide, journal (fsync), apply (R18). No pre-step: those are
        :meth:`command`'s, so this never comes back to them (issue 12.12)."""
        async with self._lock:
            if self.journal is None or self.seance is None:  # failed while we waited
                return Refusal(JOURNAL, self.error or "La séance n'est pas servie.")
            command = command_from_dict({**command_dict, "at": now_iso()})
            if isinstance(command, Refusal):
                return command
            result = self.seance.decide(command, actor)
            if isinstance(result, Refusal) or not result:
                return result
            fenced = self.fence() if self.fence is not None else None
            if fenced is not None:  # the lease is not provably ours: another node may hold the sitting
                return Refusal(JOURNAL, fenced)
            journal = self.journal
            try:  # R18: journaled and fsynced before it is applied and acknowledged
                await asyncio.get_running_loop().run_in_executor(None, journal.append, command, actor, result)
            except OSError as err:
                self._fail(
                    f"Écriture du journal impossible ({disk_error_fr(err)}) : la commande n'est pas "
                    "enregistrée et la séance est arrêtée."
                )
                return Refusal(JOURNAL, self.error or "")
            for event in result:
                self.seance.apply(event)
            log.info(
                "séance %s : %s par %s -> %s",
                self.sitting_id,
                command.type,
                actor.role,
                ", ".join(e.type for e in result),
            )
            self._media_effects(result)
            self.schedule_push()
            if self.on_journaled is not None:
                self.on_journaled(result)
            return result

    def _media_effects(self, events: list[Event]) -> None:
        """Commands that also act on the media plane: applied from the resulting state."""
        self.sync_media()

    def sync_media(self) -> None:
        """Bring the media plane in line with the sitting's state; idempotent.

        R3: a salle switched to audio only sends and receives no video. R19: during a
        sensitive passage the public stream carries silence and no image; the public gets the salles
        only while the sitting is open (R2, R11); the salle of whoever has the floor goes on the
        public picture and into the kiosks' slots. R20: a salle
        where someone objects to broadcast does not feed the public picture. Called after
        every accepted command and when the service starts, so a sitting resumed from its
        journal after a restart gets the same media state back."""
        if self.room is None or self.seance is None:
            return
        state = self.seance.state
        for salle in self.room.salles:
            want = bool(state.audio_only.get(salle, False))
            if (salle in self.room.audio_only) != want:
                self.room.set_audio_only(salle, want)
        self.room.set_public_silenced(bool(state.sensitive))
        self.room.set_public_fed(state.status == "opened")
        floor = state.presence.get(state.speaker["member"]) if state.speaker is not None else None
        self.room.set_floor_salle(floor if floor in self.room.salles else None)
        self.room.set_no_broadcast(
            {salle for salle, people in state.broadcast_objections.items() if people and salle in self.room.salles}
        )
        self._sync_recording()

    # ------------------------------------------------------------------ recording (R5)
    def _sync_recording(self) -> None:
        """Record the public programme while the sitting is open, if the règlement intérieur
        says so (R5): started at opening (or on resuming an open sitting: a new file), stopped
        at closing, its digest journaled."""
        router = self.room.router if self.room is not None else None
        if self.seance is None or router is None:
            return
        want = (
            self.seance.council.reglement.recording
            and not self._recording_held
            and not self._closing
            and self.seance.state.status in ("opened", "suspended")
        )
        if want and self._recording is None:
            try:
                path = new_recording_path(self.data_dir, self.sitting_id)
                writer = EncryptedWriter(path, recording_key(self.data_dir, self.recording_key_path))
                router.start_recording(writer)
            except Exception:
                log.exception("séance %s : l'enregistrement ne démarre pas", self.sitting_id)
                return
            self._recording = (writer, path)
            log.info("séance %s : enregistrement dans %s", self.sitting_id, path)
            self._journal_interrupted(path)
        elif not want and self._recording is not None:
            self._spawn(self.stop_recording())

    def _journal_interrupted(self, current: Path) -> None:
        """Recordings of this sitting whose digest was never journaled (their server was
        killed before the end, see signaling.recordings.decrypt_prefix): journaled now."""

        if self.seance is None:
            return
        known = {r["label"].split(" ")[0] for r in self.seance.state.recordings}
        for path in sorted(recordings_dir(self.data_dir, self.sitting_id).glob(f"*{SUFFIX}")):
            if path == current or path.relative_to(self.data_dir).as_posix() in known:
                continue
            if path.stat().st_size == 0:  # nothing was recorded: a digest of nothing proves nothing
                log.warning("séance %s : enregistrement vide ignoré (%s)", self.sitting_id, path)
                continue
            self._spawn(self.journal_recording(path, " (interrompu)"))

    async def stop_recording(self) -> str | None:
        """Finish the current recording and journal its digest; the digest, or None."""
        current, self._recording = self._recording, None
        if current is None:
            return None
        writer, path = current
        loop = asyncio.get_running_loop()
        try:
            router = self.room.router if self.room is not None else None
            stats = await router.stop_recording() if router is not None else None
            await loop.run_in_executor(None, writer.close)
        except Exception:
            log.exception("séance %s : fin d'enregistrement en erreur (%s)", self.sitting_id, path)
            return None
        log.info("séance %s : enregistrement terminé %s %s", self.sitting_id, path, stats)
        return await self.journal_recording(path)

    async def _close_with_recording(self, actor: Actor, command_dict: dict[str, Any]) -> list[Event] | Refusal:
        """A closed sitting journals nothing more (R11): the recording ends, and its digest is
        journaled, just before a closing the core accepts."""
        probe = command_from_dict({**command_dict, "at": now_iso()})
        if (
            self.seance is not None
            and not isinstance(probe, Refusal)
            and not isinstance(self.seance.decide(probe, actor), Refusal)
        ):
            self._recording_held = True
            try:
                await self.stop_recording()
                await self._sobriety_before_closing(actor, command_dict)
                return await self._journal_command(actor, command_dict)
            finally:
                self._recording_held = False
                self._sync_recording()  # the closing was refused after all: record again
        # refused (a vote still open…): the refusal, the recording untouched
        return await self._journal_command(actor, command_dict)

    # ------------------------------------------------------------------ sobriety
    async def _sobriety_before_closing(self, actor: Actor, command_dict: dict[str, Any]) -> None:
        """Keep the data the sitting moved with it, just before a closing the core accepts."""
        probe = command_from_dict({**command_dict, "at": now_iso()})
        if (
            self.seance is not None
            and not isinstance(probe, Refusal)
            and not isinstance(self.seance.decide(probe, actor), Refusal)
        ):
            await self.save_sobriety(closed=True)

    async def save_sobriety(self, closed: bool = False) -> dict[str, Any] | None:
        """Write ``sobriete.json`` from the Router's counters (see signaling.sobriety); the
        record, or None. Once written at closing, the service's stop leaves it as it is."""

        router = self.room.router if self.room is not None else None
        if router is None or self.seance is None:
            return None
        try:
            if not closed:
                stored = sobriety.read(self.data_dir, self.sitting_id)
                if stored is not None and stored.get("closed"):
                    return None  # kept as it was at closing
            traffic = router.traffic()
            if not closed and stored is None and not (traffic["totals"]["in_bytes"] or traffic["totals"]["out_bytes"]):
                return None  # nothing moved: no file
            return await asyncio.get_running_loop().run_in_executor(
                None, lambda: sobriety.write(self.data_dir, self.sitting_id, self._sobriety_run, traffic, closed=closed)
            )
        except Exception:
            log.exception("séance %s : bilan de sobriété non enregistré", self.sitting_id)
            return None

    async def journal_recording(self, path: Path, note: str = "") -> str:
        """R5: journal the SHA-256 of an (encrypted) recording file, from the system actor."""

        digest = await asyncio.get_running_loop().run_in_executor(None, sha256_file, path)
        label = (
            Path(path).relative_to(self.data_dir).as_posix()
            if Path(path).is_relative_to(self.data_dir)
            else Path(path).name
        )
        await self._system(RecordRecordingDigest.__name__, sha256=digest, label=label + note)
        return digest

    def _fail(self, message: str) -> None:
        self.error = message
        log.error("séance %s : %s", self.sitting_id, message)
        if self.journal is not None:
            try:
                self.journal.close()
            except OSError:
                pass
        self.journal = None
        if self.room is not None:
            self.room.broadcast(self.error_message())

    # ------------------------------------------------------------------ media plane port
    def report_transmission(self, salle_id: str, transmitting: bool) -> None:
        """The Router's ``on_health`` (through the room): journal the measured change (R7, R17),
        then the public stream's state it implies (R2). Called from the event loop."""
        self._spawn(self._system(ReportTransmission.__name__, salle_id=salle_id, transmitting=transmitting))
        if self.room is not None:
            self._report_stream(public_stream_up(self.room.transmitting))

    def report_audio_fallback(self, salle_id: str, audio_only: bool, figures: str) -> None:
        """The Router's automatic R3 switch (through the room): journaled as ``SetAudioOnly``
        by the system with the measured figures, then applied like an agent's (sync_media)."""
        self._spawn(self._system(SetAudioOnly.__name__, salle_id=salle_id, audio_only=audio_only, figures=figures))

    def _report_stream(self, up: bool) -> None:
        if self._stream_reported == up:
            return
        self._stream_reported = up
        self._spawn(self._system(ReportPublicStream.__name__, up=up))

    def reconcile(self) -> None:
        """Correct the journaled transmission states from the Router's measures (after a restart)."""
        if self.room is None or self.seance is None:
            return
        for salle_id, measured in self.room.transmitting.items():
            if self.seance.state.transmitting.get(salle_id, False) != measured:
                self._spawn(self._system(ReportTransmission.__name__, salle_id=salle_id, transmitting=measured))
        up = public_stream_up(self.room.transmitting)
        if self.seance.state.public_stream_up != up:
            self._stream_reported = None
        self._report_stream(up)

    async def _system(self, ctype: str, **fields: Any) -> None:
        assert ctype in COMMAND_TYPES
        result = await self.command(SYSTEM, {"type": ctype, **fields})
        if isinstance(result, Refusal) and result.rule != JOURNAL:
            log.warning("séance %s : %s refusé : %s", self.sitting_id, ctype, result.message)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until the media plane's reports so far are journaled (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ------------------------------------------------------------------ documents on screen
    async def present(self, actor: Actor, annex_id: str, pages: int) -> list[Event] | Refusal:
        """Show an annex of the current item on the displays (issue 15 point 8): the file's
        digest checked against the convocation's (signaling.presentation), then ``PresentAnnex``
        decided and journaled like any command."""
        if self.seance is None or self.journal is None:
            return Refusal(JOURNAL, self.error or "La séance n'est pas servie.")
        loop = asyncio.get_running_loop()
        checked = await loop.run_in_executor(None, checked_annex, self.data_dir, self.sitting_id, annex_id)
        if isinstance(checked, Refusal):
            return checked
        annex = checked.annex
        command = {"type": "PresentAnnex", "item_id": annex.item_id, "annex_id": annex.id, "sha256": annex.sha256}
        return await self.command(actor, {**command, "title": checked.title, "pages": pages})

    def turn_page(self, actor: Actor, page: int) -> int | Refusal:
        """Turn the page of the document shown (not journaled: deliberation.presentation)."""
        if self.seance is None:
            return Refusal(JOURNAL, self.error or "La séance n'est pas servie.")
        result = decide_page(self.seance.state, self.seance.council, actor, page)
        if isinstance(result, Refusal):
            return result
        shown = self.seance.state.presentation
        assert shown is not None  # decide_page refuses when nothing is shown
        self.shown_page.turn(shown, result)
        self.schedule_push()
        return result

    def presented(self, annex_id: str, sha256: str) -> Path | None:
        """The file of the annex on the displays when it is ``annex_id`` with that digest and
        the sitting is open (what the public may fetch, web.documents), else None."""
        shown = self.seance.state.presentation if self.seance is not None else None
        if shown is None or self.seance is None or self.seance.state.status != "opened":
            return None
        if shown["annex_id"] != annex_id or shown["sha256"] != sha256:
            return None
        return datadir.DataDir.of(self.data_dir).annex(self.sitting_id, annex_id)

    # ------------------------------------------------------------------ views
    def journal_fields(self) -> dict[str, Any]:
        if self.journal is None:
            return {}
        return {
            "lines": self.journal.lines,
            "head": self.journal.head,
            "signed_checkpoints": self.journal.signed_checkpoints,
            "signed_head": self.journal.signed_head,
        }

    def view(self) -> dict[str, Any] | None:
        """The sitting view (deliberation.view) with the media state merged in."""
        if self.seance is None:
            return None
        view = sitting_view(self.seance, self.journal_fields())
        if view["presentation"] is not None:
            view["presentation"]["page"] = self.shown_page.of(self.seance.state.presentation)
        view["media"] = self.room.media_view() if self.room is not None else {}
        return view

    def sitting_message(self) -> dict[str, Any]:
        return {"type": "sitting", "view": self.view()}

    def error_message(self) -> dict[str, Any]:
        return {
            "type": "error",
            "code": "journal_invalid",
            "field": None,
            "message": self.error or "La séance n'est pas servie.",
        }

    def hello_messages(self) -> list[dict[str, Any]]:
        """What a socket receives on connecting: the view and the room display's summary
        (each to the sockets that show it), or why the sitting is not served."""
        if self.seance is None or self.error is not None:
            return [self.error_message()]
        message = self.sitting_message()
        return [message, board_message(message["view"])]

    def schedule_push(self) -> None:
        """Push the view to every socket of the sitting: on the next loop turn, or, when a
        push went out less than BROADCAST_INTERVAL_S ago, once at the end of that
        interval with every change since (signaling.throttle)."""
        if self.room is None or self.seance is None:
            return
        self._pusher.trigger()

    def _push(self) -> None:
        if self.room is not None and self.seance is not None:
            message = self.sitting_message()
            self.room.broadcast(message, view=True)
            self.room.broadcast_board(board_message(message["view"]))

    # ------------------------------------------------------------------ closing
    async def close(self) -> None:
        self._closing = True
        if self._reconcile is not None:
            self._reconcile.cancel()
        try:
            await asyncio.wait_for(self.stop_recording(), timeout=30.0)
        except Exception:
            log.exception("séance %s : fin d'enregistrement", self.sitting_id)
        try:
            await asyncio.wait_for(self.idle(), timeout=5.0)
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
        await self.save_sobriety()
        async with self._lock:
            if self.journal is not None:
                self.journal.close()
                self.journal = None
        self._pusher.cancel()
        if self.room is not None:
            self.room.on_transmission = None
            self.room.on_media_change = None
            self.room.on_audio_fallback = None
