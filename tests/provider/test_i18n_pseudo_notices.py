"""No word of a code message, an account notice or a sign-out page escapes the catalogue.

Under the pseudo-locale (:mod:`tests.helpers.pseudo`) every catalogued message reads
``⟦msgid⟧``: whatever the outbox or the page shows outside the brackets, less links,
digits and the data named here, was never translated.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stepauth import audit
from stepauth.provider.account.changes import record_change
from stepauth.provider.factors.base import NOTICE_NAMES
from stepauth.provider.factors.confirm import (
    ADDED_BY_OPERATOR,
    REMOVED_BY_OPERATOR,
    confirm_factor,
    operator_notice,
)
from stepauth.provider.factors.hold import hold_data
from stepauth.provider.i18n import current
from stepauth.provider.notices import read_outbox
from stepauth.provider.throttle import block_notice
from tests.helpers.account_pages import csrf_of, reauth
from tests.helpers.frontchannel import open_interaction, query, sign_in, submit
from tests.helpers.harness import ACR_2FA, PASSWORD, USERNAME, Provider, running_provider
from tests.helpers.pseudo import Pseudo, page_text, uncatalogued

#: A factor's label: its owner's own words, shown as they were given.
LABEL = "Work phone"
PRODUCT = "stepauth"  # the product's name in every <title>: a brand, never translated


@pytest.fixture
def pseudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(current, "translations", lambda locale: Pseudo())


@pytest.fixture
async def provider(tmp_path: Path, outbox_path: Path, pseudo: None) -> AsyncIterator[Provider]:
    async with running_provider(tmp_path) as running:
        await running.create_user()
        yield running


def sent() -> list[str]:
    return [str(m["message"]) for m in read_outbox()]


def test_the_checker_catches_english() -> None:
    assert uncatalogued("⟦Code: %(code)s⟧ 123456 https://op.example/x?y=1") == ""
    assert uncatalogued("⟦A was added: ⟦passkey⟧.⟧ If this was not you: https://x") == (
        "If this was not you:"
    )
    assert uncatalogued("⟦Renamed: %(label)s⟧ Work phone", allowed=(LABEL,)) == ""


async def test_the_code_message_and_the_block_notice(provider: Provider) -> None:
    user = await provider.store.get_user_by_username(USERNAME)
    data = {"channel": "sms", "to": "+15550100"}
    await provider.store.add_factor(user.id, "oob", data, label=LABEL, now=provider.clock())
    await sign_in(provider.browser, query())
    provider.clock.advance(60)
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA))
    await submit(provider.browser, shown, "oob", oob_code="")
    for _ in range(provider.state.config.throttle.max_failures):
        await submit(provider.browser, shown, "oob", oob_code="000000")
        shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA))
    messages = sent()
    assert len(messages) == 2
    assert re.search(r"\b\d{6}\b", messages[0])  # the code itself is data
    assert [uncatalogued(m) for m in messages] == ["", ""]


@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("delay", [60.0, 3600.0, float("inf")])
def test_every_block_notice(pseudo: None, delay: float, last: bool) -> None:
    assert uncatalogued(block_notice(delay, 5, last=last)) == ""
    assert uncatalogued(block_notice(delay, 1, last=last)) == ""


async def test_the_account_page_notices(provider: Provider) -> None:
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    page = await provider.browser.get("/account")
    await provider.browser.post("/account/recovery", data={"csrf": csrf_of(page.text)})
    page = await provider.browser.get("/account")
    changed = await provider.browser.post(
        "/account/password",
        data={
            "csrf": csrf_of(page.text),
            "new_password": "a new and long password 42",
            "confirm_password": "a new and long password 42",
        },
    )
    assert changed.status_code == 303, changed.text[:300]
    messages = sent()
    assert len(messages) == 2
    assert [uncatalogued(m) for m in messages] == ["", ""]


@pytest.mark.parametrize("action", ["add", "remove", "rename", "change", "not_me"])
@pytest.mark.parametrize("kind", [*NOTICE_NAMES, "future-kind"])
async def test_every_change_notice(provider: Provider, action: str, kind: str) -> None:
    """Every action on every kind of factor, and one added on hold (its instant inside)."""
    user = await provider.store.get_user_by_username(USERNAME)
    held = hold_data(until=provider.clock() + 3600, acr="urn:stepauth:acr:1fa", reason="recovery")
    factor = await provider.store.add_factor(user.id, "totp", held, label=LABEL, now=0)
    await record_change(
        provider.state,
        user_id=user.id,
        action=action,
        kind=kind,
        client=audit.Client(),
        credential=factor.id,
    )
    (message,) = sent()
    assert uncatalogued(message, allowed=(LABEL,)) == "", message


async def test_the_operators_notices(provider: Provider) -> None:
    user = await provider.store.get_user_by_username(USERNAME)
    config = provider.state.config
    for message in (ADDED_BY_OPERATOR, REMOVED_BY_OPERATOR):
        await operator_notice(provider.store, user, message, config=config, action="add")
    held = hold_data(until=provider.clock() + 3600, acr="urn:stepauth:acr:1fa", reason="recovery")
    factor = await provider.store.add_factor(user.id, "totp", held, label=LABEL, now=0)
    await confirm_factor(provider.store, user, factor.id, now=provider.clock(), config=config)
    messages = sent()
    assert len(messages) == 3
    assert [uncatalogued(m) for m in messages] == ["", "", ""]


async def test_the_sign_out_pages(provider: Provider) -> None:
    await sign_in(provider.browser, query())
    shown = {}
    ask = await provider.browser.get("/logout")
    shown["confirm"] = ask.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', ask.text)
    assert csrf
    done = await provider.browser.post("/logout", data={"csrf": csrf[1]})
    shown["signed out"] = done.text
    again = await provider.browser.post("/logout", data={"csrf": csrf[1]})
    assert again.status_code == 400
    shown["form used"] = again.text.replace("invalid_request", "")  # the protocol's code
    unknown = await provider.browser.get("/authorize", params=query(client_id="nobody"))
    assert '<code lang="en">' in unknown.text
    shown["unknown client"] = unknown.text.replace("invalid_client", "")
    for state, html in shown.items():
        assert "⟦" in html, state
        assert uncatalogued(page_text(html), allowed=(PRODUCT,)) == "", state
