"""``/account`` shows each sign-in method as a card: its name, kind, when it was added and
last used, whether it is on hold, and its own Rename and Remove; the page keeps one notice
and one primary action in every state (the password refusal under its field)."""

from __future__ import annotations

import re

from stepauth.provider.factors.hold import hold_data
from stepauth.provider.factors.totp import TotpParams, generate_secret
from tests.helpers.account_pages import account_page, reauth
from tests.helpers.frontchannel import TOTP
from tests.helpers.harness import PASSWORD, USERNAME, Provider
from tests.helpers.http_page_states import account_states
from tests.helpers.page_tree import Node, assert_one_notice, primary_buttons, tree

_UTC = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$")


def _facts(card: Node) -> dict[str, str]:
    (facts,) = card.find("dl", class_="facts")
    return {dt.text: dd.text for dt, dd in zip(facts.find("dt"), facts.find("dd"), strict=True)}


async def test_factors_are_cards_with_name_kind_dates_hold_and_actions(
    provider: Provider,
) -> None:
    user = await provider.create_user()
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    now = provider.clock()
    app = await provider.store.add_factor(
        user.id, TOTP, TotpParams(secret=generate_secret()).to_data(), label="phone", now=now
    )
    held = await provider.store.add_factor(
        user.id,
        TOTP,
        TotpParams(secret=generate_secret()).to_data()
        | hold_data(until=now + 3600, acr="1fa", reason="single_factor"),
        label="tablet",
        now=now,
    )
    html = await account_page(provider.browser)
    assert "<table" not in html
    doc = tree(html)
    cards = {c.attrs["data-factor-id"]: c for c in doc.find("li", class_="factor-card")}
    assert set(cards) == {app.id, held.id}
    for factor, name in ((app, "phone"), (held, "tablet")):
        card = cards[factor.id]
        (heading,) = card.find("h3")
        assert heading.text == name
        facts = _facts(card)
        assert list(facts) == ["Method", "Added", "Last used", "Status"]
        assert facts["Method"] == "Authenticator app"
        assert _UTC.match(facts["Added"]), facts
        assert facts["Last used"] == "never"
        (rename,) = card.find("input", id=f"rename-{factor.id}")
        assert rename.attrs["value"] == name
        buttons = {b.text: b.classes for b in card.find("button")}
        assert buttons == {"Rename": {"secondary"}, "Remove": {"danger"}}
        for button in card.find("button"):
            assert button.attrs["aria-describedby"] == heading.attrs["id"]
    assert _facts(cards[app.id])["Status"] == "Ready to use"
    assert _facts(cards[held.id])["Status"] == "On hold"
    (note,) = cards[held.id].find("p", class_="hold-note")
    assert "is on hold until" in note.text
    assert not cards[app.id].find("p", class_="hold-note")
    assert [b.text for b in primary_buttons(html)] == ["Add passkey"]
    assert_one_notice("account with factors", html)

    await provider.store.update_factor(app.id, last_used_at=now + 60, disabled=True)
    (card,) = tree(await account_page(provider.browser)).find("li", data_factor_id=app.id)
    assert _facts(card)["Status"] == "Disabled"
    assert _UTC.match(_facts(card)["Last used"])


async def test_account_states_have_one_notice_and_one_primary_action(
    provider: Provider, outbox_path: object
) -> None:
    await provider.create_user()
    shown = await account_states(provider)
    # the refusal is under its field and describes it
    (code_field,) = [
        f for f in tree(shown["totp refused"]).find(class_="field") if f.find(id="totp-code")
    ]
    (error,) = code_field.find("p", role="alert")
    assert error.attrs["id"] == code_field.find("input")[0].attrs["aria-describedby"]
    (confirm_field,) = [
        f
        for f in tree(shown["password refused"]).find(class_="field")
        if f.find(id="confirm-password")
    ]
    assert confirm_field.find("p", role="alert", id="password-error")
    for state, page in shown.items():
        assert_one_notice(state, page)
        assert len(primary_buttons(page)) <= 1, state
    for state in ("reauth", "account", "totp", "totp refused", "not me"):
        assert len(primary_buttons(shown[state])) == 1, state
