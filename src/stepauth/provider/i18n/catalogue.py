"""The message catalogues, read from their ``.po`` files when first used.

Babel compiles each ``.po`` in memory (``read_po`` → ``write_mo``), so what the pages show
is always what the ``.po`` says: no ``.mo`` to rebuild or to forget in a wheel. A fuzzy
entry is never used (``write_mo`` leaves it out): an unreviewed translation shows the
English source instead. English is the source language and has no catalogue.
"""

from __future__ import annotations

import functools
import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = ["DOMAIN", "LOCALES_DIR", "SOURCE_LOCALE", "catalogued", "po_path", "translations"]

DOMAIN = "stepauth"
SOURCE_LOCALE = "en"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The catalogue of ``locale``; a missing one is an error (``FileNotFoundError``),
    never a silent fall back to English on a page that promised another language."""
    if locale == SOURCE_LOCALE:
        return gettext.NullTranslations()
    with po_path(locale).open("rb") as source:
        catalog = read_po(source, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@functools.cache
def _msgids() -> frozenset[str]:
    ids: set[str] = set()
    for po in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as source:
            ids.update(m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id)
    return frozenset(ids)


def catalogued(message: str) -> bool:
    """Whether ``message`` is a msgid of the shipped catalogues: words for the reader,
    rather than a description written for a client's developer (which stays English)."""
    return message in _msgids()
