"""The journal of a sitting convened from the council store (R6, R12, R18).

A sitting the admin convened (:meth:`signaling.council_store.CouncilStore.convene`)
starts its journal from what the store holds: the genesis carries the council (its
members, salles, agents and règlement) and the sitting as convened; then each agenda
item is journaled as the admin's ``AddAgendaItem``, decided by the core as in a sitting.
A journal already on disk is verified and replayed instead (a restart resumes, R18).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deliberation.actors import ADMIN
from deliberation.commands import AddAgendaItem
from deliberation.council import Council, Salle, SittingConfig
from deliberation.journal import Journal
from deliberation.refusal import Refusal
from deliberation.seance import Seance
from signaling.council_store import CouncilStore
from signaling.sitting import JournalStarter


class ConvocationError(ValueError):
    """The stored agenda is refused by the core (it changed rules since it was built)."""


def journal_starter(council: Council, config: SittingConfig, agenda: list[AddAgendaItem]) -> JournalStarter:
    """Start (or resume) the journal of ``config`` from the council and agenda as stored."""

    def start(path: str, key: Ed25519PrivateKey) -> tuple[Journal, Seance]:
        if Path(path).exists() and Path(path).stat().st_size > 0:
            return Journal.open(path, key)
        seance = Seance(council, config)
        journal = Journal.create(path, seance, key)
        for item in agenda:
            result = journal.handle(seance, item, ADMIN)
            if isinstance(result, Refusal):
                journal.close()
                raise ConvocationError(f"point « {item.title} » refusé : {result.message}")
        return journal, seance

    return start


def sitting_salles(council: Council, config: SittingConfig) -> tuple[Salle, ...]:
    """Where the sitting is held: every designated salle for a visioconference (R1), the
    siège alone for a sitting in a single place (L.5211-11-1)."""
    designated = tuple(s for s in council.salles if s.designated)
    if config.teleconference:
        return designated
    seat = tuple(s for s in designated if s.is_seat)
    return seat or designated[:1]


def convened_starter(store: CouncilStore, sitting_id: str) -> JournalStarter | None:
    """The starter of a convened sitting of the store, or None if the store has not convened it."""
    for convened in store.convened():
        if convened.config.id == sitting_id:
            council = store.load(convened.council_id)
            if council is None:
                return None
            return journal_starter(council, convened.config, store.agenda(convened.council_id, sitting_id))
    return None
