"""Type-aware comparison of granted and requested authorization details.

RFC 9396 §6.1: comparison is type-specific; the server "should not rely on simple object
comparison". PSD2 RTS Art. 5(1)(c)-(d): the executed amount and payee must be the approved
ones, and any change invalidates the approval. So, field by field, following the schema:

- ``amount`` and ``money.amount``: compared as decimals (``1250.0 == "1250.00"``);
- ``currency``: ISO 4217 code, upper-cased;
- ``iban``: spaces removed, upper-cased (the electronic form, ISO 13616-1);
- ``name``: Unicode NFC, surrounding whitespace trimmed, otherwise exact (case counts);
- ``string``/``boolean``: exact; ``string_list``: the same values in any order;
- arrays (batch ``payees``) and the entries themselves: **order is significant** — entry *i*
  of the action must match granted entry *i*. A batch is an ordered instruction list shown to
  the payer in that order; matching position by position also keeps the rule simple to audit;
- a field present on one side only is a difference; so is a different number of entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepauth.rar import values
from stepauth.rar.errors import DetailsMismatch
from stepauth.rar.registry import Registry, default_registry
from stepauth.rar.schema import Field

__all__ = ["match_details"]


def match_details(granted: Any, requested: Any, *, registry: Registry = default_registry) -> None:
    """Return ``None`` if ``requested`` equals ``granted``, else raise :class:`DetailsMismatch`.

    ``granted`` is the server's copy and must be valid for ``registry``
    (:class:`~stepauth.rar.InvalidAuthorizationDetails` otherwise). ``requested`` is what the
    action is about to execute; its amounts may be strings, ints, floats or Decimals.
    """
    entries = registry.validate(granted)
    if not isinstance(requested, list | tuple):
        raise DetailsMismatch("the action's authorization_details must be an array")
    if len(requested) != len(entries):
        raise DetailsMismatch(
            f"granted {len(entries)} authorization_details entries, the action has {len(requested)}"
        )
    for index, (have, want) in enumerate(zip(entries, requested, strict=True)):
        where = f"authorization_details[{index}]"
        if not isinstance(want, Mapping):
            raise DetailsMismatch(f"{where}: must be an object", index=index)
        if want.get("type") != have["type"]:
            raise DetailsMismatch(
                f"{where}.type differs: granted {have['type']!r}, action {want.get('type')!r}",
                index=index,
                path="type",
            )
        fields = registry.schema(have["type"]).fields
        _compare_object(have, want, fields, index, "", skip=("type",))


def _mismatch(index: int, path: str, message: str) -> DetailsMismatch:
    return DetailsMismatch(
        f"authorization_details[{index}].{path} {message}", index=index, path=path
    )


def _compare_object(
    have: Mapping[str, Any],
    want: Any,
    fields: Mapping[str, Field],
    index: int,
    path: str,
    skip: tuple[str, ...] = (),
) -> None:
    if not isinstance(want, Mapping):
        raise _mismatch(index, path, "must be an object")
    for name in [*have, *(k for k in want if k not in have)]:
        if name in skip:
            continue
        sub = f"{path}.{name}" if path else name
        if name not in want:
            raise _mismatch(index, sub, "is granted but missing from the action")
        if name not in have:
            raise _mismatch(index, sub, "is in the action but was not granted")
        spec = fields.get(name)
        if spec is None:  # unreachable for validated grants; fail closed anyway
            raise _mismatch(index, sub, "is not a field of this type")
        _compare_value(have[name], want[name], spec, index, sub)


def _compare_value(have: Any, want: Any, spec: Field, index: int, path: str) -> None:
    kind = spec.kind
    if kind == "money":
        money_fields = {"currency": Field("currency"), "amount": Field("amount")}
        _compare_object(have, want, money_fields, index, path)
    elif kind == "object":
        _compare_object(have, want, spec.fields, index, path)
    elif kind == "array":
        if not isinstance(want, list | tuple) or len(want) != len(have):
            raise _mismatch(
                index, path, f"differs: granted {len(have)} entries, action {_count(want)}"
            )
        assert spec.items is not None
        for i, (h, w) in enumerate(zip(have, want, strict=True)):
            _compare_value(h, w, spec.items, index, f"{path}[{i}]")
    elif _normalise(kind, have) != _normalise(kind, want):
        raise _mismatch(
            index, path, f"differs: granted {_show(kind, have)}, action {_show(kind, want)}"
        )


def _count(value: Any) -> str:
    return str(len(value)) if isinstance(value, list | tuple) else "not an array"


def _normalise(kind: str, value: Any) -> Any:
    """The comparison form of a scalar; a sentinel object for an unusable value (never equal)."""
    if kind == "amount":
        amount = values.amount_decimal(value)
        return amount if amount is not None else object()
    if kind == "boolean":
        return value if isinstance(value, bool) else object()
    if kind == "string_list":
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return sorted(value)
        return object()
    if not isinstance(value, str):
        return object()
    if kind == "currency":
        return value.strip().upper()
    if kind == "iban":
        return values.normalise_iban(value)
    if kind == "name":
        return values.normalise_name(value)
    return value


def _show(kind: str, value: Any) -> str:
    if kind == "iban" and isinstance(value, str) and len(values.normalise_iban(value)) >= 6:
        return values.mask_iban(value)
    return repr(value)
