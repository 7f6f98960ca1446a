"""Properties of the sitting for random command sequences (hypothesis).

For any sequence of commands, from any actor: counts add up (pour + contre + abstention
+ nppv = ballots cast ≤ electorate), nobody votes twice, quorum never counts proxies,
a refused command leaves the state byte-identical, events are JSON and their replay
rebuilds the state exactly.
"""

from __future__ import annotations

import json

from delib_support import PRESIDENT, SYSTEM, Clock, agent, councillor, opened
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from deliberation.actors import Actor, Role
from deliberation.commands import (
    AppointSecretary,
    CastBallot,
    CheckIn,
    CheckOut,
    CloseSitting,
    CloseVote,
    DecideFrozenVote,
    DeclareSuppleance,
    DeclareWithdrawal,
    OpenSitting,
    OpenVote,
    RecordProxy,
    ReportPublicStream,
    ReportTransmission,
    RequestSecretBallot,
    Resume,
    RevokeProxy,
    Suspend,
)
from deliberation.demo import demo_seance
from deliberation.events import Event
from deliberation.refusal import Refusal
from deliberation.seance import Seance

MEMBERS = [f"m{i:02d}" for i in range(1, 18)] + ["s17"]
SALLES = ["belcourt", "vaux", "saint-ferreol"]
ITEMS = ["pv-precedent", "marche-collecte", "fonds-concours-vaux", "office-tourisme", "voirie-programme"]
CHOICES = ["pour", "contre", "abstention", "nppv"]

member = st.sampled_from(MEMBERS)
salle = st.sampled_from(SALLES)
item = st.sampled_from(ITEMS)
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
    st.tuples(st.just(DeclareWithdrawal), st.tuples(item, member), st.none()),
    st.tuples(st.just(DeclareSuppleance), st.tuples(st.just("m17"), st.just("courriel")), st.just(PRESIDENT)),
    st.tuples(st.just(DecideFrozenVote), st.tuples(item, st.just("panne")), st.just(PRESIDENT)),
    st.tuples(st.just(CloseSitting), st.tuples(), st.just(PRESIDENT)),
)


def _natural_actor(cls, args, seance: Seance) -> Actor:
    """The actor who would normally issue the command (so that many are accepted)."""
    if cls in (CheckIn, CheckOut):
        return agent(args[1])
    if cls is CastBallot:
        if (
            seance.state.current_vote
            and seance.state.item(seance.state.current_vote)["vote"]["method"] == "appel_nominal"
        ):
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
        vote = it["vote"]
        if vote is None:
            continue
        slots = [(b["voter"], b["on_behalf_of"]) for b in vote["ballots"]]
        assert len(slots) == len(set(slots)), "nobody votes twice"
        assert all({"voter": v, "on_behalf_of": o} in vote["electorate"] for v, o in slots)
        assert len(slots) <= len(vote["electorate"])
        if vote["counts"] is not None:
            c = vote["counts"]
            assert (
                c["pour"] + c["contre"] + c["abstention"] + c["nppv"]
                == c["cast"]
                == len(slots)
                <= len(vote["electorate"])
            )
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
