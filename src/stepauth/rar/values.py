"""Value formats used in payment details: ISO 4217 currency, decimal amount, IBAN, names.

Each ``check_*`` returns ``None`` for a valid value or a short reason; each ``normalise_*``
returns the form used for comparison (type-aware matching, RFC 9396 §6.1).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "CURRENCIES",
    "amount_decimal",
    "check_amount",
    "check_currency",
    "check_iban",
    "check_name",
    "mask_iban",
    "minor_units",
    "normalise_iban",
    "normalise_name",
]

# Active ISO 4217 currency codes (funds codes included, precious metals and test codes left out).
_ISO_4217 = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
ZWL
"""
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
CURRENCIES = frozenset(_ISO_4217.split())
# ISO 4217 minor units where they differ from 2.
_MINOR_UNITS = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
    **dict.fromkeys(_FOUR_DECIMALS.split(), 4),
}
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,4})?")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_SPACES = re.compile(r"\s+")
NAME_MAX_LENGTH = 140  # ISO 20022 Max140Text


def minor_units(currency: str) -> int:
    """Number of decimal places of ``currency`` (ISO 4217)."""
    return _MINOR_UNITS.get(currency, 2)


def check_currency(value: str) -> str | None:
    if not re.fullmatch(r"[A-Z]{3}", value):
        return "must be an ISO 4217 code of three upper-case letters"
    if value not in CURRENCIES:
        return f"{value!r} is not an ISO 4217 currency code"
    return None


def check_amount(value: str, currency: str | None) -> str | None:
    """A decimal string, greater than zero, with no more decimals than ``currency`` has."""
    if not _AMOUNT.fullmatch(value):
        return "must be a decimal string such as '123.50' (no sign, exponent or grouping)"
    amount = Decimal(value)
    if amount <= 0:
        return "must be greater than zero"
    if currency is not None:
        places = -amount.as_tuple().exponent  # type: ignore[operator]
        if places > minor_units(currency):
            return f"has more than {minor_units(currency)} decimal places for {currency}"
    return None


def amount_decimal(value: Any) -> Decimal | None:
    """The amount as a Decimal; accepts decimal strings, ints, Decimals and floats."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, float):
            result = Decimal(repr(value))
        elif isinstance(value, int | str | Decimal):
            result = Decimal(value)
        else:
            return None
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def normalise_iban(value: str) -> str:
    """The electronic form: whitespace removed, upper-case (ISO 13616-1)."""
    return _SPACES.sub("", value).upper()


def check_iban(value: str) -> str | None:
    """ISO 13616 shape and the ISO 7064 mod-97-10 check digits."""
    iban = normalise_iban(value)
    if not _IBAN.fullmatch(iban):
        return "is not an IBAN (country code, check digits, 11-30 letters or digits)"
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    if int(number) % 97 != 1:
        return "IBAN check digits are wrong (ISO 7064 mod 97-10)"
    return None


def mask_iban(value: str) -> str:
    """Country code and the last four characters: ``DE•• •••• 8603``."""
    iban = normalise_iban(value)
    return f"{iban[:2]}•• •••• {iban[-4:]}"


def normalise_name(value: str) -> str:
    """NFC, surrounding whitespace removed; case and inner spacing kept."""
    return unicodedata.normalize("NFC", value).strip()


def check_name(value: str) -> str | None:
    name = normalise_name(value)
    if not name:
        return "must not be empty"
    if len(name) > NAME_MAX_LENGTH:
        return f"must be at most {NAME_MAX_LENGTH} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        return "must not contain control or format characters"
    return None
