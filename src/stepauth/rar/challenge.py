"""The WebAuthn challenge that binds an authentication to one transaction.

``challenge = SHA-256(nonce ‖ JCS(authorization_details))`` (docs/transaction-binding.md).
The server nonce makes every challenge unique (WebAuthn L3 §13.4.3: at least 16 random
bytes); the canonical details make it specific to the amount and the payee
(PSD2 RTS Art. 5(1)(b)), so any change to them yields a different challenge and the
assertion no longer verifies (Art. 5(1)(d)).
"""

from __future__ import annotations

import hashlib
from typing import Any

from stepauth.rar.errors import RARError
from stepauth.rar.jcs import canonical_json

__all__ = ["MIN_NONCE_BYTES", "transaction_challenge"]

MIN_NONCE_BYTES = 16


def transaction_challenge(nonce: bytes, details: Any) -> bytes:
    """Return ``SHA-256(nonce ‖ canonical_json(details))`` (32 bytes)."""
    if not isinstance(nonce, bytes | bytearray):
        raise RARError("transaction challenge: the nonce must be bytes")
    if len(nonce) < MIN_NONCE_BYTES:
        raise RARError(f"transaction challenge: the nonce must be at least {MIN_NONCE_BYTES} bytes")
    return hashlib.sha256(bytes(nonce) + canonical_json(details)).digest()
