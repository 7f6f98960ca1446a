"""The item's documents on screen (issue 15 point 8): an annex of the current item shown on the
displays, its start and end journaled, its pages turned by the chair (not journaled)."""

from __future__ import annotations

from deliberation.actors import Actor, Role
from deliberation.commands import (
    CloseSitting,
    PresentAnnex,
    Resume,
    StopPresentation,
    Suspend,
    TakeUpItem,
    WithdrawItem,
    command_from_dict,
)
from deliberation.demo import demo_seance
from deliberation.presentation import decide_page
from deliberation.refusal import Refusal
from deliberation.seance import Seance
from deliberation.view import sitting_view
from tests.deliberation.delib_support import PRESIDENT, Clock, agent, councillor, ok, opened, refused

MODERATOR = Actor(Role.MODERATOR)
DIGEST = "ab" * 32
OTHER = "cd" * 32


def present(clock: Clock, item: str = "marche-collecte", annex: str = "a1", sha: str = DIGEST, pages: int = 3):
    return PresentAnnex(clock(), item, annex, sha, "Plan de collecte.pdf", pages)


def on_item(clock: Clock, item: str = "marche-collecte") -> Seance:
    s = opened(clock)
    ok(s, TakeUpItem(clock(), item), PRESIDENT)
    return s


def test_the_president_shows_an_annex_of_the_current_item_and_its_start_is_journaled():
    clock = Clock()
    s = on_item(clock)
    events = ok(s, present(clock), PRESIDENT)
    assert [e.type for e in events] == ["AnnexPresented"]
    assert events[0].data == {
        "item_id": "marche-collecte",
        "annex_id": "a1",
        "sha256": DIGEST,
        "title": "Plan de collecte.pdf",
        "pages": 3,
    }
    shown = sitting_view(s)["presentation"]
    assert shown["annex_id"] == "a1" and shown["pages"] == 3 and shown["since"] == events[0].at


def test_a_moderator_shows_and_stops_too_and_the_end_names_the_digest_shown():
    clock = Clock()
    s = on_item(clock)
    ok(s, present(clock), MODERATOR)
    events = ok(s, StopPresentation(clock()), MODERATOR)
    assert [(e.type, e.data) for e in events] == [("PresentationEnded", {"annex_id": "a1", "sha256": DIGEST})]
    assert s.state.presentation is None and sitting_view(s)["presentation"] is None


def test_another_annex_ends_the_first_before_it_starts_and_the_same_one_again_changes_nothing():
    clock = Clock()
    s = on_item(clock)
    ok(s, present(clock), PRESIDENT)
    before = s.canonical()
    assert ok(s, present(clock), PRESIDENT) == []
    assert s.canonical() == before
    events = ok(s, present(clock, annex="a2", sha=OTHER, pages=1), PRESIDENT)
    assert [e.type for e in events] == ["PresentationEnded", "AnnexPresented"]
    assert events[0].data["annex_id"] == "a1" and s.state.presentation["annex_id"] == "a2"


def test_only_the_chair_shows_a_document_ROLE():
    clock = Clock()
    s = on_item(clock)
    refused(s, present(clock), councillor("m07"), "ROLE")
    refused(s, present(clock), agent("vaux"), "ROLE")
    refused(s, present(clock), Actor(Role.PRESIDENT, member_id="m02"), "ROLE")  # not the council's president
    ok(s, present(clock), PRESIDENT)
    refused(s, StopPresentation(clock()), councillor("m07"), "ROLE")


def test_no_document_on_screen_before_the_opening_nor_during_a_suspension_R2():
    clock = Clock()
    s = demo_seance()
    refused(s, present(clock), PRESIDENT, "R2")
    s = on_item(clock)
    ok(s, Suspend(clock(), "pause"), PRESIDENT)
    r = refused(s, present(clock), PRESIDENT, "R2")
    assert "suspendue" in r.message
    ok(s, Resume(clock()), PRESIDENT)
    ok(s, present(clock), PRESIDENT)


