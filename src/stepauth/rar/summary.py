"""What the payer sees on the step-up page (PSD2 RTS Art. 5(1)(a), 5(2)(b); RFC 9396 §2.2).

``render_summary(detail)`` turns one validated entry into ``(label, value)`` rows rendered
from the server's own copy — what you see is what you sign:

* an amount always with its ISO 4217 code and every minor-unit digit, never rounded and
  never a bare symbol (``EUR 9,000.00``; ``$`` alone names a dozen currencies);
* an account as its **full** IBAN in groups of four (``DE89 3704 0044 0532 0130 00``):
  a masked IBAN (country and last four) renders two different accounts the same, so the
  payer could not tell which one is being approved;
* free text (names, references) with every whitespace character other than a single
  ASCII space spelled out (``⟨U+00A0⟩``): HTML collapses runs of spaces and shows a
  no-break or ideographic space like a plain one, so two different payees would look alike;
* the RFC 9396 §2.2 common fields (``locations``, ``actions``, ``datatypes``,
  ``identifier``, ``privileges``) when the request carries them.

A :class:`SummaryWording` words the rows for a reader: the default is English; the
Provider passes its page's language (labels translated, amounts in local notation).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from stepauth.rar import values
from stepauth.rar.registry import Registry, default_registry
from stepauth.rar.schema import COMMON_FIELDS, Field

__all__ = [
    "COMMON_FIELD_LABELS",
    "SummaryWording",
    "format_iban",
    "format_money",
    "render_summary",
    "visible_text",
]

#: Labels of the RFC 9396 §2.2 common fields, in the order the section lists them.
COMMON_FIELD_LABELS: Mapping[str, str] = {
    "locations": "Locations",
    "actions": "Actions",
    "datatypes": "Data types",
    "identifier": "Identifier",
    "privileges": "Privileges",
}

_ESCAPE = "⟨"
_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def format_money(money: Mapping[str, Any], *, symbol: bool = False) -> str:
    """``{"currency": "EUR", "amount": "9000"}`` → ``EUR 9,000.00``.

    The code is always shown; digits are padded to the currency's minor units (ISO 4217)
    but never rounded away: ``EUR 0.005`` stays ``EUR 0.005``. A zero-decimal currency is
    not grouped (``JPY 125000``): ``125,000`` reads as 125 where the comma is the decimal
    mark. ``symbol=True`` (the demo's own pages, never the approval page) writes ``€1,250.00``.
    """
    currency = str(money["currency"])
    places = values.minor_units(currency)
    amount = Decimal(str(money["amount"]))
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        places = -exponent  # more digits than the currency has: show them all, no rounding
    amount = amount.quantize(Decimal(1).scaleb(-places))
    text = f"{amount:,.{places}f}" if places else f"{amount:.0f}"
    if symbol and currency in _SYMBOLS:
        return f"{_SYMBOLS[currency]}{text}"
    return f"{currency} {text}"


def format_iban(value: str) -> str:
    """The full IBAN in its paper form: groups of four (ISO 13616-1 Annex A)."""
    iban = values.normalise_iban(value)
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def visible_text(value: str) -> str:
    """``value`` (NFC) with whitespace a reader could not tell apart spelled out.

    A single U+0020 between two other characters is kept; any other whitespace or
    invisible character (a second space, a no-break space, U+2028) becomes ``⟨U+XXXX⟩``,
    and so does ``⟨`` itself, so a name that spells ``⟨U+00A0⟩`` out never reads like
    one holding the real character: distinct values render distinct.
    """
    text = unicodedata.normalize("NFC", value)
    out: list[str] = []
    for i, ch in enumerate(text):
        lone_space = (
            ch == " "
            and 0 < i < len(text) - 1
            and not _blank(text[i - 1])
            and not _blank(text[i + 1])
        )
        plain = lone_space or not (_blank(ch) or ch == _ESCAPE)
        out.append(ch if plain else f"{_ESCAPE}U+{ord(ch):04X}⟩")
    return "".join(out)


def _same(label: str) -> str:
    return label


@dataclass(frozen=True, slots=True)
class SummaryWording:
    """The words and number forms of the rows: ``label`` translates one schema label,
    ``money`` writes an amount (it must keep the ISO code and every digit)."""

    label: Callable[[str], str] = _same
    money: Callable[[Mapping[str, Any]], str] = format_money
    yes: str = "yes"
    no: str = "no"


ENGLISH = SummaryWording()


def _blank(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cc", "Cf")


def _text_list(items: Sequence[Any]) -> str:
    """Items joined by ``, ``; an item that would blur the list is quoted (JSON)."""
    shown = []
    for item in items:
        text = str(item)
        plain = text and "," not in text and '"' not in text
        shown.append(visible_text(text if plain else json.dumps(text, ensure_ascii=False)))
    return ", ".join(shown)


def render_summary(
    detail: Mapping[str, Any],
    *,
    registry: Registry = default_registry,
    wording: SummaryWording = ENGLISH,
) -> list[tuple[str, str]]:
    """Label/value rows for one validated authorization-details entry.

    Validate first (:meth:`Registry.validate`); this function renders, it does not check.
    The type's own fields come first, then the RFC 9396 §2.2 common fields present.
    """
    schema = registry.schema(str(detail["type"]))
    rows: list[tuple[str, str]] = []
    fields = {k: v for k, v in schema.fields.items() if k not in COMMON_FIELDS}
    _rows(detail, fields, "", rows, wording)
    for name, english in COMMON_FIELD_LABELS.items():
        if name not in detail:
            continue
        label = wording.label(english)
        item = detail[name]
        if isinstance(item, list | tuple):
            rows.append((label, _text_list(item)))
        else:
            rows.append((label, visible_text(str(item))))
    return rows


def _rows(
    value: Mapping[str, Any],
    fields: Mapping[str, Field],
    prefix: str,
    out: list[tuple[str, str]],
    wording: SummaryWording,
) -> None:
    for name, spec in fields.items():
        if name not in value:
            continue
        label = prefix + (wording.label(spec.label) if spec.label else name)
        item = value[name]
        if spec.kind == "money":
            out.append((label, wording.money(item)))
        elif spec.kind == "iban":
            out.append((label, format_iban(item)))
        elif spec.kind == "object" and set(spec.fields) == {"iban"}:
            out.append((label, format_iban(item["iban"])))
        elif spec.kind == "object":
            _rows(item, spec.fields, f"{label} ", out, wording)
        elif spec.kind == "array" and spec.items is not None:
            out.append((label, str(len(item))))
            item_label = spec.items.label or spec.label
            item_label = prefix + (wording.label(item_label) if item_label else name)
            for i, element in enumerate(item, start=1):
                if spec.items.kind == "object":
                    _rows(element, spec.items.fields, f"{item_label} {i}: ", out, wording)
                else:
                    out.append((f"{item_label} {i}", visible_text(str(element))))
        elif spec.kind == "string_list":
            out.append((label, _text_list(item)))
        elif spec.kind == "boolean":
            out.append((label, wording.yes if item else wording.no))
        elif spec.kind == "name":
            out.append((label, visible_text(values.normalise_name(item))))
        else:
            out.append((label, visible_text(str(item))))
