"""Step 6: PKCE with S256 for every client, public or confidential (RFC 7636, RFC 9700 §2.1.1).

``plain`` is refused: it protects nothing if the request leaks. A missing method means
``plain`` (RFC 7636 §4.3), so it is refused too.
"""

from __future__ import annotations

import re

from stepauth.provider.authorize.context import AuthorizationContext
from stepauth.provider.errors import InvalidRequest

__all__ = ["check_pkce"]

# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is exactly 43 characters.
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


async def check_pkce(ctx: AuthorizationContext) -> None:
    challenge = ctx.params.get("code_challenge")
    if challenge is None:
        raise InvalidRequest("code_challenge is required (PKCE)")
    method = ctx.params.get("code_challenge_method")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge is not a base64url SHA-256 digest")
    ctx.code_challenge = challenge
