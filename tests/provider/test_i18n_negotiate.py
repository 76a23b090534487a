"""Which language a request gets, and amounts and times in it.

OIDC Core §3.1.2.1 ``ui_locales``; RFC 9110 §12.5.4 ``Accept-Language``; CLDR number and
date forms (Babel).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from stepauth.provider.config import ProviderConfig, UIConfig
from stepauth.provider.i18n import activate, choose_locale, parse_accept_language
from stepauth.provider.i18n.catalogue import translations
from stepauth.provider.i18n.current import (
    activate_on_use,
    current_locale,
    gettext,
    in_locale,
    restore,
)
from stepauth.provider.i18n.formatting import format_amount, format_instant, summary_wording
from stepauth.provider.i18n.request import _ui_locales_parameters, request_locale
from stepauth.rar import render_summary

UI = UIConfig()


@pytest.fixture
def locale() -> Iterator[None]:
    """The test's activate() calls are undone afterwards."""
    token = activate("en")
    yield
    restore(token)


def test_q_values_order_the_ranges() -> None:
    assert parse_accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == [
        "fr-CH",
        "fr",
        "en",
        "de",
    ]
    assert parse_accept_language("en;q=0.1, it") == ["it", "en"]


def test_q_zero_and_malformed_weights_are_not_acceptable() -> None:
    assert parse_accept_language("de;q=0, es;q=abc, it;q=1.5, fr") == ["fr"]


def test_ui_locales_first_supported_wins() -> None:
    """OIDC Core §3.1.2.1: the first tag with a catalogue, over Accept-Language."""
    chosen = choose_locale(ui_locales=["ja", "de-AT", "fr"], accept_language="it", ui=UI)
    assert chosen == "de"


def test_accept_language_region_falls_back_to_its_language() -> None:
    chosen = choose_locale(ui_locales=[], accept_language="fr-CH,fr;q=0.9", ui=UI)
    assert chosen == "fr"


def test_unsupported_languages_get_the_default() -> None:
    ui = UIConfig(default_locale="it", locales=("en", "it"))
    assert choose_locale(ui_locales=["ja"], accept_language="pt-BR,ko;q=0.5", ui=ui) == "it"
    assert choose_locale(ui_locales=[], accept_language=None, ui=ui) == "it"


def test_a_language_not_offered_by_the_config_is_never_chosen() -> None:
    ui = UIConfig(default_locale="en", locales=("en", "fr"))
    assert choose_locale(ui_locales=["de"], accept_language="de", ui=ui) == "en"


def test_config_refuses_a_default_outside_its_languages() -> None:
    from stepauth.errors import ConfigError

    with pytest.raises(ConfigError, match=r"ui\.default_locale"):
        ProviderConfig.from_dict(
            {"issuer": "https://op.example", "ui": {"locales": ["en"], "default_locale": "de"}}
        )
    with pytest.raises(ConfigError, match=r"ui\.locales"):
        ProviderConfig.from_dict({"issuer": "https://op.example", "ui": {"locales": ["en", "xx"]}})
    with pytest.raises(ConfigError, match=r"ui\.locales"):
        ProviderConfig.from_dict({"issuer": "https://op.example", "ui": {"locales": ["de", "de"]}})


def test_english_amounts_and_times_keep_their_form() -> None:
    assert format_amount({"currency": "EUR", "amount": "9000"}) == "EUR 9,000.00"
    assert format_instant(0) == "1970-01-01 00:00 UTC"


def test_amounts_in_german_keep_the_iso_code_and_every_digit(locale: None) -> None:
    activate("de")
    assert format_amount({"currency": "EUR", "amount": "9000"}) == "9.000,00\xa0EUR"
    assert format_amount({"currency": "EUR", "amount": "0.005"}) == "0,005\xa0EUR"
    assert format_amount({"currency": "USD", "amount": "12.5"}) == "12,50\xa0USD"
    # a zero-decimal currency is not grouped: "125.000" reads as 125 in English
    assert format_amount({"currency": "JPY", "amount": "125000"}) == "125000\xa0JPY"


