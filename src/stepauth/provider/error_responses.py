"""How a :class:`~stepauth.provider.errors.ProviderError` is answered, per channel.

A :class:`~stepauth.store.adapter.StoreUnavailable` (the database or Redis cannot answer)
raised anywhere below an endpoint becomes :class:`TemporarilyUnavailable`
(:func:`store_unavailable_handler`): a JSON error with status 503 and ``Retry-After`` on
the back channel (RFC 6749 §4.1.2.1 names the code; RFC 9110 §15.6.4 the status), a
friendly 503 page on the front channel. It is never redirected: the Provider cannot
look up the client's redirect without its store.

Errors raised at the authorization endpoint become a redirect to the client's
``redirect_uri`` (with ``error``, ``error_description``, ``state`` and ``iss``, RFC 9207)
only when the error is ``redirectable`` **and** the authorization flow attached a verified
redirect with :meth:`ProviderError.bind_redirect`. Otherwise the user sees an HTML error
page (front channel) or the client gets a JSON error body (back channel, RFC 6749 §5.2).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stepauth.provider.authorize.response_mode import authorization_response
from stepauth.provider.errors import ProviderError, TemporarilyUnavailable
from stepauth.provider.interaction.render import error_page, render
from stepauth.provider.ops import metrics
from stepauth.provider.state import get_state
from stepauth.store.adapter import StoreUnavailable

__all__ = [
    "FRONT_CHANNEL_PREFIXES",
    "exception_handlers",
    "provider_error_handler",
    "store_unavailable_handler",
]

_log = logging.getLogger("stepauth.provider")

#: Paths a browser navigates to (the front channel): errors there are pages, not JSON.
FRONT_CHANNEL_PREFIXES = ("/authorize", "/interaction", "/account", "/logout", "/admin")


async def store_unavailable_handler(request: Request, exc: Exception) -> Response:
    """A store outage as :class:`TemporarilyUnavailable` (logged and counted here: the
    request observer sees a response, not the exception)."""
    assert isinstance(exc, StoreUnavailable)
    metrics.store_error(exc.backend)
    _log.warning("store unavailable: %s", exc.description)
    unavailable = TemporarilyUnavailable()
    if request.url.path.startswith(FRONT_CHANNEL_PREFIXES):
        page = render("unavailable.html", {}, status_code=unavailable.status)
        page.headers.update(unavailable.headers)
        return page
    return await provider_error_handler(request, unavailable)


async def provider_error_handler(request: Request, exc: Exception) -> Response:
    """Turn a ProviderError into the spec's response for the channel it was raised on."""
    assert isinstance(exc, ProviderError)
    if exc.redirectable and exc.redirect_uri is not None:
        params: dict[str, str] = exc.to_dict()
        if exc.state is not None:
            params["state"] = exc.state
        return authorization_response(
            request,
            exc.redirect_uri,
            params,
            response_mode=exc.response_mode,
            issuer=get_state(request).config.issuer,
        )
    if request.url.path.startswith(FRONT_CHANNEL_PREFIXES):
        return error_page(request, exc)
    return JSONResponse(
        exc.to_dict(),
        status_code=exc.status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers},
    )


def exception_handlers() -> dict[Any, Any]:
    """The handlers ``create_app`` installs."""
    return {ProviderError: provider_error_handler, StoreUnavailable: store_unavailable_handler}
