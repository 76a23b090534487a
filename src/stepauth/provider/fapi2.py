"""Token-side rules that depend on a client's registration and profile.

A client registered with ``profile = "fapi2"`` is held to the authorization server's
token-side rules of the FAPI 2.0 Security Profile (§5.3.2.1):

* sender-constrained access tokens: a DPoP proof (RFC 9449) on every token request — the
  same rule a client registered with ``dpop_bound_access_tokens = true`` gets
  (RFC 9449 §5.2);
* authorization codes live at most :data:`FAPI2_MAX_CODE_LIFETIME` seconds, whatever
  ``[ttl] code`` says;
* refresh tokens are not rotated (rotation only in extraordinary circumstances), unless
  the client opts in with ``rotate_refresh_tokens = true``. Every other client rotates on
  each use (RFC 9700 §4.14.2) unless it opts out with ``rotate_refresh_tokens = false``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stepauth.provider.config import ClientConfig, ProviderConfig

__all__ = [
    "FAPI2",
    "FAPI2_MAX_CODE_LIFETIME",
    "code_lifetime",
    "requires_dpop",
    "rotates_refresh_tokens",
]

FAPI2 = "fapi2"
FAPI2_MAX_CODE_LIFETIME = 60


def requires_dpop(client: ClientConfig) -> bool:
    """Whether every token request of ``client`` must carry a DPoP proof."""
    return client.dpop_bound_access_tokens or client.profile == FAPI2


def code_lifetime(config: ProviderConfig, client: ClientConfig | None) -> int:
    """Seconds an authorization code for ``client`` stays redeemable."""
    ttl = int(config.ttl.code)
    if client is not None and client.profile == FAPI2:
        return min(ttl, FAPI2_MAX_CODE_LIFETIME)
    return ttl


def rotates_refresh_tokens(client: ClientConfig) -> bool:
    """Whether a refresh replaces the refresh token (the client's choice, else its
    profile's default)."""
    if client.rotate_refresh_tokens is not None:
        return client.rotate_refresh_tokens
    return client.profile != FAPI2
