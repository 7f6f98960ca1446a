"""R12-R16: agenda, public nominative ballots, results, secret ballot requests, electorate."""

from __future__ import annotations

import dataclasses

import pytest

from deliberation.actors import Actor, Role
from deliberation.ballot import result, secret_ballot_adopted, tally
from deliberation.commands import (
    AddAgendaItem,
    CastBallot,
    CheckIn,
    CheckOut,
    CloseCandidacies,
    CloseVote,
    ConvertToTeleconference,
    DecideAppointmentBallot,
    DeclareWithdrawal,
    OpenVote,
    RecordProxy,
    RegisterCandidacy,
    RequestSecretBallot,
    WithdrawSecretBallotRequest,
)
from deliberation.demo import demo_config, demo_council, demo_seance
from deliberation.seance import POSTPONED_MENTION, Seance
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, agent, councillor, ok, opened, refused

ADMIN = Actor(Role.ADMIN)
NOMINATION = "commission-environnement"


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("election_president", "Élection du président"),
        ("election_bureau", "Élection des vice-présidents"),
        ("budget_primitif", "Budget 2027"),
        ("election_delegues_epci", "Délégués au SIVOM"),
        ("designation_organismes_exterieurs", "Représentants au collège"),
    ],
)
def test_R12_banned_items_refused_at_agenda_building(kind, title):
    clock = Clock()
    s = demo_seance()
    r = refused(
        s, AddAgendaItem(clock(), "x", title, kind, "7.1" if kind == "budget_primitif" else "5.2"), ADMIN, "R12"
    )
    assert "visioconférence" in r.message


def test_R12_ordinary_item_accepted_and_banned_item_allowed_in_person():
    clock = Clock()
    s = demo_seance()
    ok(s, AddAgendaItem(clock(), "dm1", "Décision modificative n° 2", "decision_modificative", "7.1"), ADMIN)
    in_person = Seance(demo_council(), dataclasses.replace(demo_config(), teleconference=False))
    ok(in_person, AddAgendaItem(clock(), "bp", "Budget primitif 2027", "budget_primitif", "7.1"), ADMIN)


def test_R12_conversion_to_teleconference_refused_with_banned_item():
    clock = Clock()
    in_person = Seance(demo_council(), dataclasses.replace(demo_config(), teleconference=False))
    ok(in_person, AddAgendaItem(clock(), "bp", "Budget primitif 2027", "budget_primitif", "7.1"), ADMIN)
    r = refused(in_person, ConvertToTeleconference(clock()), ADMIN, "R12")
    assert "Budget primitif 2027" in r.message
    other = Seance(demo_council(), dataclasses.replace(demo_config(), teleconference=False))
    ok(other, AddAgendaItem(clock(), "dm", "Décision modificative", "deliberation", "7.1"), ADMIN)
    ok(other, ConvertToTeleconference(clock()), ADMIN)
    assert other.state.teleconference


def test_R6_agenda_frozen_once_opened():
    clock = Clock()
    s = opened(clock)
    refused(s, AddAgendaItem(clock(), "late", "Question diverse", "deliberation", "5.2"), PRESIDENT, "R6")


def test_R13_public_nominative_ballot_records_names_and_proxy():
    clock = Clock()
    s = opened(clock)
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir-m09"), agent("vaux"))
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m07", "pour"), councillor("m07"))
    ok(s, CastBallot(clock(), "marche-collecte", "m07", "nppv", "m09"), councillor("m07"))
    ballots = s.state.item("marche-collecte")["votes"][0]["ballots"]
    assert [(b["voter"], b["on_behalf_of"], b["choice"]) for b in ballots] == [
        ("m07", None, "pour"),
        ("m07", "m09", "nppv"),
    ]


def test_R13_electronic_vote_only_from_own_device():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    refused(s, CastBallot(clock(), "marche-collecte", "m07", "pour"), councillor("m06"), "R13")
    refused(s, CastBallot(clock(), "marche-collecte", "m07", "pour"), Actor(Role.SECRETARY, member_id="m03"), "R13")


def test_R13_roll_call_recorded_by_secretary_only():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte", "appel_nominal"), PRESIDENT)
    refused(s, CastBallot(clock(), "marche-collecte", "m07", "pour"), councillor("m07"), "R13")
    ok(s, CastBallot(clock(), "marche-collecte", "m07", "contre"), Actor(Role.SECRETARY, member_id="m03"))


