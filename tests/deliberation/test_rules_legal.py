"""Issue 13, legal fidelity, through ``Seance.handle``: each point accepted and refused.

R12 banned items by their nature (never the title); the council's composition checked by
the core (R9, L.5211-6); the agent's scope on a suppléance (R4); a sitting convened again
after a lack of quorum, linked to it, its waiver limited to that agenda (R8, L.2121-17);
the present members who took no part in a vote (R13); nominations with candidates (R24,
L.2121-21); amendments voted before their motion and items withdrawn (R25).
"""

from __future__ import annotations

import dataclasses

import pytest

from deliberation.actors import Actor, Role
from deliberation.agenda import title_warnings
from deliberation.ballot import round_result
from deliberation.commands import (
    AddAgendaItem,
    AppointSecretary,
    CastBallot,
    CheckIn,
    CloseCandidacies,
    CloseSitting,
    CloseVote,
    ConvertToTeleconference,
    DecideAppointmentBallot,
    DeclareSuppleance,
    DeclareWithdrawal,
    OpenSitting,
    OpenVote,
    ProposeAmendment,
    RecordProxy,
    RecordQuorumFailure,
    RegisterCandidacy,
    ReportPublicStream,
    TakeUpItem,
    WithdrawAmendment,
    WithdrawItem,
)
from deliberation.council import AgendaRef, CompositionError, Council, Member, Reconvocation, Seat, SittingConfig
from deliberation.demo import demo_agenda, demo_config, demo_council, demo_seance
from deliberation.minutes import liste_deliberations_html, proces_verbal_html
from deliberation.seance import Seance
from tests.deliberation.delib_support import (
    PRESIDENT,
    SYSTEM,
    Clock,
    agent,
    checked_in,
    councillor,
    ok,
    opened,
    refused,
)

ADMIN = Actor(Role.ADMIN)
NOM = "commission-environnement"
DM = "dm-budget-2026"
SECRETARY = Actor(Role.SECRETARY, member_id="m03")


def _item(s: Seance, item_id: str):
    return s.state.item(item_id)


# -- point 1: R12, the nature decides, never the title ---------------------------------------------------
def test_R12_decision_modificative_au_budget_primitif_is_accepted():
    clock = Clock()
    s = demo_seance()
    title = "Décision modificative n° 3 au budget primitif 2026"
    ok(s, AddAgendaItem(clock(), "dm3", title, "decision_modificative", "7.1"), ADMIN)
    for kind in ("budget_supplementaire", "compte_administratif", "compte_financier_unique"):
        ok(s, AddAgendaItem(clock(), kind, f"{kind} 2025 du budget primitif", kind, "7.1"), ADMIN)
    # a title alone never bans: the admin chose « délibération », the title only warns
    ok(s, AddAgendaItem(clock(), "x", "Vote du budget primitif 2027", "deliberation", "7.1"), ADMIN)
    assert title_warnings("deliberation", None, "Vote du budget primitif 2027")
    assert title_warnings("decision_modificative", None, title) == []


@pytest.mark.parametrize(
    ("kind", "body", "title"),
    [
        ("budget_primitif", None, "Budget 2027"),  # no word of the title says it: the nature does
        ("election_president", None, "Installation"),
        ("election_bureau", None, "Vice-présidences"),
        ("nomination", "organisme_exterieur", "Désignation des membres de la commission"),  # a title of a commission
        ("nomination", "epci", "Représentants"),
        ("designation_organismes_exterieurs", None, "Collège Jean-Moulin"),
    ],
)
def test_R12_banned_by_nature_or_body_whatever_the_title(kind, body, title):
    clock = Clock()
    s = demo_seance()
    cmd = AddAgendaItem(clock(), "x", title, kind, "7.1" if kind == "budget_primitif" else "5.3", body, "Organe", 1)
    r = refused(s, cmd, ADMIN, "R12")
    assert "visioconférence" in r.message and "L.5211-11-1" in r.message


