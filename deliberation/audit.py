"""The offline audit of a sitting's journal (R21), without the server.

Three layers, each naming the first line that fails and why:

1. the chain and signatures (:func:`deliberation.journal.verify_lines`);
2. an independent recomputation from the raw entries of every start condition (R2, R7,
   R8, R10), quorum and its waiver after a sitting without quorum (R8), banned item (R12),
   electorate (R16), ballot (R13, R16), secret-ballot threshold (R15), result (R14),
   members who took no part in a vote (R13), amendment voted before its motion and
   withdrawn item (R25), candidacies and nomination rounds (R24) recorded in the events —
   written here without the core's decision code, so a bug or a forgery in one is caught
   by the other;
3. a re-decision: every journaled command is decided again by the core from the state
   rebuilt so far, and must yield exactly the journaled events.

A complete journal ends with the closing of the sitting and a signed checkpoint; with
``allow_open`` a journal of a sitting under way is accepted up to its last line (in
format 2 that line is a signature: an unsigned tail fails the first layer).
:class:`IncrementalAudit` runs the same layers on a growing journal, each line once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .actors import Actor
from .canonical import canonical_bytes
from .commands import command_from_dict
from .council import CompositionError, Council, Seat, SittingConfig
from .events import Event
from .journal import FORMAT_V1, Entry, JournalError, Verified, genesis_of, verify_after, verify_lines
from .refusal import Refusal
from .seance import Seance


def name_of(council: Council, member_id: str) -> str:
    """A member's name as the recount writes it; the id when the council lacks them (the
    recount reports what the journal says, it does not refuse here)."""
    member = council.member(member_id)
    return member.name if member is not None else member_id


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


#: R12: natures a teleconference sitting may not hold, and the bodies a nomination may not fill
#: there (written again here, independently of deliberation.agenda)
_BANNED_NATURES = frozenset(
    {"election_president", "election_bureau", "budget_primitif", "election_delegues_epci",
     "designation_organismes_exterieurs"}
)  # fmt: skip
_BANNED_BODIES = frozenset({"organisme_exterieur", "epci"})


class _Item:
    """What the auditor tracks of one agenda item."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.id, self.title, self.kind = d["item_id"], d["title"], d["kind"]
        body = d.get("body")
        self.body = body["type"] if body else None
        self.seats: dict[int, list[str]] = {n: [] for n in range(1, body["seats"] + 1)} if body else {}
        self.appointed: dict[int, str] = {}
        self.rounds: dict[int, int] = dict.fromkeys(self.seats, 0)
        self.candidacies_closed = False
        self.public = False
        self.amendments: dict[str, str] = {}  # id -> pending | voting | adopted | rejected | withdrawn
        self.status = "pending"  # pending | voting | voted | postponed | withdrawn

    def seat_settled(self, seat: int) -> bool:
        return seat in self.appointed or self.rounds[seat] >= 3


class _Tally:
    """The minimal facts an auditor tracks from the raw events."""

    def __init__(self, council: Council, config: SittingConfig) -> None:
        self.council = council
        self.config = config
        self.in_office = [m.id for m in council.members if m.seat == Seat.TITULAIRE]
        self.seat = {m.id: (m.replaces if m.seat == Seat.SUPPLEANT and m.replaces else m.id) for m in council.members}
        self.born = {m.id: m.birth_date for m in council.members}
        self.presence: dict[str, str] = {}
        self.transmitting: dict[str, bool] = {}
        self.stream = False
        self.teleconference = config.teleconference
        self.secretary: str | None = None
        self.proxies: dict[str, str] = {}  # giver -> holder
        self.withdrawn: dict[str, set[str]] = {}
        self.requests: dict[str, set[str]] = {}
        self.items: dict[str, _Item] = {}
        self.electorate: list[dict[str, Any]] | None = None
        self.vote_item: str | None = None
        self.vote_subject: dict[str, Any] = {}
        self.vote_method: str | None = None
        self.ballots: list[dict[str, Any]] = []
        self.closed = False
        self.opened = False
        self.suspended = False
        self.override = False
        self.edition = config.rules_version
        if self.edition < 2:  # edition 1: a date, and every item
            after = config.reconvened_after
            self.failed_items: set[tuple[str, str]] | None = None
        else:  # edition 2: the failed sitting, and the items of its agenda
            rc = config.reconvened_from
            after = rc.scheduled_at[:10] if rc else None
            self.failed_items = {(i.id, " ".join(i.title.split())) for i in rc.items} if rc else set()
        self.waived_sitting = after is not None and (_day(config.scheduled_at) - _day(after)).days - 1 >= 3

    def waived(self, item_id: str | None = None) -> bool:
        """R8, L.2121-17 al. 2: the sitting convened again deliberates without quorum on the failed agenda."""
        if not self.waived_sitting or item_id is None or self.failed_items is None:
            return self.waived_sitting
        item = self.items[item_id]
        return (item.id, " ".join(item.title.split())) in self.failed_items

    def present(self, exclude: set[str] | frozenset[str] = frozenset()) -> int:
        return len({self.seat[m] for m in self.presence if m not in exclude} & set(self.in_office))

    def required(self) -> int:
        return len(self.in_office) // 2 + 1

    def silent(self) -> list[str]:
        return sorted({s for s in self.presence.values() if not self.transmitting.get(s, False)})


