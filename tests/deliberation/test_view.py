"""The sitting view (deliberation.view): exactly the contract's keys; choices hidden until proclaimed."""

from __future__ import annotations

import json

from deliberation.commands import (
    CastBallot,
    CheckIn,
    CheckOut,
    CloseVote,
    GrantFloor,
    OpenVote,
    RecordProxy,
    ReportTransmission,
    RequestFloor,
    RequestSecretBallot,
    TakeUpItem,
)
from deliberation.demo import demo_seance
from deliberation.view import ITEM_STATUSES, sitting_view
from tests.deliberation.delib_support import PRESIDENT, SYSTEM, Clock, agent, checked_in, councillor, ok, opened

TOP_KEYS = {
    "id",
    "title",
    "council",
    "scheduled_at",
    "status",
    "proxies_ended",
    "teleconference",
    "sensitive",
    "public_stream_up",
    "president",
    "secretary",
    "salles",
    "members",
    "quorum",
    "opening",
    "agenda",
    "current_item",
    "vote",
    "floor",
    "presentation",
    "journal",
}


def test_view_has_exactly_the_contract_keys_and_is_plain_json():
    view = sitting_view(demo_seance())
    assert set(view) == TOP_KEYS
    assert json.loads(json.dumps(view)) == view
    assert (
        view["id"] == "demo"
        and view["status"] == "convened"
        and view["president"] == {"id": "m01", "name": "Hélène Marchand"}
    )
    assert view["secretary"] is None and view["vote"] is None and view["current_item"] is None
    assert set(view["salles"][0]) == {"id", "name", "agent", "transmitting", "audio_only", "present", "left"}
    assert set(view["members"][0]) == {
        "id",
        "name",
        "civility",
        "commune",
        "function",
        "present",
        "salle",
        "proxy_to",
        "proxy_from",
        "suppleant_of",
        "suppleant",
        "suppleance",
    }
    assert set(view["quorum"]) == {"present", "in_office", "required", "reached", "waived"}
    assert set(view["agenda"][0]) == {
        "id",
        "title",
        "kind",
        "status",
        "secret_requests",
        "result",
        "amendable",
        "public_appointment",
        "body",
        "candidacies_closed",
        "seats",
        "amendments",
        "votes",
        "withdrawn",
    }
    assert view["floor"] == {"speaker": None, "queue": []}
    assert view["journal"] == {"lines": None, "head": None, "signed_checkpoints": None, "signed_head": None}


def test_opening_blockers_name_each_failing_rule_R7_R2_R8_R10():
    view = sitting_view(demo_seance())
    assert view["opening"]["ready"] is False
    assert {b["rule"] for b in view["opening"]["blockers"]} == {"R7", "R2", "R8", "R10"}
    clock = Clock()
    s = checked_in(clock, transmit=False)
    rules = {b["rule"] for b in sitting_view(s)["opening"]["blockers"]}
    assert "R7" in rules and "R8" not in rules


def test_opening_ready_when_every_condition_holds_and_not_once_opened():
    from deliberation.commands import AppointSecretary, ReportPublicStream

    clock = Clock()
    s = checked_in(clock)
    ok(s, ReportPublicStream(clock(), True), SYSTEM)
    ok(s, AppointSecretary(clock(), "m03"), PRESIDENT)
    assert sitting_view(s)["opening"] == {"ready": True, "blockers": []}
    s = opened(Clock())
    view = sitting_view(s)
    assert view["opening"]["ready"] is False and view["status"] == "opened"
    assert view["secretary"] == {"id": "m03", "name": "Sophie Garnier"}


def test_presence_per_salle_quorum_and_proxies():
    clock = Clock()
    s = opened(clock)
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir-m09.pdf"), agent("vaux"))
    view = sitting_view(s)
    vaux = next(x for x in view["salles"] if x["id"] == "vaux")
    assert [p["id"] for p in vaux["present"]] == ["m06", "m07", "m08"] and vaux["present"][0]["since"]
    assert vaux["agent"] == "Julien Robin" and vaux["transmitting"] is True
    members = {m["id"]: m for m in view["members"]}
    assert members["m09"]["proxy_to"] == "m07" and members["m07"]["proxy_from"] == "m09"
    assert members["m07"]["present"] and members["m07"]["salle"] == "vaux" and not members["m09"]["present"]
    assert view["quorum"] == {"present": 10, "in_office": 17, "required": 9, "reached": True, "waived": False}


