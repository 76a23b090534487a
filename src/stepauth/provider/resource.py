"""Resource Indicators (RFC 8707): which API an access token is for.

A client names the protected resource with ``resource`` at ``/authorize``, ``/par`` and
``/token``: an absolute URI without a fragment (RFC 8707 §2). It may ask only for a
resource it is registered for (``[[clients]] resources``) or for the Provider's
``default_resource``; anything else is ``invalid_target``. The access token's ``aud`` is
that resource (RFC 9068 §2.2), so an API that checks ``aud`` accepts only tokens meant
for it.

At the token endpoint (RFC 8707 §2.2) a grant that named a resource at ``/authorize`` is
valid for that resource only; a grant that named none is valid for any resource the client
may ask for, the default when the request names none. A request without any resource,
with no default configured, gets a token whose ``aud`` is the issuer: a token for this
Provider's own UserInfo endpoint, which no API should accept.

One ``resource`` per request: a repeated parameter is already ``invalid_request``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from stepauth.provider.errors import InvalidTarget

if TYPE_CHECKING:
    from stepauth.provider.config import ClientConfig, ProviderConfig

__all__ = ["allowed_resources", "is_resource_uri", "requested_resource", "token_resource"]


def is_resource_uri(value: str) -> bool:
    """RFC 8707 §2: an absolute URI (RFC 3986 §4.3) that has no fragment component."""
    if "#" in value or not value.isascii() or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


def allowed_resources(config: ProviderConfig, client: ClientConfig) -> frozenset[str]:
    """The resources ``client`` may ask for: its own list and the Provider's default."""
    allowed = set(client.resources)
    if config.default_resource is not None:
        allowed.add(config.default_resource)
    return frozenset(allowed)


def requested_resource(
    config: ProviderConfig, client: ClientConfig, value: str | None
) -> str | None:
    """The ``resource`` parameter checked (RFC 8707 §2); ``None`` when none was sent."""
    if value is None:
        return None
    if not is_resource_uri(value):
        raise InvalidTarget("resource must be an absolute URI without a fragment")
    if value not in allowed_resources(config, client):
        raise InvalidTarget("resource is not allowed for this client")
    return value


def token_resource(
    config: ProviderConfig, client: ClientConfig, *, granted: str | None, requested: str | None
) -> str | None:
    """The resource an access token is issued for at the token endpoint (RFC 8707 §2.2).

    ``granted`` is the resource named at ``/authorize`` (``None`` when none was), and
    ``requested`` the token request's ``resource`` parameter.
    """
    resource = requested_resource(config, client, requested)
    if granted is not None:
        if granted not in allowed_resources(config, client):
            raise InvalidTarget("this grant's resource is no longer allowed for this client")
        if resource is not None and resource != granted:
            raise InvalidTarget("resource is not the one this grant was issued for")
        return granted
    return resource if resource is not None else config.default_resource