def _fail(entry: Entry, rule: str, what: str) -> JournalError:
    return JournalError(entry.line, f"{rule} — {what}")


def _genesis(entries: list[Entry]) -> tuple[Council, SittingConfig]:
    """The council and configuration of the genesis; an inconsistent composition fails line 1."""
    try:
        return genesis_of(entries)
    except CompositionError as err:
        raise JournalError(1, f"{err.message} (composition du conseil de la genèse)") from None
    except (KeyError, TypeError, ValueError):
        raise JournalError(1, "genèse mal formée (conseil ou configuration de la séance)") from None


def recompute(entries: list[Entry]) -> list[dict[str, Any]]:
    council, config = _genesis(entries)
    t = _Tally(council, config)
    votes: list[dict[str, Any]] = []
    _recount(entries, t, votes)
    return votes


def _recount(entries: Iterable[Entry], t: _Tally, votes: list[dict[str, Any]]) -> None:
    for entry in entries:
        if entry.kind != "event":
            continue
        try:
            _step(entry, t, votes)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise JournalError(entry.line, "événement mal formé") from None


def _step(entry: Entry, t: _Tally, votes: list[dict[str, Any]]) -> None:
    if t.closed:
        raise _fail(entry, "R11", "événement après la clôture de la séance")
    ev = entry.data["event"]
    kind, d = ev["type"], ev["data"]
    if kind == "ItemAdded":
        _check_item(entry, t, d)
        t.items[d["item_id"]] = _Item(d)
    elif kind == "ConvertedToTeleconference":
        t.teleconference = True
    elif kind == "CheckedIn":
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
    elif kind == "SecretBallotRequestWithdrawn":
        t.requests.get(d["item_id"], set()).discard(d["member_id"])
    elif kind == "PublicAppointmentDecided":
        t.items[d["item_id"]].public = True
    elif kind == "SittingOpened":
        _check_opening(entry, t, d)
        t.opened = True
    elif kind == "QuorumFailed":
        _check_quorum_failure(entry, t, d)
    elif kind == "SittingSuspended":
        t.suspended = True
    elif kind == "PresidentDecision":
        if d["kind"] == "frozen_vote_continues":
            t.override = True
    elif kind == "SittingResumed":
        t.suspended = False
        if t.silent():
            raise _fail(entry, "R17", f"reprise alors que la transmission manque : {', '.join(t.silent())}")
        if not t.waived() and t.present() < t.required():
            raise _fail(entry, "R8", f"reprise sans quorum : {t.present()} présents, il en faut {t.required()}")
    elif kind in ("ItemWithdrawn", "AmendmentProposed", "AmendmentWithdrawn", "CandidacyRegistered"):
        _check_agenda_change(entry, t, kind, d)
    elif kind == "CandidaciesClosed":
        _check_candidacies_closed(entry, t, d)
    elif kind == "VoteOpened":
        if t.suspended or not t.opened:
            raise _fail(entry, "R17", "vote ouvert alors que la séance n'est pas ouverte ou est suspendue")
        _check_vote_opening(entry, t, d)
        t.override = False
        t.electorate, t.ballots, t.vote_item = d["electorate"], [], d["item_id"]
        t.vote_subject = {k: d[k] for k in ("amendment_id", "seat", "round") if k in d}
        t.vote_method = d.get("method")
        t.items[d["item_id"]].status = "voting"
    elif kind == "BallotCast":
        if t.suspended and not t.override:
            raise _fail(entry, "R17", "bulletin reçu pendant que le vote est gelé")
        _check_ballot(entry, t, d)
        t.ballots.append(d)
    elif kind == "BallotChanged":
        if t.suspended and not t.override:
            raise _fail(entry, "R17", "bulletin modifié pendant que le vote est gelé")
        if not (t.council.reglement.ballot_change and t.vote_method == "electronique"):
            raise _fail(entry, "R13", f"vote de {d['voter_id']} modifié alors que le règlement ne le permet pas")
        _check_ballot(entry, t, d, change=True)
        t.ballots = [d if _same_slot(b, d) else b for b in t.ballots]  # the last choice counts
    elif kind == "ItemPostponed":
        if d["rule"] == "R15" and d["requests"] > 0:
            n = len(t.requests.get(d["item_id"], set()) & set(t.presence))
            if n != d["requests"] or d["present"] != t.present() or 3 * n < t.present():
                raise _fail(
                    entry, "R15", f"report non justifié : {n} demandes pour {t.present()} présents (un tiers requis)"
                )
        t.items[d["item_id"]].status = "postponed"
        if d["item_id"] == t.vote_item:
            t.electorate, t.ballots, t.vote_item = None, [], None
    elif kind == "VoteClosed":
        if t.suspended and not t.override:
            raise _fail(entry, "R17", "vote clos pendant qu'il est gelé, sans décision du président")
        votes.append(_check_result(entry, t, d))
        t.electorate, t.ballots, t.vote_item = None, [], None
    elif kind == "SittingClosed":
        t.closed = True


