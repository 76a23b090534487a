"""The one ASGI layer around every HTTP request of the Provider (and of its console
listener): what each request gets before its route runs and each response on its way out.

* **observed** (:mod:`stepauth.provider.ops.requests`): a request id, echoed as
  ``X-Request-Id`` and carried by the request's log records; after the response, one
  access event and the HTTP metrics; a store's exception counted as it escapes;
* **secured** (:mod:`stepauth.provider.security_headers`): the security headers for the
  path, replacing any of the same names the route set;
* **in its language** (:mod:`stepauth.provider.i18n.request`) and **in the Provider's
  branding** (:mod:`stepauth.provider.branding.current`), for the hosted pages.

One layer, not one middleware per concern: a middleware is a coroutine frame on every
request, and one that touches the response a ``send`` wrapper called for each message;
four of them took about 12 µs more of each request's CPU than this one does. The timing
starts first and the metrics are written last, as when the observer was the outermost
layer.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from stepauth.provider.branding.current import restore_brand, use_brand
from stepauth.provider.i18n.current import activate_on_use, restore
from stepauth.provider.i18n.request import request_locale
from stepauth.provider.ops import metrics as _metrics
from stepauth.provider.ops.logs import RequestContext, request_context
from stepauth.provider.ops.requests import REQUEST_ID_HEADER, RequestObserver, request_id
from stepauth.provider.security_headers import HeaderPolicy

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from stepauth.provider.branding.theme import PageBrand
    from stepauth.provider.config import UIConfig

__all__ = ["RequestFrame"]

_REQUEST_ID_NAME = REQUEST_ID_HEADER.encode("latin-1")


class RequestFrame:
    """See the module docstring. ``ui`` and ``brand`` are the hosted pages' (the console
    listener, English and unbranded, has neither)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: _metrics.Metrics,
        image_origins: tuple[str, ...] = (),
        ui: UIConfig | None = None,
        brand: PageBrand | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.observer = RequestObserver(metrics)
        self.headers = HeaderPolicy(image_origins=image_origins, replaced=(REQUEST_ID_HEADER,))
        self.ui = ui
        self.brand = brand

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        context = RequestContext(request_id(scope))
        replaced, secured = self.headers.for_path(scope["path"])
        added = (*secured, (_REQUEST_ID_NAME, context.request_id.encode("latin-1")))
        status = 500

        async def send_framed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [h for h in message.get("headers", ()) if h[0].lower() not in replaced]
                headers.extend(added)
                message["headers"] = headers
            await send(message)

        observed = request_context.set(context)
        measured = _metrics.activate(self.metrics)
        spoken = activate_on_use(request_locale, scope, self.ui) if self.ui is not None else None
        worn = use_brand(self.brand) if self.brand is not None else None
        try:
            await self.app(scope, receive, send_framed)
        except Exception as exc:
            self.observer.failed(exc)
            raise
        finally:
            if worn is not None:
                restore_brand(worn)
            if spoken is not None:
                restore(spoken)
            _metrics.deactivate(measured)
            self.observer.finished(scope, status, time.perf_counter() - start, context)
            request_context.reset(observed)
