"""TURN servers for the browsers' ``RTCPeerConnection`` (``iceServers``).

Time-limited credentials follow coturn's ``use-auth-secret`` ("TURN REST API",
draft-uberti-behave-turn-rest-00): username ``<expiry unix time>:<user>``, password
``base64(HMAC-SHA1(secret, username))``. They are minted per WebSocket session and sent
in the ``welcome`` message (docs/protocol.md), never written into a page or a cached
static file. The settings (:class:`web.config.TurnSettings`) come from ``[turn]`` of
``seance.toml``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from web.config import TurnSettings

__all__ = ["TurnSettings", "turn_ice_servers", "turn_rest_credentials", "verify_rest_credential"]


def turn_rest_credentials(secret: str, user: str, ttl_s: int, now: float | None = None) -> tuple[str, str]:
    """coturn ``use-auth-secret``: (username, password) valid ``ttl_s`` seconds from ``now``."""
    expiry = int((time.time() if now is None else now) + ttl_s)
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def verify_rest_credential(secret: str, username: str, credential: str, now: float | None = None) -> bool:
    """What coturn checks: the HMAC matches and the expiry is in the future."""
    try:
        expiry = int(username.split(":", 1)[0])
    except ValueError:
        return False
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    ok = hmac.compare_digest(base64.b64encode(digest).decode("ascii"), credential)
    return ok and expiry > (time.time() if now is None else now)


def turn_ice_servers(turn: TurnSettings | None, user: str, now: float | None = None) -> list[dict[str, Any]]:
    """The ``iceServers`` list for a browser's ``RTCPeerConnection`` (empty without TURN)."""
    if turn is None:
        return []
    if turn.shared_secret is not None:
        username, credential = turn_rest_credentials(turn.shared_secret, user, turn.ttl_s, now)
    else:
        username, credential = turn.username, turn.credential
    return [{"urls": list(turn.urls), "username": username, "credential": credential}]
