"""The offline audit of a sitting's journal (R21), without the server.

Three layers, each naming the first line that fails and why:

1. the chain and signatures (:func:`deliberation.journal.verify_lines`);
2. an independent recomputation from the raw entries of every start condition (R2, R7,
   R8, R10), quorum (R8), electorate (R16), ballot (R13, R16), secret-ballot threshold
   (R15) and result (R14) recorded in the events — written here without the core's
   decision code, so a bug or a forgery in one is caught by the other;
3. a re-decision: every journaled command is decided again by the core from the state
   rebuilt so far, and must yield exactly the journaled events.

A complete journal ends with the closing of the sitting and a signed checkpoint; with
``allow_open`` a journal of a sitting under way is accepted up to its last line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .actors import Actor
from .canonical import canonical_bytes
from .commands import command_from_dict
from .council import Council, Seat, SittingConfig
from .events import Event
from .journal import Entry, JournalError, genesis_of, verify_lines
from .refusal import Refusal
from .seance import Seance


@dataclass
class AuditReport:
    ok: bool
    lines: int = 0
    line: int | None = None
    reason: str | None = None
    checkpoints: int = 0
    votes: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            return (
                f"journal vérifié : {self.lines} lignes, {self.checkpoints} points de contrôle signés, "
                f"{len(self.votes)} vote(s) recalculé(s)"
            )
        return f"ligne {self.line} : {self.reason}"


def audit_bytes(content: bytes, public_key: Ed25519PublicKey, allow_open: bool = False) -> AuditReport:
    try:
        entries = verify_lines(content, public_key)
    except JournalError as err:
        return AuditReport(False, line=err.line, reason=err.reason)
    errors: list[JournalError] = []
    votes: list[dict[str, Any]] = []
    try:
        votes = recompute(entries)
    except JournalError as err:
        errors.append(err)
    try:
        redecide(entries)
    except JournalError as err:
        errors.append(err)
    if not errors:
        try:
            _completeness(entries, allow_open)
        except JournalError as err:
            errors.append(err)
    if errors:  # the first line that fails, whichever layer saw it
        first = min(errors, key=lambda e: e.line)
        return AuditReport(False, line=first.line, reason=first.reason)
    return AuditReport(True, lines=len(entries), checkpoints=sum(e.kind == "checkpoint" for e in entries), votes=votes)


def audit_file(path: str, public_key: Ed25519PublicKey, allow_open: bool = False) -> AuditReport:
    with open(path, "rb") as f:
        return audit_bytes(f.read(), public_key, allow_open)


# -- layer 2: independent recomputation ------------------------------------------------------------
def _day(value: str) -> date:
    return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)


class _Tally:
    """The minimal facts an auditor tracks from the raw events."""

    def __init__(self, council: Council, config: SittingConfig) -> None:
        self.council = council
        self.config = config
        self.in_office = [m.id for m in council.members if m.seat == Seat.TITULAIRE]
        self.seat = {m.id: (m.replaces if m.seat == Seat.SUPPLEANT and m.replaces else m.id) for m in council.members}
        self.presence: dict[str, str] = {}
        self.transmitting: dict[str, bool] = {}
        self.stream = False
        self.secretary: str | None = None
        self.proxies: dict[str, str] = {}  # giver -> holder
        self.withdrawn: dict[str, set[str]] = {}
        self.requests: dict[str, set[str]] = {}
        self.electorate: list[dict[str, Any]] | None = None
        self.vote_item: str | None = None
        self.ballots: list[dict[str, Any]] = []
        self.closed = False
        self.opened = False
        self.suspended = False
        self.override = False
        after = config.reconvened_after
        self.waived = after is not None and (_day(config.scheduled_at) - _day(after)).days - 1 >= 3

    def present(self, exclude: set[str] = frozenset()) -> int:
        return len({self.seat[m] for m in self.presence if m not in exclude} & set(self.in_office))

    def required(self) -> int:
        return len(self.in_office) // 2 + 1

    def silent(self) -> list[str]:
        return sorted({s for s in self.presence.values() if not self.transmitting.get(s, False)})


def _fail(entry: Entry, rule: str, what: str) -> JournalError:
    return JournalError(entry.line, f"{rule} — {what}")


def recompute(entries: list[Entry]) -> list[dict[str, Any]]:
    council, config = genesis_of(entries)
    t = _Tally(council, config)
    votes: list[dict[str, Any]] = []
    for entry in entries:
        if entry.kind != "event":
            continue
        try:
            _step(entry, t, votes)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise JournalError(entry.line, "événement mal formé") from None
    return votes


def _step(entry: Entry, t: _Tally, votes: list[dict[str, Any]]) -> None:
    if t.closed:
        raise _fail(entry, "R11", "événement après la clôture de la séance")
    ev = entry.data["event"]
    kind, d = ev["type"], ev["data"]
    if kind == "CheckedIn":
        t.presence[d["member_id"]] = d["salle_id"]
    elif kind == "CheckedOut":
        t.presence.pop(d["member_id"], None)
    elif kind == "ProxyRecorded":
        if d["giver_id"] in t.presence or d["holder_id"] not in t.presence or d["holder_id"] in t.proxies.values():
            raise _fail(
                entry,
                "R9",
                "pouvoir enregistré en violation des conditions (donneur présent, mandataire absent ou déjà mandataire)",
            )
        if d["consecutive_sittings"] > 3 and not d["illness_certified"]:
            raise _fail(entry, "R9", "pouvoir couvrant plus de trois séances consécutives sans maladie constatée")
        t.proxies[d["giver_id"]] = d["holder_id"]
    elif kind == "ProxyEnded":
        t.proxies.pop(d["giver_id"], None)
    elif kind == "TransmissionChanged":
        t.transmitting[d["salle_id"]] = d["transmitting"]
    elif kind == "PublicStreamChanged":
        t.stream = d["up"]
    elif kind == "SecretaryAppointed":
        t.secretary = d["member_id"]
    elif kind == "WithdrawalDeclared":
        t.withdrawn.setdefault(d["item_id"], set()).add(d["member_id"])
    elif kind == "SecretBallotRequested":
        t.requests.setdefault(d["item_id"], set()).add(d["member_id"])
    elif kind == "SittingOpened":
        _check_opening(entry, t, d)
        t.opened = True
    elif kind == "SittingSuspended":
        t.suspended = True
    elif kind == "PresidentDecision":
        if d["kind"] == "frozen_vote_continues":
            t.override = True
    elif kind == "SittingResumed":
        t.suspended = False
        if t.silent():
            raise _fail(entry, "R17", f"reprise alors que la transmission manque : {', '.join(t.silent())}")
        if not t.waived and t.present() < t.required():
            raise _fail(entry, "R8", f"reprise sans quorum : {t.present()} présents, il en faut {t.required()}")
    elif kind == "VoteOpened":
        if t.suspended or not t.opened:
            raise _fail(entry, "R17", "vote ouvert alors que la séance n'est pas ouverte ou est suspendue")
        _check_vote_opening(entry, t, d)
        t.override = False
        t.electorate, t.ballots, t.vote_item = d["electorate"], [], d["item_id"]
    elif kind == "BallotCast":
        if t.suspended and not t.override:
            raise _fail(entry, "R17", "bulletin reçu pendant que le vote est gelé")
        _check_ballot(entry, t, d)
        t.ballots.append(d)
    elif kind == "ItemPostponed":
        if d["rule"] == "R15" and d["requests"] > 0:
            n = len(t.requests.get(d["item_id"], set()) & set(t.presence))
            if n != d["requests"] or d["present"] != t.present() or 3 * n < t.present():
                raise _fail(
                    entry, "R15", f"report non justifié : {n} demandes pour {t.present()} présents (un tiers requis)"
                )
        if d["item_id"] == t.vote_item:
            t.electorate, t.ballots, t.vote_item = None, [], None
    elif kind == "VoteClosed":
        if t.suspended and not t.override:
            raise _fail(entry, "R17", "vote clos pendant qu'il est gelé, sans décision du président")
        votes.append(_check_result(entry, t, d))
        t.electorate, t.ballots, t.vote_item = None, [], None
    elif kind == "SittingClosed":
        t.closed = True


def _check_opening(entry: Entry, t: _Tally, d: dict[str, Any]) -> None:
    q = d["quorum"]
    present = t.present()
    if (q["present"], q["in_office"], q["required"]) != (present, len(t.in_office), t.required()):
        raise _fail(
            entry, "R8", f"quorum déclaré {q['present']}/{q['in_office']} mais recalculé {present}/{len(t.in_office)}"
        )
    if present < t.required() and not t.waived:
        raise _fail(entry, "R8", f"ouverture sans quorum : {present} présents, il en faut {t.required()}")
    if not t.presence or t.silent():
        raise _fail(
            entry,
            "R7",
            f"ouverture sans transmission dans toutes les salles occupées ({', '.join(t.silent()) or 'aucune salle occupée'})",
        )
    occupied = {s: sorted(m for m, x in t.presence.items() if x == s) for s in set(t.presence.values())}
    if {s: v["present"] for s, v in d["salles"].items()} != occupied:
        raise _fail(entry, "R7", "présences par salle déclarées à l'ouverture différentes de celles enregistrées")
    if t.config.teleconference and not t.stream:
        raise _fail(entry, "R2", "ouverture sans retransmission publique")
    if t.secretary is None or t.secretary not in t.presence or d["secretary"] != t.secretary:
        raise _fail(entry, "R10", "ouverture sans secrétaire de séance présent")


def _check_vote_opening(entry: Entry, t: _Tally, d: dict[str, Any]) -> None:
    withdrawn = t.withdrawn.get(d["item_id"], set())
    present = t.present(withdrawn)
    if d["quorum"]["present"] != present:
        raise _fail(entry, "R8", f"quorum du vote déclaré {d['quorum']['present']} mais recalculé {present}")
    if present < t.required() and not t.waived:
        raise _fail(entry, "R8", f"vote ouvert sans quorum : {present} présents, il en faut {t.required()}")
    if t.silent():
        raise _fail(entry, "R16", f"vote ouvert alors que la transmission manque : {', '.join(t.silent())}")
    expected: list[dict[str, Any]] = []
    for member, salle in sorted(t.presence.items()):
        if member in withdrawn or not t.transmitting.get(salle, False):
            continue
        expected.append({"voter": member, "on_behalf_of": None})
        givers = sorted(g for g, h in t.proxies.items() if h == member and g not in withdrawn)
        expected += [{"voter": member, "on_behalf_of": g} for g in givers[:1]]
    if d["electorate"] != expected:
        raise _fail(entry, "R16", "corps électoral déclaré différent de celui recalculé (présents et pouvoirs)")


def _check_ballot(entry: Entry, t: _Tally, d: dict[str, Any]) -> None:
    slot = {"voter": d["voter_id"], "on_behalf_of": d["on_behalf_of"]}
    if t.electorate is None or slot not in t.electorate:
        raise _fail(entry, "R16", f"bulletin de {d['voter_id']} hors du corps électoral fixé à l'ouverture")
    if any(b["voter_id"] == d["voter_id"] and b["on_behalf_of"] == d["on_behalf_of"] for b in t.ballots):
        raise _fail(entry, "R16", f"{d['voter_id']} vote deux fois")
    salle = t.presence.get(d["voter_id"])
    if salle is None or not t.transmitting.get(salle, False):
        raise _fail(entry, "R16", f"{d['voter_id']} vote sans être présent dans une salle transmettant")


def _check_result(entry: Entry, t: _Tally, d: dict[str, Any]) -> dict[str, Any]:
    counts = {c: sum(1 for b in t.ballots if b["choice"] == c) for c in ("pour", "contre", "abstention", "nppv")}
    counts["cast"] = len(t.ballots)
    counts["exprimes"] = counts["pour"] + counts["contre"]
    if d["counts"] != counts:
        raise _fail(entry, "R14", f"décompte déclaré {d['counts']} mais recalculé {counts}")
    electorate = len(t.electorate or [])
    if d["electorate_size"] != electorate or counts["cast"] > electorate:
        raise _fail(entry, "R16", f"{counts['cast']} bulletins pour un corps électoral de {electorate}")
    pres = next(
        (b["choice"] for b in t.ballots if b["voter_id"] == t.council.president_id and b["on_behalf_of"] is None), None
    )
    if counts["pour"] != counts["contre"]:
        adopted, casting = counts["pour"] > counts["contre"], False
    elif counts["pour"] > 0 and pres in ("pour", "contre"):
        adopted, casting = pres == "pour", True
    else:
        adopted, casting = False, False
    if (d["adopted"], d["casting_vote"]) != (adopted, casting):
        raise _fail(
            entry,
            "R14",
            f"résultat déclaré {'adopté' if d['adopted'] else 'rejeté'} mais recalculé {'adopté' if adopted else 'rejeté'}",
        )
    return {"item_id": d["item_id"], "counts": counts, "adopted": adopted, "casting_vote": casting, "line": entry.line}


# -- layer 3: re-decision by the core -----------------------------------------------------------------
def redecide(entries: list[Entry]) -> None:
    council, config = genesis_of(entries)
    seance = Seance(council, config)
    i = 1
    while i < len(entries):
        entry = entries[i]
        if entry.kind == "checkpoint":
            i += 1
            continue
        if entry.kind != "command":
            raise JournalError(entry.line, "événement sans commande qui le cause")
        command = command_from_dict(entry.data["command"])
        if isinstance(command, Refusal):
            raise JournalError(entry.line, f"commande invalide : {command.message}")
        try:
            actor = Actor.from_dict(entry.data["actor"])
        except (KeyError, ValueError):
            raise JournalError(entry.line, "acteur invalide") from None
        result = seance.decide(command, actor)
        if isinstance(result, Refusal):
            raise JournalError(entry.line, f"commande que le cœur refuse : {result.message}")
        j = i + 1
        journaled: list[Entry] = []
        while j < len(entries) and entries[j].kind == "event":
            journaled.append(entries[j])
            j += 1
        for k, ev in enumerate(result):
            if k >= len(journaled):
                raise JournalError(
                    entries[j - 1].line if journaled else entry.line,
                    f"événement {ev.type} manquant après la commande de la ligne {entry.line}",
                )
            line = journaled[k]
            if line.data.get("cause") != entry.line:
                raise JournalError(line.line, "événement rattaché à une autre commande")
            if canonical_bytes(line.data["event"]) != canonical_bytes(ev.to_dict()):
                raise JournalError(
                    line.line, f"événement différent de celui que produit la commande de la ligne {entry.line}"
                )
            seance.apply(ev)
        if len(journaled) > len(result):
            raise JournalError(journaled[len(result)].line, "événement en trop, que la commande ne produit pas")
        i = j


def _completeness(entries: list[Entry], allow_open: bool) -> None:
    last = entries[-1]
    if allow_open:
        return
    closed = any(e.kind == "event" and e.data["event"]["type"] == "SittingClosed" for e in entries)
    if not closed:
        raise JournalError(
            last.line + 1, "journal incomplet : la clôture de la séance est absente (lignes finales supprimées ?)"
        )
    if last.kind != "checkpoint":
        raise JournalError(last.line + 1, "journal incomplet : la dernière ligne n'est pas un point de contrôle signé")


def rebuild(entries: list[Entry]) -> Seance:
    council, config = genesis_of(entries)
    return Seance.replay(council, config, (Event.from_dict(e.data["event"]) for e in entries if e.kind == "event"))
