"""The hosted pages' design system, read the way a browser gets the pages (black-box HTTP).

An approval leads with what is approved (RFC 9396 ``authorization_details``: amount, payee,
account) right under its heading and offers one primary action; a step-up page opens with
one sentence saying why it asks and what for; every page state has at most one notice,
the refusal announced inside it (WCAG 2.2 SC 4.1.3) or under its field (SC 3.3.1);
``/account`` shows each sign-in method as a card; the stylesheet defines the type and
spacing scales, the primary, secondary and danger buttons and a visible focus
(SC 2.4.7).
"""

from __future__ import annotations

import re

import pytest

from stepauth.provider.interaction.asking import step_up_sentence
from stepauth.provider.interaction.render import render
from tests.helpers.frontchannel import enrol_totp, open_interaction, query, submit
from tests.helpers.harness import ACR_2FA, PASSWORD, USERNAME, Provider
from tests.helpers.http_page_states import approval_page, form_post_page, interaction_states
from tests.helpers.page_tree import assert_one_notice, main_of, primary_buttons, tree


async def test_approval_leads_with_the_payment_and_has_one_primary_action(bank: Provider) -> None:
    html = await approval_page(bank)
    content = main_of(html).elements()
    assert content[0].tag == "h1"
    payment = content[1]
    assert (payment.tag, payment.attrs.get("aria-labelledby")) == ("section", "details-heading")
    rows = [
        (dt.text, dd.text) for dt, dd in zip(payment.find("dt"), payment.find("dd"), strict=True)
    ]
    assert rows == [
        ("Amount", "EUR 1,250.00"),
        ("Payee", "Merchant A"),
        ("Payee account", "DE02 1001 0010 9307 1186 03"),
    ]
    # the notice and the passkey form come only after what is approved
    assert content[2].classes == {"notice"}
    assert content[2].find("p", class_="lead")[0].text == (
        "To approve exactly these details, confirm it is you with your passkey."
    )
    assert [b.text for b in primary_buttons(html)] == ["Use passkey"]
    assert_one_notice("approval", html)


async def test_approval_sentence_is_translated(bank: Provider) -> None:
    html = await approval_page(bank, ui_locales="de")
    (lead,) = tree(html).find("p", class_="lead")
    assert lead.text == (
        "Um genau diese Angaben freizugeben, bestätigen Sie mit Ihrem Passkey, dass Sie es sind."
    )


async def test_step_up_says_why_and_what_in_one_sentence(provider: Provider) -> None:
    browser = provider.browser
    user = await provider.store.get_user_by_username(USERNAME)
    shown = await open_interaction(browser, query())
    await submit(browser, shown, "password", username=USERNAME, password=PASSWORD)
    await enrol_totp(provider, user.id)
    provider.clock.advance(60)
    step_up = await open_interaction(browser, query(acr_values=ACR_2FA))
    assert step_up.reasons() == ["acr_not_met"]
    (notice,) = tree(step_up.text).find(class_="notice")
    lead = notice.elements()[0]
    assert (lead.tag, lead.attrs["data-reason"]) == ("p", "acr_not_met")
    assert lead.text == (
        "This action needs a stronger sign-in: confirm it is you "
        "with a code from your authenticator app."
    )
    assert [b.text for b in primary_buttons(step_up.text)] == ["Continue"]
    french = await open_interaction(browser, query(acr_values=ACR_2FA, ui_locales="fr"))
    (lead,) = tree(french.text).find("p", class_="lead")
    assert lead.text == (
        "Cette opération nécessite une connexion plus forte : confirmez votre identité "
        "avec un code de votre application d’authentification."
    )


def test_step_up_sentence_names_the_one_way_offered_or_none() -> None:
    assert step_up_sentence("max_age", ["webauthn"]) == (
        "Your last sign-in was a while ago: confirm it is you with your passkey."
    )
    assert step_up_sentence("max_age", ["totp", "webauthn"]) == (
        "Your last sign-in was a while ago: confirm it is you with one of the ways below."
    )
    assert step_up_sentence("no_session", ["password"]) is None
    assert step_up_sentence("acr_not_met", []) is None


@pytest.mark.usefixtures("outbox_path")  # the lockout notice goes to a dev outbox
async def test_every_interaction_state_has_at_most_one_notice(provider: Provider) -> None:
    shown = await interaction_states(provider)
    refused = tree(shown["sign-in refused"])
    (notice,) = refused.find(class_="notice")
    alert = notice.elements()[0]
    assert (alert.attrs["id"], alert.attrs["role"]) == ("form-error", "alert")
    assert [n.attrs["data-reason"] for n in refused.walk() if "data-reason" in n.attrs] == [
        "no_session"
    ]
    (alert,) = tree(shown["lockout"]).find(role="alert")
    assert alert.attrs["data-reason"] == "factor_locked"
    shown["outage"] = render("unavailable.html", {}, status_code=503).body.decode()
    for state, html in shown.items():
        assert_one_notice(state, html)
        assert len(primary_buttons(html)) <= 1, state
    for state in ("sign-in", "sign-in refused", "one-time code", "lockout"):
        assert len(primary_buttons(shown[state])) == 1, state


async def test_form_post_page_has_one_primary_button(bank: Provider) -> None:
    await approval_page(bank)
    posted = await form_post_page(bank)
    assert [b.text for b in primary_buttons(posted)] == ["Continue"]
    assert_one_notice("form_post", posted)


async def test_stylesheet_defines_the_scales_the_buttons_and_the_focus(provider: Provider) -> None:
    response = await provider.browser.get("/static/stepauth.css")
    assert response.status_code == 200
    css = re.sub(r"/\*.*?\*/", "", response.text, flags=re.S)
    rules: dict[str, str] = {}  # the first rule of each selector (before any @media)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        for selector in selectors.split(","):
            rules.setdefault(selector.strip(), body)
    root = rules[":root"]
    for token in ("--text-sm", "--text-base", "--text-xl", "--space-1", "--space-4", "--space-7"):
        assert re.search(rf"{token}:\s*[\d.]+rem;", root), token
    assert "--stepauth-primary: #1a5fd0;" in root  # the default a theme overrides
    assert "background: var(--stepauth-primary)" in rules["button.primary"]
    assert "color: var(--stepauth-on-primary)" in rules["button.primary"]
    assert "color: var(--stepauth-primary)" in rules["button.secondary"]
    assert "color: var(--danger)" in rules["button.danger"]
    assert "--danger: #a4000f;" in root
    ring = re.search(r"outline:\s*(\d+)px solid var\(--stepauth-primary\)", rules[":focus-visible"])
    assert ring
    assert int(ring[1]) >= 2
    assert "var(--space-" in rules["main"]
    assert "var(--text-" in rules["body"]
    assert re.search(r"@media \(max-width: [\d.]+rem\)", css)
