"""Issue 14 point 4: the state's records and the events are typed, so that the type checker
(mypy strict, run by ``make test``) refuses a misspelt status, an unknown key of a record
and an event built without one of its fields, as it does for commands."""

from __future__ import annotations

from pathlib import Path

from mypy import api

WRONG = """
from deliberation.events import CheckedIn
from deliberation.records import Item


def f(item: Item) -> None:
    item["status"] = "vote"
    item["statut"] = "voted"
    item["votes"][0]["result"] = {"adopte": True}


CheckedIn("2026-11-26T18:00:00+01:00", member_id="m01")
"""


def test_the_type_checker_refuses_a_wrong_status_key_or_event(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(WRONG, encoding="utf-8")
    out, _err, code = api.run(
        ["--strict", "--follow-imports", "silent", "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    )
    assert code == 1, out
    assert 'Value of "status" has incompatible type "Literal[\'vote\']"' in out, out
    assert 'TypedDict "Item" has no key "statut"' in out, out
    assert 'Value of "result" has incompatible type' in out, out
    assert 'Missing named argument "salle_id" for "CheckedIn"' in out, out
