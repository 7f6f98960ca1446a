"""The deliberation side of the benchmark's sittings: a council with one commune, one
designated salle and two councillors per synthetic salle, and a journal per sitting.

Without it the benchmark's server would be a media server only. With it, as in
``seance serve``, every change of a salle's media state (a kiosk joining, a salle's
transmission measured up or down, R7) is journaled and pushes the sitting view to every
socket of the sitting: the join of a large sitting costs what it costs in production.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from deliberation.journal import Journal
    from deliberation.seance import Seance
    from web.config import SittingSpec

#: councillors per salle (a large EPCI has 1 to 5 per commune)
MEMBERS_PER_SALLE = 2


def bench_council(spec: SittingSpec):
    """One commune and one designated salle per salle of ``spec``; the first salle is the
    siège and its first councillor presides; one agent per salle."""
    from deliberation.council import Agent, Commune, Council, Designation, Member, Salle

    designation = Designation(reference="DEL-BANC-001", date="2026-01-15")
    communes, members, salles, agents = [], [], [], []
    for i, s in enumerate(spec.salles):
        communes.append(Commune(s.id, s.name))
        salles.append(Salle(s.id, s.name, s.id, "banc d'essai", designation, is_seat=i == 0))
        agents.append(Agent(f"a-{s.id}", f"Agent {s.name}", s.id))
        for k in range(MEMBERS_PER_SALLE):
            members.append(Member(f"{s.id}-m{k}", "Élu", f"{s.id}-{k}", s.id))
    return Council(
        id=f"banc-{spec.id}",
        name=f"Banc d'essai {spec.id}",
        siret="00000000000000",
        communes=tuple(communes),
        members=tuple(members),
        salles=tuple(salles),
        agents=tuple(agents),
        president_id=members[0].id,
    )


def journal_starter(spec: SittingSpec):
    """``create_app(journal_starter=...)``: each benchmark sitting gets its journal."""

    def start(path: str, key: Ed25519PrivateKey) -> tuple[Journal, Seance]:
        from deliberation.council import SittingConfig
        from deliberation.journal import Journal
        from deliberation.seance import Seance

        config = SittingConfig(
            id=spec.id,
            title=spec.title,
            scheduled_at="2026-12-06T18:30:00+01:00",
            convened_on="2026-11-28",
            teleconference=True,
        )
        seance = Seance(bench_council(spec), config)
        return Journal.create(path, seance, key), seance

    return start