def _check_item(entry: Entry, t: _Tally, d: dict[str, Any]) -> None:
    """R12: no banned nature in a teleconference sitting; an edition-2 nomination names its body."""
    body = d.get("body")
    if t.edition >= 2 and d["kind"] == "nomination" and not body:
        raise _fail(entry, "R12", "nomination inscrite sans l'organe dont elle pourvoit les sièges")
    banned = d["kind"] in _BANNED_NATURES or (body is not None and body["type"] in _BANNED_BODIES)
    if banned and t.teleconference:
        raise _fail(
            entry, "R12", f"point exclu d'une séance en visioconférence inscrit à l'ordre du jour : {d['title']}"
        )


def _check_quorum_failure(entry: Entry, t: _Tally, d: dict[str, Any]) -> None:
    present = t.present()
    q = d["quorum"]
    if t.opened or t.waived() or present >= t.required() or (q["present"], q["required"]) != (present, t.required()):
        raise _fail(
            entry,
            "R8",
            f"absence de quorum déclarée {q['present']}/{q['required']} mais recalculée {present}/{t.required()}",
        )
    if d["items"] != [{"id": i.id, "title": i.title} for i in t.items.values()]:
        raise _fail(entry, "R8", "ordre du jour de la séance sans quorum différent de celui inscrit")


def _check_agenda_change(entry: Entry, t: _Tally, kind: str, d: dict[str, Any]) -> None:
    """R24, R25: withdrawals, amendments and candidacies on an item still to be voted."""
    item = t.items[d["item_id"]]
    if not t.opened or item.status != "pending":
        raise _fail(entry, "R25", f"point « {item.title} » modifié alors qu'il n'est plus en attente ou hors séance")
    if kind == "ItemWithdrawn":
        if item.appointed:
            raise _fail(entry, "R25", "point retiré après que des nominations ont pris effet")
        item.status = "withdrawn"
    elif kind == "AmendmentProposed":
        if d["author_id"] not in t.presence or d["amendment_id"] in item.amendments:
            raise _fail(entry, "R25", "amendement d'un auteur absent, ou déjà déposé")
        item.amendments[d["amendment_id"]] = "pending"
    elif kind == "AmendmentWithdrawn":
        if item.amendments.get(d["amendment_id"]) != "pending":
            raise _fail(entry, "R25", "retrait d'un amendement qui n'est pas à voter")
        item.amendments[d["amendment_id"]] = "withdrawn"
    else:
        standing = any(d["member_id"] in c for c in item.seats.values())
        if item.candidacies_closed or d["seat"] not in item.seats or standing:
            raise _fail(entry, "R24", "candidature enregistrée hors de l'appel à candidatures, ou en double")
        item.seats[d["seat"]].append(d["member_id"])


