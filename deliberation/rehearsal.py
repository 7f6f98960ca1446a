"""A complete scripted sitting of the demo council, for training and installation checks.

The script is pure data (commands, actors, and the expected outcome: accepted, or the
rule that refuses it); :func:`run_rehearsal` plays it through a :class:`Journal` and
writes ``journal.jsonl``, ``journal.pub``, ``proces-verbal.html``,
``liste-deliberations.html`` and ``deliberations.csv``.

It shows: three salles, check-ins by each salle's agent, a suppléant recorded by the
agent of the salle where she sits (R4, R9), two proxies, the media plane's transmission
reports, the secretary, opening (R7, R8, R10), a vote adopted, a roll-call vote with a
withdrawal, a loss of transmission that suspends and freezes a vote (R17), a tie decided
by the president (R14), a décision modificative « au budget primitif » accepted and an
amendment voted before it, with members who took no part in the vote (R25, R13), a
nomination to a commission of the council with a single candidacy appointed at once and a
seat filled in three rounds, the oldest winning the tie (R24), a secret-ballot request
that postpones an item (R15), an item withdrawn (R25), banned items refused (R12: the
budget primitif, a designation to an office de tourisme's board), a sensitive passage
(R19) and closing (R11).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .actors import ADMIN, SYSTEM, Actor, Role
from .commands import (
    AddAgendaItem,
    AppointSecretary,
    CastBallot,
    CheckIn,
    CloseCandidacies,
    CloseSitting,
    CloseVote,
    Command,
    DecideAppointmentBallot,
    DeclareSuppleance,
    DeclareWithdrawal,
    MarkSensitive,
    OpenSitting,
    OpenVote,
    ProposeAmendment,
    RecordProxy,
    RegisterCandidacy,
    ReportPublicStream,
    ReportTransmission,
    RequestSecretBallot,
    Resume,
    SetAudioOnly,
    TakeUpItem,
    WithdrawItem,
)
from .demo import demo_agenda, demo_config, demo_council
from .journal import Journal, generate_key, public_pem
from .minutes import liste_deliberations_html, proces_verbal_html
from .refusal import Refusal
from .scdl import deliberations_csv
from .seance import Seance

START = "2026-11-26T18:20:00+01:00"


@dataclass(frozen=True)
class Step:
    command: Command
    actor: Actor
    expect: str | None = None  # None: accepted; else the rule id that must refuse it
    say: str = ""


def _agent(salle: str) -> Actor:
    return Actor(Role.AGENT, salle_id=salle, agent_id=f"a-{salle}")


def _me(member: str) -> Actor:
    return (
        Actor(Role.PRESIDENT, member_id=member, salle_id="belcourt")
        if member == "m01"
        else Actor(Role.COUNCILLOR, member_id=member)
    )


PRESIDENT = _me("m01")
SECRETARY = Actor(Role.SECRETARY, member_id="m03")


def script() -> list[Step]:
    """The rehearsal, step by step; timestamps 20 s apart from :data:`START`."""
    t0 = datetime.fromisoformat(START)
    clock: Iterator[str] = ((t0 + timedelta(seconds=20 * i)).isoformat() for i in range(10_000))

    def at() -> str:
        """The next step's timestamp."""
        return next(clock)

    steps: list[Step] = [Step(c, ADMIN, say="ordre du jour") for c in demo_agenda(at())]
    steps.append(
        Step(
            AddAgendaItem(at(), "bp-2027", "Vote du budget primitif 2027", "budget_primitif", "7.1"),
            ADMIN,
            "R12",
            "le budget primitif est refusé en visioconférence",
        )
    )
    steps.append(
        Step(
            AddAgendaItem(
                at(),
                "office-tourisme",
                "Désignation d'un représentant au conseil d'administration de l'office de tourisme",
                "nomination",
                "5.3",
                body="organisme_exterieur",
                body_name="Office de tourisme des Trois Rivières",
            ),
            ADMIN,
            "R12",
            "la désignation dans un organisme extérieur est refusée en visioconférence (L.2121-33)",
        )
    )
    for salle in ("belcourt", "vaux", "saint-ferreol"):
        steps.append(Step(ReportTransmission(at(), salle, True), SYSTEM, say=f"transmission {salle}"))
    steps.append(Step(ReportPublicStream(at(), True), SYSTEM, say="retransmission publique"))
    presents = {
        "belcourt": ["m01", "m02", "m03", "m04", "m05"],
        "vaux": ["m06", "m07", "m08"],
        "saint-ferreol": ["m10", "m11", "m12"],
    }
    for salle, members in presents.items():
        steps += [Step(CheckIn(at(), m, salle), _agent(salle), say="arrivée") for m in members]
    steps.append(
        Step(CheckIn(at(), "m06", "belcourt"), _agent("vaux"), "R4", "un agent n'enregistre que dans sa salle")
    )
    steps.append(Step(OpenSitting(at()), PRESIDENT, "R10", "pas encore de secrétaire"))
    steps.append(
        Step(
            DeclareSuppleance(at(), "m17", "courriel de M. Roux du 24/11/2026", "belcourt"),
            _agent("vaux"),
            "R4",
            "un agent n'enregistre une suppléance que pour sa salle",
        )
    )
    steps.append(
        Step(
            DeclareSuppleance(at(), "m17", "courriel de M. Roux du 24/11/2026", "belcourt"),
            _agent("belcourt"),
            say="suppléance",
        )
    )
    steps.append(Step(CheckIn(at(), "s17", "belcourt"), _agent("belcourt"), say="la suppléante siège"))
    steps.append(Step(RecordProxy(at(), "m09", "m07", "n° 2026-11-03"), _agent("vaux"), say="pouvoir"))
    steps.append(Step(RecordProxy(at(), "m13", "m02", "n° 2026-11-04"), _agent("belcourt"), say="pouvoir"))
    steps.append(
        Step(
            RecordProxy(at(), "m14", "m02", "n° 2026-11-05"), _agent("belcourt"), "R9", "un seul pouvoir par mandataire"
        )
    )
    steps.append(Step(AppointSecretary(at(), "m03"), PRESIDENT, say="secrétaire"))
    steps.append(Step(OpenSitting(at()), PRESIDENT, say="ouverture"))

    everyone = ["m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m10", "m11", "m12", "s17"]
    # 1. approval of the previous minutes: all pour
    steps.append(Step(TakeUpItem(at(), "pv-precedent"), PRESIDENT))
    steps.append(Step(OpenVote(at(), "pv-precedent"), PRESIDENT))
    steps += [Step(CastBallot(at(), "pv-precedent", m, "pour"), _me(m)) for m in everyone]
    steps.append(Step(CastBallot(at(), "pv-precedent", "m02", "pour", "m13"), _me("m02")))
    steps.append(Step(CastBallot(at(), "pv-precedent", "m07", "pour", "m09"), _me("m07")))
    # R13: a councillor changes a ballot before the close (journaled; the last choice counts)
    steps.append(Step(CastBallot(at(), "pv-precedent", "m07", "contre", "m09"), _me("m07"), say="vote modifié"))
    steps.append(Step(CastBallot(at(), "pv-precedent", "m07", "pour", "m09"), _me("m07"), say="vote modifié"))
    steps.append(Step(CloseVote(at(), "pv-precedent"), PRESIDENT, say="adopté"))
    # 2. waste collection contract, roll call, one member withdrawn, a sensitive passage
    steps.append(Step(TakeUpItem(at(), "marche-collecte"), PRESIDENT))
    steps.append(Step(DeclareWithdrawal(at(), "marche-collecte", "m04"), _me("m04"), say="intérêt personnel"))
    steps.append(Step(MarkSensitive(at(), True, "offre d'un candidat nommément désigné"), PRESIDENT))
    steps.append(Step(MarkSensitive(at(), False), PRESIDENT))
    steps.append(Step(OpenVote(at(), "marche-collecte", "appel_nominal"), PRESIDENT))
    roll = {
        "m01": "pour",
        "m02": "pour",
        "m03": "pour",
        "m05": "pour",
        "m06": "contre",
        "m07": "pour",
        "m08": "abstention",
        "m10": "pour",
        "m11": "contre",
        "m12": "pour",
        "s17": "nppv",
    }
    steps += [Step(CastBallot(at(), "marche-collecte", m, c), SECRETARY) for m, c in roll.items()]
    steps.append(Step(CastBallot(at(), "marche-collecte", "m02", "pour", "m13"), SECRETARY))
    steps.append(Step(CastBallot(at(), "marche-collecte", "m07", "abstention", "m09"), SECRETARY))
    steps.append(
        Step(
            CastBallot(at(), "marche-collecte", "m06", "pour"),
            SECRETARY,
            "R16",
            "à l'appel nominal, réponse définitive",
        )
    )
    steps.append(Step(CloseVote(at(), "marche-collecte"), PRESIDENT, say="adopté à l'appel nominal"))
    # 3. grant to Vaux: a loss of transmission freezes the vote, then a tie the president decides
    steps.append(Step(TakeUpItem(at(), "fonds-concours-vaux"), PRESIDENT))
    steps.append(Step(OpenVote(at(), "fonds-concours-vaux"), PRESIDENT))
    tie = {
        "m01": "pour",
        "m02": "pour",
        "m05": "pour",
        "m06": "pour",
        "m07": "pour",
        "m03": "contre",
        "m08": "contre",
        "m10": "contre",
        "m11": "contre",
        "s17": "contre",
        "m04": "abstention",
    }
    first = list(tie.items())[:6]
    steps += [Step(CastBallot(at(), "fonds-concours-vaux", m, c), _me(m)) for m, c in first]
    steps.append(
        Step(ReportTransmission(at(), "saint-ferreol", False), SYSTEM, say="perte de transmission : suspension")
    )
    steps.append(Step(CastBallot(at(), "fonds-concours-vaux", "m08", "contre"), _me("m08"), "R17", "vote gelé"))
    steps.append(Step(CloseVote(at(), "fonds-concours-vaux"), PRESIDENT, "R17", "vote gelé"))
    steps.append(Step(SetAudioOnly(at(), "saint-ferreol", True), _agent("saint-ferreol"), say="audio seul"))
    steps.append(Step(ReportTransmission(at(), "saint-ferreol", True), SYSTEM, say="transmission rétablie"))
    steps.append(Step(Resume(at()), PRESIDENT, say="reprise"))
    steps += [Step(CastBallot(at(), "fonds-concours-vaux", m, c), _me(m)) for m, c in list(tie.items())[6:]]
    steps.append(Step(CastBallot(at(), "fonds-concours-vaux", "m02", "pour", "m13"), _me("m02")))
    steps.append(Step(CastBallot(at(), "fonds-concours-vaux", "m07", "nppv", "m09"), _me("m07")))
    steps.append(Step(CastBallot(at(), "fonds-concours-vaux", "m12", "contre"), _me("m12")))
    steps.append(
        Step(CloseVote(at(), "fonds-concours-vaux"), PRESIDENT, say="partage 6-6 : voix prépondérante du président")
    )
    # 4. a décision modificative « au budget primitif »: an amendment, voted first (R25); non-voters (R13)
    dm = "dm-budget-2026"
    steps.append(Step(TakeUpItem(at(), dm), PRESIDENT))
    steps.append(
        Step(
            ProposeAmendment(
                at(),
                dm,
                "am-1",
                "Réduire de 10 000 € les crédits de la ligne 6232 (fêtes et cérémonies) au profit de la ligne "
                "615231 (entretien de la voirie).",
                "m06",
            ),
            PRESIDENT,
            say="amendement déposé",
        )
    )
    steps.append(Step(OpenVote(at(), dm), PRESIDENT, "R25", "l'amendement se vote avant la délibération"))
    steps.append(Step(OpenVote(at(), dm, amendment_id="am-1"), PRESIDENT, say="vote sur l'amendement"))
    amendment = dict.fromkeys(["m06", "m07", "m08", "m10", "m11", "m12", "s17"], "pour")
    amendment |= dict.fromkeys(["m01", "m02", "m03", "m05"], "contre") | {"m04": "abstention"}
    steps += [Step(CastBallot(at(), dm, m, c), _me(m)) for m, c in amendment.items()]
    steps.append(Step(CastBallot(at(), dm, "m02", "contre", "m13"), _me("m02")))
    steps.append(Step(CastBallot(at(), dm, "m07", "pour", "m09"), _me("m07")))
    steps.append(Step(CloseVote(at(), dm), PRESIDENT, say="amendement adopté"))
    steps.append(Step(OpenVote(at(), dm), PRESIDENT, say="vote sur la délibération amendée"))
    steps += [Step(CastBallot(at(), dm, m, "pour"), _me(m)) for m in everyone if m not in ("m11", "m12")]
    steps.append(Step(CastBallot(at(), dm, "m11", "nppv"), _me("m11")))
    steps.append(Step(CastBallot(at(), dm, "m02", "pour", "m13"), _me("m02")))
    steps.append(
        Step(CloseVote(at(), dm), PRESIDENT, say="adopté ; Gérard Lefèvre et le pouvoir de Claire Dubois sans vote")
    )
    # 5. a nomination to a commission of the council (L.2121-22, R24)
    nom = "commission-environnement"
    steps.append(Step(TakeUpItem(at(), nom), PRESIDENT))
    steps.append(Step(RegisterCandidacy(at(), nom, 1, "m05"), PRESIDENT, say="candidature"))
    for m in ("m08", "m11", "m04"):
        steps.append(Step(RegisterCandidacy(at(), nom, 2, m), PRESIDENT, say="candidature"))
    steps.append(Step(RegisterCandidacy(at(), nom, 2, "m05"), PRESIDENT, "R24", "une candidature par personne"))
    steps.append(Step(CloseCandidacies(at(), nom), PRESIDENT, say="siège 1 : candidature unique, nomination immédiate"))
    steps.append(Step(OpenVote(at(), nom, seat=2), PRESIDENT, "R15", "scrutin secret sauf décision unanime"))
    steps.append(Step(DecideAppointmentBallot(at(), nom, True), PRESIDENT, say="vote public décidé à l'unanimité"))
    rounds = (
        {"m08": 5, "m11": 5, "m04": 3},  # 13 suffrages exprimés, absolute majority 7: nobody
        {"m08": 6, "m11": 6, "m04": 1},  # nobody again
        {"m08": 6, "m11": 6},  # relative majority: a tie, the oldest (Thierry Bonnet, 1963) is appointed
    )
    slots = [(m, None) for m in everyone] + [("m02", "m13"), ("m07", "m09")]
    for n, votes in enumerate(rounds, start=1):
        steps.append(Step(OpenVote(at(), nom, seat=2), PRESIDENT, say=f"siège 2, tour {n}"))
        ballots = [c for c, k in votes.items() for _ in range(k)]
        for (voter, behalf), candidate in zip(slots, ballots + ["blanc"] * len(slots), strict=False):
            choice = "pour" if candidate != "blanc" else "abstention"
            steps.append(
                Step(CastBallot(at(), nom, voter, choice, behalf, candidate if choice == "pour" else None), _me(voter))
            )
        if n == 3:
            steps.append(Step(CastBallot(at(), nom, "m12", "contre"), _me("m12"), "R24", "pas de « contre »"))
        steps.append(Step(CloseVote(at(), nom), PRESIDENT, say=f"siège 2, tour {n} clos"))
    # 6. four members of twelve ask for a secret ballot -> postponed (R15)
    for m in ("m06", "m08", "m11", "m12"):
        steps.append(Step(RequestSecretBallot(at(), "voirie-programme", m), _me(m), say="demande de scrutin secret"))
    steps.append(Step(OpenVote(at(), "voirie-programme"), PRESIDENT, "R15", "reporté — séance en présentiel"))
    # 7. withdrawn by the president (R25)
    steps.append(
        Step(
            WithdrawItem(at(), "groupement-electricite", "dossier de consultation incomplet"),
            PRESIDENT,
            say="point retiré",
        )
    )
    steps.append(Step(OpenVote(at(), "groupement-electricite"), PRESIDENT, "R25", "point retiré"))
    steps.append(Step(CloseSitting(at()), PRESIDENT, say="clôture"))
    steps.append(Step(OpenVote(at(), "voirie-programme"), PRESIDENT, "R11", "après la clôture, plus rien"))
    return steps


