"""A sitting convened again after a lack of quorum, linked to the one that failed (R8).

L.2121-17 al. 2 CGCT: « si, après une première convocation régulièrement faite […], ce
quorum n'est pas atteint, le conseil […] est à nouveau convoqué à trois jours au moins
d'intervalle. Il délibère alors valablement sans condition de quorum. » A préfecture
reading the second sitting's deliberations asks two things: that the first sitting did
fail (its record shows it), and that the deliberations taken without quorum are on its
agenda. So the new sitting names the failed one in its genesis (:class:`Reconvocation`:
its id, date, the ``hash`` of its journal line recording the lack of quorum, and its
agenda), taken from the failed sitting's verified journal by :func:`reconvocation_of`;
and :func:`link_problem` lets an auditor holding both journals check the link offline.
"""

from __future__ import annotations

from .council import AgendaRef, Reconvocation, SittingConfig
from .journal import Entry, genesis_of


def _failure_line(entries: list[Entry]) -> Entry | None:
    return next(
        (e for e in entries if e.kind == "event" and e.data["event"]["type"] == "QuorumFailed"),
        None,
    )


def reconvocation_of(entries: list[Entry]) -> Reconvocation | None:
    """The link to a failed sitting, from its verified journal; None if it records no lack of quorum."""
    line = _failure_line(entries)
    if line is None:
        return None
    _council, config = genesis_of(entries)
    items = tuple(AgendaRef(i["id"], i["title"]) for i in line.data["event"]["data"]["items"])
    return Reconvocation(config.id, config.scheduled_at, line.data["hash"], items)


def link_problem(config: SittingConfig, failed: list[Entry]) -> str | None:
    """R8: why ``config``'s link to the failed sitting's journal ``failed`` does not hold, or None."""
    rc = config.reconvened_from
    if rc is None:
        return "R8 — la séance n'est pas convoquée à nouveau après une séance sans quorum."
    found = reconvocation_of(failed)
    if found is None:
        return "R8 — le journal de la première séance ne constate pas l'absence de quorum."
    if found != rc:
        return (
            "R8 — la séance désignée (son identifiant, sa date, son ordre du jour ou la ligne qui constate "
            "l'absence de quorum) diffère de celle que montre son journal."
        )
    return None