def _check_candidacies_closed(entry: Entry, t: _Tally, d: dict[str, Any]) -> None:
    """R24 (L.2121-21 al. 5): each seat has a candidate; a single candidacy takes effect at once."""
    item = t.items[d["item_id"]]
    single: list[dict[str, Any]] = [{"seat": n, "member_id": c[0]} for n, c in item.seats.items() if len(c) == 1]
    if any(not c for c in item.seats.values()) or d["appointed"] != single:
        raise _fail(entry, "R24", f"nominations immédiates déclarées {d['appointed']} mais recalculées {single}")
    item.candidacies_closed = True
    item.appointed.update({a["seat"]: a["member_id"] for a in single})
    if all(item.seat_settled(n) for n in item.seats):
        item.status = "voted"


def _check_opening(entry: Entry, t: _Tally, d: dict[str, Any]) -> None:
    q = d["quorum"]
    present = t.present()
    if (q["present"], q["in_office"], q["required"]) != (present, len(t.in_office), t.required()):
        raise _fail(
            entry, "R8", f"quorum déclaré {q['present']}/{q['in_office']} mais recalculé {present}/{len(t.in_office)}"
        )
    if present < t.required() and not t.waived():
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
    item = t.items[d["item_id"]]
    withdrawn = t.withdrawn.get(d["item_id"], set())
    present = t.present(withdrawn)
    if d["quorum"]["present"] != present or d["quorum"]["waived"] != t.waived(d["item_id"]):
        raise _fail(entry, "R8", f"quorum du vote déclaré {d['quorum']['present']} mais recalculé {present}")
    if present < t.required() and not t.waived(d["item_id"]):
        raise _fail(entry, "R8", f"vote ouvert sans quorum : {present} présents, il en faut {t.required()}")
    if t.silent():
        raise _fail(entry, "R16", f"vote ouvert alors que la transmission manque : {', '.join(t.silent())}")
    if item.status != "pending":
        raise _fail(entry, "R25", f"vote ouvert sur un point qui n'est pas à voter ({item.title})")
    if item.body is not None:  # a round of a nomination (R24)
        seat = d.get("seat")
        if (
            not item.candidacies_closed
            or not item.public
            or seat not in item.seats
            or item.seat_settled(seat)
            or d.get("round") != item.rounds[seat] + 1
        ):
            raise _fail(entry, "R24", "tour de scrutin ouvert hors des conditions de la nomination")
    elif "amendment_id" in d:
        if item.amendments.get(d["amendment_id"]) != "pending":
            raise _fail(entry, "R25", f"vote sur l'amendement « {d['amendment_id']} » qui n'est pas à voter")
        item.amendments[d["amendment_id"]] = "voting"
    elif "pending" in item.amendments.values():
        raise _fail(entry, "R25", "délibération mise aux voix avant un amendement qui la modifie")
    expected: list[dict[str, Any]] = []
    for member, salle in sorted(t.presence.items()):
        if member in withdrawn or not t.transmitting.get(salle, False):
            continue
        expected.append({"voter": member, "on_behalf_of": None})
        givers = sorted(g for g, h in t.proxies.items() if h == member and g not in withdrawn)
        expected += [{"voter": member, "on_behalf_of": g} for g in givers[:1]]
    if d["electorate"] != expected:
        raise _fail(entry, "R16", "corps électoral déclaré différent de celui recalculé (présents et pouvoirs)")


def _same_slot(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["voter_id"] == b["voter_id"] and a["on_behalf_of"] == b["on_behalf_of"])


def _check_ballot(entry: Entry, t: _Tally, d: dict[str, Any], change: bool = False) -> None:
    """R16, R24; ``change``: a ``BallotChanged`` (R13), which needs a ballot to replace."""
    slot = {"voter": d["voter_id"], "on_behalf_of": d["on_behalf_of"]}
    if t.electorate is None or slot not in t.electorate:
        raise _fail(entry, "R16", f"bulletin de {d['voter_id']} hors du corps électoral fixé à l'ouverture")
    cast = any(_same_slot(b, d) for b in t.ballots)
    if cast and not change:
        raise _fail(entry, "R16", f"{d['voter_id']} vote deux fois")
    if change and not cast:
        raise _fail(entry, "R13", f"vote de {d['voter_id']} modifié sans avoir été exprimé")
    salle = t.presence.get(d["voter_id"])
    if salle is None or not t.transmitting.get(salle, False):
        raise _fail(entry, "R16", f"{d['voter_id']} vote sans être présent dans une salle transmettant")
    candidate = d.get("candidate_id")
    if "seat" in t.vote_subject:
        candidates = t.items[t.vote_item or ""].seats[t.vote_subject["seat"]]
        valid = candidate in candidates if d["choice"] == "pour" else d["choice"] != "contre" and candidate is None
        if not valid:
            raise _fail(entry, "R24", f"bulletin de {d['voter_id']} qui ne désigne pas un candidat au siège")
    elif candidate is not None:
        raise _fail(entry, "R24", f"bulletin de {d['voter_id']} désignant un candidat hors d'une nomination")


