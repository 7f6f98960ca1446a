"""Where a person goes after logging in: back to the page they asked for (issue 15, point 7).

A logged-out visit to a person's page is sent to ``/login?next=<the page>``; the login
form carries ``next`` and, once the password is checked, the browser goes there. Only a
path of this site is followed (``/president``, ``/audit/demo?x=1``): anything else — an
absolute URL, ``//host`` (scheme-relative), a backslash, control characters — is
replaced by ``/``, so the login page cannot be used to send someone to another site
(OWASP, "Unvalidated Redirects and Forwards").
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from aiohttp import web

MAX_LENGTH = 512


def safe_next(value: object) -> str:
    """``value`` if it is a path of this site, else ``/``."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith("/login"):
        return "/"
    return value


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    """The redirect to the login page that comes back to ``request``'s page afterwards."""
    target = safe_next(request.path_qs)
    return web.HTTPSeeOther("/login" if target == "/" else f"/login?next={quote(target, safe='/')}")
