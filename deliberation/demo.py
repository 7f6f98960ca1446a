"""The demo council: « Communauté de communes des Trois Rivières » and its sitting ``demo``.

Salle ids are fixed (the web layer depends on them): ``belcourt`` (the siège, the
president's salle), ``vaux`` and ``saint-ferreol``. 17 members in office over six
communes; Les Aubiers has a single councillor and therefore a suppléant (L.5211-6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .actors import ADMIN, Actor
from .commands import AddAgendaItem, Command
from .council import Agent, Commune, Council, Designation, Member, Reglement, Salle, Seat, SittingConfig
from .refusal import Refusal
from .seance import Seance

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from .journal import Journal

SITTING_ID = "demo"
SALLE_IDS = ("belcourt", "vaux", "saint-ferreol")
DESIGNATION = Designation(reference="DEL-2025-014", date="2025-03-18")


def demo_council() -> Council:
    communes = (
        Commune("belcourt", "Belcourt", "71032"),
        Commune("vaux", "Vaux-sur-Ance", "71561"),
        Commune("saint-ferreol", "Saint-Ferréol", "71412"),
        Commune("lanterne", "Lanterne-et-Brosses", "71251"),
        Commune("montclar", "Montclar", "71306"),
        Commune("aubiers", "Les Aubiers", "71014"),
    )
    t = Seat.TITULAIRE
    members = (
        Member("m01", "Hélène", "Marchand", "belcourt", t, function="présidente"),
        Member("m02", "Jean-Luc", "Perrin", "belcourt", t, function="1er vice-président"),
        Member("m03", "Sophie", "Garnier", "belcourt", t),
        Member("m04", "Karim", "Benali", "belcourt", t),
        Member("m05", "Odile", "Fournier", "belcourt", t),
        Member("m06", "Patrick", "Lemoine", "vaux", t, function="2e vice-président"),
        Member("m07", "Nathalie", "Rousseau", "vaux", t),
        Member("m08", "Thierry", "Bonnet", "vaux", t),
        Member("m09", "Claire", "Dubois", "vaux", t),
        Member("m10", "Marc", "Chevalier", "saint-ferreol", t, function="3e vice-président"),
        Member("m11", "Isabelle", "Morel", "saint-ferreol", t),
        Member("m12", "Gérard", "Lefèvre", "saint-ferreol", t),
        Member("m13", "Anne", "Girard", "lanterne", t),
        Member("m14", "Didier", "Mercier", "lanterne", t),
        Member("m15", "Valérie", "Blanc", "montclar", t),
        Member("m16", "François", "Guérin", "montclar", t),
        Member("m17", "Bernard", "Roux", "aubiers", t),
        Member("s17", "Martine", "Faure", "aubiers", Seat.SUPPLEANT, replaces="m17"),
    )
    salles = (
        Salle(
            "belcourt",
            "Belcourt — salle du conseil (siège)",
            "belcourt",
            "2 place de la Mairie, Belcourt",
            DESIGNATION,
            True,
        ),
        Salle("vaux", "Vaux-sur-Ance — salle des fêtes", "vaux", "rue des Écoles, Vaux-sur-Ance", DESIGNATION),
        Salle(
            "saint-ferreol",
            "Saint-Ferréol — mairie, salle des mariages",
            "saint-ferreol",
            "1 rue de l'Église, Saint-Ferréol",
            DESIGNATION,
        ),
    )
    agents = (
        Agent("a-belcourt", "Laurence Petit", "belcourt"),
        Agent("a-vaux", "Julien Robin", "vaux"),
        Agent("a-saint-ferreol", "Émilie Caron", "saint-ferreol"),
    )
    return Council(
        id="cc-trois-rivieres",
        name="Communauté de communes des Trois Rivières",
        siret="20004567800012",
        communes=communes,
        members=members,
        salles=salles,
        agents=agents,
        president_id="m01",
        reglement=Reglement(recording=True, retention_days=365),
    )


def demo_config() -> SittingConfig:
    return SittingConfig(
        id=SITTING_ID,
        title="Conseil communautaire du 26 novembre 2026",
        scheduled_at="2026-11-26T18:30:00+01:00",
        convened_on="2026-11-18",
        teleconference=True,
    )


def demo_agenda(at: str = "2026-11-18T09:00:00+01:00") -> list[AddAgendaItem]:
    """The agenda of the convocation (built by the admin)."""
    return [
        AddAgendaItem(
            at, "pv-precedent", "Approbation du procès-verbal de la séance du 24 septembre 2026", "deliberation", "5.2"
        ),
        AddAgendaItem(
            at,
            "marche-collecte",
            "Attribution du marché de collecte des déchets ménagers 2027-2030",
            "deliberation",
            "1.1",
        ),
        AddAgendaItem(
            at,
            "fonds-concours-vaux",
            "Fonds de concours à la commune de Vaux-sur-Ance pour la rénovation de l'école",
            "deliberation",
            "7.5",
        ),
        AddAgendaItem(
            at,
            "office-tourisme",
            "Désignation d'un représentant au conseil d'administration de l'office de tourisme",
            "nomination",
            "5.3",
        ),
        AddAgendaItem(at, "voirie-programme", "Programme de voirie intercommunale 2027", "deliberation", "8.3"),
    ]


def agent_actor(council: Council, salle_id: str) -> Actor:
    from .actors import Role

    agent = next(a for a in council.agents if a.salle_id == salle_id)
    return Actor(Role.AGENT, salle_id=salle_id, agent_id=agent.id)


def president_actor(council: Council) -> Actor:
    from .actors import Role

    return Actor(Role.PRESIDENT, member_id=council.president_id, salle_id="belcourt")


def demo_setup() -> list[tuple[Command, Actor]]:
    """Commands that build the demo sitting as convened (run them through a journal)."""
    return [(c, ADMIN) for c in demo_agenda()]


def demo_seance() -> Seance:
    """A convened demo sitting with its agenda, without a journal."""
    seance = Seance(demo_council(), demo_config())
    for command, actor in demo_setup():
        result = seance.handle(command, actor)
        if isinstance(result, Refusal):
            raise ValueError(f"demo agenda refused: {result.message}")
    return seance


def start_demo_journal(path: str, key: Ed25519PrivateKey) -> tuple[Journal, Seance]:
    """Create the demo sitting's journal (genesis, then the agenda journaled as admin commands).

    If ``path`` already holds a journal, it is verified and replayed instead (R18).
    """
    from pathlib import Path

    from .journal import Journal

    if Path(path).exists() and Path(path).stat().st_size > 0:
        return Journal.open(path, key)
    seance = Seance(demo_council(), demo_config())
    journal = Journal.create(path, seance, key)
    for command, actor in demo_setup():
        result = journal.handle(seance, command, actor)
        if isinstance(result, Refusal):
            raise ValueError(f"demo agenda refused: {result.message}")
    return journal, seance
