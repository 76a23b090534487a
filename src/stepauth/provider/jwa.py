"""The JWS algorithms the Provider signs and verifies with, in a joserfc registry.

RFC 9864 §2 deprecates the polymorphic ``EdDSA`` name in favour of the fully-specified
``Ed25519`` (and ``Ed448``), and joserfc warns (``SecurityWarning``) on every use of it.
OpenID Connect registrations (``id_token_signed_response_alg``, a client's
``private_key_jwt`` keys) still name ``EdDSA``, so the Provider keeps signing and accepting
it, next to ``Ed25519``: :func:`registry` is joserfc's own, except that its ``EdDSA``
model carries no warning — nothing else differs, and no warning filter is needed.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from functools import lru_cache

from joserfc.jws import JWSRegistry

__all__ = ["registry"]

_ALGORITHMS = dict(JWSRegistry.algorithms)
_ALGORITHMS["EdDSA"] = _quiet = copy.copy(_ALGORITHMS["EdDSA"])
_quiet.security_warning = None  # the model's class attribute, shadowed on this copy only


class _Registry(JWSRegistry):
    algorithms = _ALGORITHMS


def registry(algorithms: Collection[str]) -> JWSRegistry:
    """A registry that allows exactly ``algorithms`` (each must be a JWS algorithm)."""
    return _cached(tuple(algorithms))


@lru_cache(maxsize=32)
def _cached(algorithms: tuple[str, ...]) -> JWSRegistry:
    return _Registry(algorithms=algorithms)
