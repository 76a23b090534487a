"""Schemas of authorization-details types, as plain data.

A type is described by a mapping, so a deployment can add its own types in configuration::

    {"fields": {
        "instructedAmount": {"kind": "money", "required": true, "label": "Amount"},
        "creditorName":     {"kind": "name", "required": true, "label": "Payee"},
        "creditorAccount":  {"kind": "object", "required": true,
                             "fields": {"iban": {"kind": "iban", "required": true}}},
        "note":             {"kind": "string", "max_length": 140}},
     "checks": [],            # named cross-field checks, see CHECKS
     "common_fields": true}   # add the RFC 9396 §2.2 common fields (all optional)

Kinds: ``string``, ``name`` (payee/holder name; NFC + trim when compared), ``iban``
(mod-97; compared without spaces, upper-case), ``currency`` (ISO 4217), ``amount`` (decimal
string), ``money`` (``{currency, amount}``, decimals per currency), ``string_list``,
``boolean``, ``object`` (``fields``) and ``array`` (``items``, ``min_items``, ``max_items``).
Field options: ``required``, ``label``, ``max_length``, ``enum``, ``pattern``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stepauth.errors import ConfigError
from stepauth.rar import values
from stepauth.rar.errors import InvalidAuthorizationDetails

__all__ = ["CHECKS", "COMMON_FIELDS", "KINDS", "Field", "TypeSchema", "type_from_data"]

KINDS = frozenset(
    {"string", "name", "iban", "currency", "amount", "money", "string_list", "boolean", "object",
     "array"}
)  # fmt: skip
_FIELD_OPTIONS = frozenset(
    {"kind", "required", "label", "max_length", "enum", "pattern", "fields", "items", "min_items",
     "max_items"}
)  # fmt: skip
_TYPE_OPTIONS = frozenset({"fields", "checks", "common_fields", "label"})
STRING_MAX_LENGTH = 2048
ARRAY_MAX_ITEMS = 1000


@dataclass(frozen=True)
class Field:
    """One field of a type's schema."""

    kind: str
    required: bool = False
    label: str | None = None
    max_length: int | None = None
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    fields: Mapping[str, Field] = field(default_factory=dict)
    items: Field | None = None
    min_items: int = 0
    max_items: int = ARRAY_MAX_ITEMS


# RFC 9396 §2.2: common data fields, all optional.
COMMON_FIELDS: Mapping[str, Field] = {
    "locations": Field("string_list"),
    "actions": Field("string_list"),
    "datatypes": Field("string_list"),
    "identifier": Field("string"),
    "privileges": Field("string_list"),
}


@dataclass(frozen=True)
class TypeSchema:
    """An authorization-details type: its fields and cross-field checks."""

    name: str
    fields: Mapping[str, Field]
    checks: tuple[str, ...] = ()
    label: str | None = None

    def validate(self, entry: Mapping[str, Any], index: int) -> None:
        """Raise :class:`InvalidAuthorizationDetails` for the first problem (RFC 9396 §5)."""
        body = {k: v for k, v in entry.items() if k != "type"}
        _check_object(body, self.fields, index, "")
        for check in self.checks:
            CHECKS[check](entry, index)


def _fail(index: int, path: str, message: str, reason: str) -> InvalidAuthorizationDetails:
    where = f"authorization_details[{index}]" + (f".{path}" if path else "")
    return InvalidAuthorizationDetails(f"{where}: {message}", index=index, path=path, reason=reason)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _check_object(
    value: Mapping[str, Any], spec: Mapping[str, Field], index: int, path: str
) -> None:
    for name in value:
        if name not in spec:
            raise _fail(index, _join(path, name), "unknown field", "unknown_field")
    for name, sub in spec.items():
        if name not in value:
            if sub.required:
                raise _fail(index, _join(path, name), "required field is missing", "missing_field")
            continue
        _check_value(value[name], sub, index, _join(path, name))


def _expect(value: Any, json_type: str, index: int, path: str) -> None:
    got = _json_type(value)
    if got != json_type:
        raise _fail(index, path, f"must be a JSON {json_type} (got {got})", "wrong_type")


def _check_value(value: Any, spec: Field, index: int, path: str) -> None:
    kind = spec.kind
    if kind in ("object", "money"):
        _expect(value, "object", index, path)
        if kind == "money":
            _check_object(value, _MONEY_FIELDS, index, path)
            reason = values.check_amount(value["amount"], value["currency"])
            if reason:
                raise _fail(index, _join(path, "amount"), reason, "invalid_value")
        else:
            _check_object(value, spec.fields, index, path)
        return
    if kind in ("array", "string_list"):
        _expect(value, "array", index, path)
        if not spec.min_items <= len(value) <= spec.max_items:
            raise _fail(
                index,
                path,
                f"must have {spec.min_items} to {spec.max_items} entries",
                "invalid_value",
            )
        item = Field("string") if kind == "string_list" else spec.items
        assert item is not None
        for i, element in enumerate(value):
            _check_value(element, item, index, _join(path, i))
        return
    if kind == "boolean":
        _expect(value, "boolean", index, path)
        return
    _expect(value, "string", index, path)
    reason = _STRING_CHECKS[kind](value)
    if reason is None and len(value) > (spec.max_length or STRING_MAX_LENGTH):
        reason = f"must be at most {spec.max_length or STRING_MAX_LENGTH} characters"
    if reason is None and spec.enum is not None and value not in spec.enum:
        reason = f"must be one of {', '.join(spec.enum)}"
    if reason is None and spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        reason = f"must match {spec.pattern}"
    if reason is not None:
        raise _fail(index, path, reason, "invalid_value")


