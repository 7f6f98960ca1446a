"""The typed keys of what the aiohttp application holds (``web.AppKey``, aiohttp ≥ 3.9).

One home for them, imported by every ``web`` module that reads the app's state: the app
factory (:mod:`web.app`) fills them, the pages, the admin, the cluster and relay read
them. No module-level mutable state: each key names a slot of one application.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from deliberation.register import RegisterCache
from signaling.accounts import AccountStore
from signaling.auth import TokenSigner
from signaling.hub import SharedLimits
from signaling.metrics import SignalingMetrics
from web.config import WebConfig
from web.sittings import HostedSittings

#: The session cookie (HttpOnly, SameSite=Strict): a signed token (signaling.auth).
SESSION_COOKIE = "seance_session"

CONFIG = web.AppKey("config", WebConfig)
SIGNER = web.AppKey("signer", TokenSigner)
ACCOUNTS = web.AppKey("accounts", AccountStore)
REGISTRY = web.AppKey("registry", CollectorRegistry)
ROOMS = web.AppKey("rooms", dict)  # sitting id -> signaling.room.SittingRoom
SITTINGS = web.AppKey("sittings", dict)  # sitting id -> signaling.sitting.SittingService
HANDLER_TABLE = web.AppKey("handlers", dict)  # message type -> bound handler
METRICS = web.AppKey("metrics", SignalingMetrics)
SOCKETS = web.AppKey("sockets", set)  # every open signaling Connection (T10: closed on revocation)
LIMITS = web.AppKey("limits", SharedLimits)  # the message rate of a session, of an account (issue 12.6)
CSRF_KEY = web.AppKey("admin_csrf_key", bytes)  # the admin forms' CSRF HMAC key (web.admin)
HOSTED = web.AppKey("hosted", HostedSittings)  # the sittings hosted: [[sittings]] and the store's (web.sittings)
REGISTER_CACHE = web.AppKey("register_cache", RegisterCache)  # the council's register, verified once (web.publications)
