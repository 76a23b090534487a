"""Codes and account notices are written in the language of the request that causes them.

The code sent from the sign-in page is in that page's language (OIDC Core §3.1.2.1
``ui_locales``, then ``Accept-Language``), and so is the notice of a change made on the
account page or of a sign-in block; a notice an operator causes is in ``[ui]
default_locale``. Each is read back from the development outbox, as a user would read it.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from stepauth.provider.config import UIConfig
from stepauth.provider.factors.confirm import ADDED_BY_OPERATOR, operator_notice
from stepauth.provider.i18n.current import activate, restore
from stepauth.provider.notices import read_outbox
from tests.helpers.account_pages import csrf_of, reauth
from tests.helpers.frontchannel import open_interaction, query, sign_in, submit
from tests.helpers.harness import ACR_2FA, ISSUER, PASSWORD, USERNAME, Provider

#: The code message of each language (``{code}`` stands for the six digits).
CODE = {
    "en": f"{ISSUER} code: {{code}} (valid 10 minutes; never share it)",
    "de": f"Ihr Code für {ISSUER}: {{code}} (10 Minuten gültig; geben Sie ihn niemals weiter)",
    "fr": f"Votre code {ISSUER} : {{code}} (valable 10 minutes ; ne le communiquez jamais)",
    "es": f"Su código de {ISSUER}: {{code}} (válido durante 10 minutos; no lo comparta nunca)",
    "it": f"Il suo codice {ISSUER}: {{code}} (valido 10 minuti; non lo comunichi mai a nessuno)",
}
RECOVERY_CREATED = {
    "en": "New recovery codes were created for your account; the old ones stop working. "
    "If this was not you: ",
    "de": "Für Ihr Konto wurden neue Wiederherstellungscodes erstellt; die bisherigen sind "
    "nicht mehr gültig. Falls Sie das nicht waren: ",
    "fr": "De nouveaux codes de récupération ont été créés pour votre compte ; les anciens ne "
    "sont plus valables. Si vous n’êtes pas à l’origine de cette action : ",
    "es": "Se crearon nuevos códigos de recuperación para su cuenta; los anteriores dejan de "
    "funcionar. Si no fue usted: ",
    "it": "Per il suo account sono stati creati nuovi codici di recupero; quelli precedenti "
    "non sono più validi. Se non è stato lei: ",
}
PAUSED = {
    "en": "There were 5 failed attempts to sign in to your account. Sign-in is paused for "
    "1 minute. If this was not you, change your password.",
    "de": "Es gab 5 fehlgeschlagene Anmeldeversuche bei Ihrem Konto. Die Anmeldung ist für "
    "1 Minute gesperrt. Falls Sie das nicht waren, ändern Sie Ihr Passwort.",
    "fr": "5 tentatives de connexion à votre compte ont échoué. La connexion est suspendue "
    "pendant 1 minute. Si vous n’êtes pas à l’origine de ces tentatives, modifiez votre "
    "mot de passe.",
    "es": "Hubo 5 intentos fallidos de iniciar sesión en su cuenta. El inicio de sesión queda "
    "suspendido durante 1 minuto. Si no fue usted, cambie su contraseña.",
    "it": "Ci sono stati 5 tentativi di accesso non riusciti al suo account. L’accesso è "
    "sospeso per 1 minuto. Se non è stato lei, cambi la password.",
}
LOCALES = sorted(CODE)


#: The codes and notices go to a dev outbox of each test.
pytestmark = pytest.mark.usefixtures("outbox_path")


def last_message() -> str:
    return str(read_outbox()[-1]["message"])


async def send_code(provider: Provider, **params: str) -> str:
    """Sign in, then ask the step-up page (``params`` added to its request) for a code."""
    user = await provider.store.get_user_by_username(USERNAME)
    data = {"channel": "sms", "to": "+15550100"}
    await provider.store.add_factor(user.id, "oob", data, label="sms", now=provider.clock())
    await sign_in(provider.browser, query())
    provider.clock.advance(60)
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA, **params))
    sent = await submit(provider.browser, shown, "oob", oob_code="")
    assert sent.status_code == 200
    return last_message()


def with_code(locale: str, message: str) -> str:
    code = re.search(r"\b\d{6}\b", message)
    assert code is not None, message
    return CODE[locale].format(code=code[0])


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_code_is_sent_in_the_language_of_ui_locales(
    provider: Provider, locale: str
) -> None:
    message = await send_code(provider, ui_locales=f"{locale} en")
    assert message == with_code(locale, message)


async def test_the_code_follows_accept_language(provider: Provider) -> None:
    provider.browser.headers["Accept-Language"] = "it-CH, de;q=0.5"
    message = await send_code(provider)
    assert message == with_code("it", message)


async def test_the_code_without_a_language_is_english(provider: Provider) -> None:
    message = await send_code(provider)
    assert message == with_code("en", message)


@pytest.mark.parametrize("locale", LOCALES)
async def test_an_account_change_is_notified_in_the_page_language(
    provider: Provider, locale: str
) -> None:
    provider.browser.headers["Accept-Language"] = locale
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    page = await provider.browser.get("/account")
    created = await provider.browser.post("/account/recovery", data={"csrf": csrf_of(page.text)})
    assert "recovery-codes" in created.text
    message = last_message()
    assert message.startswith(RECOVERY_CREATED[locale]), message
    assert message.removeprefix(RECOVERY_CREATED[locale]).startswith(f"{ISSUER}/account/not-me?")


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_sign_in_block_is_notified_in_the_page_language(
    provider: Provider, locale: str
) -> None:
    shown = await open_interaction(provider.browser, query(ui_locales=locale))
    for _ in range(provider.state.config.throttle.max_failures):
        response = await submit(
            provider.browser, shown, "password", username=USERNAME, password="x"
        )
        shown = await open_interaction(provider.browser, query(ui_locales=locale))
    assert response.status_code == 400
    (notice,) = read_outbox()
    assert (notice["channel"], notice["to"]) == ("email", USERNAME)
    assert notice["message"] == PAUSED[locale]


async def test_an_operators_notice_is_in_the_default_language_not_the_operators(
    provider: Provider,
) -> None:
    """No request of the user causes it: ``[ui] default_locale``, whatever the operator's
    console was asked in."""
    user = await provider.store.get_user_by_username(USERNAME)
    config = dataclasses.replace(provider.state.config, ui=UIConfig(default_locale="fr"))
    token = activate("de")  # the operator's browser
    try:
        await operator_notice(provider.store, user, ADDED_BY_OPERATOR, config=config)
    finally:
        restore(token)
    assert last_message().startswith(
        "Un administrateur a ajouté une application d’authentification à votre compte. "
        f"Si vous n’êtes pas à l’origine de cette action : {ISSUER}/account/not-me?"
    )
    await operator_notice(provider.store, user, ADDED_BY_OPERATOR)
    assert last_message() == str(ADDED_BY_OPERATOR)