def test_amounts_in_french_and_italian(locale: None) -> None:
    activate("fr")
    assert format_amount({"currency": "EUR", "amount": "1250"}) == "1\u202f250,00\xa0EUR"
    activate("it")
    assert format_amount({"currency": "GBP", "amount": "1250.5"}) == "1.250,50\xa0GBP"


def test_times_in_german_say_utc(locale: None) -> None:
    activate("de")
    assert format_instant(1_800_000_000) == "15. Januar 2027, 08:00 UTC"


def test_approval_summary_in_german(locale: None) -> None:
    activate("de")
    detail = {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
        "creditorName": "Merchant A",
        "creditorAccount": {"iban": "DE02100100109307118603"},
    }
    assert render_summary(detail, wording=summary_wording()) == [
        ("Betrag", "1.250,00\xa0EUR"),
        ("Zahlungsempfänger", "Merchant A"),
        ("Konto des Zahlungsempfängers", "DE02 1001 0010 9307 1186 03"),
    ]


def test_an_operators_notice_is_written_in_a_language_of_its_own(locale: None) -> None:
    """``in_locale``: the words inside in that language, the request's again after."""
    activate("de")
    with in_locale("fr"):
        assert gettext("passkey") == "clé d’accès"
    assert gettext("passkey") == "Passkey"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "response_type=code&client_id=c&redirect_uri=https%3A%2F%2Frp%2Fcb&ui_locales=de+fr",
        "ui_locales=&ui_locales=fr%20de",  # a blank value is skipped, as parse_qs does
        "%75i_locales=it",  # a percent-encoded name
        "ui+locales=x&ui_locales",
        "x=%26ui_locales%3Dde&ui_locales=en",  # an encoded '&' inside a value
        "ui_locales=de;ui_locales=fr",
        "response_type=code&redirect_uri=https%3A%2F%2Frp%2Fcb+x",  # no candidate name
        "ui_localesx=de&xui_locales=fr&x=ui_locales=it",  # names that only look like it
        "a=b&ui_locales",  # the name alone, at the end
        "a=b&ui_locales&ui_locales=pt",
        "ui_locale%73=nl",
    ],
)
def test_a_request_reads_ui_locales_as_parse_qs_does(query: str) -> None:
    assert _ui_locales_parameters(query).get("ui_locales") == parse_qs(query).get("ui_locales")


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        (b"", [], "it"),  # neither: [ui] default_locale
        (b"client_id=c&scope=openid", [(b"accept", b"text/html")], "it"),
        (b"ui_locales=en", [], "en"),
        (b"", [(b"accept-language", b"en-GB, it;q=0.5")], "en"),
        (b"", [(b"accept-language", b"")], "it"),
        (b"ui_locales=", [(b"accept-language", b"de")], "it"),  # neither offered
        (b"ui_locales=de+en", [(b"accept-language", b"it")], "en"),
    ],
)
def test_the_language_of_a_request(
    query: bytes, headers: list[tuple[bytes, bytes]], expected: str
) -> None:
    scope = {"type": "http", "query_string": query, "headers": headers}
    ui = UIConfig(default_locale="it", locales=("en", "it"))
    assert request_locale(scope, ui) == expected


def test_a_request_language_is_chosen_once_and_only_when_asked() -> None:
    """A redirect or a token response never needs the language: it is chosen on first use."""
    chosen: list[str] = []

    def choose(locale: str) -> str:
        chosen.append(locale)
        return locale

    token = activate_on_use(choose, "de")
    try:
        assert chosen == []
        assert current_locale() == "de"
        assert gettext("Continue") == translations("de").gettext("Continue") != "Continue"
        assert chosen == ["de"]
    finally:
        restore(token)
    assert current_locale() == "en"
