"""``/confidentialite``: the privacy notice (CNIL; RGPD art. 13), in French.

Every duration it states is read from the same :class:`web.config.WebConfig` fields the
code applies: ``log_ip_retention_days`` and ``log_ip_truncate`` (the access log,
:mod:`web.log_privacy`, and journald's retention, docs/operations.md),
``recording_retention_days`` (R5, the règlement intérieur), ``session_ttl_s`` (the
session cookie and token) and ``dpo_contact`` (whom to write to).
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web


def privacy_context(config) -> dict:
    hours = max(1, round(config.session_ttl_s / 3600))
    return {
        "log_ip_retention_days": config.log_ip_retention_days,
        "log_ip_truncate": config.log_ip_truncate,
        "recording_retention_days": config.recording_retention_days,
        "session_hours": hours,
        "dpo_contact": config.dpo_contact,
        "turn": config.turn is not None,
    }


async def privacy_page(request: web.Request) -> web.StreamResponse:
    from web.app import CONFIG  # lazily: web.app imports this module

    return aiohttp_jinja2.render_template("privacy.html", request, privacy_context(request.app[CONFIG]))


def add_privacy_routes(app: web.Application) -> None:
    app.router.add_get("/confidentialite", privacy_page)
