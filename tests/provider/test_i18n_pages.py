"""The hosted pages in the reader's language (OIDC Core §3.1.2.1 ``ui_locales``, RFC 9110
§12.5.4 ``Accept-Language``, OIDC Discovery §3 ``ui_locales_supported``), with the English
labels the browser journeys click unchanged."""

from __future__ import annotations

import re
from html import unescape

import pytest

from stepauth.provider.config import UI_LOCALES
from tests.helpers.account_pages import account_page, csrf_of, reauth
from tests.helpers.frontchannel import (
    enrol_totp,
    open_interaction,
    page,
    query,
    submit,
    wrong_passwords,
)
from tests.helpers.harness import ACR_2FA, PASSWORD, USERNAME, Provider
from tests.helpers.passkeys import use_passkeys

_LANG = re.compile(r'<html lang="([^"]+)">')


def _lang(html: str) -> str:
    match = _LANG.search(html)
    assert match, html[:200]
    return match.group(1)


async def test_discovery_lists_the_page_languages(provider: Provider) -> None:
    response = await provider.browser.get("/.well-known/openid-configuration")
    assert response.json()["ui_locales_supported"] == list(UI_LOCALES)


async def test_english_labels_stay_exactly(provider: Provider) -> None:
    """The Chromium journeys find these controls by their English text."""
    use_passkeys(provider)
    shown = await open_interaction(provider.browser, query())
    assert _lang(shown.text) == "en"
    assert {"Username", "Password"} <= set(shown.labels.values()) | set(shown.labels)
    assert {"Continue", "Use passkey"} <= set(shown.buttons)
    assert "<title>Sign in · stepauth</title>" in shown.text
    await submit(provider.browser, shown, "password", username=USERNAME, password=PASSWORD)
    user = await provider.store.get_user_by_username(USERNAME)
    await enrol_totp(provider, user.id)
    provider.clock.advance(60)
    step_up = await open_interaction(provider.browser, query(acr_values=ACR_2FA))
    assert "One-time code" in set(step_up.labels.values()) | set(step_up.labels)
    account = await provider.browser.get("/account")
    assert ">Add passkey</button>" in account.text


async def test_account_pages_follow_accept_language(provider: Provider) -> None:
    provider.browser.headers["accept-language"] = "de-CH;q=0.9, en;q=0.5"
    reauth = await provider.browser.get("/account/reauth")
    assert _lang(reauth.text) == "de"
    assert "Bestätigen Sie" in reauth.text or "Anmelden" in reauth.text


async def test_ui_locales_de_gives_german_pages(provider: Provider) -> None:
    """OIDC Core §3.1.2.1: ui_locales wins over the browser's Accept-Language, and the
    interaction keeps it for every page of the sign-in."""
    provider.browser.headers["accept-language"] = "fr"
    shown = await open_interaction(provider.browser, query(ui_locales="ja de-DE en"))
    assert _lang(shown.text) == "de"
    assert "<title>Anmelden · stepauth</title>" in shown.text
    assert "Bitte melden Sie sich an, um fortzufahren." in shown.text
    assert {"Benutzername", "Passwort"} <= set(shown.labels.values()) | set(shown.labels)
    assert "Weiter" in shown.buttons
    refused = await submit(provider.browser, shown, "password", username=USERNAME, password="wrong")
    assert _lang(refused.text) == "de"
    # the one generic failure message, translated (PSD2 RTS Art. 4(3)(a))
    assert "Wir konnten das nicht bestätigen. Bitte versuchen Sie es erneut." in refused.text


async def test_accept_language_fr_ch_gives_french(provider: Provider) -> None:
    provider.browser.headers["accept-language"] = "fr-CH, fr;q=0.9, en;q=0.8"
    shown = await open_interaction(provider.browser, query())
    assert _lang(shown.text) == "fr"
    assert "Veuillez vous connecter pour continuer." in shown.text
    assert "Nom d’utilisateur" in unescape(shown.text)
    assert "Continuer" in shown.buttons


async def test_unsupported_language_falls_back_to_the_default(provider: Provider) -> None:
    provider.browser.headers["accept-language"] = "pt-BR, ja;q=0.5"
    shown = await open_interaction(provider.browser, query(ui_locales="ko"))
    assert _lang(shown.text) == "en"
    assert "Please sign in to continue." in shown.text


@pytest.mark.usefixtures("outbox_path")  # the lockout notice goes to a dev outbox
async def test_lockout_warning_is_translated(provider: Provider) -> None:
    """The factor_locked warning and the generic message, in Spanish, once the signed-in
    user's password is blocked."""
    provider.browser.headers["accept-language"] = "es"
    first = await open_interaction(provider.browser, query())
    await submit(provider.browser, first, "password", username=USERNAME, password=PASSWORD)
    provider.clock.advance(1)
    shown = await open_interaction(provider.browser, query(prompt="login"))
    max_failures = provider.state.config.throttle.max_failures
    shown = await wrong_passwords(provider.browser, shown, [USERNAME] * max_failures)
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    assert "factor_locked" in page(response).reasons()
    text = unescape(response.text)
    assert (
        "Este método de inicio de sesión está bloqueado temporalmente tras demasiados intentos."
        in text
    )
    assert "No hemos podido verificarlo. Vuelva a intentarlo." in text


async def test_error_page_in_italian(provider: Provider) -> None:
    provider.browser.headers["accept-language"] = "it-IT,it;q=0.9"
    response = await provider.browser.get("/interaction/no-such-interaction")
    assert response.status_code == 400
    text = unescape(response.text)
    assert _lang(text) == "it"
    assert "Questa richiesta non può essere completata" in text
    assert "questa richiesta di accesso è scaduta; torni all’applicazione" in text
    assert "<strong>invalid_request</strong>" in text  # the OAuth code is never translated


async def test_account_script_refusals_are_translated(provider: Provider) -> None:
    """account.js shows the server's refusal in its status line: in the page's language."""
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    csrf = csrf_of(await account_page(provider.browser))
    provider.browser.headers["accept-language"] = "fr"
    refused = await provider.browser.post(
        "/account/webauthn/options", json={"csrf": csrf, "type": "smart-card"}
    )
    assert refused.status_code == 400
    assert refused.json() == {"error": "type d’authentificateur inconnu"}
