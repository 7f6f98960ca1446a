"""Passwords (scrypt), signed tokens (expiry, tampering), kiosk tokens (T3, T10)."""

from __future__ import annotations

import pytest

from signaling.accounts import AccountStore
from signaling.auth import TokenError, TokenSigner, hash_password, new_password, verify_password
from signaling.roles import Role


def test_password_hash_is_salted_scrypt_and_verifies():
    h1, h2 = hash_password("s3cret"), hash_password("s3cret")
    assert h1.startswith("scrypt$14$8$1$") and h1 != h2
    assert verify_password("s3cret", h1) and verify_password("s3cret", h2)
    assert not verify_password("s3cret ", h1)
    assert not verify_password("s3cret", "scrypt$14$8$1$bad$bad")
    assert not verify_password("s3cret", "md5$x")
    assert not verify_password("s3cret", "scrypt$40$8$1$AAAA$AAAA")  # absurd cost refused


def test_generated_passwords_are_typable_and_distinct():
    pw = {new_password() for _ in range(50)}
    assert len(pw) == 50 and all(len(p) == 19 and p.count("-") == 3 for p in pw)


class Clock:
    def __init__(self, t=1_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


def test_token_round_trip_carries_role_member_salle():
    signer = TokenSigner(b"k" * 32, clock=Clock())
    claims = signer.verify(signer.issue(Role.AGENT, member="agent-vaux", salle="vaux", sitting="demo"))
    assert (claims.role, claims.member, claims.salle, claims.sitting) == (Role.AGENT, "agent-vaux", "vaux", "demo")


def test_token_expires():
    clock = Clock()
    signer = TokenSigner(b"k" * 32, clock=clock)
    token = signer.issue(Role.PRESIDENT, member="president", ttl_s=60)
    clock.t += 59
    signer.verify(token)
    clock.t += 1
    with pytest.raises(TokenError) as info:
        signer.verify(token)
    assert info.value.code == "token_expired"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],  # MAC changed
        lambda t: ("e" if t[0] != "e" else "f") + t[1:],  # payload changed
        lambda t: t.replace(".", ""),
        lambda t: t + ".x",
        lambda t: "",
        lambda t: "a" * 5000,
    ],
)
def test_tampered_tokens_are_refused(mutate):
    signer = TokenSigner(b"k" * 32)
    with pytest.raises(TokenError):
        signer.verify(mutate(signer.issue(Role.MODERATOR, member="m")))


def test_role_escalation_by_editing_the_payload_is_refused():
    import base64
    import json

    signer = TokenSigner(b"k" * 32)
    body, mac = signer.issue(Role.KIOSK, salle="vaux").split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=="))
    data["role"] = "president"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode() + "." + mac
    with pytest.raises(TokenError):
        signer.verify(forged)


def test_another_installation_key_is_refused():
    token = TokenSigner(b"a" * 32).issue(Role.ADMIN, member="admin")
    with pytest.raises(TokenError):
        TokenSigner(b"b" * 32).verify(token)


def test_kiosk_tokens_name_a_salle_and_no_member():
    signer = TokenSigner(b"k" * 32)
    claims = signer.verify(signer.issue(Role.KIOSK, salle="belcourt"))
    assert claims.role is Role.KIOSK and claims.member is None and claims.salle == "belcourt"
    with pytest.raises(ValueError):
        signer.issue(Role.KIOSK, member="someone", salle="vaux")
    with pytest.raises(ValueError):
        signer.issue(Role.KIOSK)


def test_signing_key_is_created_once_private(tmp_path):
    s1 = TokenSigner.from_data_dir(tmp_path)
    token = s1.issue(Role.AUDITOR, member="a")
    assert TokenSigner.from_data_dir(tmp_path).verify(token).role is Role.AUDITOR
    assert (tmp_path / "session.key").stat().st_mode & 0o777 == 0o600


def test_accounts_persist_in_sqlite_with_scrypt_hashes(tmp_path):
    store = AccountStore.in_data_dir(tmp_path)
    store.set_account("agent-vaux", "pw-1", Role.AGENT, member_id="agent-vaux", salle_id="vaux", display_name="Agent")
    store.close()
    store = AccountStore.in_data_dir(tmp_path)
    assert store.authenticate("agent-vaux", "pw-1").salle_id == "vaux"
    assert store.authenticate("agent-vaux", "pw-2") is None
    assert store.authenticate("nobody", "pw-1") is None
    raw = (tmp_path / "accounts.sqlite3").read_bytes()
    assert b"pw-1" not in raw
    store.set_account("agent-vaux", "pw-2", Role.AGENT, salle_id="vaux")  # password change
    assert store.authenticate("agent-vaux", "pw-1") is None and store.authenticate("agent-vaux", "pw-2")
    with pytest.raises(ValueError):
        store.set_account("kiosk", "x", Role.KIOSK)
    with pytest.raises(ValueError):
        store.set_account("agent", "x", Role.AGENT)
    store.close()
