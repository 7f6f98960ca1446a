"""The demo council: « Communauté de communes des Trois Rivières » and its sitting ``demo``.

Salle ids are fixed (the web layer depends on them): ``belcourt`` (the siège, the
president's salle), ``vaux`` and ``saint-ferreol``. 17 members in office over six
communes; Les Aubiers has a single councillor and therefore a suppléant (L.5211-6).
Members carry their birth dates (the oldest candidate wins a tie, L.2121-21).

The agenda holds what a teleconference sitting may hold (R12): among others a décision
modificative « au budget primitif » (allowed: the nature decides, not the title) and the
designation of the members of a commission of the council (L.2121-22), with candidates.
A designation to an outside body, such as an office de tourisme's board (L.2121-33), is
not on it: the rehearsal shows it refused.
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
        Member(
            "m01", "Hélène", "Marchand", "belcourt", t, function="présidente", birth_date="1961-04-12", civility="Mme"
        ),
        Member(
            "m02",
            "Jean-Luc",
            "Perrin",
            "belcourt",
            t,
            function="1er vice-président",
            birth_date="1958-09-30",
            civility="M.",
        ),
        Member("m03", "Sophie", "Garnier", "belcourt", t, birth_date="1979-02-17", civility="Mme"),
        Member("m04", "Karim", "Benali", "belcourt", t, birth_date="1984-11-05", civility="M."),
        Member("m05", "Odile", "Fournier", "belcourt", t, birth_date="1966-06-21", civility="Mme"),
        Member(
            "m06", "Patrick", "Lemoine", "vaux", t, function="2e vice-président", birth_date="1957-01-09", civility="M."
        ),
        Member("m07", "Nathalie", "Rousseau", "vaux", t, birth_date="1972-08-14", civility="Mme"),
        Member("m08", "Thierry", "Bonnet", "vaux", t, birth_date="1963-03-03", civility="M."),
        Member("m09", "Claire", "Dubois", "vaux", t, birth_date="1988-12-01", civility="Mme"),
        Member(
            "m10",
            "Marc",
            "Chevalier",
            "saint-ferreol",
            t,
            function="3e vice-président",
            birth_date="1969-10-26",
            civility="M.",
        ),
        Member("m11", "Isabelle", "Morel", "saint-ferreol", t, birth_date="1970-05-18", civility="Mme"),
        Member("m12", "Gérard", "Lefèvre", "saint-ferreol", t, birth_date="1952-07-07", civility="M."),
        Member("m13", "Anne", "Girard", "lanterne", t, birth_date="1975-04-02", civility="Mme"),
        Member("m14", "Didier", "Mercier", "lanterne", t, birth_date="1960-02-28", civility="M."),
        Member("m15", "Valérie", "Blanc", "montclar", t, birth_date="1981-09-11", civility="Mme"),
        Member("m16", "François", "Guérin", "montclar", t, birth_date="1955-12-19", civility="M."),
        Member("m17", "Bernard", "Roux", "aubiers", t, birth_date="1959-06-06", civility="M."),
        Member(
            "s17",
            "Martine",
            "Faure",
            "aubiers",
            Seat.SUPPLEANT,
            replaces="m17",
            birth_date="1968-01-23",
            civility="Mme",
        ),
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
            "dm-budget-2026",
            "Décision modificative n° 2 au budget primitif 2026",
            "decision_modificative",
            "7.1",
        ),
        AddAgendaItem(
            at,
            "commission-environnement",
            "Désignation des membres de la commission environnement et mobilités",
            "nomination",
            "5.2",
            body="commission",
            body_name="Commission environnement et mobilités",
            seats=2,
        ),
        AddAgendaItem(at, "voirie-programme", "Programme de voirie intercommunale 2027", "deliberation", "8.3"),
        AddAgendaItem(
            at,
            "groupement-electricite",
            "Adhésion au groupement de commandes pour l'achat d'électricité",
            "deliberation",
            "1.4",
        ),
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
