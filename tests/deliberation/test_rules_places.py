"""R1, R4, R9, R10: places, agents, proxies, suppléants, secretary."""

from __future__ import annotations

import dataclasses

from deliberation.commands import (
    AppointSecretary,
    CheckIn,
    CheckOut,
    DeclareSuppleance,
    RecordProxy,
    RevokeProxy,
)
from deliberation.council import Salle
from deliberation.demo import demo_council, demo_seance
from deliberation.seance import Seance
from tests.deliberation.delib_support import PRESIDENT, Clock, agent, checked_in, councillor, ok, opened, refused


def test_R1_check_in_in_designated_salle_counts_member_present():
    clock = Clock()
    s = demo_seance()
    ok(s, CheckIn(clock(), "m06", "vaux"), agent("vaux"))
    assert s.state.presence == {"m06": "vaux"}
    assert s.quorum().present == 1


def test_R1_check_in_refused_in_salle_without_designation():
    clock = Clock()
    council = demo_council()
    home = Salle("domicile", "Domicile de M. Bonnet", "vaux", "—", designation=None)
    council = dataclasses.replace(
        council,
        salles=council.salles + (home,),
        agents=council.agents + (dataclasses.replace(council.agents[0], id="a-domicile", salle_id="domicile"),),
    )
    s = Seance(council, demo_seance().config)
    r = refused(s, CheckIn(clock(), "m08", "domicile"), agent("domicile"), "R1")
    assert r.field == "salle_id"
    assert "désignée" in r.message


def test_R4_only_the_salle_agent_checks_in_and_out():
    clock = Clock()
    s = demo_seance()
    refused(s, CheckIn(clock(), "m06", "vaux"), agent("belcourt"), "R4")
    refused(s, CheckIn(clock(), "m06", "vaux"), PRESIDENT, "R4")
    refused(s, CheckIn(clock(), "m06", "vaux"), councillor("m06"), "R4")
    ok(s, CheckIn(clock(), "m06", "vaux"), agent("vaux"))
    refused(s, CheckOut(clock(), "m06", "vaux"), agent("saint-ferreol"), "R4")
    ok(s, CheckOut(clock(), "m06", "vaux"), agent("vaux"))
    assert s.state.presence == {}
    assert s.state.attendance[0]["out"] is not None


def test_R4_agent_cannot_claim_another_salle():
    clock = Clock()
    s = demo_seance()
    forged = dataclasses.replace(agent("belcourt"), salle_id="vaux")  # agent a-belcourt posted in belcourt
    refused(s, CheckIn(clock(), "m06", "vaux"), forged, "R4")


def test_R4_double_check_in_and_check_out_of_absent_refused():
    clock = Clock()
    s = demo_seance()
    ok(s, CheckIn(clock(), "m06", "vaux"), agent("vaux"))
    refused(s, CheckIn(clock(), "m06", "belcourt"), agent("belcourt"), "R4")
    refused(s, CheckOut(clock(), "m07", "vaux"), agent("vaux"), "R4")


def _proxy(clock, giver="m09", holder="m07", **kw):
    return RecordProxy(clock(), giver, holder, kw.pop("document_ref", "pouvoir-2026-11-m09.pdf"), **kw)


def test_R9_proxy_recorded_by_holder_salle_agent():
    clock = Clock()
    s = checked_in(clock)
    ok(s, _proxy(clock), agent("vaux"))
    assert s.state.proxies["m09"]["holder"] == "m07"
    assert s.state.holder_proxy("m07")["giver"] == "m09"


def test_R9_proxy_refused_from_wrong_salle_agent():
    clock = Clock()
    s = checked_in(clock)
    refused(s, _proxy(clock), agent("belcourt"), "R4")


def test_R9_present_councillor_cannot_give_a_proxy():
    clock = Clock()
    s = checked_in(clock)
    refused(s, _proxy(clock, giver="m06"), agent("vaux"), "R9")


