"""The Provider's look for the request being answered, as the language is
(:mod:`stepauth.provider.i18n.current`): ``base.html`` reads it through ``brand()``."""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

from stepauth.provider.branding.theme import PageBrand, Themes
from stepauth.provider.config.branding import DEFAULT_PRODUCT_NAME

__all__ = ["Branding", "current_brand"]

_DEFAULT = PageBrand(product_name=DEFAULT_PRODUCT_NAME)
_current: ContextVar[PageBrand] = ContextVar("stepauth_brand", default=_DEFAULT)


def current_brand() -> PageBrand:
    return _current.get()


class Branding:
    """Plain ASGI middleware: every page of this Provider wears its branding."""

    def __init__(self, app: ASGIApp, *, themes: Themes) -> None:
        self.app = app
        self.themes = themes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _current.set(self.themes.provider)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
