"""RFC 8785 JSON Canonicalization Scheme (JCS).

``canonical_json(value)`` returns the UTF-8 bytes of the canonical form: object members
sorted by the UTF-16 code units of their names (§3.2.3), no whitespace (§3.2.1), strings
escaped as ECMAScript ``JSON.stringify`` does (§3.2.2.2) and numbers serialised as
ECMAScript ``Number.prototype.toString`` (§3.2.2.3). Monetary amounts in stepauth are
decimal *strings*, so numbers are rare; they are still handled exactly. NaN, infinities,
integers that an IEEE 754 double cannot hold exactly and non-JSON values are rejected
(I-JSON, RFC 7493 §2.2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from stepauth.rar.errors import RARError

__all__ = ["canonical_json"]

_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` to its RFC 8785 canonical UTF-8 form."""
    parts: list[str] = []
    try:
        _write(value, parts)
    except RecursionError:
        raise RARError("canonical JSON: the value is nested too deeply") from None
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates are not valid I-JSON
        raise RARError("canonical JSON: string contains a lone surrogate") from exc


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(_integer(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, Mapping):
        keys = list(value)
        if not all(isinstance(k, str) for k in keys):
            raise RARError("canonical JSON: object member names must be strings")
        out.append("{")
        for i, key in enumerate(sorted(keys, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise RARError(f"canonical JSON: {type(value).__name__} is not a JSON value")


def _utf16_key(name: str) -> bytes:
    # §3.2.3: compare names as arrays of UTF-16 code units (big-endian keeps the order).
    return name.encode("utf-16-be", "surrogatepass")


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _integer(value: int) -> str:
    as_float = float(value) if abs(value) < 2**1024 else math.inf
    if as_float != value:
        raise RARError(f"canonical JSON: integer {value} is not exactly representable (I-JSON)")
    return _number(as_float)


def _number(value: float) -> str:
    """ECMAScript Number::toString for a finite double (ECMA-262 §7.1.12.1)."""
    if math.isnan(value) or math.isinf(value):
        raise RARError("canonical JSON: NaN and Infinity are not JSON numbers")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that round-trip, as ECMAScript requires.
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    k = len(digits)
    n = exponent + len(digit_tuple)  # position of the decimal point relative to the digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text