def test_R12_the_demo_designation_to_the_office_de_tourisme_is_refused():
    clock = Clock()
    s = demo_seance()
    title = "Désignation d'un représentant au conseil d'administration de l'office de tourisme"
    # as it stood on the demo agenda: a nomination that did not say whose seats it fills
    r = refused(s, AddAgendaItem(clock(), "office-tourisme", title, "nomination", "5.3"), ADMIN, "R12")
    assert r.field == "body"
    cmd = AddAgendaItem(clock(), "office-tourisme", title, "nomination", "5.3", "organisme_exterieur", "Office", 1)
    assert "L.2121-33" in refused(s, cmd, ADMIN, "R12").message
    # the same item with a commission body is accepted, and the admin is warned by its title
    ok(s, dataclasses.replace(cmd, body="commission"), ADMIN)
    assert title_warnings("nomination", "commission", title)
    assert all(i["id"] != "office-tourisme" for i in demo_seance().state.agenda)


def test_R12_nomination_to_a_commission_accepted_and_outside_body_allowed_in_person():
    clock = Clock()
    s = demo_seance()
    ok(s, AddAgendaItem(clock(), "cf", "Commission finances", "nomination", "5.2", "commission", "Finances", 3), ADMIN)
    assert _item(s, "cf")["body"] == {"type": "commission", "name": "Finances", "seats": 3}
    in_person = Seance(demo_council(), dataclasses.replace(demo_config(), teleconference=False))
    cmd = AddAgendaItem(clock(), "ot", "Office de tourisme", "nomination", "5.3", "organisme_exterieur", "Office", 1)
    ok(in_person, cmd, ADMIN)
    r = refused(in_person, ConvertToTeleconference(clock()), ADMIN, "R12")
    assert "Office de tourisme" in r.message


def test_R12_a_nomination_of_rules_edition_1_needed_no_body():
    """Journals written before issue 13 replay: their nominations named no body."""
    clock = Clock()
    s = Seance(demo_council(), dataclasses.replace(demo_config(), rules_version=1))
    ok(s, AddAgendaItem(clock(), "n", "Nomination", "nomination", "5.3"), ADMIN)
    refused(demo_seance(), AddAgendaItem(clock(), "n", "Nomination", "nomination", "5.3"), ADMIN, "R12")


def test_R12_budget_documents_are_of_matiere_7_1():
    clock = Clock()
    r = refused(demo_seance(), AddAgendaItem(clock(), "dm", "DM", "decision_modificative", "5.2"), ADMIN, "SCHEMA")
    assert r.field == "matiere_code"


# -- point 2: the council's composition is the core's (R9, L.5211-6) ------------------------------------
def _with_members(*members: Member) -> Council:
    c = demo_council()
    return dataclasses.replace(c, members=c.members + members)


def test_R9_demo_council_is_consistent_and_round_trips():
    c = demo_council()
    assert Council.from_dict(c.to_dict()) == c


@pytest.mark.parametrize(
    ("member", "words"),
    [
        (Member("s01", "A", "B", "belcourt", Seat.SUPPLEANT, "m01"), "belcourt"),  # a commune of five councillors
        (Member("m18", "A", "B", "aubiers"), "Les Aubiers a 2"),  # a second titulaire where a suppléant sits
        (Member("s02", "A", "B", "aubiers", Seat.SUPPLEANT, "m17"), "déjà un suppléant"),
        (Member("s03", "A", "B", "lanterne", Seat.SUPPLEANT, "m17"), "commune de son titulaire"),
        (Member("s04", "A", "B", "aubiers", Seat.SUPPLEANT, "zz"), "remplacer un titulaire"),
        (Member("m19", "A", "B", "aubiers", Seat.TITULAIRE, "m17"), "ne remplace personne"),
    ],
)
def test_R9_council_refuses_an_inconsistent_suppleance_wherever_built(member, words):
    with pytest.raises(CompositionError) as err:
        _with_members(member)
    assert err.value.rule == "R9" and err.value.message.startswith("R9") and words.lower() in err.value.message.lower()
    # restored from a journal's first line: refused the same way
    d = demo_council().to_dict()
    d["members"].append({**dataclasses.asdict(member), "seat": str(member.seat)})
    with pytest.raises(CompositionError):
        Council.from_dict(d)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda c: dataclasses.replace(c, president_id="s17"), "SCHEMA"),  # a suppléant does not preside
        (lambda c: dataclasses.replace(c, members=c.members + (c.members[0],)), "SCHEMA"),  # duplicate id
        (lambda c: dataclasses.replace(c, members=c.members + (Member("m20", "A", "B", "nowhere"),)), "SCHEMA"),
        (lambda c: dataclasses.replace(c, agents=c.agents + (dataclasses.replace(c.agents[0], id="a2", salle_id="x"),)), "R4"),
        (lambda c: dataclasses.replace(c, salles=tuple(dataclasses.replace(x, is_seat=True) for x in c.salles)), "R1"),
        (lambda c: dataclasses.replace(c, members=(dataclasses.replace(c.members[0], birth_date="12/04/1961"),) + c.members[1:]), "SCHEMA"),
    ],
)  # fmt: skip
def test_R9_council_refuses_the_other_inconsistencies_a_machine_can_see(change, rule):
    with pytest.raises(CompositionError) as err:
        change(demo_council())
    assert err.value.rule == rule


