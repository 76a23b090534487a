"""Delivering an authorization response (RFC 6749 §4.1.2, OAuth 2.0 Form Post Response Mode).

Every response, success or error, carries ``iss`` (RFC 9207 §2). ``query`` appends the
parameters to the redirect URI (303); ``form_post`` renders a page whose form posts them
to the client, submitted by a static script, with a visible **Continue** button when
scripts are off (no inline script: the CSP forbids it).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stepauth.provider.interaction.render import form_post_page

__all__ = ["authorization_response"]


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    """``uri`` with ``params`` appended; the registered query is kept as registered
    (RFC 6749 §3.1.2: "MUST retain the query component"), any fragment dropped."""
    parts = urlsplit(uri)
    added = urlencode(params)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def authorization_response(
    request: Request,
    redirect_uri: str,
    params: Mapping[str, str],
    *,
    response_mode: str,
    issuer: str,
) -> Response:
    fields = {**params, "iss": issuer}
    if response_mode == "form_post":
        return form_post_page(request, redirect_uri, fields)
    return RedirectResponse(_with_query(redirect_uri, fields), status_code=303)
