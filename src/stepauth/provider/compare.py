"""Constant-time comparison of a presented secret (CSRF token, code) with the expected one,
and :func:`sha256hex`, the digest under which such secrets are stored and looked up.

:func:`hmac.compare_digest` raises :class:`TypeError` for a ``str`` that is not ASCII, and
what a client presents may be any text: both sides are compared as UTF-8 bytes (lone
surrogates kept, as JSON allows them), so a non-ASCII value is simply unequal.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["constant_time_equal", "sha256hex"]


def constant_time_equal(expected: str, presented: str) -> bool:
    """True when ``presented`` equals ``expected``, in time independent of where they differ."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), presented.encode("utf-8", "surrogatepass")
    )


def sha256hex(value: str) -> str:
    """The hex SHA-256 of ``value``: the store keeps codes, tokens and browser tokens only
    under this digest, so a leaked database never yields a usable secret."""
    return hashlib.sha256(value.encode()).hexdigest()
