"""Instants and amounts on the pages, in each of the five languages (CLDR via Babel).

The account page's "added" and "last used" columns and the approval page's amount and
IBAN (RFC 9396 ``authorization_details``) are read as the user reads them, through the
running Provider; the approval's language comes from the ``ui_locales`` of the pushed
request (OIDC Core §3.1.2.1, RFC 9126).
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.helpers.account_pages import reauth
from tests.helpers.bank import PAYMENT
from tests.helpers.frontchannel import enrol_totp
from tests.helpers.harness import PASSWORD, USERNAME, Provider
from tests.helpers.http_page_states import approval_page

ADDED = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
USED = ADDED + 30 * 86400 + 6 * 3600 + 59  # 2027-02-14 14:00:59 UTC: minutes, not rounded
#: (added, last used, never) as each language writes them: always in UTC, said so.
INSTANTS = {
    "en": ("2027-01-15 08:00 UTC", "2027-02-14 14:00 UTC", "never"),
    "de": ("15. Januar 2027, 08:00 UTC", "14. Februar 2027, 14:00 UTC", "nie"),
    "fr": ("15 janvier 2027, 08:00 UTC", "14 février 2027, 14:00 UTC", "jamais"),
    "es": ("15 de enero de 2027, 8:00 UTC", "14 de febrero de 2027, 14:00 UTC", "nunca"),
    "it": ("15 gennaio 2027 08:00 UTC", "14 febbraio 2027 14:00 UTC", "mai"),
}
PAYMENT_DETAILS = [{**PAYMENT[0], "instructedAmount": {"currency": "EUR", "amount": "1234567.8"}}]
IBAN = "DE02 1001 0010 9307 1186 03"
#: The approval's rows: the ISO 4217 code, never a symbol; every minor-unit digit.
APPROVAL = {
    "en": [("Amount", "EUR 1,234,567.80"), ("Payee", "Merchant A"), ("Payee account", IBAN)],
    "de": [
        ("Betrag", "1.234.567,80\xa0EUR"),
        ("Zahlungsempfänger", "Merchant A"),
        ("Konto des Zahlungsempfängers", IBAN),
    ],
    "fr": [
        ("Montant", "1\u202f234\u202f567,80\xa0EUR"),
        ("Bénéficiaire", "Merchant A"),
        ("Compte du bénéficiaire", IBAN),
    ],
    "es": [
        ("Importe", "1.234.567,80\xa0EUR"),
        ("Beneficiario", "Merchant A"),
        ("Cuenta del beneficiario", IBAN),
    ],
    "it": [
        ("Importo", "1.234.567,80\xa0EUR"),
        ("Beneficiario", "Merchant A"),
        ("Conto del beneficiario", IBAN),
    ],
}
_FACT = re.compile(r"<dd>([^<]*)</dd>")
_ROW = re.compile(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>")


@pytest.mark.parametrize("locale", sorted(INSTANTS))
async def test_account_page_dates_in_each_language(provider: Provider, locale: str) -> None:
    added, used, never = INSTANTS[locale]
    provider.clock.now = ADDED
    user = await provider.store.get_user_by_username(USERNAME)
    await enrol_totp(provider, user.id)
    provider.browser.headers["Accept-Language"] = locale
    await reauth(provider.browser, "password", username=USERNAME, password=PASSWORD)
    cells = [unescape(c) for c in _FACT.findall((await provider.browser.get("/account")).text)]
    assert [added, never] == cells[cells.index(added) : cells.index(added) + 2], cells
    (factor,) = await provider.store.list_factors(user.id)
    await provider.store.update_factor(factor.id, last_used_at=USED)
    cells = [unescape(c) for c in _FACT.findall((await provider.browser.get("/account")).text)]
    assert [added, used] == cells[cells.index(added) : cells.index(added) + 2], cells


@pytest.mark.parametrize("locale", sorted(APPROVAL))
async def test_approval_page_in_each_language(bank: Provider, locale: str) -> None:
    approval = await approval_page(bank, PAYMENT_DETAILS, ui_locales=locale)
    assert f'<html lang="{locale}">' in approval
    rows = [(unescape(k), unescape(v)) for k, v in _ROW.findall(approval)]
    assert rows == APPROVAL[locale]
