"""The security headers of every response, chosen by path (sent by
:class:`~stepauth.provider.request_frame.RequestFrame`).

No inline script or style anywhere (CSP), no framing (clickjacking, OIDC Core §3.1.2.3,
RFC 6749 §10.13), no referrer (codes and states stay private); ``no-store`` on the pages
of the front channel (they carry codes, states and forms); a served branding file gets a
sandbox policy of its own (:data:`IMAGE_CSP`).
"""

from __future__ import annotations

from stepauth.provider.error_responses import FRONT_CHANNEL_PREFIXES

__all__ = [
    "IMAGE_CSP",
    "SECURITY_HEADERS",
    "HeaderPolicy",
    "RawHeaders",
    "content_security_policy",
]

_PAGE_CSP = "default-src 'self'; frame-ancestors 'none'; script-src 'self'"
#: A served branding file (an SVG logo above all) opened on its own: no script, no
#: request, no form, no plug-in (CSP 3 ``sandbox``); as an ``<img>`` it is an image only.
IMAGE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
_BRANDING_PREFIX = "/branding/"

#: Sent on every response (see the module docstring).
SECURITY_HEADERS = {
    "content-security-policy": _PAGE_CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}

#: The lower-case names a response's own headers are replaced by, and the encoded headers.
RawHeaders = tuple[frozenset[bytes], tuple[tuple[bytes, bytes], ...]]


def content_security_policy(image_origins: tuple[str, ...] = ()) -> str:
    """The pages' policy: images may also come from the configured https logos' origins
    (and from nowhere else: ``img-src`` then replaces ``default-src`` for images only)."""
    if not image_origins:
        return _PAGE_CSP
    return f"{_PAGE_CSP}; img-src 'self' {' '.join(image_origins)}"


def _raw(headers: dict[str, str], replaced: frozenset[bytes]) -> RawHeaders:
    raw = tuple(
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    )
    return frozenset(name for name, _ in raw) | replaced, raw


class HeaderPolicy:
    """The headers for a path, encoded once: :data:`SECURITY_HEADERS` (with the logos'
    origins in ``img-src``), ``no-store`` on the front channel, :data:`IMAGE_CSP` on
    branding files. ``replaced`` names headers the caller adds per response (the request
    id): a response's own headers of all these names are dropped, never duplicated."""

    __slots__ = ("_auth_page", "_image", "_plain")

    def __init__(
        self, *, image_origins: tuple[str, ...] = (), replaced: tuple[str, ...] = ()
    ) -> None:
        also = frozenset(name.lower().encode("latin-1") for name in replaced)
        pages = {
            **SECURITY_HEADERS,
            "content-security-policy": content_security_policy(image_origins),
        }
        self._plain = _raw(pages, also)
        self._auth_page = _raw({**pages, "cache-control": "no-store", "pragma": "no-cache"}, also)
        self._image = _raw({**SECURITY_HEADERS, "content-security-policy": IMAGE_CSP}, also)

    def for_path(self, path: str) -> RawHeaders:
        if path.startswith(FRONT_CHANNEL_PREFIXES):
            return self._auth_page
        if path.startswith(_BRANDING_PREFIX):
            return self._image
        return self._plain