def test_R13_R4_roll_call_answers_recorded_by_the_agent_of_the_voters_salle_only():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte", "appel_nominal"), PRESIDENT)
    refused(s, CastBallot(clock(), "marche-collecte", "m07", "pour"), agent("belcourt"), "R13")
    ok(s, CastBallot(clock(), "marche-collecte", "m07", "pour"), agent("vaux"))
    refused(s, CastBallot(clock(), "marche-collecte", "m08", "pour"), Actor(Role.AGENT, salle_id="vaux"), "R13")


def test_R13_information_item_has_no_vote():
    clock = Clock()
    s = demo_seance()
    ok(s, AddAgendaItem(clock(), "info", "Point d'information sur le PLUi", "information", "2.1"), ADMIN)
    opened(clock, seance=s)
    refused(s, OpenVote(clock(), "info"), PRESIDENT, "R13")
    refused(s, OpenVote(clock(), "nope"), PRESIDENT, "UNKNOWN")


def _vote(s, clock, item, choices: dict[str, str], proxies: dict[str, str] | None = None):
    ok(s, OpenVote(clock(), item), PRESIDENT)
    for voter, choice in choices.items():
        ok(s, CastBallot(clock(), item, voter, choice), PRESIDENT if voter == "m01" else councillor(voter))
    for voter, choice in (proxies or {}).items():
        giver = s.state.holder_proxy(voter)["giver"]
        ok(s, CastBallot(clock(), item, voter, choice, giver), councillor(voter))
    return ok(s, CloseVote(clock(), item), PRESIDENT)[0]


def test_R14_result_by_suffrages_exprimes():
    clock = Clock()
    s = opened(clock)
    ev = _vote(
        s,
        clock,
        "marche-collecte",
        {
            "m01": "pour",
            "m02": "pour",
            "m03": "contre",
            "m04": "abstention",
            "m05": "abstention",
            "m06": "abstention",
            "m07": "nppv",
        },
    )
    assert ev.data["counts"] == {"pour": 2, "contre": 1, "abstention": 3, "nppv": 1, "cast": 7, "exprimes": 3}
    assert ev.data["adopted"] is True and ev.data["casting_vote"] is False


def test_R14_rejected_when_contre_wins():
    clock = Clock()
    s = opened(clock)
    ev = _vote(s, clock, "marche-collecte", {"m01": "pour", "m02": "contre", "m03": "contre"})
    assert ev.data["adopted"] is False


def test_R14_tie_decided_by_president_vote():
    clock = Clock()
    s = opened(clock)
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir-m09"), agent("vaux"))
    ev = _vote(
        s,
        clock,
        "fonds-concours-vaux",
        {"m01": "contre", "m02": "pour", "m03": "contre", "m06": "pour"},
        proxies={"m07": "pour"},
    )
    assert (ev.data["counts"]["pour"], ev.data["counts"]["contre"]) == (3, 2)
    s2 = opened(Clock())
    ev2 = _vote(s2, clock, "fonds-concours-vaux", {"m01": "contre", "m02": "pour", "m03": "contre", "m06": "pour"})
    assert ev2.data["adopted"] is False and ev2.data["casting_vote"] is True
    s3 = opened(Clock())
    ev3 = _vote(s3, clock, "fonds-concours-vaux", {"m01": "pour", "m02": "pour", "m03": "contre", "m06": "contre"})
    assert ev3.data["adopted"] is True and ev3.data["casting_vote"] is True


def test_R14_tie_without_president_suffrage_is_rejected():
    assert result(tally([{"choice": "pour"}, {"choice": "contre"}]), "abstention").adopted is False
    assert result(tally([{"choice": "abstention"}]), None).adopted is False
    assert result(tally([{"choice": "pour"}, {"choice": "contre"}]), "pour").casting_vote is True


