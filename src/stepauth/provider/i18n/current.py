"""The language of the request being handled, and the translation functions that use it.

Module constants (``GENERIC_FAILURE``, ``REASON_TEXT``, factor titles) stay English: they
are message ids, translated where a page shows them, so a log or a test reads the same
in every language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from stepauth.provider.i18n.catalogue import SOURCE_LOCALE, translations

__all__ = [
    "N_",
    "activate",
    "activate_on_use",
    "current_locale",
    "gettext",
    "in_locale",
    "ngettext",
    "restore",
]


class _OnUse:
    """A language chosen the first time something asks for it."""

    __slots__ = ("_args", "_choose", "_locale")

    def __init__(self, choose: Callable[..., str], args: tuple[Any, ...]) -> None:
        self._choose = choose
        self._args = args
        self._locale: str | None = None

    def locale(self) -> str:
        if self._locale is None:
            self._locale = self._choose(*self._args)
        return self._locale


_current: ContextVar[str | _OnUse] = ContextVar("stepauth_locale", default=SOURCE_LOCALE)


def current_locale() -> str:
    value = _current.get()
    return value if isinstance(value, str) else value.locale()


def activate(locale: str) -> Token[str | _OnUse]:
    """Use ``locale`` for the rest of this request (its context)."""
    return _current.set(locale)


def activate_on_use(choose: Callable[..., str], *args: Any) -> Token[str | _OnUse]:
    """Use ``choose(*args)`` for the rest of this request, called when a page or a message
    first needs the language (most answers, a redirect or a token, never do)."""
    return _current.set(_OnUse(choose, args))


def restore(token: Token[str | _OnUse]) -> None:
    """Back to the language before :func:`activate` returned ``token``."""
    _current.reset(token)


@contextmanager
def in_locale(locale: str) -> Iterator[None]:
    """``locale`` for what is written inside, then the request's language again: a notice
    an operator causes is written in the Provider's default language
    (:func:`stepauth.provider.factors.confirm.operator_notice`), not the operator's."""
    token = activate(locale)
    try:
        yield
    finally:
        restore(token)


def gettext(message: str) -> str:
    """``message`` in the request's language; unchanged when it is not in the catalogue."""
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` as a msgid translated later, where it is shown."""
    return message