# -- point 3: R4 on DeclareSuppleance ------------------------------------------------------------------
def test_R4_suppleance_recorded_only_by_the_agent_of_the_salle_where_the_suppleant_sits():
    clock = Clock()
    s = checked_in(clock)
    doc = "courriel du 24/11"
    refused(s, DeclareSuppleance(clock(), "m17", doc, "belcourt"), agent("vaux"), "R4")  # another salle's agent
    refused(s, DeclareSuppleance(clock(), "m17", doc), agent("belcourt"), "R4")  # no salle named
    refused(s, DeclareSuppleance(clock(), "m17", doc, "belcourt"), Actor(Role.AGENT, salle_id="belcourt"), "R4")
    ok(s, DeclareSuppleance(clock(), "m17", doc, "belcourt"), agent("belcourt"))
    # the suppléant sits in the salle whose agent recorded it
    refused(s, CheckIn(clock(), "s17", "vaux"), agent("vaux"), "R4")
    ok(s, CheckIn(clock(), "s17", "belcourt"), agent("belcourt"))


def test_R4_suppleance_by_the_president_and_in_rules_edition_1():
    clock = Clock()
    s = checked_in(clock)
    ok(s, DeclareSuppleance(clock(), "m17", "courriel"), PRESIDENT)
    ok(s, CheckIn(clock(), "s17", "vaux"), agent("vaux"))
    old = checked_in(Clock(), seance=Seance(demo_council(), dataclasses.replace(demo_config(), rules_version=1)))
    ok(old, DeclareSuppleance(clock(), "m17", "courriel"), agent("vaux"))  # as journals of edition 1 hold it


# -- point 4: R8, a sitting convened again after a lack of quorum ------------------------------------------
FEW = {"belcourt": ["m01", "m02", "m03"]}


def _failed() -> Seance:
    clock = Clock()
    s = checked_in(clock, FEW)
    ok(s, ReportPublicStream(clock(), True), SYSTEM)
    return s


def test_R8_lack_of_quorum_recorded_then_the_sitting_closes():
    clock = Clock()
    refused(opened(Clock()), RecordQuorumFailure(clock()), PRESIDENT, "R8")  # opened: it had the quorum
    refused(checked_in(Clock()), RecordQuorumFailure(clock()), PRESIDENT, "R8")  # 10 present of 17: reached
    s = _failed()
    refused(s, RecordQuorumFailure(clock()), councillor("m02"), "ROLE")
    events = ok(s, RecordQuorumFailure(clock()), PRESIDENT)
    assert [e.type for e in events] == ["QuorumFailed", "SittingClosed"]
    assert events[0].data["quorum"]["present"] == 3 and events[0].data["present"] == ["m01", "m02", "m03"]
    assert [i["id"] for i in events[0].data["items"]] == [i.item_id for i in demo_agenda()]
    assert "Le quorum n&#39;est pas atteint" in proces_verbal_html(s) or "Le quorum n'est pas atteint" in (
        proces_verbal_html(s)
    )
    refused(s, OpenSitting(clock()), PRESIDENT, "R11")


