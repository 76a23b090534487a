"""Unpadded base64url (RFC 4648 §5, as JOSE uses it: RFC 7515 §2 and Appendix C).

The one implementation for the package: JWS segments, PKCE challenges (RFC 7636 §4.2),
WebAuthn challenges and credential ids, sealed values. Decoding is strict: a character
outside the alphabet is an error, never skipped; trailing ``=`` padding is tolerated.
"""

from __future__ import annotations

import binascii
from typing import Final

__all__ = ["b64url_decode", "b64url_encode"]

_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
_FROM_STANDARD: Final = bytes.maketrans(b"+/", b"-_")
_PAD: Final = ("", "===", "==", "=")  # padding by length mod 4


def b64url_encode(data: bytes, *, pad: bool = False) -> str:
    """``data`` as base64url text, unpadded unless ``pad`` (a format that keeps the ``=``)."""
    encoded = binascii.b2a_base64(data, newline=False).translate(_FROM_STANDARD)
    return (encoded if pad else encoded.rstrip(b"=")).decode()


def b64url_decode(text: str) -> bytes:
    """The bytes of base64url ``text``; raises :class:`ValueError` (``binascii.Error``,
    ``UnicodeEncodeError``) for anything that is not base64url."""
    padded = (text + _PAD[len(text) & 3]).encode("ascii").translate(_TO_STANDARD)
    return binascii.a2b_base64(padded, strict_mode=True)