def test_only_an_annex_of_the_item_discussed_R26():
    clock = Clock()
    s = opened(clock)
    refused(s, present(clock), PRESIDENT, "R26")  # no item taken up
    ok(s, TakeUpItem(clock(), "pv-precedent"), PRESIDENT)
    r = refused(s, present(clock, item="marche-collecte"), PRESIDENT, "R26")
    assert "Attribution du marché de collecte" in r.message and r.field == "annex_id"


def test_stopping_when_nothing_is_shown_is_refused_UNKNOWN():
    clock = Clock()
    s = on_item(clock)
    refused(s, StopPresentation(clock()), PRESIDENT, "UNKNOWN")


def test_the_presentation_ends_with_its_item_and_with_the_sitting():
    clock = Clock()
    s = on_item(clock)
    ok(s, present(clock), PRESIDENT)
    ok(s, TakeUpItem(clock(), "fonds-concours-vaux"), PRESIDENT)
    assert s.state.presentation is None
    ok(s, present(clock, item="fonds-concours-vaux"), PRESIDENT)
    ok(s, WithdrawItem(clock(), "fonds-concours-vaux", "retiré"), PRESIDENT)
    assert s.state.presentation is None
    ok(s, TakeUpItem(clock(), "marche-collecte"), PRESIDENT)
    ok(s, present(clock), PRESIDENT)
    ok(s, CloseSitting(clock()), PRESIDENT)
    assert s.state.presentation is None


def test_a_suspension_keeps_the_document_and_the_chair_may_take_it_off_then():
    clock = Clock()
    s = on_item(clock)
    ok(s, present(clock), PRESIDENT)
    ok(s, Suspend(clock(), "pause"), PRESIDENT)
    assert s.state.presentation is not None
    ok(s, StopPresentation(clock()), PRESIDENT)


def test_replaying_the_events_gives_the_same_presentation():
    clock = Clock()
    s = on_item(clock)
    journaled = []
    for command in (present(clock), StopPresentation(clock()), present(clock, annex="a2", sha=OTHER)):
        journaled += ok(s, command, PRESIDENT)
    replayed = on_item(Clock())
    for event in journaled:
        replayed.apply(event)
    assert replayed.state.presentation == s.state.presentation


def test_a_page_turn_is_checked_against_the_document_shown():
    clock = Clock()
    s = on_item(clock)
    assert isinstance(decide_page(s.state, s.council, PRESIDENT, 1), Refusal)  # nothing shown
    ok(s, present(clock, pages=3), PRESIDENT)
    assert decide_page(s.state, s.council, PRESIDENT, 2) == 2
    assert decide_page(s.state, s.council, MODERATOR, 3) == 3
    out = decide_page(s.state, s.council, PRESIDENT, 4)
    assert isinstance(out, Refusal) and out.rule == "SCHEMA" and out.field == "page"
    assert out.message == "Le document a 3 pages : la page 4 n'existe pas."
    assert isinstance(decide_page(s.state, s.council, PRESIDENT, 0), Refusal)
    denied = decide_page(s.state, s.council, councillor("m07"), 2)
    assert isinstance(denied, Refusal) and denied.rule == "ROLE"
    ok(s, Suspend(clock(), "pause"), PRESIDENT)
    suspended = decide_page(s.state, s.council, PRESIDENT, 2)
    assert isinstance(suspended, Refusal) and suspended.rule == "R2"


def test_a_malformed_presentation_is_refused_SCHEMA():
    base = {"type": "PresentAnnex", "at": "2026-11-26T18:00:00+01:00", "item_id": "x", "annex_id": "a1"}
    bad_digest = command_from_dict({**base, "sha256": "nope", "title": "t", "pages": 1})
    assert isinstance(bad_digest, Refusal) and bad_digest.field == "sha256"
    no_page = command_from_dict({**base, "sha256": DIGEST, "title": "t", "pages": 0})
    assert isinstance(no_page, Refusal) and no_page.field == "pages"
    too_long = command_from_dict({**base, "sha256": DIGEST, "title": "t", "pages": 100_000})
    assert isinstance(too_long, Refusal) and too_long.field == "pages"