def _reconvened(days_after: int, extra_item: bool = True) -> Seance:
    """The demo sitting convened again ``days_after`` days after a failed one of 2026-11-19."""
    failed_items = tuple(AgendaRef(i.item_id, i.title) for i in demo_agenda() if i.item_id != "voirie-programme")
    rc = Reconvocation("demo-1", "2026-11-19T18:30:00+01:00", "ab" * 32, failed_items)
    day = 19 + days_after
    config = dataclasses.replace(
        demo_config(), id="demo-2", scheduled_at=f"2026-11-{day}T18:30:00+01:00", reconvened_from=rc
    )
    s = Seance(demo_council(), config)
    clock = Clock()
    for command in demo_agenda(clock()):
        ok(s, command, ADMIN)
    return s


def _open_few(s: Seance) -> Seance:
    clock = Clock()
    checked_in(clock, FEW, seance=s)
    ok(s, ReportPublicStream(clock(), True), SYSTEM)
    ok(s, AppointSecretary(clock(), "m03"), PRESIDENT)
    return s


def test_R8_reconvened_sitting_deliberates_without_quorum_on_the_failed_agenda_only():
    clock = Clock()
    s = _open_few(_reconvened(4))  # 3 clear days: 20, 21, 22
    events = ok(s, OpenSitting(clock()), PRESIDENT)
    assert events[0].data["quorum"]["waived"] is True and events[0].data["reconvened_after"] == "2026-11-19"
    ok(s, OpenVote(clock(), "pv-precedent"), PRESIDENT)  # on the failed agenda: no quorum needed
    ok(s, CastBallot(clock(), "pv-precedent", "m02", "pour"), councillor("m02"))
    ok(s, CloseVote(clock(), "pv-precedent"), PRESIDENT)
    r = refused(s, OpenVote(clock(), "voirie-programme"), PRESIDENT, "R8")  # not on it: the quorum applies
    assert "3 présents" in r.message
    assert _item(s, "pv-precedent")["votes"][0]["quorum"]["waived"] is True
    html = proces_verbal_html(s)
    assert "Séance convoquée à nouveau après la séance du 19 novembre 2026" in html


def test_R8_reconvened_too_soon_or_without_the_link_keeps_the_quorum():
    clock = Clock()
    refused(_open_few(_reconvened(3)), OpenSitting(clock()), PRESIDENT, "R8")  # 2 clear days only
    with pytest.raises(CompositionError) as err:  # edition 2: a date alone is no link
        dataclasses.replace(demo_config(), reconvened_after="2026-11-19")
    assert err.value.rule == "R8"


def test_R8_the_link_holds_against_the_failed_sittings_journal(tmp_path):
    from deliberation.journal import Journal, generate_key, read_verified
    from deliberation.reconvocation import link_problem, reconvocation_of

    clock, key = Clock(), generate_key()
    s = Seance(demo_council(), dataclasses.replace(demo_config(), id="demo-1"))
    path = tmp_path / "journal.jsonl"
    with Journal.create(path, s, key) as journal:
        for command in demo_agenda(clock()):
            journal.handle(s, command, ADMIN)
        for m in FEW["belcourt"]:
            journal.handle(s, CheckIn(clock(), m, "belcourt"), agent("belcourt"))
        assert reconvocation_of(read_verified(path, key.public_key())) is None  # no failure recorded yet
        journal.handle(s, RecordQuorumFailure(clock()), PRESIDENT)
    entries = read_verified(path, key.public_key())
    rc = reconvocation_of(entries)
    assert rc.sitting_id == "demo-1" and len(rc.items) == len(demo_agenda())
    failure = next(e for e in entries if e.kind == "event" and e.data["event"]["type"] == "QuorumFailed")
    assert rc.line_sha256 == failure.data["hash"]
    new = dataclasses.replace(demo_config(), id="demo-2", reconvened_from=rc)
    assert link_problem(new, entries) is None
    forged = dataclasses.replace(new, reconvened_from=dataclasses.replace(rc, items=rc.items[:2]))
    assert link_problem(forged, entries).startswith("R8")
    assert link_problem(demo_config(), entries).startswith("R8")
    assert SittingConfig.from_dict(new.to_dict()) == new


