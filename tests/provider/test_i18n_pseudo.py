"""No visible text escapes the catalogue: every page state under a pseudo-locale.

The pseudo catalogue answers every msgid of the shipped catalogues as ``⟦msgid⟧`` and
leaves anything else alone, so a visible text node of a page without the brackets is
English the catalogue never sees. Each page state is reached the way a browser reaches
it, through the running Provider; only the outage page is rendered directly (a store
outage is the only way to it).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from stepauth.provider.account.not_me import issue_link
from stepauth.provider.i18n import current
from stepauth.provider.interaction.render import render
from tests.helpers.bank import bank_client, code_request, front, push_details
from tests.helpers.frontchannel import (
    enrol_totp,
    open_interaction,
    page,
    query,
    submit,
)
from tests.helpers.harness import ACR_2FA, PASSWORD, USERNAME, Provider, pkce_pair
from tests.helpers.harness import running_provider as run
from tests.helpers.passkeys import enrol_passkey, use_passkeys
from tests.helpers.pseudo import Pseudo
from tests.provider.account.conftest import account_page, csrf_of, field, reauth

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
    depth, found = 0, []
    for node in parser.nodes:
        outside = []
        for ch in node:
            if ch == "⟦":
                depth += 1
            elif ch == "⟧":
                depth = max(depth - 1, 0)
            elif depth == 0:
                outside.append(ch)
        rest = "".join(outside)
        for allowed in sorted(ALLOWED, key=len, reverse=True):
            rest = rest.replace(allowed, "")
        if not _NEUTRAL.match(rest):
            found.append(node)
    return found


@pytest.fixture
def pseudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(current, "translations", lambda locale: Pseudo())


@pytest.fixture
def outbox_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Notices of account changes go to a file of this test."""
    path = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(path))
    return path


@pytest.fixture
async def bank(tmp_path: Path) -> AsyncIterator[Provider]:
    async with run(tmp_path, clients=[bank_client()]) as running:
        await running.create_user()
        use_passkeys(running)
        yield running


def test_the_checker_catches_english() -> None:
    html = "<p>⟦Sign in⟧</p><p>Sign in</p><p>⟦Signed in as <strong>alice</strong>.⟧</p>"
    assert escaped(html) == ["Sign in"]
    assert escaped('<p data-waiting="Waiting…" data-failed="⟦Failed⟧"></p>') == ["Waiting…"]
    assert escaped("<p>⟦Done.⟧ Switched off.</p>") == ["⟦Done.⟧ Switched off."]


async def _states(provider: Provider) -> dict[str, str]:
    shown: dict[str, str] = {}
    browser = provider.browser
    user = await provider.store.get_user_by_username(USERNAME)
    sign_in_page = await open_interaction(browser, query())
    shown["sign-in"] = sign_in_page.text
    refused = await submit(browser, sign_in_page, "password", username=USERNAME, password="x")
    shown["sign-in refused"] = refused.text
    await submit(browser, page(refused), "password", username=USERNAME, password=PASSWORD)
    await enrol_totp(provider, user.id)
    provider.clock.advance(60)
    shown["one-time code"] = (await open_interaction(browser, query(acr_values=ACR_2FA))).text
    provider.clock.advance(1)
    locked = await open_interaction(browser, query(prompt="login"))
    for _ in range(provider.state.config.throttle.max_failures + 1):
        response = await submit(browser, locked, "password", username=USERNAME, password="x")
        locked = page(response)
    assert "factor_locked" in locked.reasons()
    shown["lockout"] = locked.text
    shown["error"] = (await browser.get("/interaction/no-such-request")).text
    return shown


async def test_interaction_pages_have_no_text_outside_the_catalogue(
    provider: Provider, pseudo: None
) -> None:
    shown = await _states(provider)
    for state, html in shown.items():
        assert "data-reason" in html or state == "error", state
        assert escaped(html) == [], state


async def test_passkey_approval_and_form_post_pages(bank: Provider, pseudo: None) -> None:
    alice = await bank.store.get_user_by_username(USERNAME)
    await enrol_passkey(bank, alice.id)
    _, challenge = pkce_pair()
    browser = bank.browser
    first = await open_interaction(browser, code_request(challenge))
    await submit(browser, first, "password", username=USERNAME, password=PASSWORD)
    shown = {}
    _, request_uri = await push_details(bank)
    approval = await open_interaction(browser, front(request_uri))
    assert "webauthn" in approval.kinds()
    assert "<dd>" in approval.text
    shown["passkey approval"] = approval.text
    posted = await browser.get(
        "/authorize", params=code_request(challenge, response_mode="form_post")
    )
    assert 'id="form-post"' in posted.text, posted.text[:300]
    shown["form_post"] = posted.text
    for state, html in shown.items():
        assert escaped(html) == [], state


async def test_account_pages_have_no_text_outside_the_catalogue(
    provider: Provider, pseudo: None, outbox_path: Path
) -> None:
    user = await provider.store.get_user_by_username(USERNAME)
    shown = {"reauth": (await provider.browser.get("/account/reauth")).text}
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    html = await account_page(provider.browser)
    shown["account, password only"] = html
    totp = await provider.browser.post("/account/totp", data={"csrf": csrf_of(html)})
    shown["account totp"] = totp.text
    wrong = await provider.browser.post(
        "/account/totp/confirm",
        data={"csrf": csrf_of(totp.text), "pending": field(totp.text, "pending"), "code": "1"},
    )
    assert wrong.status_code == 400
    shown["account totp refused"] = wrong.text
    codes = await provider.browser.post("/account/recovery", data={"csrf": csrf_of(html)})
    assert "recovery-codes" in codes.text
    shown["account recovery"] = codes.text
    password = await provider.browser.post(
        "/account/password",
        data={"csrf": csrf_of(html), "new_password": "short", "confirm_password": "short"},
    )
    shown["account password refused"] = password.text
    await enrol_totp(provider, user.id)
    await enrol_passkey(provider, user.id)
    html = await account_page(provider.browser)
    assert "data-factor-id" in html
    shown["account with factors"] = html
    link = await issue_link(
        provider.store,
        provider.state.config,
        now=provider.clock(),
        user_id=user.id,
        action="add",
        what="passkey",
        factor_id=None,
    )
    mail = provider.new_browser()
    path = link[link.index("/account/not-me") :]
    notice = await mail.get(path)
    shown["not_me"] = notice.text
    token = re.search(r'name="token" value="([^"]+)"', notice.text)
    assert token
    shown["not_me done"] = (await mail.post("/account/not-me", data={"token": token[1]})).text
    shown["not_me refused"] = (await mail.post("/account/not-me", data={"token": token[1]})).text
    for state, html in shown.items():
        assert escaped(html) == [], state


def test_outage_page_has_no_text_outside_the_catalogue(pseudo: None) -> None:
    html = render("unavailable.html", {}, status_code=503).body.decode()
    assert "⟦" in html
    assert escaped(html) == []