def _check_string(value: str) -> str | None:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "must not contain control characters"
    return None


_STRING_CHECKS: Mapping[str, Callable[[str], str | None]] = {
    "string": _check_string,
    "name": values.check_name,
    "iban": values.check_iban,
    "currency": values.check_currency,
    "amount": lambda v: values.check_amount(v, None),
}
_MONEY_FIELDS: Mapping[str, Field] = {
    "currency": Field("currency", required=True),
    "amount": Field("amount", required=True),
}


def _check_batch_total(entry: Mapping[str, Any], index: int) -> None:
    """PSD2 RTS Art. 5(3)(b): the batch authentication covers the total and the payees,
    so the stated total must be exactly the sum of the payees' amounts, in one currency."""
    total = entry["total"]
    currency = total["currency"]
    amount_sum = Decimal(0)
    for i, payee in enumerate(entry["payees"]):
        money = payee["instructedAmount"]
        if money["currency"] != currency:
            path = f"payees[{i}].instructedAmount.currency"
            raise _fail(index, path, f"must equal the batch currency {currency}", "invalid_value")
        amount_sum += Decimal(money["amount"])
    if Decimal(total["amount"]) != amount_sum:
        raise _fail(
            index,
            "total.amount",
            f"must equal the sum of the payees' amounts ({amount_sum})",
            "invalid_value",
        )


CHECKS: Mapping[str, Callable[[Mapping[str, Any], int], None]] = {
    "batch_total": _check_batch_total,
}


def type_from_data(name: str, data: Mapping[str, Any]) -> TypeSchema:
    """Build a :class:`TypeSchema` from configuration data; ``ConfigError`` names the key."""
    key = f"authorization_details_types.{name}"
    if not isinstance(data, Mapping):
        raise ConfigError("must be a table", key=key)
    for option in data:
        if option not in _TYPE_OPTIONS:
            raise ConfigError("unknown option", key=f"{key}.{option}")
    fields = _fields_from_data(data.get("fields", {}), f"{key}.fields")
    if data.get("common_fields", True):
        fields = {**COMMON_FIELDS, **fields}
    checks = data.get("checks", [])
    if not isinstance(checks, list) or any(c not in CHECKS for c in checks):
        raise ConfigError(f"must be a list of {sorted(CHECKS)}", key=f"{key}.checks")
    label = data.get("label")
    if label is not None and not isinstance(label, str):
        raise ConfigError("must be a string", key=f"{key}.label")
    return TypeSchema(name=name, fields=fields, checks=tuple(checks), label=label)


def _fields_from_data(data: Any, key: str) -> dict[str, Field]:
    if not isinstance(data, Mapping):
        raise ConfigError("must be a table of fields", key=key)
    return {name: _field_from_data(spec, f"{key}.{name}") for name, spec in data.items()}


def _field_from_data(data: Any, key: str) -> Field:
    if not isinstance(data, Mapping):
        raise ConfigError("must be a table", key=key)
    for option in data:
        if option not in _FIELD_OPTIONS:
            raise ConfigError("unknown option", key=f"{key}.{option}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"must be one of {sorted(KINDS)}", key=f"{key}.kind")
    enum = data.get("enum")
    if enum is not None and not (isinstance(enum, list) and all(isinstance(e, str) for e in enum)):
        raise ConfigError("must be a list of strings", key=f"{key}.enum")
    pattern = data.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise ConfigError(f"is not a regular expression: {exc}", key=f"{key}.pattern") from exc
    for option in ("max_length", "min_items", "max_items"):
        if option in data and (not isinstance(data[option], int) or data[option] < 0):
            raise ConfigError("must be a non-negative integer", key=f"{key}.{option}")
    if "label" in data and not isinstance(data["label"], str):
        raise ConfigError("must be a string", key=f"{key}.label")
    if "required" in data and not isinstance(data["required"], bool):
        raise ConfigError("must be true or false", key=f"{key}.required")
    items = None
    if kind == "array":
        if "items" not in data:
            raise ConfigError("an array needs 'items'", key=f"{key}.items")
        items = _field_from_data(data["items"], f"{key}.items")
    fields = _fields_from_data(data.get("fields", {}), f"{key}.fields") if kind == "object" else {}
    return Field(
        kind=kind,
        required=data.get("required", False),
        label=data.get("label"),
        max_length=data.get("max_length"),
        enum=tuple(enum) if enum is not None else None,
        pattern=pattern,
        fields=fields,
        items=items,
        min_items=data.get("min_items", 0),
        max_items=data.get("max_items", ARRAY_MAX_ITEMS),
    )
