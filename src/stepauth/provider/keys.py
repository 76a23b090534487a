"""Signing keys: generated, encrypted, published and rotated through the store.

``ring = await KeyRing.load(store, secret=…)``; ``kid, key = await ring.signing_key("RS256")``
signs; ``ring.public_jwks()`` is what ``/jwks`` serves; ``await ring.rotate(now=…)`` rotates.

* Algorithms: RS256 (RSA 2048, required by OIDC Core §15.1), ES256 (P-256), EdDSA
  (Ed25519) (RFC 7518 §3, RFC 8037) and Ed25519, its fully-specified name (RFC 9864 §2),
  each with keys of its own whose JWK ``alg`` is that name. ``kid`` is the RFC 7638 JWK
  thumbprint.
* Private JWKs are stored encrypted with AES-256-GCM (NIST SP 800-38D) under a key derived
  by HKDF-SHA256 (RFC 5869) from the secret in ``config.secrets.key_env``. The associated
  data binds each ciphertext to its ``kid`` and ``alg``. A missing or short secret, or
  one that does not open the stored keys, is a :class:`~stepauth.errors.ConfigError`:
  the Provider does not start (fail closed).
* Life cycle per algorithm: ``next`` (published, not signing) → ``active`` (signing) →
  ``retired`` (published until ``retired_at + retain`` — the longest lifetime of a token
  we sign — then dropped from the JWKS). The first use of an algorithm creates an active
  key and a next one; :meth:`KeyRing.rotate` promotes the oldest next key, retires the
  active one and publishes a fresh next key, so every key is published before it signs
  and stays published until the tokens it signed have expired.
* State lives in the store only; each instance reloads it in the background once its
  cache is older than ``refresh_interval`` seconds, and all instances pick the same
  signing key (the most recently activated). Because an instance may sign with a key for
  up to one interval after another instance retired it, retired keys stay published for
  ``retain + refresh_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey, OKPKey, RSAKey

from stepauth.errors import ConfigError, StepAuthError
from stepauth.keying import MIN_SECRET_BYTES, Sealer, derive_key
from stepauth.store.adapter import KeyRecord, Store

__all__ = [
    "ALGORITHMS",
    "DEFAULT_RETAIN",
    "MIN_SECRET_BYTES",
    "KeyRing",
    "SigningKey",
    "decrypt_private_jwk",
    "encrypt_private_jwk",
    "generate_key",
    "key_encryption_key",
]

SigningKey = RSAKey | ECKey | OKPKey

ALGORITHMS = ("RS256", "ES256", "EdDSA", "Ed25519")
#: Seconds a retired key stays published when the caller does not say (≥ token lifetimes).
DEFAULT_RETAIN = 3600
_FORMAT = b"\x01"  # AES-256-GCM, 96-bit nonce, HKDF-SHA256 key
_HKDF_INFO = b"stepauth signing-key encryption v1"
_HKDF_SALT = b"stepauth/keys"
_log = logging.getLogger("stepauth.keys")


def key_encryption_key(secret: bytes, *, key_env: str = "STEPAUTH_SECRET_KEY") -> bytes:
    """The AES-256 key derived from the environment secret (HKDF-SHA256, RFC 5869)."""
    return derive_key(secret, _HKDF_INFO, salt=_HKDF_SALT, key_env=key_env)


def _aad(kid: str, alg: str) -> bytes:
    return f"{kid}|{alg}".encode()


def encrypt_private_jwk(kek: bytes, kid: str, alg: str, jwk: dict[str, Any]) -> bytes:
    """``0x01 || nonce(12) || AES-256-GCM(jwk JSON)`` bound to ``kid`` and ``alg``."""
    nonce = os.urandom(12)
    plaintext = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    return _FORMAT + nonce + AESGCM(kek).encrypt(nonce, plaintext, _aad(kid, alg))


_SEAL_FORMAT = b"\x02"  # AES-256-GCM, 96-bit nonce, HKDF-SHA256 key of its own
_SEAL_INFO = b"stepauth item sealing v1"


def _sealer(kek: bytes) -> Sealer:
    return Sealer(derive_key(kek, _SEAL_INFO, salt=_HKDF_SALT), fmt=_SEAL_FORMAT)


def decrypt_private_jwk(kek: bytes, kid: str, alg: str, blob: bytes) -> dict[str, Any]:
    if not blob.startswith(_FORMAT) or len(blob) < 1 + 12 + 16:
        raise ConfigError(f"signing key {kid} has an unknown encryption format")
    nonce, ciphertext = blob[1:13], blob[13:]
    try:
        plaintext = AESGCM(kek).decrypt(nonce, ciphertext, _aad(kid, alg))
    except InvalidTag:
        raise ConfigError(
            f"signing key {kid} cannot be decrypted: wrong key-encryption secret",
            key="secrets.key_env",
        ) from None
    data: dict[str, Any] = json.loads(plaintext)
    return data


def generate_key(alg: str) -> SigningKey:
    """A fresh private key for ``alg`` (RS256: RSA 2048, ES256: P-256, EdDSA and Ed25519:
    Ed25519)."""
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", private=True)
    if alg in ("EdDSA", "Ed25519"):
        return OKPKey.generate_key("Ed25519", private=True)
    raise StepAuthError(f"unsupported signing algorithm {alg!r}", error="unsupported_alg")


def _import(alg: str, jwk: dict[str, Any]) -> SigningKey:
    if alg == "RS256":
        return RSAKey.import_key(jwk)
    if alg == "ES256":
        return ECKey.import_key(jwk)
    return OKPKey.import_key(jwk)


@dataclass(frozen=True, slots=True)
class _Loaded:
    record: KeyRecord
    key: SigningKey | None  # decrypted for active keys only


class KeyRing:
    """The Provider's signing keys, backed by :class:`~stepauth.store.Store`."""

    def __init__(
        self,
        store: Store,
        *,
        secret: bytes,
        retain: int = DEFAULT_RETAIN,
        refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
        key_env: str = "STEPAUTH_SECRET_KEY",
    ) -> None:
        self.store = store
        self.retain = retain
        self.refresh_interval = refresh_interval
        self.clock = clock
        self._kek = key_encryption_key(secret, key_env=key_env)
        self._sealer = _sealer(self._kek)
        self._keys: list[_Loaded] = []
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None

    def seal(self, value: str, *, context: str) -> str:
        """``value`` encrypted for storage (AES-256-GCM bound to ``context``), base64url.

        For a secret the store must hold for a while (a browser cookie value), so that
        reading the database does not hand it out.
        """
        return self._sealer.seal(value, context=context)

    def unseal(self, sealed: str, *, context: str) -> str | None:
        """The value :meth:`seal` sealed under ``context``; ``None`` if anything differs."""
        return self._sealer.open(sealed, context=context)

    @classmethod
    async def load(
        cls,
        store: Store,
        *,
        secret: bytes,
        retain: int = DEFAULT_RETAIN,
        refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
        key_env: str = "STEPAUTH_SECRET_KEY",
    ) -> KeyRing:
        """Load the keys from ``store``; fails (ConfigError) if the secret cannot open them."""
        ring = cls(
            store,
            secret=secret,
            retain=retain,
            refresh_interval=refresh_interval,
            clock=clock,
            key_env=key_env,
        )
        await ring.refresh()
        return ring

    # -- reading -------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Reload every key from the store (other instances may have rotated)."""
        records = await self.store.list_keys()
        loaded: list[_Loaded] = []
        known = {k.record.kid: k for k in self._keys}
        for record in records:
            key: SigningKey | None = None
            if record.state == "active":
                cached = known.get(record.kid)
                if cached is not None and cached.key is not None:
                    key = cached.key
                else:
                    jwk = decrypt_private_jwk(self._kek, record.kid, record.alg, record.private_enc)
                    key = _import(record.alg, jwk)
            loaded.append(_Loaded(record, key))
        self._keys = loaded
        self._loaded_at = time.monotonic()

    def _refresh_soon(self) -> None:
        if self._pending is not None or time.monotonic() - self._loaded_at <= self.refresh_interval:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._pending = loop.create_task(self.refresh())
        self._pending.add_done_callback(self._refreshed)

    def _refreshed(self, task: asyncio.Task[None]) -> None:
        self._pending = None
        if not task.cancelled() and task.exception() is not None:
            _log.warning("reloading signing keys failed: %r", task.exception())

    async def settle(self) -> None:
        """Wait for a background reload started by :meth:`public_jwks` (tests, shutdown)."""
        if self._pending is not None:
            await asyncio.shield(self._pending)

    @property
    def _kept(self) -> float:
        # another instance may sign with a key for up to one refresh interval after it
        # was retired; its tokens live ``retain`` seconds
        return self.retain + self.refresh_interval

    @property
    def records(self) -> list[KeyRecord]:
        """The cached key records (public parts and states), oldest first."""
        return [k.record for k in self._keys]

    def _active(self, alg: str) -> _Loaded | None:
        candidates = [
            k for k in self._keys if k.record.alg == alg and k.record.state == "active" and k.key
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda k: (k.record.activated_at or 0.0, k.record.kid))

    async def signing_key(self, alg: str = "RS256") -> tuple[str, SigningKey]:
        """``(kid, private key)`` of the active key for ``alg``; created on first use."""
        if alg not in ALGORITHMS:
            raise StepAuthError(f"unsupported signing algorithm {alg!r}", error="unsupported_alg")
        self._refresh_soon()  # a stale cache still signs with a published key meanwhile
        found = self._active(alg)
        if found is None:
            async with self._lock:
                await self.refresh()
                found = self._active(alg)
                if found is None:
                    await self._create_initial(alg, now=self.clock())
                    found = self._active(alg)
        if found is None or found.key is None:  # pragma: no cover - store refused the write
            raise StepAuthError(f"no active {alg} signing key", error="server_error")
        return found.record.kid, found.key

    def public_jwks(self, *, now: float | None = None) -> dict[str, Any]:
        """The JWK Set to publish: next, active, and retired keys still within ``retain``.

        Served from the cache; when the cache is older than ``refresh_interval`` a reload
        from the store is started in the background (keys rotated by another instance
        appear within one interval even on an instance that never signs).
        """
        self._refresh_soon()
        now = self.clock() if now is None else now
        keys = []
        for loaded in self._keys:
            record = loaded.record
            if record.state == "retired" and (record.retired_at or 0.0) + self._kept <= now:
                continue
            keys.append(dict(record.public_jwk))
        return {"keys": keys}

    # -- writing -------------------------------------------------------------------------

    async def _add(self, alg: str, state: str, *, now: float) -> str:
        key = await asyncio.to_thread(generate_key, alg)
        kid = key.thumbprint()
        public = {**key.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
        private = {**key.as_dict(private=True), "kid": kid, "alg": alg, "use": "sig"}
        await self.store.add_key(
            KeyRecord(
                kid=kid,
                alg=alg,
                public_jwk=public,
                private_enc=encrypt_private_jwk(self._kek, kid, alg, private),
                state=state,
                created_at=now,
                activated_at=now if state == "active" else None,
            )
        )
        return kid

    async def _create_initial(self, alg: str, *, now: float) -> None:
        await self._add(alg, "active", now=now)
        if not any(k.record.alg == alg and k.record.state == "next" for k in self._keys):
            await self._add(alg, "next", now=now)
        await self.refresh()

    async def ensure(self, algs: Iterable[str] = ALGORITHMS) -> None:
        """Make sure each of ``algs`` has an active and a published next key.

        ``stepauth serve`` calls this before it starts, so ``/jwks`` lists every key
        before any token is signed.
        """
        for alg in algs:
            await self.signing_key(alg)

    async def rotate(
        self, *, now: float | None = None, algs: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Promote next → active, retire the active key, publish a fresh next key.

        Rotates every algorithm that has keys (or ``algs``); returns ``{alg: new active
        kid}``. An algorithm without keys gets its first active and next key.
        """
        now = self.clock() if now is None else now
        async with self._lock:
            await self.refresh()
            chosen = list(algs) if algs is not None else sorted({k.alg for k in self.records})
            if not chosen:
                chosen = ["RS256"]
            promoted: dict[str, str] = {}
            for alg in chosen:
                if alg not in ALGORITHMS:
                    raise StepAuthError(
                        f"unsupported signing algorithm {alg!r}", error="unsupported_alg"
                    )
                mine = [r for r in self.records if r.alg == alg]
                actives = [r for r in mine if r.state == "active"]
                nexts = sorted(
                    (r for r in mine if r.state == "next"), key=lambda r: (r.created_at, r.kid)
                )
                if nexts:
                    new_kid = nexts[0].kid
                else:
                    # nothing was published in advance (a store written by hand, or the
                    # first key of this algorithm): publish one now; it signs from now on
                    new_kid = await self._add(alg, "next", now=now)
                await self.store.set_key_state(new_kid, "active", now=now)
                for record in actives:
                    await self.store.set_key_state(record.kid, "retired", now=now)
                await self._add(alg, "next", now=now)
                promoted[alg] = new_kid
            await self.refresh()
        return promoted
