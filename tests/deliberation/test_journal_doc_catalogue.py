"""docs/journal.md lists every command and every event type the core knows (issue 13)."""

from __future__ import annotations

from pathlib import Path

from deliberation.commands import COMMAND_TYPES
from deliberation.events import EVENT_TYPES

DOC = Path(__file__).resolve().parents[2] / "docs" / "journal.md"


def test_R21_every_command_and_event_type_is_documented():
    text = DOC.read_text(encoding="utf-8")
    catalogue = text.split("### Commands and events, by kind")[1].split("### Rules editions")[0]
    missing = [name for name in (*COMMAND_TYPES, *sorted(EVENT_TYPES)) if f"`{name}`" not in catalogue]
    assert not missing, f"undocumented in docs/journal.md: {missing}"