def _not_voting(t: _Tally) -> list[dict[str, Any]]:
    """The electorate's slots without a ballot, then the members present not in the electorate
    (arrived after the opening), those withdrawn for a personal interest apart."""
    cast = {(b["voter_id"], b["on_behalf_of"]) for b in t.ballots}
    out = [
        {"voter": e["voter"], "on_behalf_of": e["on_behalf_of"], "reason": "sans_vote"}
        for e in t.electorate or []
        if (e["voter"], e["on_behalf_of"]) not in cast
    ]
    voters = {e["voter"] for e in t.electorate or []}
    withdrawn = t.withdrawn.get(t.vote_item or "", set())
    out += [
        {"voter": m, "on_behalf_of": None, "reason": "arrive_apres_ouverture"}
        for m in sorted(t.presence)
        if m not in voters and m not in withdrawn
    ]
    return out


def _check_result(entry: Entry, t: _Tally, d: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, Any] = {
        c: sum(1 for b in t.ballots if b["choice"] == c) for c in ("pour", "contre", "abstention", "nppv")
    }
    counts["cast"] = len(t.ballots)
    counts["exprimes"] = counts["pour"] + counts["contre"]
    item = t.items[d["item_id"]]
    seat = t.vote_subject.get("seat")
    if seat is not None:
        counts["candidates"] = {c: sum(1 for b in t.ballots if b.get("candidate_id") == c) for c in item.seats[seat]}
    if d["counts"] != counts:
        raise _fail(entry, "R14", f"décompte déclaré {d['counts']} mais recalculé {counts}")
    electorate = len(t.electorate or [])
    if d["electorate_size"] != electorate or counts["cast"] > electorate:
        raise _fail(entry, "R16", f"{counts['cast']} bulletins pour un corps électoral de {electorate}")
    if t.edition >= 2 or "not_voting" in d:
        if d.get("not_voting") != _not_voting(t):
            raise _fail(entry, "R13", "membres n'ayant pas pris part au vote déclarés différents de ceux recalculés")
    if seat is not None:
        return _check_round(entry, t, d, item, seat, counts)
    if d.get("amendment_id") != t.vote_subject.get("amendment_id"):
        raise _fail(entry, "R25", "résultat attribué à un autre objet que celui mis aux voix")
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
    amendment = t.vote_subject.get("amendment_id")
    if amendment is not None:
        item.amendments[amendment] = "adopted" if adopted else "rejected"
        item.status = "pending"
    else:
        item.status = "voted"
    verdict = ("adopté" + (" (voix prépondérante)" if casting else "")) if adopted else "rejeté"
    return {
        "item_id": d["item_id"],
        "subject": f"amendement {amendment}" if amendment else "délibération",
        "counts": counts,
        "adopted": adopted,
        "casting_vote": casting,
        "verdict": verdict,
        "line": entry.line,
    }


def _check_round(
    entry: Entry, t: _Tally, d: dict[str, Any], item: _Item, seat: int, counts: dict[str, Any]
) -> dict[str, Any]:
    """R24 (L.2121-21): absolute majority of the suffrages exprimés in rounds 1 and 2,
    relative in round 3, the oldest on a tie; nobody without a suffrage exprimé."""
    n = t.vote_subject["round"]
    votes = counts["candidates"]
    best = max(votes.values(), default=0)
    leaders = [c for c, k in votes.items() if k == best]
    appointed, by_age = None, False
    if best > 0 and n < 3 and 2 * best > counts["pour"]:
        appointed = leaders[0]
    elif best > 0 and n >= 3:
        appointed = min(leaders, key=lambda c: t.born[c] or "")
        by_age = len(leaders) > 1
    declared = (d["seat"], d["round"], d["appointed"], d["majority"], d["tie_broken_by_age"])
    if declared != (seat, n, appointed, "absolue" if n < 3 else "relative", by_age):
        raise _fail(entry, "R24", f"nomination déclarée {d['appointed']} mais recalculée {appointed} (tour {n})")
    item.rounds[seat] = n
    if appointed is not None:
        item.appointed[seat] = appointed
    item.status = "voted" if all(item.seat_settled(x) for x in item.seats) else "pending"
    return {
        "item_id": d["item_id"],
        "subject": f"siège {seat}, tour {n}",
        "counts": counts,
        "adopted": appointed is not None,
        "casting_vote": False,
        "appointed": appointed,
        "verdict": f"nommé·e : {name_of(t.council, appointed)}" + (" (au bénéfice de l'âge)" if by_age else "")
        if appointed
        else "personne n'est nommé",
        "line": entry.line,
    }


