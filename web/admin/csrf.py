"""Who may post an admin form: the admin role, the same origin, and a per-session CSRF
token (an HMAC of the session cookie under ``<data_dir>/csrf.key``; the cookie itself is
SameSite=Strict). A refusal changes nothing and says so in French.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from signaling import datadir
from signaling.roles import Role
from web.admin.render import error
from web.appkeys import CSRF_KEY, SESSION_COOKIE
from web.session import session_account

CSRF_FIELD = "csrf"


def load_csrf_key(data_dir: Path) -> bytes:
    path = datadir.DataDir.of(data_dir).csrf_key
    if not path.exists():
        datadir.create_secret(path, os.urandom(32))
    return path.read_bytes()


def csrf_token(request: web.Request) -> str:
    """Per session: an HMAC of the session cookie (a new login gives a new token)."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hmac.new(request.app[CSRF_KEY], cookie.encode(), hashlib.sha256).hexdigest()


def admin_claims(request: web.Request) -> Any | web.Response:
    claims = session_account(request)
    if claims is None and request.method == "GET":  # signed out: the login page, as everywhere else
        raise web.HTTPSeeOther("/login")
    if claims is None or claims.role is not Role.ADMIN:
        return error(
            request,
            403,
            "Accès refusé",
            "L'administration est réservée aux comptes administrateur (DSI). Connectez-vous avec un tel compte.",
        )
    return claims


async def checked_post(
    request: web.Request, who: Callable[[web.Request], Any] = admin_claims
) -> tuple[Any, dict[str, str]] | web.Response:
    """Role (``who``: the admin unless told otherwise), origin and CSRF token of a POST; the
    form as plain strings."""
    claims = who(request)
    if isinstance(claims, web.Response):
        return claims
    foreign = foreign_origin(request)
    if foreign is not None:
        return foreign
    form = await request.post()
    bad = bad_token(request, str(form.get(CSRF_FIELD, "")))
    if bad is not None:
        return bad
    return claims, {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}


def foreign_origin(request: web.Request) -> web.Response | None:
    """The refusal of a post sent from another site, or None."""
    origin = request.headers.get("Origin")
    # Under Referrer-Policy: no-referrer a browser sends "Origin: null" with its own forms; the token decides then.
    if origin not in (None, "null") and urlsplit(origin).netloc != request.host:
        return error(request, 403, "Formulaire refusé", "Ce formulaire ne vient pas de ce site : rien n'a été modifié.")
    return None


def bad_token(request: web.Request, sent: str) -> web.Response | None:
    """The refusal of a post whose CSRF token is absent or not this session's, or None."""
    if not sent or not hmac.compare_digest(sent, csrf_token(request)):
        return error(
            request,
            403,
            "Formulaire refusé",
            "Le jeton de sécurité du formulaire est absent ou périmé (CSRF) : rien n'a été modifié. "
            "Rechargez la page et recommencez.",
        )
    return None
