"""``POST /login``: the password form (T10; issue 12.3 and 12.8).

- The form must come from this site, against login CSRF (a foreign page logging the
  browser into the attacker's account; OWASP « Login CSRF »), by :func:`foreign_form`:
  the Fetch Metadata header ``Sec-Fetch-Site`` when the browser sends it (Chromium 76,
  Firefox 90, Safari 16.4 and later: ``cross-site`` and ``same-site`` refused), else a
  present ``Origin`` that is not the server's own (RFC 6454 § 7). ``Origin: null`` alone
  is served: Séance's own pages are sent with ``Referrer-Policy: no-referrer``, under
  which browsers send ``null`` for a same-origin form; an old browser without Fetch
  Metadata is then not protected against a foreign page doing the same. A request with
  neither header (a script) carries no cookie-borne authority to abuse and is served.
- Throttled before any hash (:class:`signaling.login_throttle.LoginThrottle`): failures per
  address (an IPv6 address counts for its /64) and per account, and attempts per account
  with successes included; the table is bounded.
- The password check (scrypt, about 50 ms of CPU) runs in the default executor, never on
  the event loop that carries the media and every socket, at most ``HASHING_AT_ONCE`` at
  a time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

import aiohttp_jinja2
from aiohttp import web

from signaling.accounts import Account
from signaling.auth import session_ref
from signaling.login_throttle import LoginThrottle
from web.appkeys import ACCOUNTS, CONFIG, METRICS, SESSION_COOKIE, SIGNER
from web.next_page import safe_next
from web.origin import same_origin

log = logging.getLogger(__name__)

#: password checks running at once, whatever the number of requests (CPU-bound: the cores)
HASHING_AT_ONCE = 2


class LoginGate:
    """The app's login throttle and the bound on concurrent password checks."""

    def __init__(self, throttle: LoginThrottle | None = None) -> None:
        self.throttle = throttle or LoginThrottle()
        self.hashing = asyncio.Semaphore(HASHING_AT_ONCE)


LOGIN_GATE = web.AppKey("login_gate", LoginGate)


def _form(request: web.Request, error: str, login: str, status: int, next_page: str = "/") -> web.Response:
    return aiohttp_jinja2.render_template(
        "login.html", request, {"error": error, "login": login, "next": next_page}, status=status
    )


def foreign_form(request: web.Request) -> bool:
    """Whether this POST comes from another site's page (see the module's docstring)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is not None and origin != "null" and not same_origin(origin, request.scheme, request.host)


async def login_submit(request: web.Request) -> web.StreamResponse:
    if foreign_form(request):
        log.warning(
            "connexion refusée : formulaire venu de %s (Sec-Fetch-Site %s), hôte attendu %s",
            request.headers.get("Origin", "?")[:200],
            request.headers.get("Sec-Fetch-Site", "absent")[:32],
            request.host,
        )
        return _form(
            request, "Connexion refusée : ce formulaire ne vient pas de ce site. Rouvrez la page de connexion.", "", 403
        )
    form = await request.post()
    login = str(form.get("login", ""))[:128].strip()
    password = str(form.get("password", ""))[:256]
    next_page = safe_next(form.get("next"))  # issue 15: back to the page asked, on this site only
    gate = request.app[LOGIN_GATE]
    metrics = request.app[METRICS]
    if gate.throttle.refused(request.remote, login) is not None:
        metrics.logins.labels("throttled").inc()
        return _form(request, "Trop d'essais. Patientez quelques minutes avant de réessayer.", login, 429, next_page)
    account: Account | None = None
    if login:
        gate.throttle.attempt(login)
        async with gate.hashing:  # the check itself off the loop (scrypt)
            account = await asyncio.get_running_loop().run_in_executor(
                None, request.app[ACCOUNTS].authenticate, login, password
            )
    if account is None:
        gate.throttle.failed(request.remote, login)
        metrics.logins.labels("failed").inc()
        return _form(request, "Identifiant ou mot de passe incorrect.", login, 401, next_page)
    metrics.logins.labels("ok").inc()
    config = request.app[CONFIG]
    # T10: a random session id (revoked at logout) and the account's session generation
    # (bumped by a password change) make the token revocable server-side.
    sid = secrets.token_urlsafe(16)
    gen = request.app[ACCOUNTS].session_generation(account.login) or 0
    token = request.app[SIGNER].issue(
        account.role,
        member=account.member_id or account.login,
        salle=account.salle_id,
        agent=account.agent_id,
        ttl_s=config.session_ttl_s,
        sid=sid,
        login=account.login,
        gen=gen,
    )
    # the same digest as the journal's actor.session (issue 12.11): who opened which session
    log.info("connexion de %s : session %s, génération %d", account.login, session_ref(sid), gen)
    response = web.HTTPSeeOther(next_page)  # back to the page asked before logging in
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=config.tls or request.secure,
        max_age=config.session_ttl_s,
        path="/",
    )
    raise response
