"""What a reader of the database must not find: session ids and factor secrets.

A copy of the database (a backup, a replica, a dump, a read-only SQL injection) must not
be a live session nor a second factor. :class:`AtRest` holds two keys derived from the
Provider's secret (:func:`stepauth.keying.derive_key`); the store applies them on every
write and read, so no caller ever handles the stored form.

* **Session ids** are stored as ``HMAC-SHA-256(k_session, id)`` (hex). The cookie value
  is the only place the id exists in clear; looking a session up, rotating, touching or
  ending it hashes the id first. A stored value replayed as a cookie is hashed again and
  matches nothing, and without the key no one can write a row for an id of their choice.
* **Factor secrets** — the fields of :data:`SECRET_FIELDS` — are sealed with AES-256-GCM
  (:class:`stepauth.keying.Sealer`) under ``k_factor`` and stored under
  ``data["sealed"]``; the clear field is never written. The associated data is
  ``factor|<factor id>|<user id>|<kind>|<field>``: a ciphertext copied into another row,
  or a row moved to another user, does not open. A field that does not open (or a secret
  field found in clear, which only a writer without the key could have put there) is
  left out of the factor's data, so the factor cannot be used: it fails closed.

  Which data are secrets: the TOTP seed (``totp.secret``: whoever reads it mints codes)
  and the out-of-band address (``oob.to``: not a credential, but it tells an attacker
  which phone or mailbox to take over). WebAuthn data is a public key, flags and a
  signature counter; recovery codes are stored as keyed hashes
  (:mod:`stepauth.provider.factors.recovery`); passwords as argon2id hashes.
* **Item payloads** of the kinds in :data:`SEALED_KINDS` are sealed whole, bound to
  ``item|<kind>|<key>``: a TOTP seed waiting for its first code (the account page's
  enrolment). Interaction cookies kept for prompt reuse are sealed by the key ring
  (:meth:`stepauth.provider.keys.KeyRing.seal`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from stepauth.keying import DEFAULT_KEY_ENV, Sealer, derive_key

__all__ = ["SEALED", "SEALED_KINDS", "SECRET_FIELDS", "AtRest", "open_factor"]

#: The factor data fields that are secrets, per factor kind.
SECRET_FIELDS: Mapping[str, tuple[str, ...]] = {"totp": ("secret",), "oob": ("to",)}
#: Item kinds whose whole payload is a secret (kept in SQL, never routed to Redis).
SEALED_KINDS = frozenset({"totp_enrolment"})
#: The key under which sealed fields (factor data) or a sealed payload (items) are stored.
SEALED = "sealed"

_FORMAT = b"\x03"  # AES-256-GCM, 96-bit nonce, its own HKDF-SHA256 key
_SESSION_INFO = b"stepauth session ids v1"
_SEAL_INFO = b"stepauth secrets at rest v1"  # factor fields and item payloads
_log = logging.getLogger("stepauth.store")


def _factor_context(factor_id: str, user_id: str, kind: str, field: str) -> str:
    return f"factor|{factor_id}|{user_id}|{kind}|{field}"


class AtRest:
    """The store's keys from the Provider's secret (see the module docstring)."""

    __slots__ = ("_sealer", "_session", "_session_mac", "fingerprint")

    def __init__(self, secret: bytes, *, key_env: str = DEFAULT_KEY_ENV) -> None:
        self._session = derive_key(secret, _SESSION_INFO, key_env=key_env)
        self._sealer = Sealer(derive_key(secret, _SEAL_INFO, key_env=key_env), fmt=_FORMAT)
        #: Tells two ``AtRest`` apart without revealing a key (same secret, same value).
        self.fingerprint = hmac.new(self._session, b"fingerprint", hashlib.sha256).hexdigest()
        # keyed once; each lookup copies it (no key schedule or digest lookup per call)
        self._session_mac = hmac.new(self._session, digestmod=hashlib.sha256)

    # -- sessions ------------------------------------------------------------------------

    def session_key(self, session_id: str) -> str:
        """The stored form of a session id: HMAC-SHA-256 under the session key, hex."""
        mac = self._session_mac.copy()
        mac.update(session_id.encode())
        return mac.hexdigest()

    # -- factors -------------------------------------------------------------------------

    def seal_factor(
        self, data: Mapping[str, Any], *, factor_id: str, user_id: str, kind: str
    ) -> dict[str, Any]:
        """``data`` as stored: each secret field sealed under ``data["sealed"]``."""
        stored = {k: v for k, v in data.items() if k != SEALED}
        sealed: dict[str, str] = {}
        for field in SECRET_FIELDS.get(kind, ()):
            if field in stored:
                value = json.dumps(stored.pop(field))
                context = _factor_context(factor_id, user_id, kind, field)
                sealed[field] = self._sealer.seal(value, context=context)
        if sealed:
            stored[SEALED] = sealed
        return stored

    def open_value(self, sealed: Any, *, context: str) -> tuple[bool, Any]:
        """``(True, value)`` for a value sealed under ``context``, else ``(False, None)``."""
        if not isinstance(sealed, str):
            return False, None
        opened = self._sealer.open(sealed, context=context)
        if opened is None:
            return False, None
        return True, json.loads(opened)

    # -- items ---------------------------------------------------------------------------

    def seal_payload(self, kind: str, key: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A payload of a :data:`SEALED_KINDS` item as stored: ``{"sealed": …}``."""
        value = json.dumps(dict(payload), separators=(",", ":"))
        return {SEALED: self._sealer.seal(value, context=f"item|{kind}|{key}")}

    def open_payload(self, kind: str, key: str, stored: Mapping[str, Any]) -> dict[str, Any] | None:
        """The payload :meth:`seal_payload` sealed, or ``None`` when it does not open."""
        ok, value = self.open_value(stored.get(SEALED), context=f"item|{kind}|{key}")
        return value if ok and isinstance(value, dict) else None


def open_factor(
    at_rest: AtRest | None,
    stored: Mapping[str, Any],
    *,
    factor_id: str,
    user_id: str,
    kind: str,
) -> dict[str, Any]:
    """``stored`` factor data with its secrets opened under ``at_rest``; without the key,
    or for a field that does not open, the secret is left out (fail closed)."""
    data = {k: v for k, v in stored.items() if k != SEALED}
    sealed = stored.get(SEALED)
    sealed = sealed if isinstance(sealed, dict) else {}
    for field in SECRET_FIELDS.get(kind, ()):
        if data.pop(field, None) is not None:
            _log.warning("factor %s holds its %s in clear; refused", factor_id, field)
        if field not in sealed:
            continue
        if at_rest is None:
            continue
        context = _factor_context(factor_id, user_id, kind, field)
        ok, value = at_rest.open_value(sealed[field], context=context)
        if ok:
            data[field] = value
        else:
            _log.warning("factor %s: its sealed %s does not open here; refused", factor_id, field)
    return data
