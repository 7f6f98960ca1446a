"""The sittings this installation hosts, with one home: the council store.

A sitting convened in ``/admin`` (:meth:`signaling.council_store.CouncilStore.convene`)
is hosted by the running server without a restart: :meth:`HostedSittings.refresh` reads
the store (``council.sqlite3``, shared by every worker of a machine) and adds what was
convened since, the admin's convocation calls it at once, and a background task every
:data:`REFRESH_S` seconds does it too (the workers that did not serve the admin's
request). Its journal starts from the council, the salles and the agenda as stored
(:mod:`signaling.convocation`).

``[[sittings]]`` in ``seance.toml`` (and ``WebConfig.sittings``, which tests and the
benchmark build) still declare sittings by hand; when the store has convened a sitting
of the same id, its journal starts from the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deliberation.council import Council, SittingConfig
from signaling.convocation import convened_starter, sitting_salles
from signaling.council_store import CouncilStore
from signaling.datadir import DataDir
from signaling.sitting import JournalStarter
from web.config import SalleSpec, SittingSpec

log = logging.getLogger(__name__)

#: Seconds between two reads of the store by a running server (sittings convened elsewhere).
REFRESH_S = 3.0


def spec_of(council: Council, config: SittingConfig) -> SittingSpec:
    """The media side of a stored sitting: its salles, the president's (the siège)."""
    salles = sitting_salles(council, config)
    seat = next((s.id for s in salles if s.is_seat), salles[0].id if salles else None)
    return SittingSpec(config.id, config.title, tuple(SalleSpec(s.id, s.name) for s in salles), president_salle=seat)


def convened_specs(data_dir: Path) -> list[SittingSpec]:
    """The sittings the store has convened, as the server hosts them."""
    if not DataDir.of(data_dir).council_db.is_file():
        return []
    out = []
    with CouncilStore.in_data_dir(data_dir) as store:
        for convened in store.convened():
            council = store.load(convened.council_id)
            if council is not None:
                out.append(spec_of(council, convened.config))
    return out


def store_starter(data_dir: Path, sitting_id: str) -> JournalStarter | None:
    """How the journal of a sitting the store convened starts (None: not convened)."""
    if not DataDir.of(data_dir).council_db.is_file():
        return None
    with CouncilStore.in_data_dir(data_dir) as store:
        return convened_starter(store, sitting_id)


def current_room(rooms: dict[str, Any], services: dict[str, Any], wanted: str | None) -> Any | None:
    """The sitting a screen without ``?seance=`` is about: the one asked for, else the first
    hosted one not yet closed (a council's next sitting, not the last one's journal), else
    the first one."""
    if wanted and wanted in rooms:
        return rooms[wanted]
    for sitting_id, room in rooms.items():
        service = services.get(sitting_id)
        seance = service.seance if service is not None else None
        if seance is not None and seance.state.status != "closed":
            return room
    return next(iter(rooms.values()), None)


@dataclass
class HostedSittings:
    """The sittings of one application, by id, in the order they were added."""

    specs: dict[str, SittingSpec] = field(default_factory=dict)
    #: called with each sitting added after the start (the app opens it, or its host takes it)
    on_added: list[Callable[[SittingSpec], Awaitable[object]]] = field(default_factory=list)

    def add(self, spec: SittingSpec) -> bool:
        if spec.id in self.specs:
            return False
        self.specs[spec.id] = spec
        return True

    @property
    def ids(self) -> list[str]:
        return list(self.specs)

    def salle_sittings(self) -> dict[str, list[str]]:
        """Salle id -> the sittings held in it (a kiosk link's token says which one)."""
        out: dict[str, list[str]] = {}
        for spec in self.specs.values():
            for salle in spec.salles:
                out.setdefault(salle.id, []).append(spec.id)
        return out

    def refresh(self, data_dir: Path) -> list[SittingSpec]:
        """Add the sittings the store convened since; the new ones, in order."""
        try:
            found = convened_specs(data_dir)
        except Exception:  # a store being written, a locked file: next time
            log.exception("lecture des séances convoquées (council.sqlite3)")
            return []
        return [spec for spec in found if self.add(spec)]

    async def sync(self, data_dir: Path) -> list[str]:
        """Refresh from the store and hand each new sitting to ``on_added``; their ids. The
        store is read in a thread: the event loop also forwards the media."""
        try:
            found = await asyncio.to_thread(convened_specs, data_dir)
        except Exception:  # a store being written, a locked file: next time
            log.exception("lecture des séances convoquées (council.sqlite3)")
            return []
        added = [spec for spec in found if self.add(spec)]
        for spec in added:
            log.info("séance %s convoquée : servie sans redémarrage", spec.id)
            for callback in self.on_added:
                await callback(spec)
        return [spec.id for spec in added]