def test_R15_secret_ballot_adopted_at_one_third_postpones_item():
    clock = Clock()
    s = opened(clock)  # 10 present: 4 requests needed (3*4 >= 10), 3 are not enough
    for m in ("m06", "m07", "m08"):
        events = ok(s, RequestSecretBallot(clock(), NOMINATION, m), councillor(m))
        assert [e.type for e in events] == ["SecretBallotRequested"]
    events = ok(s, RequestSecretBallot(clock(), NOMINATION, "m10"), councillor("m10"))
    assert [e.type for e in events] == ["SecretBallotRequested", "ItemPostponed"]
    item = s.state.item(NOMINATION)
    assert item["status"] == "postponed" and item["postponed"]["mention"] == POSTPONED_MENTION
    assert item["votes"] == []
    refused(s, OpenVote(clock(), NOMINATION, seat=2), PRESIDENT, "R15")


def test_R15_secret_ballot_request_refused_twice_or_from_absent_or_for_other():
    clock = Clock()
    s = opened(clock)
    ok(s, RequestSecretBallot(clock(), "marche-collecte", "m06"), councillor("m06"))
    refused(s, RequestSecretBallot(clock(), "marche-collecte", "m06"), councillor("m06"), "R15")
    refused(s, RequestSecretBallot(clock(), "marche-collecte", "m12"), councillor("m12"), "R15")
    refused(s, RequestSecretBallot(clock(), "marche-collecte", "m07"), councillor("m06"), "ROLE")


def test_R15_a_secret_ballot_request_is_withdrawn_until_one_third_have_asked():
    clock = Clock()
    s = opened(clock)  # 10 present: 4 requests needed
    for m in ("m06", "m07", "m08"):
        ok(s, RequestSecretBallot(clock(), NOMINATION, m), councillor(m))
    events = ok(s, WithdrawSecretBallotRequest(clock(), NOMINATION, "m07"), councillor("m07"))
    assert [e.type for e in events] == ["SecretBallotRequestWithdrawn"]
    assert [r["member"] for r in s.state.item(NOMINATION)["secret_requests"]] == ["m06", "m08"]
    # the withdrawn request no longer counts: a fourth request is the third standing one
    assert [e.type for e in ok(s, RequestSecretBallot(clock(), NOMINATION, "m10"), councillor("m10"))] == [
        "SecretBallotRequested"
    ]
    assert s.state.item(NOMINATION)["status"] == "pending"
    # asked again, it counts again: one third, the item is postponed and nothing can be withdrawn
    events = ok(s, RequestSecretBallot(clock(), NOMINATION, "m07"), councillor("m07"))
    assert [e.type for e in events] == ["SecretBallotRequested", "ItemPostponed"]
    refused(s, WithdrawSecretBallotRequest(clock(), NOMINATION, "m06"), councillor("m06"), "R15")
    assert s.state.item(NOMINATION)["status"] == "postponed"


def test_R15_a_secret_ballot_request_is_withdrawn_only_by_its_author_once():
    clock = Clock()
    s = opened(clock)
    refused(s, WithdrawSecretBallotRequest(clock(), "marche-collecte", "m06"), councillor("m06"), "R15")
    ok(s, RequestSecretBallot(clock(), "marche-collecte", "m06"), councillor("m06"))
    refused(s, WithdrawSecretBallotRequest(clock(), "marche-collecte", "m06"), councillor("m07"), "ROLE")
    ok(s, WithdrawSecretBallotRequest(clock(), "marche-collecte", "m06"), councillor("m06"))
    refused(s, WithdrawSecretBallotRequest(clock(), "marche-collecte", "m06"), councillor("m06"), "R15")


def test_R15_secret_ballot_request_during_open_vote_cancels_it():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m02", "pour"), councillor("m02"))
    for m in ("m06", "m07", "m08", "m10"):
        ok(s, RequestSecretBallot(clock(), "marche-collecte", m), councillor(m))
    item = s.state.item("marche-collecte")
    assert item["status"] == "postponed" and item["votes"][0]["cancelled_at"] is not None
    assert s.state.current_vote is None
    refused(s, CloseVote(clock(), "marche-collecte"), PRESIDENT, "R16")


