"""Revoking a grant so that it stays revoked, whichever request finishes last.

A grant is revoked when its code or a rotated refresh token comes back (RFC 6749 §4.1.2,
RFC 9700 §4.14.2), when its refresh token is revoked (RFC 7009 §2.1) and when its user is
no longer active. The request that holds the grant's last single-use item may still be in
flight at that moment: it consumed the item *before* the revocation and stores the tokens
it issues *after* it, where the revocation of the grant's items could not reach them.

So :func:`revoke_grant` first records the grant as revoked (a durable item of kind
:data:`REVOKED_GRANT_KIND`, kept in the SQL store also when Redis holds the codes), then
revokes the grant's items. The token endpoint checks that record after it stored what it
issues (:func:`grant_revoked`) and, when it is there, revokes what it just stored and hands
out nothing. Either the in-flight request stored its tokens before the record was written
(the revocation that follows the record ends them), or it sees the record — the same
ordering argument as for an ended session (:mod:`stepauth.provider.sessions`).
"""

from __future__ import annotations

from stepauth.provider.sessions import ENDED_SID_TTL
from stepauth.provider.state import ProviderState

__all__ = ["REVOKED_GRANT_KIND", "REVOKED_GRANT_TTL", "grant_revoked", "revoke_grant"]

#: Store kind of the record that a grant was revoked.
REVOKED_GRANT_KIND = "revoked_grant"
#: Seconds that record lives: longer than any code (``ttl.code`` ≤ 600) or request in flight.
REVOKED_GRANT_TTL = ENDED_SID_TTL


async def revoke_grant(state: ProviderState, grant_id: str) -> None:
    """Record ``grant_id`` as revoked, then revoke every item issued under it."""
    now = state.clock()
    await state.store.put(REVOKED_GRANT_KIND, grant_id, {}, expires_at=now + REVOKED_GRANT_TTL)
    await state.store.revoke_grant(grant_id)


async def grant_revoked(state: ProviderState, grant_id: str) -> bool:
    """Whether ``grant_id`` was revoked within :data:`REVOKED_GRANT_TTL` (see the module doc)."""
    return await state.store.get(REVOKED_GRANT_KIND, grant_id, now=state.clock()) is not None
