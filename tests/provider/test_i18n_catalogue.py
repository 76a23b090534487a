"""The catalogues: complete, consistent with their sources, read without a build step.

Every ``.po`` translates every msgid (no empty ``msgstr``, nothing fuzzy), with the same
``%(name)s`` placeholders and the same HTML tags as the English source; every msgid the
sources mark (``N_``/``gettext`` in Python, ``_``/``trans`` in the templates, the schema
labels of the built-in authorization-details types) is in every catalogue, and nothing
else is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from stepauth.provider.config import UI_LOCALES
from stepauth.provider.i18n import LOCALES_DIR, translations
from stepauth.provider.i18n.catalogue import SOURCE_LOCALE, po_path
from stepauth.rar import default_registry
from stepauth.rar.schema import Field
from stepauth.rar.summary import COMMON_FIELD_LABELS

PROVIDER = Path(LOCALES_DIR).parent
TRANSLATED = [locale for locale in UI_LOCALES if locale != SOURCE_LOCALE]
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
_TAG = re.compile(r"</?[a-z]+[^>]*>")


def _catalog(locale: str) -> Catalog:
    with po_path(locale).open("rb") as source:
        return read_po(source, locale=locale)


def _messages(locale: str) -> list[Message]:
    return [m for m in _catalog(locale) if m.id]


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    s = message.string
    return tuple(s) if isinstance(s, tuple | list) else (s,)


def _labels(fields: dict[str, Field]) -> Iterator[str]:
    for spec in fields.values():
        if spec.label:
            yield spec.label
        yield from _labels(dict(spec.fields))
        if spec.items is not None:
            if spec.items.label:
                yield spec.items.label
            yield from _labels(dict(spec.items.fields))


def source_msgids() -> set[str | tuple[str, str]]:
    """What the sources mark for translation (Babel's own extractors)."""
    found: set[str | tuple[str, str]] = set()
    method_map = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"N_": None, "gettext": None, "ngettext": (1, 2), "_": None}
    for _, _, message, _, _ in extract_from_dir(
        str(PROVIDER), method_map=method_map, options_map=options, keywords=keywords
    ):
        found.add(tuple(message) if isinstance(message, tuple | list) else message)
    for name in default_registry.types():
        schema = default_registry.schema(name)
        found.update(_labels(dict(schema.fields)))
    found.update(COMMON_FIELD_LABELS.values())
    return found


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_msgid_is_translated_and_nothing_is_fuzzy(locale: str) -> None:
    messages = _messages(locale)
    assert messages
    for message in messages:
        assert not message.fuzzy, message.id
        assert all(s.strip() for s in _strings(message)), f"{locale}: {message.id!r} is empty"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_placeholders_and_tags_match_the_source(locale: str) -> None:
    for message in _messages(locale):
        ids = _ids(message)
        expected = sorted(_PLACEHOLDER.findall(ids[-1]))
        tags = sorted(_TAG.findall(ids[0]))
        for string in _strings(message):
            assert sorted(_PLACEHOLDER.findall(string)) == expected, (locale, message.id, string)
            assert sorted(_TAG.findall(string)) == tags, (locale, message.id, string)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalogue_holds_exactly_what_the_sources_mark(locale: str) -> None:
    """A string added to a page without a translation (or a translation left behind by a
    removed string) fails here, before a German reader meets English."""
    shipped = {tuple(m.id) if isinstance(m.id, tuple | list) else m.id for m in _messages(locale)}
    marked = source_msgids()
    assert marked - shipped == set(), "not translated"
    assert shipped - marked == set(), "no longer used"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_po_is_read_without_a_compiled_file(locale: str) -> None:
    assert not list(po_path(locale).parent.glob("*.mo"))
    assert translations(locale).gettext("Continue") != "Continue"


def test_the_source_language_needs_no_catalogue() -> None:
    assert translations(SOURCE_LOCALE).gettext("Continue") == "Continue"
    assert not (LOCALES_DIR / SOURCE_LOCALE).exists()


def test_every_offered_language_has_a_catalogue() -> None:
    assert sorted(p.name for p in LOCALES_DIR.iterdir() if p.is_dir()) == sorted(TRANSLATED)