# -- layer 3: re-decision by the core -----------------------------------------------------------------
def redecide(entries: list[Entry], seance: Seance | None = None, start: int = 1) -> Seance:
    """Decide every command again from ``entries[start]`` on (the state ``seance`` reached
    before it, or a new sitting from the genesis); the sitting as re-decided."""
    if seance is None:
        council, config = _genesis(entries)
        seance = Seance(council, config)
    i = start
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
    return seance


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


class IncrementalAudit:
    """The audit of one growing journal, each line checked once (issue 12.4).

    A journal only grows: how far it was verified, recounted and re-decided is kept with
    the SHA-256 of those bytes (not the lines themselves); a later call checks that the
    file still starts with exactly those bytes (a rewrite anywhere in them starts over
    from line 1), then runs the three layers on the new lines only, from the state the
    old ones left. The state advances only over a whole format-2 journal (it ends with a
    signature, so no batch is cut); a format-1 journal, or one that fails, is audited
    whole each time (:func:`audit_bytes`). ``checked_lines`` says how many lines the last
    call verified. Not thread-safe: one caller at a time (the web shell holds a lock per
    sitting).
    """

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self._key = public_key
        self._reset()
        self.checked_lines = 0

    def _reset(self) -> None:
        self._verified: Verified | None = None
        self._digest = ""
        self._tally: _Tally | None = None
        self._votes: list[dict[str, Any]] = []
        self._seance: Seance | None = None
        self._closed = False
        self._checkpoints = 0

    @property
    def seance(self) -> Seance | None:
        """The sitting as re-decided up to the last line verified (None before any)."""
        return self._seance

    def audit(self, content: bytes, allow_open: bool = False) -> AuditReport:
        done = self._verified
        if done is not None and (
            len(content) < done.size or hashlib.sha256(content[: done.size]).hexdigest() != self._digest
        ):
            self._reset()  # not the journal verified so far: from the start
            done = None
        try:
            new, verified = verify_after(content, self._key, done)
        except JournalError as err:
            self.checked_lines = content.count(b"\n") - (done.lines if done else 0)
            return AuditReport(False, line=err.line, reason=err.reason)
        self.checked_lines = len(new)
        if verified.format == FORMAT_V1:
            self._reset()
            return audit_bytes(content, self._key, allow_open)
        try:
            if self._tally is None:
                council, config = _genesis(new)
                self._tally, self._seance = _Tally(council, config), Seance(council, config)
            errors: list[JournalError] = []
            votes = list(self._votes)
            try:
                _recount(new, self._tally, votes)
            except JournalError as err:
                errors.append(err)
            try:  # the first new line is the genesis (skipped) or the command after a signature
                self._seance = redecide(new, self._seance, 1 if done is None else 0)
            except JournalError as err:
                errors.append(err)
            if errors:
                raise min(errors, key=lambda e: e.line)
        except JournalError as err:
            self._reset()  # the state is part-way through a bad batch: start over next time
            return AuditReport(False, line=err.line, reason=err.reason)
        self._verified, self._votes = verified, votes
        self._digest = hashlib.sha256(content).hexdigest()
        self._checkpoints += sum(e.kind == "checkpoint" for e in new)
        self._closed = self._closed or any(
            e.kind == "event" and e.data["event"]["type"] == "SittingClosed" for e in new
        )
        if not allow_open and not self._closed:
            return AuditReport(
                False,
                line=verified.lines + 1,
                reason="journal incomplet : la clôture de la séance est absente (lignes finales supprimées ?)",
            )
        return AuditReport(True, lines=verified.lines, checkpoints=self._checkpoints, votes=list(votes))
