"""The item's documents on screen: an annex of the item discussed, shown page by page on every
salle's display and on the public page (issue 15 point 8).

The documents sent with the convocation (the note explicative de synthèse, a plan, a budget
table: L.2121-12 via L.5211-1, R26) are the members' (L.2121-13); what is shown in séance is
seen in every salle and by the public (R2, R.5211-2 al. 2). So the president or a moderator
may put one annex *of the current item* on the displays while the sitting is open, turn its
pages, and take it off.

What the journal keeps, for the auditor: the start of a presentation (``AnnexPresented``:
the item, the annex, the SHA-256 of the file shown, its title and page count) and its end
(``PresentationEnded``), each with its actor and time; what the public saw is then provable
against the convocation's files. A presentation also ends with its item: when another item
is taken up, the item is withdrawn or postponed, or the sitting closes, the state drops it
(the line of that event says when). Page turns are not journaled: they decide nothing and
would fill the journal; the shell keeps the page shown (:func:`decide_page` checks a turn)
and a sitting resumed from its journal shows page 1 again.
"""

from __future__ import annotations

from typing import Any

from .actors import Actor, Role
from .commands import PresentAnnex, StopPresentation
from .council import Council
from .events import AnnexPresented, Event, PresentationEnded
from .records import Presentation
from .refusal import ROLE, SCHEMA, UNKNOWN, Refusal
from .state import SeanceState


def chair_refusal(council: Council, actor: Actor, what: str) -> Refusal | None:
    """The president (the council's) or a moderator presents; no one else."""
    if actor.role == Role.MODERATOR:
        return None
    if actor.role == Role.PRESIDENT and actor.member_id == council.president_id:
        return None
    return Refusal(ROLE, f"Seuls le président et le modérateur peuvent {what}.")


def _open_refusal(state: SeanceState) -> Refusal | None:
    """R2: the displays and the public page carry the sitting only while it is open."""
    if state.status == "opened":
        return None
    if state.status == "suspended":
        return Refusal("R2", "R2 — la séance est suspendue : reprenez-la pour montrer un document à l'écran.")
    return Refusal(
        "R2",
        "R2 — un document se montre à l'écran pendant la séance ouverte seulement : la diffusion publique "
        "ne porte la séance qu'une fois ouverte et jusqu'à sa clôture.",
    )


def decide_present(state: SeanceState, council: Council, c: PresentAnnex, actor: Actor) -> list[Event] | Refusal:
    """Show an annex of the current item, from page 1; the previous one, if any, ends first."""
    if (r := chair_refusal(council, actor, "montrer un document à l'écran")) is not None:
        return r
    if (r := _open_refusal(state)) is not None:
        return r
    if state.current_item is None:
        return Refusal(
            "R26", "R26 — aucun point n'est en discussion : appelez d'abord le point dont ce document est l'annexe."
        )
    if c.item_id != state.current_item:
        item = state.item(c.item_id)
        title = item["title"] if item is not None else c.item_id
        return Refusal(
            "R26",
            f"R26 — ce document est une annexe du point « {title} », qui n'est pas le point en discussion.",
            "annex_id",
        )
    shown = state.presentation
    if shown is not None and shown["annex_id"] == c.annex_id and shown["sha256"] == c.sha256:
        return []  # already on the displays
    events: list[Event] = []
    if shown is not None:
        events.append(_ended(c.at, shown))
    events.append(
        AnnexPresented(c.at, item_id=c.item_id, annex_id=c.annex_id, sha256=c.sha256, title=c.title, pages=c.pages)
    )
    return events


def decide_stop(state: SeanceState, council: Council, c: StopPresentation, actor: Actor) -> list[Event] | Refusal:
    """Take the document off the displays (allowed during a suspension too)."""
    if (r := chair_refusal(council, actor, "retirer un document de l'écran")) is not None:
        return r
    if state.presentation is None:
        return Refusal(UNKNOWN, "Aucun document n'est montré à l'écran.")
    return [_ended(c.at, state.presentation)]


def decide_page(state: SeanceState, council: Council, actor: Actor, page: int) -> int | Refusal:
    """The page to show after a turn (not journaled, see the module's docstring), or why not."""
    if (r := chair_refusal(council, actor, "tourner les pages du document montré")) is not None:
        return r
    shown = state.presentation
    if shown is None:
        return Refusal(UNKNOWN, "Aucun document n'est montré à l'écran.")
    if (r := _open_refusal(state)) is not None:
        return r
    if not 1 <= page <= shown["pages"]:
        pages = shown["pages"]
        return Refusal(
            SCHEMA,
            f"Le document a {pages} page{'s' if pages > 1 else ''} : la page {page} n'existe pas.",
            "page",
        )
    return page


def _ended(at: str, shown: Presentation) -> Event:
    return PresentationEnded(at, annex_id=shown["annex_id"], sha256=shown["sha256"])


def view(state: SeanceState) -> dict[str, Any] | None:
    """The document on the displays, for the sitting view (the shell adds the page shown)."""
    shown = state.presentation
    if shown is None:
        return None
    return {k: shown[k] for k in ("item_id", "annex_id", "sha256", "title", "pages", "since")}
