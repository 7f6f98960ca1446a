"""A complete scripted sitting of the demo council, for training and installation checks.

The script is pure data (commands, actors, and the expected outcome: accepted, or the
rule that refuses it); :func:`run_rehearsal` plays it through a :class:`Journal` and
writes ``journal.jsonl``, ``journal.pub``, ``proces-verbal.html``,
``liste-deliberations.html`` and ``deliberations.csv``.

It shows: three salles, check-ins by each salle's agent, a suppléant, two proxies, the
media plane's transmission reports, the secretary, opening (R7, R8, R10), a vote adopted,
a roll-call vote with a withdrawal, a loss of transmission that suspends and freezes a
vote (R17), a tie decided by the president (R14), a secret-ballot request that postpones
an item (R15), a banned item refused (R12), a sensitive passage (R19) and closing (R11).
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
    CloseSitting,
    CloseVote,
    Command,
    DeclareSuppleance,
    DeclareWithdrawal,
    MarkSensitive,
    OpenSitting,
    OpenVote,
    RecordProxy,
    ReportPublicStream,
    ReportTransmission,
    RequestSecretBallot,
    Resume,
    SetAudioOnly,
    TakeUpItem,
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
    at = lambda: next(clock)  # noqa: E731 - a tiny local clock
    steps: list[Step] = [Step(c, ADMIN, say="ordre du jour") for c in demo_agenda(at())]
    steps.append(
        Step(
            AddAgendaItem(at(), "bp-2027", "Vote du budget primitif 2027", "budget_primitif", "7.1"),
            ADMIN,
            "R12",
            "le budget primitif est refusé en visioconférence",
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
    steps.append(Step(DeclareSuppleance(at(), "m17", "courriel de M. Roux du 24/11/2026"), PRESIDENT, say="suppléance"))
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
    steps.append(
        Step(CastBallot(at(), "pv-precedent", "m07", "contre", "m09"), _me("m07"), "R16", "nul ne vote deux fois")
    )
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
    # 4. an appointment: four members of twelve ask for a secret ballot -> postponed
    steps.append(Step(TakeUpItem(at(), "office-tourisme"), PRESIDENT))
    steps.append(
        Step(OpenVote(at(), "office-tourisme"), PRESIDENT, "R15", "nomination : scrutin secret sauf unanimité")
    )
    for m in ("m06", "m08", "m11", "m12"):
        steps.append(Step(RequestSecretBallot(at(), "office-tourisme", m), _me(m), say="demande de scrutin secret"))
    steps.append(Step(OpenVote(at(), "office-tourisme"), PRESIDENT, "R15", "reporté — séance en présentiel"))
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