@dataclass(frozen=True)
class RehearsalOutcome:
    seance: Seance
    journal_path: Path
    log: list[str]


def play(seance: Seance, journal: Journal, steps: list[Step]) -> list[str]:
    """Run the steps through the journal; raise if one does not go as scripted."""
    log = []
    for n, step in enumerate(steps, start=1):
        result = journal.handle(seance, step.command, step.actor)
        got = result.rule if isinstance(result, Refusal) else None
        if got != step.expect:
            detail = result.message if isinstance(result, Refusal) else "acceptée"
            raise RuntimeError(
                f"étape {n} ({step.command.type}) : attendu {step.expect or 'acceptée'}, obtenu {detail}"
            )
        if step.say or isinstance(result, Refusal):
            log.append(f"{step.command.type}: {result.message if isinstance(result, Refusal) else step.say}")
    return log


def run_rehearsal(out: str | Path, key: Ed25519PrivateKey | None = None) -> RehearsalOutcome:
    """Play :func:`script` and write the journal, its public key, the minutes and the exports."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = key or generate_key()
    journal_path = out_dir / "journal.jsonl"
    if journal_path.exists():
        journal_path.unlink()
    seance = Seance(demo_council(), demo_config())
    with Journal.create(journal_path, seance, key) as journal:
        log = play(seance, journal, script())
    (out_dir / "journal.pub").write_bytes(public_pem(key))
    (out_dir / "proces-verbal.html").write_text(proces_verbal_html(seance), encoding="utf-8")
    (out_dir / "liste-deliberations.html").write_text(liste_deliberations_html(seance), encoding="utf-8")
    (out_dir / "deliberations.csv").write_text(deliberations_csv(seance), encoding="utf-8", newline="")
    return RehearsalOutcome(seance, journal_path, log)
