"""The message registry, the role table and docs/protocol.md agree (T2, T3)."""

from __future__ import annotations

from pathlib import Path

from deliberation.commands import COMMAND_TYPES
from signaling.handlers import HANDLERS
from signaling.protocol import CLIENT_MESSAGES
from signaling.roles import (
    COMMAND_PERMISSIONS,
    PERMISSIONS,
    Role,
    allowed,
    command_allowed,
    render_commands_markdown,
    render_markdown,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_every_message_type_has_a_handler_and_a_row_in_the_role_table():
    assert set(CLIENT_MESSAGES) == set(HANDLERS.entries) == set(PERMISSIONS)


def test_public_and_kiosk_can_only_do_media():
    """T2/T3: a viewer or a kiosk cannot mute, pin or switch a salle to audio only; a
    kiosk reports what it receives (R7, R17, R3), the public does not."""
    media = {"hello", "ping", "join", "offer", "leave"}
    assert {t for t in PERMISSIONS if allowed(Role.PUBLIC, t)} == media
    assert {t for t in PERMISSIONS if allowed(Role.KIOSK, t)} == media | {"reception"}


def test_human_rights_are_narrow():
    assert {r for r in Role if allowed(r, "mute")} == {Role.MODERATOR, Role.PRESIDENT}
    assert {r for r in Role if allowed(r, "pin")} == {Role.PRESIDENT}
    assert {r for r in Role if allowed(r, "audio_only")} == {Role.AGENT}


def test_docs_protocol_shows_the_role_table_from_code():
    assert render_markdown() in DOC.read_text(encoding="utf-8"), "regenerate the table in docs/protocol.md"


def test_every_deliberation_command_has_one_row_in_the_command_table():
    assert set(COMMAND_PERMISSIONS) == set(COMMAND_TYPES)


def test_public_kiosk_auditor_and_admin_send_no_command_on_a_sitting():
    for role in (Role.PUBLIC, Role.KIOSK, Role.AUDITOR, Role.ADMIN):
        assert not allowed(role, "command")
        assert not any(command_allowed(role, c) for c in COMMAND_TYPES)


def test_media_measures_come_from_the_server_only():
    for ctype in ("ReportTransmission", "ReportPublicStream", "RecordRecordingDigest"):
        assert COMMAND_PERMISSIONS[ctype] == frozenset()


def test_every_role_that_may_send_command_has_some_command():
    for role in PERMISSIONS["command"]:
        assert any(command_allowed(role, c) for c in COMMAND_TYPES), role


def test_docs_protocol_shows_the_command_table_from_code():
    assert render_commands_markdown() in DOC.read_text(encoding="utf-8"), (
        "regenerate the command table in docs/protocol.md"
    )
