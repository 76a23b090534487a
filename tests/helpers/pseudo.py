"""A pseudo-locale for the messages sent outside the browser (codes, account notices).

:class:`Pseudo` answers every msgid of the shipped catalogues as ``⟦msgid⟧`` and leaves
anything else alone, so words outside the brackets never went through the catalogue.
:func:`uncatalogued` says what is left of a message once its catalogue text and its data
(links, digits) are taken out; :func:`outside` what of some texts is outside the brackets.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable
from html.parser import HTMLParser

from babel.messages.pofile import read_po

from stepauth.provider.i18n.catalogue import po_path

__all__ = ["MSGIDS", "Pseudo", "outside", "page_text", "uncatalogued"]

with po_path("de").open("rb") as _source:
    MSGIDS = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(_source) if m.id}

#: Data a message carries as is: a link (the "this wasn't me" link, the issuer's URL).
_LINK = re.compile(r"https?://\S+")
#: What may stay outside the brackets: digits (a code), punctuation, whitespace.
_NEUTRAL = re.compile(r"^[\s\d.,:;()·/–—\-“”\"'!?]*$")


class Pseudo(gettext.NullTranslations):
    """``⟦msgid⟧`` for each catalogued msgid; anything else unchanged (and so caught)."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧" if message in MSGIDS else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.gettext(msgid1) if n == 1 else f"⟦{msgid2}⟧"


def outside(texts: Iterable[str]) -> list[str]:
    """The characters of each of ``texts`` outside every ``⟦…⟧`` (a message may hold
    another); the depth is carried from one text to the next, as a message holding markup
    (``⟦Signed in as <strong>alice</strong>.⟧``) spans several text nodes of a page."""
    depth, each = 0, []
    for text in texts:
        kept = []
        for ch in text:
            if ch == "⟦":
                depth += 1
            elif ch == "⟧":
                depth = max(depth - 1, 0)
            elif depth == 0:
                kept.append(ch)
        each.append("".join(kept))
    return each


def uncatalogued(message: str, *, allowed: tuple[str, ...] = ()) -> str:
    """What of ``message`` is words outside the catalogue ("" when none): links and the
    ``allowed`` data (a user's own label, a product name) are taken out first."""
    rest = _LINK.sub("", message)
    for data in sorted(allowed, key=len, reverse=True):
        rest = rest.replace(data, "")
    (rest,) = outside([rest])
    return "" if _NEUTRAL.match(rest) else rest.strip()


#: Elements whose text is data, not words: scripts, and <code> (a description for a
#: client's developer, an identifier).
_DATA = ("script", "style", "code")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in _DATA

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in _DATA

    def handle_data(self, data: str) -> None:
        if data.strip() and not self._skip:
            self.nodes.append(data.strip())


def page_text(html: str) -> str:
    """The visible words of a simple page, its nodes joined by spaces (data elements
    left out)."""
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.nodes)
