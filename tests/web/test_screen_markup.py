"""Issue 14 point 5: the top of the sitting's screens (title, badges of the sitting and of
the connection, who is signed in, the way out, the alert and notice lines) has one home,
web/templates/screen_macros.html, which the agent, présidence, modération and élu pages import
(the kiosk and the public page have bars of their own: a salle's screen, a public one)."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
SCREENS = ("agent.html", "president.html", "moderation.html", "elu.html")


def test_the_screens_top_bar_and_feedback_lines_are_written_once() -> None:
    for name in SCREENS:
        page = (TEMPLATES / name).read_text(encoding="utf-8")
        assert '{% import "screen_macros.html" as screen %}' in page, name
        assert "screen.topbar(" in page and "{{ screen.feedback() }}" in page, name
        for markup in ('id="badge-connection"', 'id="badge-sitting"', 'action="/logout"', 'id="notice"', 'id="alert"'):
            assert markup not in page, (name, markup)
