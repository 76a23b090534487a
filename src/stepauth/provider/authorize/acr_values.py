"""Step 8: ``acr_values`` in order of preference (OIDC Core §3.1.2.1).

Values the ladder does not know are ignored (OIDC Core §15.1: their use must not cause an error).
Whether known values are enforced is the login policy's business (client switch
``acr_values = "required" | "voluntary"``, docs/concepts.md). Unknown essential values stay:
an essential acr the Provider cannot produce is exactly what
``unmet_authentication_requirements`` is for
(OpenID Connect unmet_authentication_requirements 1.0 §1).
"""

from __future__ import annotations

from stepauth.assurance import Ladder
from stepauth.provider.authorize.context import AuthorizationContext

__all__ = ["check_acr_values", "known_acr"]


def known_acr(ladder: Ladder, acr: str) -> bool:
    return acr in ladder


async def check_acr_values(ctx: AuthorizationContext) -> None:
    ladder = ctx.provider.ladder
    requested = ctx.params.get("acr_values", "").split()
    ctx.acr_values = [acr for acr in dict.fromkeys(requested) if known_acr(ladder, acr)]