# -- point 5: R13, the present members who took no part in a vote -------------------------------------------
def test_R13_members_who_took_no_part_are_recorded_with_each_result():
    clock = Clock()
    s = opened(clock)
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir"), agent("vaux"))
    ok(s, DeclareWithdrawal(clock(), "marche-collecte", "m04"), councillor("m04"))
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    for m in ("m01", "m02", "m03", "m05", "m06", "m08", "m10"):
        ok(s, CastBallot(clock(), "marche-collecte", m, "pour"), PRESIDENT if m == "m01" else councillor(m))
    ok(s, CastBallot(clock(), "marche-collecte", "m07", "pour", "m09"), councillor("m07"))
    ok(s, CheckIn(clock(), "m12", "saint-ferreol"), agent("saint-ferreol"))  # arrives once the vote is open
    events = ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)
    assert events[0].data["not_voting"] == [
        {"voter": "m07", "on_behalf_of": None, "reason": "sans_vote"},
        {"voter": "m11", "on_behalf_of": None, "reason": "sans_vote"},
        {"voter": "m12", "on_behalf_of": None, "reason": "arrive_apres_ouverture"},
    ]  # Karim Benali withdrew for a personal interest: listed as such, not here
    article = proces_verbal_html(s).split('id="point-2"')[1].split("</article>")[0]
    assert (
        "N'ont pas pris part au vote : Nathalie Rousseau, Isabelle Morel, "
        "Gérard Lefèvre (arrivé·e après l&#39;ouverture du vote)." in article
    )


