"""The language of the request being handled, and the translation functions that use it.

Module constants (``GENERIC_FAILURE``, ``REASON_TEXT``, factor titles) stay English: they
are message ids, translated where a page shows them, so a log or a test reads the same
in every language.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from stepauth.provider.i18n.catalogue import SOURCE_LOCALE, translations

__all__ = [
    "N_",
    "activate",
    "current_locale",
    "gettext",
    "in_locale",
    "ngettext",
    "restore",
]

_current: ContextVar[str] = ContextVar("stepauth_locale", default=SOURCE_LOCALE)


def current_locale() -> str:
    return _current.get()


def activate(locale: str) -> Token[str]:
    """Use ``locale`` for the rest of this request (its context)."""
    return _current.set(locale)


def restore(token: Token[str]) -> None:
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
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` as a msgid translated later, where it is shown."""
    return message