def test_R9_holder_must_be_present():
    clock = Clock()
    s = checked_in(clock)
    refused(s, _proxy(clock, holder="m12"), agent("saint-ferreol"), "R9")


def test_R9_one_proxy_per_holder_and_per_giver():
    clock = Clock()
    s = checked_in(clock)
    ok(s, _proxy(clock), agent("vaux"))
    refused(s, _proxy(clock, giver="m12"), agent("vaux"), "R9")  # m07 already holds one
    refused(s, _proxy(clock, holder="m08"), agent("vaux"), "R9")  # m09 already gave one
    ok(s, _proxy(clock, giver="m12", holder="m08"), agent("vaux"))


def test_R9_written_document_reference_required():
    clock = Clock()
    s = checked_in(clock)
    r = refused(s, _proxy(clock, document_ref="  "), agent("vaux"), "R9")
    assert r.field == "document_ref"


def test_R9_three_consecutive_sittings_at_most_unless_illness():
    clock = Clock()
    s = checked_in(clock)
    ok(s, _proxy(clock, consecutive_sittings=3), agent("vaux"))
    ok(s, RevokeProxy(clock(), "m09"), agent("vaux"))
    refused(s, _proxy(clock, consecutive_sittings=4), agent("vaux"), "R9")
    ok(s, _proxy(clock, consecutive_sittings=4, illness_certified=True), agent("vaux"))


def test_R9_proxy_ends_when_giver_checks_in():
    clock = Clock()
    s = checked_in(clock)
    ok(s, _proxy(clock), agent("vaux"))
    events = ok(s, CheckIn(clock(), "m09", "vaux"), agent("vaux"))
    assert [e.type for e in events] == ["CheckedIn", "ProxyEnded"]
    assert events[1].data["reason"] == "giver_arrived"
    assert "m09" not in s.state.proxies
    assert s.state.proxy_log[-1]["ended_reason"] == "giver_arrived"


def test_R9_proxy_revocable_and_revocation_of_nothing_refused():
    clock = Clock()
    s = checked_in(clock)
    ok(s, _proxy(clock), agent("vaux"))
    refused(s, RevokeProxy(clock(), "m09"), agent("belcourt"), "R4")
    ok(s, RevokeProxy(clock(), "m09"), PRESIDENT)
    refused(s, RevokeProxy(clock(), "m09"), PRESIDENT, "R9")


def test_R9_suppleant_sits_only_after_titulaire_informed_president():
    clock = Clock()
    s = checked_in(clock)
    refused(s, CheckIn(clock(), "s17", "belcourt"), agent("belcourt"), "R9")
    ok(s, DeclareSuppleance(clock(), "m17", "courriel du 20/11/2026"), PRESIDENT)
    before = s.quorum().present
    ok(s, CheckIn(clock(), "s17", "belcourt"), agent("belcourt"))
    assert s.quorum().present == before + 1  # the suppléant occupies the titulaire's seat
    refused(s, CheckIn(clock(), "m17", "belcourt"), agent("belcourt"), "R9")
    refused(s, _proxy(clock, giver="m17", holder="m02"), agent("belcourt"), "R9")


def test_R9_suppleance_refused_for_commune_with_several_councillors():
    clock = Clock()
    s = checked_in(clock)
    refused(s, DeclareSuppleance(clock(), "m12", "courrier"), PRESIDENT, "R9")


def test_R10_secretary_appointed_among_present_members():
    clock = Clock()
    s = checked_in(clock)
    refused(s, AppointSecretary(clock(), "m12"), PRESIDENT, "R10")  # absent
    refused(s, AppointSecretary(clock(), "m03"), councillor("m03"), "ROLE")
    ok(s, AppointSecretary(clock(), "m03"), PRESIDENT)
    assert s.state.secretary == "m03"


def test_R10_secretary_can_be_replaced_after_opening():
    clock = Clock()
    s = opened(clock)
    ok(s, AppointSecretary(clock(), "m04"), PRESIDENT)
    assert s.state.secretary == "m04"
