"""Rendering of the admin pages: never cached (they carry a CSRF token and personal data)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web


def page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def error(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    return page(request, "error.html", {"title": title, "detail": detail}, status)
