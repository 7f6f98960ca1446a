"""The SRTP sessions of a connection from the DTLS-exported keying material (RFC 5764
section 4.2: client key, server key, client salt, server salt), with pylibsrtp's public
``Session`` and ``Policy`` (RFC 3711; AES-GCM profiles, RFC 7714)."""

from __future__ import annotations

from dataclasses import dataclass

import pylibsrtp
from pylibsrtp import Policy, Session


@dataclass(frozen=True)
class Profile:
    openssl_name: bytes
    libsrtp: int
    key_length: int
    salt_length: int

    def key_and_salt(self, material: bytes, index: int) -> bytes:
        """Index 0: the DTLS client's write key and salt; 1: the server's."""
        key = material[index * self.key_length : (index + 1) * self.key_length]
        start = 2 * self.key_length + index * self.salt_length
        return key + material[start : start + self.salt_length]


_ALL = (
    Profile(b"SRTP_AEAD_AES_256_GCM", Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
    Profile(b"SRTP_AEAD_AES_128_GCM", Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    Profile(b"SRTP_AES128_CM_SHA1_80", Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
)


def _available(profile: Profile) -> bool:
    try:
        Policy(srtp_profile=profile.libsrtp)
    except pylibsrtp.Error:  # libsrtp built without GCM
        return False
    return True


#: the profiles offered in the DTLS use_srtp extension, preferred first
PROFILES: tuple[Profile, ...] = tuple(p for p in _ALL if _available(p))


def profile_named(name: bytes) -> Profile | None:
    return next((p for p in PROFILES if p.openssl_name == name), None)


#: the replay window (RFC 3711 section 3.3.2): a retransmission may arrive late
REPLAY_WINDOW = 1024


def sessions(profile: Profile, material: bytes, is_client: bool) -> tuple[Session, Session]:
    """(receive, send) sessions. ``allow_repeat_tx``: a Consumer's RTX answer to a NACK
    re-sends a sequence number of its own stream's history."""
    ours, theirs = (0, 1) if is_client else (1, 0)
    rx = policy(profile.libsrtp, profile.key_and_salt(material, theirs), Policy.SSRC_ANY_INBOUND)
    tx = policy(profile.libsrtp, profile.key_and_salt(material, ours), Policy.SSRC_ANY_OUTBOUND)
    return Session(rx), Session(tx)


def local_key(profile: Profile, material: bytes, is_client: bool) -> bytes:
    """This end's write key and salt (what the send session of :func:`sessions` uses)."""
    return profile.key_and_salt(material, 0 if is_client else 1)


def policy(libsrtp_profile: int, key_and_salt: bytes, ssrc_type: int) -> Policy:
    """A connection's policy for one direction: any SSRC of that direction, repeats
    allowed, the replay window above (the native path, ``sfu._forward.Sender``, sets
    the same)."""
    out = Policy(key=key_and_salt, ssrc_type=ssrc_type, srtp_profile=libsrtp_profile)
    out.allow_repeat_tx = True
    out.window_size = REPLAY_WINDOW
    return out
