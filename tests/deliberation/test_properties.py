"""Properties of the sitting for random command sequences (hypothesis).

For any sequence of commands, from any actor: counts add up (pour + contre + abstention
+ nppv = ballots cast ≤ electorate), nobody votes twice, quorum never counts proxies,
a refused command leaves the state byte-identical, events are JSON and their replay
rebuilds the state exactly. The commands of issue 13 take part: amendments (never a
motion voted while one of its amendments is pending, R25), withdrawn items (never voted
after), nominations (a seat filled once, by one of its candidates, in three rounds at
most, R24), the lack of quorum, and the non-voters recorded with each result (R13).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from deliberation.actors import Actor, Role
from deliberation.commands import (
    AppointSecretary,
    CastBallot,
    CheckIn,
    CheckOut,
    CloseCandidacies,
    CloseSitting,
    CloseVote,
    DecideAppointmentBallot,
    DecideFrozenVote,
    DeclareSuppleance,
    DeclareWithdrawal,
    OpenSitting,
    OpenVote,
    ProposeAmendment,
    RecordProxy,
    RecordQuorumFailure,
    RegisterCandidacy,
    ReportPublicStream,
    ReportTransmission,
    RequestSecretBallot,
    Resume,
    RevokeProxy,
    Suspend,
    WithdrawAmendment,
    WithdrawItem,
    WithdrawSecretBallotRequest,
)
from deliberation.demo import demo_seance
from deliberation.events import Event
from deliberation.refusal import Refusal
from deliberation.seance import Seance
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, agent, councillor, opened

MEMBERS = [f"m{i:02d}" for i in range(1, 18)] + ["s17"]
SALLES = ["belcourt", "vaux", "saint-ferreol"]
ITEMS = [
    "pv-precedent",
    "marche-collecte",
    "fonds-concours-vaux",
    "dm-budget-2026",
    "commission-environnement",
    "voirie-programme",
    "groupement-electricite",
]
NOMINATION = "commission-environnement"
CHOICES = ["pour", "contre", "abstention", "nppv"]

member = st.sampled_from(MEMBERS)
salle = st.sampled_from(SALLES)
item = st.sampled_from(ITEMS)
amendment = st.sampled_from(["am-1", "am-2"])
seat = st.sampled_from([1, 2, 3])
any_actor = st.one_of(
    st.just(PRESIDENT),
    st.just(SYSTEM),
    salle.map(agent),
    member.map(councillor),
    st.just(Actor(Role.SECRETARY, member_id="m03")),
)

step = st.one_of(
    st.tuples(st.just(CheckIn), st.tuples(member, salle), st.none()),
    st.tuples(st.just(CheckOut), st.tuples(member, salle), st.none()),
    st.tuples(
        st.just(RecordProxy),
        st.tuples(member, member, st.just("pouvoir"), st.integers(1, 4), st.booleans()),
        salle.map(agent),
    ),
    st.tuples(st.just(RevokeProxy), st.tuples(member), st.just(PRESIDENT)),
    st.tuples(st.just(ReportTransmission), st.tuples(salle, st.booleans()), st.just(SYSTEM)),
    st.tuples(st.just(ReportPublicStream), st.tuples(st.booleans()), st.just(SYSTEM)),
    st.tuples(st.just(AppointSecretary), st.tuples(member), st.just(PRESIDENT)),
    st.tuples(st.just(OpenSitting), st.tuples(), st.just(PRESIDENT)),
    st.tuples(st.just(Suspend), st.tuples(st.just("pause")), st.just(PRESIDENT)),
    st.tuples(st.just(Resume), st.tuples(), st.just(PRESIDENT)),
    st.tuples(
        st.just(OpenVote), st.tuples(item, st.sampled_from(["electronique", "appel_nominal"])), st.just(PRESIDENT)
    ),
    st.tuples(
        st.just(CastBallot), st.tuples(item, member, st.sampled_from(CHOICES), st.one_of(st.none(), member)), st.none()
    ),
    st.tuples(
        st.just(CastBallot), st.tuples(item, member, st.sampled_from(CHOICES), st.one_of(st.none(), member)), st.none()
    ),
    st.tuples(st.just(CastBallot), st.tuples(item, member, st.sampled_from(CHOICES), st.none()), st.none()),
    st.tuples(st.just(CloseVote), st.tuples(item), st.just(PRESIDENT)),
    st.tuples(st.just(RequestSecretBallot), st.tuples(item, member), st.none()),
    st.tuples(st.just(WithdrawSecretBallotRequest), st.tuples(item, member), st.none()),
    st.tuples(st.just(DeclareWithdrawal), st.tuples(item, member), st.none()),
    st.tuples(st.just(DeclareSuppleance), st.tuples(st.just("m17"), st.just("courriel")), st.just(PRESIDENT)),
    st.tuples(st.just(DeclareSuppleance), st.tuples(st.just("m17"), st.just("courriel"), salle), salle.map(agent)),
    st.tuples(st.just(DecideFrozenVote), st.tuples(item, st.just("panne")), st.just(PRESIDENT)),
    st.tuples(st.just(CloseSitting), st.tuples(), st.just(PRESIDENT)),
    # issue 13: withdrawn items, amendments, nominations, lack of quorum
    st.tuples(st.just(WithdrawItem), st.tuples(item, st.just("retiré")), st.just(PRESIDENT)),
    st.tuples(st.just(ProposeAmendment), st.tuples(item, amendment, st.just("texte"), member), st.just(PRESIDENT)),
    st.tuples(st.just(WithdrawAmendment), st.tuples(item, amendment), st.just(PRESIDENT)),
    st.tuples(st.just(OpenVote), st.tuples(item, st.just("electronique"), amendment), st.just(PRESIDENT)),
    st.tuples(st.just(RegisterCandidacy), st.tuples(st.just(NOMINATION), seat, member), st.just(PRESIDENT)),
    st.tuples(st.just(CloseCandidacies), st.tuples(st.just(NOMINATION)), st.just(PRESIDENT)),
    st.tuples(st.just(DecideAppointmentBallot), st.tuples(item, st.booleans()), st.just(PRESIDENT)),
    st.tuples(
        st.just(OpenVote), st.tuples(st.just(NOMINATION), st.just("electronique"), st.none(), seat), st.just(PRESIDENT)
    ),
    st.tuples(
        st.just(CastBallot),
        st.tuples(st.just(NOMINATION), member, st.sampled_from(["pour", "abstention"]), st.none(), member),
        st.none(),
    ),
    st.tuples(st.just(RecordQuorumFailure), st.tuples(), st.just(PRESIDENT)),
)


def _natural_actor(cls, args, seance: Seance) -> Actor:
    """The actor who would normally issue the command (so that many are accepted)."""
    if cls in (CheckIn, CheckOut):
        return agent(args[1])
    if cls is CastBallot:
        found = seance.state.open_vote()
        if found is not None and found[1]["method"] == "appel_nominal":
            return Actor(Role.SECRETARY, member_id=seance.state.secretary)
        return PRESIDENT if args[1] == "m01" else councillor(args[1])
    return councillor(args[1])


random_steps = st.lists(st.tuples(step, st.one_of(st.none(), any_actor), st.booleans()), max_size=15)
ballot = st.tuples(
    st.tuples(
        st.just(CastBallot),
        st.tuples(st.just("§"), member, st.sampled_from(CHOICES), st.one_of(st.none(), st.none(), st.none(), member)),
        st.none(),
    ),
    st.none(),
    st.just(False),
)


@st.composite
def scenario(draw):
    """Random steps around one vote on a random item, so that many ballots are cast and counted."""
    voted = draw(item)

    def on_item(steps):
        return [
            (((cls, tuple(voted if a == "§" else a for a in args), actor)), ra, ur)
            for (cls, args, actor), ra, ur in steps
        ]

    steps = draw(random_steps)
    steps.append(
        ((OpenVote, (voted, draw(st.sampled_from(["electronique", "appel_nominal"]))), PRESIDENT), None, False)
    )
    steps += on_item(draw(st.lists(ballot, max_size=25)))
    steps += draw(st.lists(st.tuples(step, st.one_of(st.none(), any_actor), st.booleans()), max_size=5))
    steps.append(((CloseVote, (voted,), PRESIDENT), None, False))
    steps += draw(random_steps)
    return draw(st.booleans()) or draw(st.booleans()), steps


def _check_invariants(s: Seance) -> None:
    st_ = s.state
    for it in st_.agenda:
        open_votes = [v for v in it["votes"] if v["closed_at"] is None and v["cancelled_at"] is None]
        assert len(open_votes) <= 1 and (not open_votes or st_.current_vote == it["id"])
        motions = [v for v in it["votes"] if v["subject"] == "motion"]
        assert len(motions) <= 1, "a motion is voted once"
        if motions:  # R25: every amendment voted or withdrawn before the motion opened
            before = it["votes"][: it["votes"].index(motions[0])]
            assert all(a["status"] != "pending" for a in it["amendments"])
            assert all(v["subject"] == "amendment" for v in before)
        if it["status"] == "withdrawn":
            assert not open_votes and not motions
        for x in it["seats"]:  # R24: a seat is filled once, by one of its candidates, in three rounds at most
            rounds = [v for v in it["votes"] if v["subject"] == "round" and v["seat"] == x["seat"]]
            assert x["rounds"] <= 3 and len(rounds) <= 3
            assert x["appointed"] is None or x["appointed"] in x["candidates"]
            assert sum(1 for v in rounds if v["result"] and v["result"]["appointed"]) <= 1
            assert not rounds or it["candidacies_closed"]
        for vote in it["votes"]:
            slots = [(b["voter"], b["on_behalf_of"]) for b in vote["ballots"]]
            assert len(slots) == len(set(slots)), "nobody votes twice"
            assert all({"voter": v, "on_behalf_of": o} in vote["electorate"] for v, o in slots)
            assert len(slots) <= len(vote["electorate"])
            if vote["subject"] == "round":
                seat_ = next(x for x in it["seats"] if x["seat"] == vote["seat"])
                assert all(b["candidate"] in seat_["candidates"] for b in vote["ballots"] if b["choice"] == "pour")
            if vote["counts"] is not None:
                c = vote["counts"]
                assert (
                    c["pour"] + c["contre"] + c["abstention"] + c["nppv"]
                    == c["cast"]
                    == len(slots)
                    <= len(vote["electorate"])
                )
                # R13: every slot of the electorate either voted or is recorded as not voting
                silent = {(n["voter"], n["on_behalf_of"]) for n in vote["not_voting"] if n["reason"] == "sans_vote"}
                assert silent | set(slots) == {(e["voter"], e["on_behalf_of"]) for e in vote["electorate"]}
                assert not silent & set(slots)
    # quorum counts people checked in, never proxies
    q = s.quorum()
    assert q.present == len({s.council.seat_of(m) for m in st_.presence})
    assert q.present <= len(st_.presence)
    without_proxies = Seance(
        s.council, s.config, type(st_).from_dict({**st_.to_dict(), "proxies": {}, "proxy_log": []})
    )
    assert without_proxies.quorum() == q
    # R9: at most one proxy per holder; no present giver
    holders = [p["holder"] for p in st_.proxies.values()]
    assert len(holders) == len(set(holders))
    assert not set(st_.proxies) & set(st_.presence)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_properties_random_command_sequences(data):
    start_opened, steps = data
    clock = Clock()
    s = opened(clock) if start_opened else demo_seance()
    start = s.canonical()
    events: list[Event] = []
    for (cls, args, fixed_actor), random_actor, use_random in steps:
        command = cls(clock(), *args)
        actor = (
            random_actor if (use_random and random_actor is not None) else (fixed_actor or _natural_actor(cls, args, s))
        )
        before = s.canonical()
        result = s.handle(command, actor)
        if isinstance(result, Refusal):
            assert s.canonical() == before, "a refusal changes nothing"
            assert result.rule and result.message
            continue
        for e in result:
            assert Event.from_dict(json.loads(json.dumps(e.to_dict()))) == e
        events += result
        _check_invariants(s)
    kinds = {e.type for e in events}
    hypothesis_event("vote closed with ballots" if "VoteClosed" in kinds and "BallotCast" in kinds else "no ballots")
    # replay of the events from the same starting point rebuilds the exact state
    base = opened(Clock()) if start_opened else demo_seance()
    assert base.canonical() == start
    for e in events:
        base.apply(e)
    assert base.canonical() == s.canonical()


# -- nominations and amendments, journaled: the audit's independent recount agrees with the core ----------
DM = "dm-budget-2026"
POOL = st.sampled_from(["m04", "m05", "m08", "m11"])  # candidates, so that many ballots name one
VOTERS = st.sampled_from(["m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m10", "m11", "m12"])
focused_step = st.one_of(
    st.tuples(st.just(RegisterCandidacy), st.tuples(st.just(NOMINATION), st.sampled_from([1, 2]), POOL)),
    st.tuples(st.just(CloseCandidacies), st.tuples(st.just(NOMINATION))),
    st.tuples(st.just(DecideAppointmentBallot), st.tuples(st.just(NOMINATION), st.booleans())),
    st.tuples(
        st.just(OpenVote), st.tuples(st.just(NOMINATION), st.just("electronique"), st.none(), st.sampled_from([1, 2]))
    ),
    *[
        st.tuples(
            st.just(CastBallot),
            st.tuples(st.just(NOMINATION), VOTERS, st.sampled_from(["pour", "abstention", "nppv"]), st.none(), POOL),
        )
    ]
    * 4,
    st.tuples(
        st.just(CastBallot),
        st.tuples(st.just(NOMINATION), VOTERS, st.sampled_from(["abstention", "nppv", "contre"]), st.none(), st.none()),
    ),
    st.tuples(st.just(CloseVote), st.tuples(st.sampled_from([NOMINATION, DM]))),
    st.tuples(st.just(ProposeAmendment), st.tuples(st.just(DM), amendment, st.just("texte"), VOTERS)),
    st.tuples(st.just(WithdrawAmendment), st.tuples(st.just(DM), amendment)),
    st.tuples(st.just(OpenVote), st.tuples(st.just(DM), st.just("electronique"), st.one_of(st.none(), amendment))),
    *[st.tuples(st.just(CastBallot), st.tuples(st.just(DM), VOTERS, st.sampled_from(CHOICES)))] * 3,
    st.tuples(st.just(WithdrawItem), st.tuples(st.sampled_from([DM, NOMINATION, "groupement-electricite"]))),
    st.tuples(st.just(CheckIn), st.tuples(st.sampled_from(["m09", "m13", "m14"]), st.just("vaux"))),
    st.tuples(st.just(CheckOut), st.tuples(VOTERS, st.sampled_from(SALLES))),
)


def _journaled_opened(path, key, clock: Clock):
    from deliberation.actors import ADMIN
    from deliberation.demo import demo_agenda, demo_config, demo_council
    from deliberation.journal import Journal
    from tests.deliberation.delib_support import DEFAULT_PRESENT

    seance = Seance(demo_council(), demo_config())
    journal = Journal.create(path, seance, key)
    setup = [(c, ADMIN) for c in demo_agenda(clock())]
    for salle_id, members in DEFAULT_PRESENT.items():
        setup += [(CheckIn(clock(), m, salle_id), agent(salle_id)) for m in members]
        setup.append((ReportTransmission(clock(), salle_id, True), SYSTEM))
    setup += [
        (RecordProxy(clock(), "m09", "m07", "pouvoir", 1, False), agent("vaux")),
        (ReportPublicStream(clock(), True), SYSTEM),
        (AppointSecretary(clock(), "m03"), PRESIDENT),
        (OpenSitting(clock()), PRESIDENT),
    ]
    for command, actor in setup:
        assert not isinstance(journal.handle(seance, command, actor), Refusal)
    return journal, seance


@st.composite
def focused(draw):
    """Candidacies, their closing, the public decision, rounds with ballots; amendments voted,
    then the motion; with random steps of the same kinds between the phases."""

    def noise():
        return draw(st.lists(focused_step, max_size=4))

    def ballots(item_id, pool):
        return [
            (CastBallot, (item_id, v, c, None, cand if c == "pour" else None))
            for v, c, cand in draw(
                st.lists(st.tuples(VOTERS, st.sampled_from(["pour", "pour", "abstention", "nppv"]), pool), max_size=12)
            )
        ]

    steps = noise()
    pool = draw(st.permutations(["m04", "m05", "m08", "m11"]))
    cut = draw(st.sampled_from([0, 1, 1, 2, 2, 3, 3]))  # seat 1 gets pool[:cut], seat 2 the rest (may be refused)
    steps += [(RegisterCandidacy, (NOMINATION, 1, m)) for m in pool[:cut]]
    steps += [(RegisterCandidacy, (NOMINATION, 2, m)) for m in pool[cut:]]
    steps += noise() + [
        (CloseCandidacies, (NOMINATION,)),
        (DecideAppointmentBallot, (NOMINATION, draw(st.sampled_from([True, True, True, False])))),
    ]
    for _ in range(draw(st.integers(1, 5))):
        steps += [
            (
                OpenVote,
                (
                    NOMINATION,
                    draw(st.sampled_from(["electronique", "appel_nominal"])),
                    None,
                    draw(st.sampled_from([1, 2])),
                ),
            )
        ]
        steps += ballots(NOMINATION, POOL) + noise() + [(CloseVote, (NOMINATION,))]
    for a in draw(st.lists(amendment, max_size=2, unique=True)):
        steps += [(ProposeAmendment, (DM, a, "texte", draw(VOTERS))), (OpenVote, (DM, "electronique", a))]
        steps += [
            (CastBallot, (DM, v, c))
            for v, c in draw(st.lists(st.tuples(VOTERS, st.sampled_from(CHOICES)), max_size=10))
        ]
        steps += noise() + [(CloseVote, (DM,))]
    steps += [(OpenVote, (DM, "electronique", None))] + noise() + [(CloseVote, (DM,))]
    return steps


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(focused())
def test_properties_nominations_amendments_withdrawals_and_the_audit_agrees(tmp_path_factory, steps):
    from deliberation.audit import audit_bytes
    from deliberation.journal import generate_key

    path = tmp_path_factory.mktemp("p") / "journal.jsonl"
    key = generate_key()
    clock = Clock()
    journal, s = _journaled_opened(path, key, clock)
    kinds: set[str] = set()
    with journal:
        for cls, args in steps:
            command = cls(clock(), *args)
            actor = agent(args[1]) if cls in (CheckIn, CheckOut) else PRESIDENT
            if cls is CastBallot:
                actor = _natural_actor(cls, args, s)
            before = s.canonical()
            result = journal.handle(s, command, actor)
            if isinstance(result, Refusal):
                assert s.canonical() == before, "a refusal changes nothing"
                assert result.message.startswith(result.rule) or result.rule in ("SCHEMA", "ROLE", "UNKNOWN")
                continue
            kinds |= {e.type for e in result}
            _check_invariants(s)
        found = s.state.open_vote()
        if found is not None:
            journal.handle(s, CloseVote(clock(), found[0]["id"]), PRESIDENT)
        assert not isinstance(journal.handle(s, CloseSitting(clock()), PRESIDENT), Refusal)
    report = audit_bytes(path.read_bytes(), key.public_key())
    assert report.ok, report.summary()
    hypothesis_event("a round closed" if any(v["item_id"] == NOMINATION for v in report.votes) else "no round")
    amended = any(v["subject"].startswith("amendement") for v in report.votes)
    hypothesis_event("an amendment voted" if amended else "no amendment vote")