def test_R9_a_proxy_ended_by_its_giver_s_arrival_is_in_the_view_for_the_holder_and_the_agents():
    clock = Clock()
    s = opened(clock)
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir-m09.pdf"), agent("vaux"))
    assert sitting_view(s)["proxies_ended"] == []
    arrived = ok(s, CheckIn(clock(), "m09", "saint-ferreol"), agent("saint-ferreol"))
    ended_at = next(e.at for e in arrived if e.type == "ProxyEnded")
    assert sitting_view(s)["proxies_ended"] == [
        {
            "giver": "m09",
            "giver_name": "Claire Dubois",
            "holder": "m07",
            "holder_name": "Nathalie Rousseau",
            "at": ended_at,
            "reason": "giver_arrived",
            "giver_salle": "saint-ferreol",
            "holder_salle": "vaux",
        }
    ]


def test_open_vote_shows_who_cast_but_never_the_choice_R13():
    clock = Clock()
    s = opened(clock)
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir-m09.pdf"), agent("vaux"))
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m07", "contre", "m09"), councillor("m07"))
    view = sitting_view(s)
    vote = view["vote"]
    assert vote["item_id"] == "marche-collecte" and vote["method"] == "electronique" and vote["frozen"] is False
    assert vote["electorate_count"] == 11 and vote["cast_count"] == 1
    cast = [e for e in vote["electorate"] if e["cast"]]
    assert cast == [
        {
            "voter": "m07",
            "voter_name": "Nathalie Rousseau",
            "on_behalf_of": "m09",
            "on_behalf_of_name": "Claire Dubois",
            "cast": True,
        }
    ]
    assert "contre" not in json.dumps(view)
    item = next(i for i in view["agenda"] if i["id"] == "marche-collecte")
    assert item["status"] == "voting" and item["result"] is None


def test_result_is_nominative_once_proclaimed_R13_R14():
    clock = Clock()
    s = opened(clock)
    ok(s, RecordProxy(clock(), "m09", "m07", "pouvoir-m09.pdf"), agent("vaux"))
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m07", "pour", "m09"), councillor("m07"))
    ok(s, CastBallot(clock(), "marche-collecte", "m06", "contre"), councillor("m06"))
    ok(s, CastBallot(clock(), "marche-collecte", "m01", "pour"), PRESIDENT)
    ok(s, CastBallot(clock(), "marche-collecte", "m02", "abstention"), councillor("m02"))
    ok(s, CloseVote(clock(), "marche-collecte"), PRESIDENT)
    view = sitting_view(s)
    assert view["vote"] is None
    item = next(i for i in view["agenda"] if i["id"] == "marche-collecte")
    assert item["status"] == "adopted"
    r = item["result"]
    assert (r["pour"], r["contre"], r["abstention"], r["nppv"], r["exprimes"], r["adopted"], r["casting_vote"]) == (
        2,
        1,
        1,
        0,
        3,
        True,
        False,
    )
    assert {
        "voter": "m07",
        "voter_name": "Nathalie Rousseau",
        "on_behalf_of": "m09",
        "on_behalf_of_name": "Claire Dubois",
        "choice": "pour",
        "candidate": None,
        "candidate_name": None,
    } in r["ballots"]
    # R13: those present who took no part, by name (the electorate's slots without a ballot)
    assert [(n["voter_name"], n["reason"]) for n in r["not_voting"]] == [
        ("Sophie Garnier", "sans_vote"),
        ("Karim Benali", "sans_vote"),
        ("Odile Fournier", "sans_vote"),
        ("Nathalie Rousseau", "sans_vote"),
        ("Thierry Bonnet", "sans_vote"),
        ("Marc Chevalier", "sans_vote"),
        ("Isabelle Morel", "sans_vote"),
    ]
    assert item["votes"][0]["subject"] == "motion" and item["votes"][0]["not_voting"] == r["not_voting"]


