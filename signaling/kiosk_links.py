"""The link of a salle's kiosk for one sitting (issue 12 point 11: kiosk links were 30-day
bearer tokens minted again at every admin view, and none could be revoked alone).

One link per sitting and salle, kept in the accounts database
(:meth:`signaling.accounts.AccountStore.kiosk_link`): every view shows the same token; it
is issued again in its last week; revoking it from /admin gives the salle a new one and
refuses the old one at once, the kiosks open with it disconnected (code ``token_revoked``).
"""

from __future__ import annotations

from signaling.accounts import AccountStore
from signaling.auth import KIOSK_TTL_S, TokenSigner
from signaling.roles import Role

#: A link with less than this left is issued again (same generation) when it is shown.
RENEW_BEFORE_S = 7 * 24 * 3600


def kiosk_token(accounts: AccountStore, signer: TokenSigner, sitting_id: str, salle_id: str, now: int) -> str:
    """The token of the salle's current link for the sitting (the same at each call)."""
    link = accounts.kiosk_link(sitting_id, salle_id, now, renew_after=KIOSK_TTL_S - RENEW_BEFORE_S)
    return signer.issue(
        Role.KIOSK, salle=salle_id, sitting=sitting_id, ttl_s=KIOSK_TTL_S, gen=link.gen, issued_at=link.issued_at
    )
