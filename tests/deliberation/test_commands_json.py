"""Commands: JSON round-trip and validation (bad fields refused, naming the field)."""

from __future__ import annotations

import json

import pytest

from deliberation.commands import (
    COMMAND_TYPES,
    AddAgendaItem,
    CastBallot,
    CheckIn,
    OpenVote,
    ProposeAmendment,
    RecordProxy,
    command_from_dict,
)
from deliberation.refusal import Refusal
from tests.deliberation.delib_support import PRESIDENT, Clock, opened, refused

SAMPLES = [
    CheckIn("2026-11-26T18:00:00+01:00", "m01", "belcourt"),
    RecordProxy("2026-11-26T18:00:00+01:00", "m09", "m07", "pouvoir.pdf", 2, False),
    CastBallot("2026-11-26T18:00:00+01:00", "marche-collecte", "m07", "nppv", "m09"),
    CastBallot("2026-11-26T18:00:00+01:00", "commission-environnement", "m07", "pour", None, "m08"),
    AddAgendaItem(
        "2026-11-26T18:00:00+01:00", "cm", "Commission", "nomination", "5.2", "commission", "Commission mobilités", 3
    ),
    OpenVote("2026-11-26T18:00:00+01:00", "commission-environnement", "appel_nominal", seat=2),
    ProposeAmendment("2026-11-26T18:00:00+01:00", "dm-budget-2026", "am-1", "Réduire la ligne 6232.", "m06"),
]


@pytest.mark.parametrize("command", SAMPLES, ids=lambda c: c.type)
def test_command_json_round_trip(command):
    wire = json.loads(json.dumps(command.to_dict()))
    assert command_from_dict(wire) == command


def test_every_command_type_round_trips_with_minimal_fields():
    import dataclasses

    for name, cls in COMMAND_TYPES.items():
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                continue
            kwargs[f.name] = {"at": "2026-11-26T18:00:00+01:00"}.get(
                f.name, True if f.type == "bool" else 1 if f.type == "int" else "x1"
            )
        if name in ("RecordRecordingDigest", "LinkMinutes", "PresentAnnex"):
            kwargs["sha256"] = "0" * 64
        if name == "RecordMinutesSigned":
            kwargs["pdf_sha256"] = "0" * 64
        if name == "CastBallot":
            kwargs["choice"] = "pour"
        cmd = cls(**kwargs)
        assert cmd.validate() is None, (name, cmd.validate())
        assert command_from_dict(json.loads(json.dumps(cmd.to_dict()))) == cmd


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "CheckIn", "at": "2026-11-26T18:00:00+01:00", "member_id": "m01"}, "salle_id"),
        ({"type": "CheckIn", "at": "hier", "member_id": "m01", "salle_id": "vaux"}, "at"),
        ({"type": "CheckIn", "at": "2026-11-26T18:00:00", "member_id": "m01", "salle_id": "vaux"}, "at"),
        ({"type": "CheckIn", "at": "2026-11-26T18:00:00+01:00", "member_id": 3, "salle_id": "vaux"}, "member_id"),
        ({"type": "CheckIn", "at": "2026-11-26T18:00:00+01:00", "member_id": "m 1", "salle_id": "vaux"}, "member_id"),
        ({"type": "CheckIn", "at": "2026-11-26T18:00:00+01:00", "member_id": "m01", "salle_id": "vaux", "x": 1}, "x"),
        ({"type": "Teleport", "at": "2026-11-26T18:00:00+01:00"}, "type"),
        (
            {
                "type": "CastBallot",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "voter_id": "m1",
                "choice": "oui",
            },
            "choice",
        ),
        (
            {
                "type": "RecordProxy",
                "at": "2026-11-26T18:00:00+01:00",
                "giver_id": "a",
                "holder_id": "b",
                "document_ref": "d",
                "consecutive_sittings": True,
            },
            "consecutive_sittings",
        ),
        (
            {
                "type": "ReportTransmission",
                "at": "2026-11-26T18:00:00+01:00",
                "salle_id": "vaux",
                "transmitting": "yes",
            },
            "transmitting",
        ),
        ({"type": "OpenVote", "at": "2026-11-26T18:00:00+01:00", "item_id": "a", "method": "main levée"}, "method"),
        (
            {
                "type": "AddAgendaItem",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "title": "t",
                "matiere_code": "99.9",
            },
            "matiere_code",
        ),
        (
            {
                "type": "AddAgendaItem",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "title": "t",
                "kind": "decision_modificative",
                "matiere_code": "5.2",
            },
            "matiere_code",
        ),
        (
            {
                "type": "AddAgendaItem",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "title": "t",
                "kind": "nomination",
                "body": "conseil_administration",
                "body_name": "x",
            },
            "body",
        ),
        (
            {
                "type": "AddAgendaItem",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "title": "t",
                "body": "commission",
                "body_name": "Commission",
            },
            "body",
        ),
        (
            {
                "type": "AddAgendaItem",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "title": "t",
                "kind": "nomination",
                "body": "commission",
                "body_name": " ",
            },
            "body_name",
        ),
        (
            {
                "type": "AddAgendaItem",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "title": "t",
                "kind": "nomination",
                "body": "commission",
                "body_name": "C",
                "seats": 0,
            },
            "seats",
        ),
        (
            {
                "type": "CastBallot",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "voter_id": "m1",
                "choice": "contre",
                "candidate_id": "m2",
            },
            "choice",
        ),
        ({"type": "OpenVote", "at": "2026-11-26T18:00:00+01:00", "item_id": "a", "seat": "2"}, "seat"),
        (
            {
                "type": "ProposeAmendment",
                "at": "2026-11-26T18:00:00+01:00",
                "item_id": "a",
                "amendment_id": "b",
                "text": "",
                "author_id": "m1",
            },
            "text",
        ),
    ],
)
def test_bad_fields_give_a_refusal_naming_the_field(payload, field):
    result = command_from_dict(payload)
    assert isinstance(result, Refusal)
    assert result.rule == "SCHEMA" and result.field == field


def test_not_an_object_refused():
    assert isinstance(command_from_dict([1, 2]), Refusal)


def test_invalid_command_built_in_python_refused_by_core_with_state_unchanged():
    clock = Clock()
    s = opened(clock)
    refused(s, CastBallot(clock(), "marche-collecte", "m02", "peut-être"), PRESIDENT, "SCHEMA")
