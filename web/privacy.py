"""``/confidentialite``: the privacy notice (CNIL; RGPD art. 13), in French.

It names the data controller, the council entered in ``/admin`` (the first of the
store, as the admin pages do), and every duration it states is read from the same :class:`web.config.WebConfig` fields the
code applies: ``log_ip_retention_days`` and ``log_ip_truncate`` (the access log,
:mod:`web.log_privacy`, and journald's retention, docs/operations.md), ``session_ttl_s``
(the session cookie and token) and ``dpo_contact`` (whom to write to).

The recordings' period (R5) is the one ``seance recordings purge`` applies: the
règlement intérieur's ``retention_days`` recorded in each hosted sitting's journal
(:func:`web.commands.recordings.sitting_retention_days`, the same function), and
``WebConfig.recording_retention_days`` for a sitting without a journal yet.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from deliberation.council import Council
from signaling.council_store import CouncilStore
from signaling.datadir import DataDir
from web.appkeys import CONFIG
from web.commands.recordings import sitting_retention_days


def recording_retention_days(config) -> list[int]:
    """The distinct retention periods of the hosted sittings' recordings, in days."""
    days = set()
    for sitting in config.sittings:
        found = sitting_retention_days(config.data_dir, sitting.id)
        days.add(found if found is not None else config.recording_retention_days)
    return sorted(days) or [config.recording_retention_days]


def controller(config) -> Council | None:
    """The data controller (RGPD art. 13.1.a): the council entered in /admin, if any."""
    path = DataDir.of(config.data_dir).council_db
    if not path.is_file():
        return None
    with CouncilStore(path) as store:
        councils = store.councils()
        return store.load(councils[0][0]) if councils else None


def privacy_context(config) -> dict:
    hours = max(1, round(config.session_ttl_s / 3600))
    recording = recording_retention_days(config)
    return {
        "log_ip_retention_days": config.log_ip_retention_days,
        "log_ip_truncate": config.log_ip_truncate,
        "recording_retention_days": (
            f"{recording[0]} jours"
            if len(recording) == 1
            else f"{recording[0]} à {recording[-1]} jours selon la séance"
        ),
        "session_hours": hours,
        "dpo_contact": config.dpo_contact,
        "controller": controller(config),
        "turn": config.turn is not None,
    }


async def privacy_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("privacy.html", request, privacy_context(request.app[CONFIG]))


def add_privacy_routes(app: web.Application) -> None:
    app.router.add_get("/confidentialite", privacy_page)