def test_item_statuses_current_postponed_and_frozen_vote_R15_R17():
    clock = Clock()
    s = opened(clock)
    ok(s, TakeUpItem(clock(), "pv-precedent"), PRESIDENT)
    assert next(i for i in sitting_view(s)["agenda"] if i["id"] == "pv-precedent")["status"] == "current"
    for m in ("m02", "m03", "m04", "m05"):
        ok(s, RequestSecretBallot(clock(), "fonds-concours-vaux", m), councillor(m))
    item = next(i for i in sitting_view(s)["agenda"] if i["id"] == "fonds-concours-vaux")
    assert item["status"] == "postponed" and item["secret_requests"] == ["m02", "m03", "m04", "m05"]
    ok(s, OpenVote(clock(), "marche-collecte"), PRESIDENT)
    ok(s, ReportTransmission(clock(), "vaux", False), SYSTEM)
    view = sitting_view(s)
    assert view["status"] == "suspended" and view["vote"]["frozen"] is True
    assert {i["status"] for i in view["agenda"]} <= set(ITEM_STATUSES)


def test_floor_speaker_and_queue_with_names():
    clock = Clock()
    s = opened(clock)
    ok(s, RequestFloor(clock(), "m07"), councillor("m07"))
    ok(s, RequestFloor(clock(), "m10"), councillor("m10"))
    granted = ok(s, GrantFloor(clock(), "m07"), PRESIDENT)[0].at
    floor = sitting_view(s)["floor"]
    assert floor["speaker"] == {
        "id": "m07",
        "name": "Nathalie Rousseau",
        "salle": "vaux",
        "salle_name": "Vaux-sur-Ance — salle des fêtes",
        "since": granted,
    }
    # the chair sees which salle asks (issue 15, point 2)
    assert [(q["id"], q["name"], q["salle"]) for q in floor["queue"]] == [("m10", "Marc Chevalier", "saint-ferreol")]
    assert floor["queue"][0]["salle_name"].startswith("Saint-Ferréol") and floor["queue"][0]["since"]


def test_journal_fields_come_from_the_caller():
    head = {"seq": 9, "hash": "cd" * 32, "signature": "c2ln"}
    view = sitting_view(demo_seance(), {"lines": 9, "head": "ab" * 32, "signed_checkpoints": 1, "signed_head": head})
    assert view["journal"] == {"lines": 9, "head": "ab" * 32, "signed_checkpoints": 1, "signed_head": head}


def test_R4_departures_stay_in_the_salle_register_with_both_times():
    clock = Clock()
    s = opened(clock)
    ok(s, CheckOut(clock(), "m08", "vaux"), agent("vaux"))
    ok(s, CheckIn(clock(), "m08", "vaux"), agent("vaux"))
    ok(s, CheckOut(clock(), "m08", "vaux"), agent("vaux"))
    vaux = next(x for x in sitting_view(s)["salles"] if x["id"] == "vaux")
    assert [p["id"] for p in vaux["present"]] == ["m06", "m07"]
    spans = [d for d in vaux["left"] if d["id"] == "m08"]
    assert len(spans) == 2 and all(d["in"] < d["out"] for d in spans) and spans[0]["out"] < spans[1]["in"]
    assert spans[0]["name"] == "Thierry Bonnet"
    belcourt = next(x for x in sitting_view(s)["salles"] if x["id"] == "belcourt")
    assert belcourt["left"] == []


def test_suppleance_in_the_view_L5211_6_R9():
    """The titulaire shows their suppléant and, once recorded, the reference of their
    information of the president; the suppléant shows whom they replace."""
    from deliberation.commands import DeclareSuppleance

    clock = Clock()
    s = opened(clock)
    members = {m["id"]: m for m in sitting_view(s)["members"]}
    assert members["m17"]["suppleant"] == "s17" and members["m17"]["suppleance"] is None
    assert members["s17"]["suppleant_of"] == "m17" and members["s17"]["suppleant"] is None
    assert members["m08"]["suppleant"] is None and members["m08"]["suppleant_of"] is None
    ok(s, DeclareSuppleance(clock(), "m17", "courriel du 24/11/2026"), PRESIDENT)
    ok(s, CheckIn(clock(), "s17", "belcourt"), agent("belcourt"))
    members = {m["id"]: m for m in sitting_view(s)["members"]}
    assert members["m17"]["suppleance"] == "courriel du 24/11/2026" and not members["m17"]["present"]
    assert members["s17"]["present"] and members["s17"]["salle"] == "belcourt"
