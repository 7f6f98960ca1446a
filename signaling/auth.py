"""Passwords (scrypt) and signed session tokens (HMAC-SHA256 with expiry).

Password hashes are ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>`` (RFC 7914
parameters; n = 2^14, r = 8, p = 1 by default, about 16 MiB and 50 ms per check).

A token is ``<payload b64url>.<mac b64url>`` where the payload is compact JSON
``{"v":1,"role":…,"member":…,"salle":…,"agent":…,"sitting":…,"iat":…,"exp":…}`` and the MAC is
HMAC-SHA256 (RFC 2104) under the installation's secret key, kept in the data dir. A
kiosk token carries ``role: "kiosk"`` and its salle, and no member: it grants no human
right (no vote, no mute), only publishing that salle's media.

A session token issued at login also carries ``sid`` (a random session id), ``login``
and ``gen`` (the account's session generation). Logout revokes the ``sid``; a password
change bumps the account's generation, which revokes every session of it. Both live in
the accounts database (:mod:`signaling.accounts`), so they survive a restart: the
signer asks its ``revocation`` check (installed by the app) on every :meth:`verify`.
Tokens without a ``sid`` (kiosk links, tokens minted by tests or the CLI) are not
revocable one by one; they expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from signaling import datadir
from signaling.roles import Role

SCRYPT_LOG2_N = 14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_LEN = 32

SESSION_TTL_S = 12 * 3600
KIOSK_TTL_S = 30 * 24 * 3600


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, log2_n: int = SCRYPT_LOG2_N) -> str:
    salt = os.urandom(16)
    kdf = Scrypt(salt=salt, length=SCRYPT_LEN, n=2**log2_n, r=SCRYPT_R, p=SCRYPT_P)
    digest = kdf.derive(password.encode("utf-8"))
    return f"scrypt${log2_n}${SCRYPT_R}${SCRYPT_P}${_b64e(salt)}${_b64e(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash; False on any malformation."""
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or not (1 <= int(log2_n) <= 20):
            return False
        raw = _b64d(digest)
        kdf = Scrypt(salt=_b64d(salt), length=len(raw), n=2 ** int(log2_n), r=int(r), p=int(p))
        kdf.verify(password.encode("utf-8"), raw)
        return True
    except (InvalidKey, ValueError):
        return False


def new_password() -> str:
    """A password people can type: four groups of four unambiguous characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


class TokenError(Exception):
    """Why a token is refused, in French (shown to people)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Claims:
    role: Role
    member: str | None
    salle: str | None
    sitting: str | None
    issued_at: int
    expires_at: int
    #: for a salle agent, its agent id in the council (R4); None otherwise
    agent: str | None = None
    #: session id, account login and session generation (tokens issued at login only)
    sid: str | None = None
    login: str | None = None
    gen: int | None = None


def session_ref(sid: str) -> str:
    """What the journal and the logs keep of a session id: the first 16 hex digits of its
    SHA-256 (the id itself stays a secret of the accounts database; issue 12.11)."""
    return hashlib.sha256(sid.encode()).hexdigest()[:16]