def test_R15_appointment_needs_unanimous_decision_for_public_vote():
    clock = Clock()
    s = opened(clock)
    for m in ("m08", "m11"):
        ok(s, RegisterCandidacy(clock(), NOMINATION, 1, m), PRESIDENT)
    ok(s, RegisterCandidacy(clock(), NOMINATION, 2, "m05"), PRESIDENT)
    ok(s, CloseCandidacies(clock(), NOMINATION), PRESIDENT)
    refusal = refused(s, OpenVote(clock(), NOMINATION, seat=1), PRESIDENT, "R15")
    # the refusal says which of the president's buttons settles it (issue 15)
    assert "« Le conseil décide à l'unanimité un vote public »" in refusal.message
    assert "« Pas d'unanimité : reporter »" in refusal.message
    ok(s, DecideAppointmentBallot(clock(), NOMINATION, True), PRESIDENT)
    ok(s, OpenVote(clock(), NOMINATION, seat=1), PRESIDENT)


def test_R15_appointment_without_unanimity_is_postponed():
    clock = Clock()
    s = opened(clock)
    ok(s, RequestSecretBallot(clock(), NOMINATION, "m06"), councillor("m06"))
    refused(s, DecideAppointmentBallot(clock(), NOMINATION, True), PRESIDENT, "R15")
    events = ok(s, DecideAppointmentBallot(clock(), NOMINATION, False), PRESIDENT)
    assert events[0].type == "ItemPostponed"
    refused(s, DecideAppointmentBallot(clock(), "marche-collecte", True), PRESIDENT, "R15")


def test_R15_threshold_function():
    assert secret_ballot_adopted(4, 12) and not secret_ballot_adopted(3, 10) and secret_ballot_adopted(4, 10)
    assert not secret_ballot_adopted(0, 0)


def test_R16_electorate_fixed_at_vote_opening():
    clock = Clock()
    s = opened(clock)
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir-m09"), agent("vaux"))
    events = ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    electorate = events[0].data["electorate"]
    assert len(electorate) == 11  # 10 present + 1 proxy
    assert {"voter": "m07", "on_behalf_of": "m09"} in electorate
    ok(s, CheckIn(clock(), "m12", "saint-ferreol"), agent("saint-ferreol"))  # arrives late
    refused(s, CastBallot(clock(), "marche-collecte", "m12", "pour"), councillor("m12"), "R16")


def test_R16_member_who_left_cannot_vote_and_proxy_not_held_refused():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CheckOut(clock(), "m05", "belcourt"), agent("belcourt"))
    refused(s, CastBallot(clock(), "marche-collecte", "m05", "pour"), councillor("m05"), "R16")
    refused(s, CastBallot(clock(), "marche-collecte", "m02", "pour", "m09"), councillor("m02"), "R16")


def test_R16_withdrawn_member_not_in_electorate():
    clock = Clock()
    s = opened(clock)
    ok(s, CheckIn(clock(), "m09", "vaux"), agent("vaux"))
    ok(s, DeclareWithdrawal(clock(), "fonds-concours-vaux", "m06"), councillor("m06"))
    ok(s, OpenVote(clock(), "fonds-concours-vaux"), PRESIDENT)
    refused(s, CastBallot(clock(), "fonds-concours-vaux", "m06", "pour"), councillor("m06"), "R16")
    refused(s, DeclareWithdrawal(clock(), "fonds-concours-vaux", "m07"), councillor("m07"), "R8")


def test_R16_vote_refused_while_an_occupied_salle_is_silent():
    from deliberation.commands import ReportTransmission

    clock = Clock()
    present = {"belcourt": ["m01", "m02", "m03", "m04", "m05"], "vaux": ["m06", "m07", "m08", "m09"]}
    s = opened(clock, present)  # saint-ferreol never transmitted, and was empty
    ok(s, CheckIn(clock(), "m10", "saint-ferreol"), agent("saint-ferreol"))
    r = refused(s, OpenVote(clock(), "marche-collecte"), PRESIDENT, "R16")
    assert "Saint-Ferréol" in r.message
    ok(s, ReportTransmission(clock(), "saint-ferreol", True), SYSTEM)
    events = ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    assert {"voter": "m10", "on_behalf_of": None} in events[0].data["electorate"]


def test_R16_only_one_vote_open_at_a_time_and_not_twice_per_item():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    refused(s, OpenVote(clock(), "fonds-concours-vaux"), PRESIDENT, "R16")
    ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)
    refused(s, OpenVote(clock(), "marche-collecte"), PRESIDENT, "R16")
