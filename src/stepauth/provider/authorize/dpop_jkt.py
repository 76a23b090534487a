"""Step 7: ``dpop_jkt`` (RFC 9449 §10) binds the code to one DPoP key.

The value is the RFC 7638 SHA-256 thumbprint of the key the client will prove possession
of at the token endpoint; the token endpoint redeems the code only with a proof by that
key. A pushed request carries it as a parameter or, when the client sent a ``DPoP`` proof
to the PAR endpoint, as that proof's key (§10.1, :mod:`stepauth.provider.par`).
"""

from __future__ import annotations

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.dpop import checked_jkt

__all__ = ["check_dpop_jkt"]


async def check_dpop_jkt(ctx: AuthorizationContext) -> None:
    value = ctx.params.get("dpop_jkt")
    if value is not None:
        ctx.dpop_jkt = checked_jkt(value)
