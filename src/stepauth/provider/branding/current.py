"""The Provider's look for the request being answered, as the language is
(:mod:`stepauth.provider.i18n.current`): ``base.html`` reads it through ``brand()``."""

from __future__ import annotations

from contextvars import ContextVar, Token

from stepauth.provider.branding.theme import PageBrand
from stepauth.provider.config.branding import DEFAULT_PRODUCT_NAME

__all__ = ["current_brand", "restore_brand", "use_brand"]

_DEFAULT = PageBrand(product_name=DEFAULT_PRODUCT_NAME)
_current: ContextVar[PageBrand] = ContextVar("stepauth_brand", default=_DEFAULT)


def current_brand() -> PageBrand:
    return _current.get()


def use_brand(brand: PageBrand) -> Token[PageBrand]:
    """Wear ``brand`` for the rest of this request (its context)."""
    return _current.set(brand)


def restore_brand(token: Token[PageBrand]) -> None:
    _current.reset(token)
