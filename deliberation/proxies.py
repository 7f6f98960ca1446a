"""Proxies (pouvoirs) and suppléants: the checks of R9 (L.2121-20, L.5211-6 CGCT).

An absent councillor may give a written proxy to a councillor present; a councillor
holds at most one; a present councillor cannot give one; it is revocable, ends when its
giver checks in, and covers at most three consecutive sittings unless illness is
certified. The agent records it with a reference to the written document.
"""

from __future__ import annotations

from .commands import RecordProxy
from .council import Council, Seat
from .french import agreed, de
from .refusal import UNKNOWN, Refusal
from .state import SeanceState

MAX_CONSECUTIVE_SITTINGS = 3


def check_new_proxy(council: Council, state: SeanceState, cmd: RecordProxy) -> Refusal | None:
    """R9: None when the proxy may be recorded, else the refusal."""
    giver = council.member(cmd.giver_id)
    holder = council.member(cmd.holder_id)
    if giver is None:
        return Refusal(UNKNOWN, f"Conseiller « {cmd.giver_id} » inconnu.", "giver_id")
    if holder is None:
        return Refusal(UNKNOWN, f"Conseiller « {cmd.holder_id} » inconnu.", "holder_id")
    if giver.seat != Seat.TITULAIRE:
        return Refusal(
            "R9",
            f"R9 — {giver.name} est {agreed('suppléant', giver.feminine)} et ne peut pas donner pouvoir.",
            "giver_id",
        )
    if giver.id == holder.id:
        return Refusal("R9", "R9 — un conseiller ne peut pas se donner pouvoir à lui-même.", "holder_id")
    if giver.id in state.presence:
        return Refusal(
            "R9",
            f"R9 — {giver.name} est {agreed('présent', giver.feminine)} : un conseiller présent ne peut pas donner "
            "pouvoir.",
            "giver_id",
        )
    supp = council.suppleant_of(giver.id)
    if supp is not None and supp.id in state.presence:
        return Refusal("R9", f"R9 — le suppléant {de(giver.name)} siège déjà à sa place.", "giver_id")
    if holder.id not in state.presence:
        return Refusal(
            "R9",
            f"R9 — {holder.name} n'est pas {agreed('présent', holder.feminine)} : seul un conseiller présent reçoit "
            "un pouvoir.",
            "holder_id",
        )
    if giver.id in state.proxies:
        other = council.member(state.proxies[giver.id]["holder"])
        return Refusal("R9", f"R9 — {giver.name} a déjà donné pouvoir à {other.name if other else '?'}.", "giver_id")
    held = state.holder_proxy(holder.id)
    if held is not None:
        return Refusal(
            "R9", f"R9 — {holder.name} détient déjà un pouvoir : un conseiller n'en détient qu'un seul.", "holder_id"
        )
    if not cmd.document_ref.strip():
        return Refusal("R9", "R9 — la référence du pouvoir écrit est obligatoire.", "document_ref")
    if cmd.consecutive_sittings > MAX_CONSECUTIVE_SITTINGS and not cmd.illness_certified:
        return Refusal(
            "R9",
            f"R9 — un pouvoir vaut au plus {MAX_CONSECUTIVE_SITTINGS} séances consécutives, sauf maladie dûment constatée.",
            "consecutive_sittings",
        )
    return None
