"""RFC 8785 JSON Canonicalization Scheme (JCS), by the ``rfc8785`` package.

``canonical_json(value)`` returns the UTF-8 bytes of the canonical form: object members
sorted by the UTF-16 code units of their names (§3.2.3), no whitespace (§3.2.1), strings
escaped as ECMAScript ``JSON.stringify`` does (§3.2.2.2) and numbers serialised as
ECMAScript ``Number.prototype.toString`` (§3.2.2.3). Monetary amounts in stepauth are
decimal *strings*, so numbers are rare; they are still handled exactly. NaN, infinities,
integers that an IEEE 754 double cannot hold exactly and non-JSON values are rejected
(I-JSON, RFC 7493 §2.2).

The package takes ``dict``/``list``/``tuple`` and integers within ±(2**53 - 1); a value is
first brought to that shape: any mapping or sequence becomes a ``dict`` or ``list``, and a
larger integer that a double holds exactly becomes that double (the number a JSON parser
reads, RFC 8785 §3.2.2.3), so ``2**53`` is ``9007199254740992`` and ``10**21`` ``1e+21``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import rfc8785

from stepauth.rar.errors import RARError

__all__ = ["canonical_json"]

_SAFE: Final = 2**53 - 1  # the package's integer domain


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` to its RFC 8785 canonical UTF-8 form."""
    try:
        return rfc8785.dumps(_json_shape(value))
    except RecursionError:
        raise RARError("canonical JSON: the value is nested too deeply") from None
    except rfc8785.CanonicalizationError as exc:  # lone surrogates, NaN, Infinity, key types
        raise RARError(f"canonical JSON: {exc}") from None


def _json_shape(value: Any) -> Any:
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        if -_SAFE <= value <= _SAFE:
            return value
        as_float = float(value) if abs(value) < 2**1024 else None
        if as_float is None or as_float != value:
            raise RARError(f"canonical JSON: integer {value} is not exactly representable (I-JSON)")
        return as_float
    if isinstance(value, Mapping):
        return {key: _json_shape(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_json_shape(item) for item in value]
    raise RARError(f"canonical JSON: {type(value).__name__} is not a JSON value")
