"""The person behind a request: the session cookie's claims, and the error page.

Shared by the pages (:mod:`web.pages`), the people's screens (:mod:`web.screens`), the
admin (:mod:`web.admin`) and the audit pages. Kiosks and the public hold no session.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from signaling.auth import Claims, TokenError
from signaling.roles import Role
from web.appkeys import SESSION_COOKIE, SIGNER


def session_account(request: web.Request) -> Claims | None:
    """Claims of the session cookie (revocation checked), or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = request.app[SIGNER].verify(token)
    except TokenError:
        return None
    return None if claims.role in (Role.KIOSK, Role.PUBLIC) else claims


def socket_cookie_claims(request: web.Request) -> Claims | None:
    """The session cookie's claims for a WebSocket, revoked or not: ``hello`` checks
    revocation and answers ``token_revoked``, rather than silently treating a person
    whose session was closed as the public."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = request.app[SIGNER].verify(token, check_revocation=False)
    except TokenError:
        return None
    return None if claims.role in (Role.KIOSK, Role.PUBLIC) else claims


def error_page(request: web.Request, status: int, title: str, detail: str) -> web.Response:
    """The French error page (title, then what to do)."""
    return aiohttp_jinja2.render_template("error.html", request, {"title": title, "detail": detail}, status=status)
