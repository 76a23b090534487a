"""Which language one request gets: ``ui_locales``, then ``Accept-Language``, then the default."""

from __future__ import annotations

from collections.abc import Sequence

from babel import negotiate_locale

from stepauth.provider.config import UIConfig
from stepauth.provider.i18n.current import activate

__all__ = ["choose_locale", "parse_accept_language", "prefer"]

#: More preferences than anyone states are not read (a header is not a work list).
MAX_PREFERENCES = 20


def parse_accept_language(header: str) -> list[str]:
    """RFC 9110 §12.5.4: the language ranges of ``header``, most preferred first.

    A range's weight is its ``q`` (1 when absent); ``q=0`` means "not acceptable" and is
    dropped, as is a range with a malformed weight and ``*`` (it names no catalogue).
    Ranges of equal weight keep the order the header gives them."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:MAX_PREFERENCES]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if not tag or tag == "*" or not 0 < q <= 1:
            continue
        weighted.append((-q, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _first_supported(tags: Sequence[str], supported: Sequence[str]) -> str | None:
    # "fr-CH" matches the "fr" catalogue (Babel: the primary subtag when the tag is not offered)
    return negotiate_locale(list(tags), list(supported), sep="-")


def choose_locale(*, ui_locales: Sequence[str], accept_language: str | None, ui: UIConfig) -> str:
    """OIDC Core §3.1.2.1: ``ui_locales`` (space-separated BCP 47 tags, most preferred
    first) decides when one of them is offered; then ``Accept-Language``; then
    ``[ui] default_locale``."""
    chosen = _first_supported(ui_locales[:MAX_PREFERENCES], ui.locales) if ui_locales else None
    if chosen is None and accept_language:
        chosen = _first_supported(parse_accept_language(accept_language), ui.locales)
    return chosen or ui.default_locale


def prefer(ui_locales: Sequence[str], ui: UIConfig) -> None:
    """Switch this request to the first offered language of ``ui_locales`` (the ones an
    interaction carries from its authorization request), if any."""
    chosen = _first_supported(ui_locales[:MAX_PREFERENCES], ui.locales)
    if chosen is not None:
        activate(chosen)
