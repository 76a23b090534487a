"""The URL rules of the configuration: issuer, redirect URIs, origins, resources.

Redirect URIs are compared exactly (RFC 9700 §4.1.3); they must be absolute ``https``
URLs, or ``http`` on a loopback host (RFC 8252 §7.3), without a fragment
(RFC 6749 §3.1.2).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from stepauth.errors import ConfigError
from stepauth.provider.resource import is_resource_uri

__all__ = ["check_issuer", "check_resource", "check_web_url", "origin_of", "uri_list"]

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_web_url(value: str, key: str, *, plural: bool = True) -> None:
    """An absolute https URL, or http on a loopback host (RFC 8252 §7.3); no fragment."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(f"{value!r} is not a valid URL", key=key) from None
    ok_scheme = parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))
    if not ok_scheme or not parts.hostname:
        what = "must be absolute https URLs" if plural else "must be an absolute https URL"
        raise ConfigError(f"{what} or http://localhost… (got {value!r})", key=key)
    if parts.fragment or "#" in value:
        raise ConfigError(f"must not contain a fragment (got {value!r})", key=key)
    if parts.username or parts.password:
        raise ConfigError(f"must not contain credentials (got {value!r})", key=key)


def uri_list(values: tuple[str, ...] | None, key: str, *, required: bool) -> tuple[str, ...]:
    """Redirect URIs: web URLs (:func:`check_web_url`); ``required``: at least one."""
    if not values:
        if required:
            raise ConfigError("must be a non-empty list of URLs", key=key)
        return ()
    for value in values:
        check_web_url(value, key)
    return values


def check_issuer(issuer: str) -> str:
    check_web_url(issuer, "issuer", plural=False)
    if urlsplit(issuer).query:
        raise ConfigError("must not contain a query (OIDC Discovery §3)", key="issuer")
    return issuer


def origin_of(value: str, key: str) -> str:
    """``scheme://host[:port]`` of a web URL that names nothing more."""
    check_web_url(value, key)
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query:
        raise ConfigError(f"{value!r} is not an origin (scheme://host[:port])", key=key)
    return f"{parts.scheme}://{parts.netloc}"


def check_resource(value: str, key: str) -> str:
    if not is_resource_uri(value):
        raise ConfigError(
            f"must be an absolute URI without a fragment, RFC 8707 §2 (got {value!r})", key=key
        )
    return value
