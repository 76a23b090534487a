"""What the payer sees on the step-up page (PSD2 RTS Art. 5(1)(a), 5(2)(b); STANDARDS G-10).

``render_summary(detail)`` turns one validated entry into ``(label, value)`` rows rendered
from the server's own copy: the amount with its currency, the payee's name and a masked IBAN
(country and last four characters), or the action and its target.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stepauth.rar import values
from stepauth.rar.registry import Registry, default_registry
from stepauth.rar.schema import COMMON_FIELDS, Field

__all__ = ["format_money", "render_summary"]

_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def format_money(money: Mapping[str, Any]) -> str:
    """``{"currency": "EUR", "amount": "1250"}`` → ``€1,250.00``; ``CHF 99.50`` for others."""
    currency = str(money["currency"])
    places = values.minor_units(currency)
    amount = Decimal(str(money["amount"])).quantize(Decimal(1).scaleb(-places))
    text = f"{amount:,.{places}f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{currency} {text}"


def render_summary(
    detail: Mapping[str, Any], *, registry: Registry = default_registry
) -> list[tuple[str, str]]:
    """Label/value rows for one validated authorization-details entry.

    Validate first (:meth:`Registry.validate`); this function renders, it does not check.
    The RFC 9396 common fields (``actions``, ``locations``…) are not shown.
    """
    schema = registry.schema(str(detail["type"]))
    rows: list[tuple[str, str]] = []
    fields = {k: v for k, v in schema.fields.items() if k not in COMMON_FIELDS}
    _rows(detail, fields, "", rows)
    return rows


def _rows(
    value: Mapping[str, Any], fields: Mapping[str, Field], prefix: str, out: list[tuple[str, str]]
) -> None:
    for name, spec in fields.items():
        if name not in value:
            continue
        label = prefix + (spec.label or name)
        item = value[name]
        if spec.kind == "money":
            out.append((label, format_money(item)))
        elif spec.kind == "iban":
            out.append((label, values.mask_iban(item)))
        elif spec.kind == "object" and set(spec.fields) == {"iban"}:
            out.append((label, values.mask_iban(item["iban"])))
        elif spec.kind == "object":
            _rows(item, spec.fields, f"{label} ", out)
        elif spec.kind == "array" and spec.items is not None:
            out.append((label, str(len(item))))
            item_label = prefix + (spec.items.label or spec.label or name)
            for i, element in enumerate(item, start=1):
                if spec.items.kind == "object":
                    _rows(element, spec.items.fields, f"{item_label} {i}: ", out)
                else:
                    out.append((f"{item_label} {i}", str(element)))
        elif spec.kind == "string_list":
            out.append((label, ", ".join(item)))
        elif spec.kind == "boolean":
            out.append((label, "yes" if item else "no"))
        elif spec.kind == "name":
            out.append((label, values.normalise_name(item)))
        else:
            out.append((label, str(item)))
