"""Plain ASGI middleware that sets the language of each HTTP request."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from stepauth.provider.config import UIConfig
from stepauth.provider.i18n.current import activate, restore
from stepauth.provider.i18n.negotiate import choose_locale

__all__ = ["Locales"]


class Locales:
    """Choose the language from the query's ``ui_locales`` (an authorization request's
    own pages, OIDC Core §3.1.2.1), ``Accept-Language`` and ``[ui]``; an interaction
    refines it with the ``ui_locales`` its request carried
    (:func:`stepauth.provider.i18n.prefer`)."""

    def __init__(self, app: ASGIApp, *, ui: UIConfig) -> None:
        self.app = app
        self.ui = ui

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        accept = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept-language"),
            None,
        )
        token = activate(
            choose_locale(
                ui_locales=" ".join(query.get("ui_locales", [])[:1]).split(),
                accept_language=accept,
                ui=self.ui,
            )
        )
        try:
            await self.app(scope, receive, send)
        finally:
            restore(token)
