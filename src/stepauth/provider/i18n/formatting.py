"""Amounts, instants and approval summaries in the request's language (Babel, CLDR).

English keeps the forms the pages have always shown (``EUR 9,000.00``,
``2026-03-01 09:30 UTC``); another language gets its own separators and word order, with
the ISO 4217 code, never a symbol (``9.000,00 EUR``): ``$`` alone names a dozen currencies.
CLDR's no-break spaces are kept: an amount never wraps between its digits and its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency

from stepauth.provider.i18n.catalogue import SOURCE_LOCALE
from stepauth.provider.i18n.current import current_locale, gettext
from stepauth.rar import SummaryWording, format_money, values

__all__ = ["format_amount", "format_instant", "summary_wording"]


def format_amount(money: Mapping[str, Any]) -> str:
    """``{"currency": "EUR", "amount": "9000"}`` for the reader: every minor-unit digit,
    never rounded (``decimal_quantization=False`` keeps ``0.005``), the ISO code in the
    place the locale puts a currency (``¤¤``), and no grouping for a zero-decimal currency
    (as :func:`stepauth.rar.format_money`)."""
    locale = current_locale()
    if locale == SOURCE_LOCALE:
        return format_money(money)
    currency = str(money["currency"])
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    iso = pattern.replace("¤", "¤¤") if "¤¤" not in pattern else pattern
    return format_currency(
        Decimal(str(money["amount"])),
        currency,
        format=iso.split(";")[0],
        locale=locale,
        currency_digits=True,
        decimal_quantization=False,
        group_separator=values.minor_units(currency) > 0,
    )


def format_instant(timestamp: float) -> str:
    """A moment in UTC, said so: the pages never guess the reader's time zone."""
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    locale = current_locale()
    if locale == SOURCE_LOCALE:
        return when.strftime("%Y-%m-%d %H:%M UTC")
    cldr = Locale.parse(locale)
    # the locale's own way to join a date and a time ("{1}, {0}"), then the zone, named
    joined = str(cldr.datetime_formats["long"]).format(
        format_time(when, "short", tzinfo=UTC, locale=cldr),
        format_date(when, "long", locale=cldr),
    )
    return f"{joined} UTC"


def summary_wording() -> SummaryWording:
    """How :func:`stepauth.rar.render_summary` words the approval for this request."""
    return SummaryWording(label=gettext, money=format_amount, yes=gettext("yes"), no=gettext("no"))