def test_R13_at_a_roll_call_those_who_did_not_answer():
    clock = Clock()
    s = opened(clock)
    ok(s, OpenVote(clock(), "marche-collecte", "appel_nominal"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m01", "pour"), SECRETARY)
    events = ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)
    assert len(events[0].data["not_voting"]) == 9
    assert "N'ont pas répondu à l'appel : Jean-Luc Perrin" in proces_verbal_html(s)


# -- point 6: R24, nominations with candidates ---------------------------------------------------------------
def _candidates(s: Seance, clock: Clock, seats: dict[int, list[str]]) -> None:
    for seat, members in seats.items():
        for m in members:
            ok(s, RegisterCandidacy(clock(), NOM, seat, m), PRESIDENT)


def _round(s: Seance, clock: Clock, seat: int, votes: dict[str, str | None]):
    """One round: each voter's candidate (None: a blank ballot)."""
    ok(s, OpenVote(clock(), NOM, seat=seat), PRESIDENT)
    for voter, candidate in votes.items():
        choice = "pour" if candidate else "abstention"
        actor = PRESIDENT if voter == "m01" else councillor(voter)
        ok(s, CastBallot(clock(), NOM, voter, choice, None, candidate), actor)
    return ok(s, CloseVote(clock(), NOM), PRESIDENT)[0]


def test_R24_candidacies_accepted_and_refused():
    clock = Clock()
    s = opened(clock)
    refused(s, RegisterCandidacy(clock(), NOM, 1, "m05"), councillor("m05"), "ROLE")
    ok(s, RegisterCandidacy(clock(), NOM, 1, "m05"), PRESIDENT)
    ok(s, RegisterCandidacy(clock(), NOM, 2, "m14"), PRESIDENT)  # an absent member may stand
    ok(s, RegisterCandidacy(clock(), NOM, 2, "m10"), PRESIDENT)
    refused(s, RegisterCandidacy(clock(), NOM, 2, "m05"), PRESIDENT, "R24")  # one seat per candidate
    refused(s, RegisterCandidacy(clock(), NOM, 2, "s17"), PRESIDENT, "R24")  # a suppléant is not in office
    refused(s, RegisterCandidacy(clock(), NOM, 3, "m06"), PRESIDENT, "UNKNOWN")
    refused(s, RegisterCandidacy(clock(), "marche-collecte", 1, "m06"), PRESIDENT, "R24")
    ok(s, CloseCandidacies(clock(), NOM), PRESIDENT)
    refused(s, RegisterCandidacy(clock(), NOM, 2, "m06"), PRESIDENT, "R24")  # closed


def test_R24_a_single_candidacy_per_seat_takes_effect_at_once_without_a_vote():
    clock = Clock()
    s = opened(clock)
    refused(s, CloseCandidacies(clock(), NOM), PRESIDENT, "R24")  # no candidate yet
    _candidates(s, clock, {1: ["m05"], 2: ["m08"]})
    events = ok(s, CloseCandidacies(clock(), NOM), PRESIDENT)
    assert events[0].data["appointed"] == [{"seat": 1, "member_id": "m05"}, {"seat": 2, "member_id": "m08"}]
    assert _item(s, NOM)["status"] == "voted"  # no public decision needed: no vote is held
    refused(s, OpenVote(clock(), NOM, seat=1), PRESIDENT, "R16")
    html = proces_verbal_html(s)
    assert "Siège 1 : Odile Fournier est nommé·e (candidature unique : nomination immédiate" in html
    assert "nomination : Odile Fournier (siège 1), Thierry Bonnet (siège 2)" in liste_deliberations_html(s)


def test_R24_a_round_needs_closed_candidacies_the_unanimous_public_decision_and_a_seat():
    clock = Clock()
    s = opened(clock)
    _candidates(s, clock, {1: ["m05"], 2: ["m08", "m11"]})
    refused(s, OpenVote(clock(), NOM, seat=2), PRESIDENT, "R24")  # candidacies still open
    ok(s, CloseCandidacies(clock(), NOM), PRESIDENT)
    refused(s, OpenVote(clock(), NOM, seat=2), PRESIDENT, "R15")  # secret unless unanimously decided otherwise
    ok(s, DecideAppointmentBallot(clock(), NOM, True), PRESIDENT)
    refused(s, OpenVote(clock(), NOM), PRESIDENT, "R24")  # which seat?
    refused(s, OpenVote(clock(), NOM, seat=1), PRESIDENT, "R24")  # filled at once
    refused(s, OpenVote(clock(), NOM, amendment_id="am-1", seat=2), PRESIDENT, "R25")
    refused(s, OpenVote(clock(), "marche-collecte", seat=1), PRESIDENT, "R24")
    ok(s, OpenVote(clock(), NOM, seat=2), PRESIDENT)


def test_R24_ballots_name_a_candidate_or_are_blank():
    clock = Clock()
    s = opened(clock)
    _candidates(s, clock, {1: ["m05"], 2: ["m08", "m11"]})
    ok(s, CloseCandidacies(clock(), NOM), PRESIDENT)
    ok(s, DecideAppointmentBallot(clock(), NOM, True), PRESIDENT)
    ok(s, OpenVote(clock(), NOM, seat=2), PRESIDENT)
    refused(s, CastBallot(clock(), NOM, "m02", "contre"), councillor("m02"), "R24")
    refused(s, CastBallot(clock(), NOM, "m02", "pour"), councillor("m02"), "R24")  # for whom?
    refused(s, CastBallot(clock(), NOM, "m02", "pour", None, "m05"), councillor("m02"), "R24")  # not a candidate here
    ok(s, CastBallot(clock(), NOM, "m02", "pour", None, "m11"), councillor("m02"))
    ok(s, CastBallot(clock(), NOM, "m03", "abstention"), councillor("m03"))  # a blank ballot
    ok(s, CastBallot(clock(), NOM, "m04", "nppv"), councillor("m04"))
    s2 = opened(Clock())
    ok(s2, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    refused(s2, CastBallot(clock(), "marche-collecte", "m02", "pour", None, "m05"), councillor("m02"), "R24")


def test_R24_absolute_majority_in_rounds_1_and_2_relative_in_3_oldest_on_a_tie():
    clock = Clock()
    s = opened(clock)  # 10 present: m01-m08, m10, m11
    _candidates(s, clock, {1: ["m05"], 2: ["m08", "m11", "m04"]})
    ok(s, CloseCandidacies(clock(), NOM), PRESIDENT)
    ok(s, DecideAppointmentBallot(clock(), NOM, True), PRESIDENT)
    votes = {"m01": "m08", "m02": "m08", "m03": "m08", "m04": "m04", "m05": "m11", "m06": "m11", "m07": "m11"}
    first = _round(s, clock, 2, {**votes, "m08": "m08", "m10": None})  # 4 of 8 exprimés: not more than half
    assert (first.data["appointed"], first.data["round"], first.data["majority"]) == (None, 1, "absolue")
    assert (
        first.data["counts"]["candidates"] == {"m08": 4, "m11": 3, "m04": 1} and first.data["counts"]["exprimes"] == 8
    )
    second = _round(s, clock, 2, {**votes, "m04": "m11", "m08": "m08"})  # 4 against 4
    assert second.data["appointed"] is None
    third = _round(s, clock, 2, {**votes, "m04": "m11", "m08": "m08"})
    assert (third.data["appointed"], third.data["majority"], third.data["tie_broken_by_age"]) == (
        "m08",
        "relative",
        True,
    )
    assert _item(s, NOM)["status"] == "voted"  # both seats filled
    refused(s, OpenVote(clock(), NOM, seat=2), PRESIDENT, "R16")
    article = proces_verbal_html(s).split('id="point-5"')[1].split("</article>")[0]
    assert "Est nommé·e : Thierry Bonnet (égalité de voix : au bénéfice de l&#39;âge, L.2121-21)." in article


def test_R24_absolute_majority_in_the_first_round_appoints():
    clock = Clock()
    s = opened(clock)
    _candidates(s, clock, {1: ["m05", "m06"], 2: ["m08", "m11"]})
    ok(s, CloseCandidacies(clock(), NOM), PRESIDENT)
    ok(s, DecideAppointmentBallot(clock(), NOM, True), PRESIDENT)
    ev = _round(s, clock, 1, {"m01": "m05", "m02": "m05", "m03": "m06", "m04": None})  # 2 of 3 exprimés
    assert ev.data["appointed"] == "m05" and _item(s, NOM)["status"] == "pending"  # seat 2 still to fill
    assert _item(s, NOM)["seats"][0]["how"] == "majorite_absolue"


def test_R24_round_results_by_the_pure_function():
    born = {"a": "1960-01-01", "b": "1970-01-01", "c": "1950-01-01"}
    assert round_result(1, {"a": 3, "b": 2}, born).appointed == "a"
    assert round_result(2, {"a": 2, "b": 2}, born).appointed is None
    assert round_result(3, {"a": 2, "b": 2, "c": 1}, born).appointed == "a"  # the older of the two tied
    assert round_result(3, {"a": 1, "b": 2}, born).tie_broken_by_age is False
    assert round_result(3, {"a": 0, "b": 0}, born).appointed is None  # no suffrage exprimé: nobody


def test_R24_candidates_birth_dates_must_be_known_to_open_a_round():
    clock = Clock()
    council = demo_council()
    undated = dataclasses.replace(
        council, members=tuple(dataclasses.replace(m, birth_date=None) if m.id == "m11" else m for m in council.members)
    )
    s = Seance(undated, demo_config())
    for command in demo_agenda(clock()):
        ok(s, command, ADMIN)
    opened(clock, seance=s)
    _candidates(s, clock, {1: ["m05"], 2: ["m08", "m11"]})
    ok(s, CloseCandidacies(clock(), NOM), PRESIDENT)
    ok(s, DecideAppointmentBallot(clock(), NOM, True), PRESIDENT)
    r = refused(s, OpenVote(clock(), NOM, seat=2), PRESIDENT, "R24")
    assert "Isabelle Morel" in r.message


# -- point 7: R25, amendments voted before their motion -----------------------------------------------------
def test_R25_an_amendment_is_voted_before_the_motion_and_each_vote_is_kept_in_order():
    clock = Clock()
    s = opened(clock)
    refused(s, ProposeAmendment(clock(), DM, "am-1", "Texte", "m12"), PRESIDENT, "R25")  # m12 is absent
    refused(s, ProposeAmendment(clock(), NOM, "am-1", "Texte", "m06"), PRESIDENT, "R25")  # a nomination
    ok(s, ProposeAmendment(clock(), DM, "am-1", "Réduire la ligne 6232.", "m06"), PRESIDENT)
    refused(s, ProposeAmendment(clock(), DM, "am-1", "Encore", "m06"), PRESIDENT, "SCHEMA")
    ok(s, ProposeAmendment(clock(), DM, "am-2", "Supprimer l'article 3.", "m07"), PRESIDENT)
    r = refused(s, OpenVote(clock(), DM), PRESIDENT, "R25")
    assert "am-1" in r.message
    ok(s, OpenVote(clock(), DM, amendment_id="am-1"), PRESIDENT)
    ok(s, CastBallot(clock(), DM, "m06", "pour"), councillor("m06"))
    events = ok(s, CloseVote(clock(), DM), PRESIDENT)
    assert events[0].data["amendment_id"] == "am-1" and events[0].data["adopted"] is True
    ok(s, WithdrawAmendment(clock(), DM, "am-2"), PRESIDENT)
    refused(s, OpenVote(clock(), DM, amendment_id="am-2"), PRESIDENT, "R25")
    ok(s, OpenVote(clock(), DM), PRESIDENT)
    ok(s, CastBallot(clock(), DM, "m02", "contre"), councillor("m02"))
    ok(s, CloseVote(clock(), DM), PRESIDENT)
    item = _item(s, DM)
    assert [(v["subject"], v["amendment_id"]) for v in item["votes"]] == [("amendment", "am-1"), ("motion", None)]
    assert item["status"] == "voted" and [a["status"] for a in item["amendments"]] == ["adopted", "withdrawn"]
    refused(s, ProposeAmendment(clock(), DM, "am-3", "Trop tard", "m06"), PRESIDENT, "R25")
    assert "« am-2 », de Nathalie Rousseau : Supprimer l&#39;article 3. — retiré." in proces_verbal_html(s)


# -- point 8: R25, withdrawing an item during the sitting -----------------------------------------------------
def test_R25_the_president_withdraws_an_item_during_the_sitting():
    clock = Clock()
    refused(demo_seance(), WithdrawItem(clock(), "voirie-programme"), PRESIDENT, "R25")  # before the opening
    s = opened(clock)
    refused(s, WithdrawItem(clock(), "voirie-programme"), councillor("m02"), "ROLE")
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    refused(s, WithdrawItem(clock(), "marche-collecte"), PRESIDENT, "R16")  # a vote is open on it
    ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)
    refused(s, WithdrawItem(clock(), "marche-collecte"), PRESIDENT, "R25")  # voted
    ok(s, TakeUpItem(clock(), "voirie-programme"), PRESIDENT)
    events = ok(s, WithdrawItem(clock(), "voirie-programme", "étude en cours"), PRESIDENT)
    assert events[0].type == "ItemWithdrawn" and s.state.current_item is None
    refused(s, WithdrawItem(clock(), "voirie-programme"), PRESIDENT, "R25")
    refused(s, OpenVote(clock(), "voirie-programme"), PRESIDENT, "R25")
    refused(s, TakeUpItem(clock(), "voirie-programme"), PRESIDENT, "R16")
    closing = ok(s, CloseSitting(clock()), PRESIDENT)
    assert "voirie-programme" not in closing[0].data["pending_items"]
    assert "retiré" in liste_deliberations_html(s).split("Programme de voirie")[1].split("</tr>")[0]
    assert "Point retiré de l'ordre du jour par le président" in proces_verbal_html(s)


def test_R25_a_nomination_whose_appointment_took_effect_is_not_withdrawn():
    clock = Clock()
    s = opened(clock)
    _candidates(s, clock, {1: ["m05"], 2: ["m08", "m11"]})
    ok(s, CloseCandidacies(clock(), NOM), PRESIDENT)
    refused(s, WithdrawItem(clock(), NOM), PRESIDENT, "R25")
