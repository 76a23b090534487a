"""No visible text escapes the catalogue: every page state under a pseudo-locale.

The pseudo catalogue answers every msgid of the shipped catalogues as ``⟦msgid⟧`` and
leaves anything else alone, so a visible text node of a page without the brackets is
English the catalogue never sees. Each page state is reached the way a browser reaches
it, through the running Provider; only the outage page is rendered directly (a store
outage is the only way to it).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from stepauth.provider.i18n import current
from stepauth.provider.interaction.render import render
from tests.helpers.harness import USERNAME, Provider
from tests.helpers.http_page_states import (
    account_states,
    approval_page,
    form_post_page,
    interaction_states,
)
from tests.helpers.pseudo import Pseudo, outside

#: Text shown on the pages that is not a message of the Provider, and why it may stay as is.
ALLOWED = {
    "stepauth",  # the product's name in every <title>: a brand, never translated
    USERNAME,  # the signed-in user's own username ("Signed in as alice")
    "phone",  # the factor's name its owner chose (enrol_totp's label)
    "passkey",  # the name the test passkey was registered with (enrol_passkey's label)
    # the OAuth error code of the error page (RFC 6749 §4.1.2.1): a protocol identifier
    # for the application's support, the same in every language
    "invalid_request",
    "spa",  # the test client's id, shown for a client without a client_name: its brand
    "bank",  # the bank client's id, shown for a client without a client_name: its brand
}
#: Text in these elements is data, never words: TOTP secrets and recovery codes (<code>);
#: the approved values (<dd>: amounts with their ISO 4217 code, IBANs, RFC 9396 §2.2 URIs
#: and actions, as the request says them).
DATA_ELEMENTS = {"code", "dd", "script", "style"}
#: Attributes holding the words a script shows in a status line.
MESSAGE_ATTRIBUTES = {
    "data-unsupported",
    "data-waiting",
    "data-checking",
    "data-failed",
    "data-prompt",
    "data-request-failed",
}
#: What is left of a text node once its messages are taken out may be punctuation,
#: digits, times in UTC and whitespace only.
_NEUTRAL = re.compile(r"^[\s\d.,:;()·/–—\-“”\"'!?]*(?:\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC)?[\s.]*$")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.nodes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("input", "meta", "link", "br"):
            self.open.append(tag)
        # the status lines the scripts write (webauthn.js, account.js) are shown text too
        self.nodes.extend(v for k, v in attrs if k in MESSAGE_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if data.strip() and not DATA_ELEMENTS & set(self.open):
            self.nodes.append(data.strip())


def escaped(html: str) -> list[str]:
    """The visible text nodes of ``html`` with words outside every catalogue message.

    A message may hold markup (``⟦Signed in as <strong>alice</strong>.⟧``), so the depth
    of ``⟦…⟧`` is carried from one text node to the next; what is outside every message,
    less the allowed data, must be punctuation, digits or a time in UTC."""
    parser = _Text()
    parser.feed(html)
    found = []
    for node, rest in zip(parser.nodes, outside(parser.nodes), strict=True):
        for allowed in sorted(ALLOWED, key=len, reverse=True):
            rest = rest.replace(allowed, "")
        if not _NEUTRAL.match(rest):
            found.append(node)
    return found


@pytest.fixture
def pseudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(current, "translations", lambda locale: Pseudo())


def test_the_checker_catches_english() -> None:
    html = "<p>⟦Sign in⟧</p><p>Sign in</p><p>⟦Signed in as <strong>alice</strong>.⟧</p>"
    assert escaped(html) == ["Sign in"]
    assert escaped('<p data-waiting="Waiting…" data-failed="⟦Failed⟧"></p>') == ["Waiting…"]
    assert escaped("<p>⟦Done.⟧ Switched off.</p>") == ["⟦Done.⟧ Switched off."]


@pytest.mark.usefixtures("outbox_path")  # the lockout notice goes to a dev outbox
async def test_interaction_pages_have_no_text_outside_the_catalogue(
    provider: Provider, pseudo: None
) -> None:
    shown = await interaction_states(provider)
    for state, html in shown.items():
        assert "data-reason" in html or state == "error", state
        assert escaped(html) == [], state


async def test_passkey_approval_and_form_post_pages(bank: Provider, pseudo: None) -> None:
    shown = {"passkey approval": await approval_page(bank), "form_post": await form_post_page(bank)}
    for state, html in shown.items():
        assert escaped(html) == [], state


async def test_account_pages_have_no_text_outside_the_catalogue(
    provider: Provider, pseudo: None, outbox_path: Path
) -> None:
    shown = await account_states(provider)
    for state, html in shown.items():
        assert escaped(html) == [], state


def test_outage_page_has_no_text_outside_the_catalogue(pseudo: None) -> None:
    html = render("unavailable.html", {}, status_code=503).body.decode()
    assert "⟦" in html
    assert escaped(html) == []
