"""Keys derived from the Provider's secret, and the one AES-GCM sealing format.

The Provider has one secret, the value of the environment variable named by
``[secrets] key_env`` (at least :data:`MIN_SECRET_BYTES` bytes). Every key it needs is
derived from it by HKDF-SHA-256 (RFC 5869) under its own ``info`` label
(:func:`derive_key`), so no two purposes share a key: the signing-key encryption key
(:mod:`stepauth.provider.keys`), the recovery-code pepper, and the keys that protect what
the store keeps (:class:`stepauth.store.at_rest.AtRest`).

:class:`Sealer` is AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce, the
associated data naming what the value belongs to: ``format(1) || nonce(12) ||
ciphertext+tag``, base64url. A value sealed under one context does not open under
another (a ciphertext moved to another row fails).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from stepauth.encoding import b64url_decode, b64url_encode
from stepauth.errors import ConfigError

__all__ = ["DEFAULT_KEY_ENV", "MIN_SECRET_BYTES", "Sealer", "derive_key", "secret_from_env"]

DEFAULT_KEY_ENV = "STEPAUTH_SECRET_KEY"
#: The Provider's secret must carry at least 256 bits.
MIN_SECRET_BYTES = 32
_NONCE = 12
_TAG = 16


def secret_from_env(key_env: str = DEFAULT_KEY_ENV) -> bytes:
    """The Provider's secret (``$key_env``); empty when unset (checked by :func:`derive_key`)."""
    return os.environ.get(key_env, "").encode()


def derive_key(
    secret: bytes, info: bytes, *, salt: bytes | None = None, key_env: str = DEFAULT_KEY_ENV
) -> bytes:
    """A 256-bit key for one purpose (``info``): HKDF-SHA-256 of the Provider's secret.

    A missing or short secret is a :class:`~stepauth.errors.ConfigError` (fail closed).
    """
    if not secret or len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"the secret in ${key_env} is missing or shorter than {MIN_SECRET_BYTES} bytes",
            key="secrets.key_env",
        )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


class Sealer:
    """AES-256-GCM under one derived key; ``fmt`` is the first byte of every sealed value."""

    __slots__ = ("_aead", "_fmt")

    def __init__(self, key: bytes, *, fmt: bytes) -> None:
        self._aead = AESGCM(key)
        self._fmt = fmt

    def seal(self, value: str, *, context: str) -> str:
        """``value`` encrypted and bound to ``context`` (the associated data), base64url."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode(), context.encode())
        return b64url_encode(self._fmt + nonce + sealed, pad=True)

    def open(self, sealed: str, *, context: str) -> str | None:
        """The value :meth:`seal` sealed under ``context``; ``None`` if anything differs."""
        try:
            blob = b64url_decode(sealed)
        except (ValueError, TypeError):
            return None
        if not blob.startswith(self._fmt) or len(blob) < 1 + _NONCE + _TAG:
            return None
        try:
            plain = self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], context.encode())
        except InvalidTag:
            return None
        try:
            return plain.decode()
        except UnicodeDecodeError:
            return None