class TokenSigner:
    """Issues and checks tokens under one secret key."""

    def __init__(self, key: bytes, *, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("the signing key must be at least 32 bytes")
        self._key = key
        self._clock = clock
        #: claims -> True if the session was revoked (logout, password change); None: no check
        self.revocation: Callable[[Claims], bool] | None = None

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> TokenSigner:
        """Load the installation key from ``<data_dir>/session.key``, creating it (0600)."""
        path = datadir.DataDir.of(data_dir).session_key
        if not path.exists():
            datadir.create_secret(path, os.urandom(32))
        return cls(path.read_bytes())

    def issue(
        self,
        role: Role,
        *,
        member: str | None = None,
        salle: str | None = None,
        sitting: str | None = None,
        ttl_s: int | None = None,
        agent: str | None = None,
        sid: str | None = None,
        login: str | None = None,
        gen: int | None = None,
        issued_at: int | None = None,
    ) -> str:
        """A token; ``issued_at`` (default: now) makes it the same at each call, as a kiosk
        link shown again; a kiosk's ``gen`` is its link's generation (revocable)."""
        if ttl_s is None:
            ttl_s = KIOSK_TTL_S if role is Role.KIOSK else SESSION_TTL_S
        if role is Role.KIOSK and (member is not None or salle is None):
            raise ValueError("a kiosk token names a salle and no member")
        now = int(self._clock()) if issued_at is None else int(issued_at)
        payload = {
            "v": 1,
            "role": role.value,
            "member": member,
            "salle": salle,
            "sitting": sitting,
            "iat": now,
            "exp": now + int(ttl_s),
        }
        if agent is not None:
            payload["agent"] = agent
        if sid is not None:
            payload.update(sid=sid, login=login, gen=int(gen or 0))
        elif role is Role.KIOSK and gen is not None:
            payload["gen"] = int(gen)
        return self.seal(payload)

    def seal(self, payload: dict[str, Any], domain: str = "") -> str:
        """``body.mac``: the payload as compact JSON in base64url, and its HMAC-SHA256 under
        the installation key. ``domain`` separates kinds of tokens (a node token, ``"node:"``,
        can never pass for a person's, whose domain is empty)."""
        body = _b64e(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(domain + body)}"

    def unseal(self, token: str, domain: str = "", *, max_len: int = 4096, what: str = "Jeton") -> dict[str, Any]:
        """The payload of a token :meth:`seal` made in ``domain``; :class:`TokenError` when it
        is malformed, too long or not signed by this key (expiry is the caller's: each kind
        names its own fields)."""
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > max_len:
            raise TokenError("bad_token", f"{what} illisible.")
        body, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(domain + body)):
            raise TokenError("bad_token", f"{what} invalide (signature incorrecte).")
        try:
            data = json.loads(_b64d(body))
        except ValueError:
            raise TokenError("bad_token", f"{what} illisible.") from None
        if not isinstance(data, dict):
            raise TokenError("bad_token", f"{what} illisible.")
        return data

    def _mac(self, body: str) -> str:
        return _b64e(hmac.new(self._key, body.encode("ascii"), sha256).digest())

    def verify(self, token: str, *, check_revocation: bool = True) -> Claims:
        data = self.unseal(token)
        try:
            claims = Claims(
                role=Role(data["role"]),
                member=data.get("member"),
                salle=data.get("salle"),
                sitting=data.get("sitting"),
                issued_at=int(data["iat"]),
                expires_at=int(data["exp"]),
                agent=data.get("agent"),
                sid=data.get("sid"),
                login=data.get("login"),
                gen=data.get("gen"),
            )
        except (ValueError, KeyError, TypeError):
            raise TokenError("bad_token", "Jeton illisible.") from None
        if data.get("v") != 1:
            raise TokenError("bad_token", "Version de jeton inconnue.")
        if self._clock() >= claims.expires_at:
            raise TokenError("token_expired", "Jeton expiré : reconnectez-vous.")
        if check_revocation:
            self.check(claims)
        return claims

    def is_revoked(self, claims: Claims) -> bool:
        """A closed login session, or a kiosk link revoked from /admin (``revocation``)."""
        checked = claims.sid is not None or claims.role is Role.KIOSK
        return checked and self.revocation is not None and self.revocation(claims)

    def check(self, claims: Claims) -> None:
        """Raise if claims verified earlier belong to a session revoked since (or expired)."""
        if claims.expires_at and self._clock() >= claims.expires_at:
            raise TokenError("token_expired", "Jeton expiré : reconnectez-vous.")
        if self.is_revoked(claims):
            if claims.role is Role.KIOSK:
                raise TokenError(
                    "token_revoked",
                    "Ce lien de borne a été révoqué par l'administrateur : demandez le nouveau lien de la salle.",
                )
            raise TokenError("token_revoked", "Session fermée (déconnexion ou mot de passe changé) : reconnectez-vous.")
