"""Bounded JSON parsing for request input (RFC 8259 §9: "An implementation may set limits
on the size of texts that it accepts" and "on the maximum depth of nesting").

Python's :func:`json.loads` recurses once per nesting level, so a text of a thousand
``[`` raises :class:`RecursionError` — not a :class:`ValueError` — and would end in a 500.
:func:`loads` measures size and nesting first, without recursion, then parses; every
refusal is a :class:`JsonLimitExceeded`, a :class:`ValueError`, so callers that already map
malformed JSON to their protocol's error (``invalid_request``,
``invalid_authorization_details``, ``invalid_client``, a 400) map these too.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["MAX_BYTES", "MAX_DEPTH", "JsonLimitExceeded", "loads", "nesting_depth", "request_json"]

MAX_DEPTH: Final = 32
"""Deeper than any claims request, authorization_details entry or WebAuthn credential."""

MAX_BYTES: Final = 256 * 1024
"""Room for a WebAuthn credential with a full attestation certificate chain."""

# What changes the nesting: brackets, and the quotes and escapes that hide them in strings.
_SIGNIFICANT: Final = re.compile(r'[\[\]{}"\\]')


class JsonLimitExceeded(ValueError):
    """The text is larger or nested deeper than allowed; it was not parsed."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text``, brackets in strings ignored."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1
    for match in _SIGNIFICANT.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue  # the character after a backslash (RFC 8259 §7)
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """Parse ``text`` after checking its size and nesting; raise :class:`ValueError`.

    Bytes must be UTF-8 (RFC 8259 §8.1); NaN and Infinity are refused (RFC 8259 §6).
    """
    if len(text) > max_bytes:
        raise JsonLimitExceeded(f"JSON text is larger than {max_bytes} bytes")
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise JsonLimitExceeded(f"JSON text is larger than {max_bytes} bytes")
    if nesting_depth(text) > max_depth:
        raise JsonLimitExceeded(f"JSON nests deeper than {max_depth} levels")
    return json.loads(text, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


async def request_json(request: Request, *, max_bytes: int = MAX_BYTES) -> Any:
    """The bounded JSON body of ``request``; reading stops once ``max_bytes`` is passed."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise JsonLimitExceeded(f"JSON text is larger than {max_bytes} bytes")
    return loads(bytes(body), max_bytes=max_bytes)
