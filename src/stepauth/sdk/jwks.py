"""A JWK Set cache with one sans-I/O core and sync/async front ends.

Behaviour (OIDC Core §10.1.1, key rotation):

* the set is reused for ``ttl`` seconds (or the response's ``Cache-Control: max-age``,
  bounded by ``max_ttl``);
* a token naming an unknown ``kid`` triggers one refetch, at most once per ``cooldown``
  seconds, so a flood of forged kids cannot turn the RP into a traffic amplifier;
* a failed refresh (network error, non-200, bad JSON, no usable key) keeps the last good
  set: an IdP outage does not log every user out, and an attacker who can break the fetch
  cannot empty the cache;
* keys are parsed once; ``alg=none``, HMAC and alg/kty mismatches are refused at
  verification (:mod:`stepauth.sdk.jose`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from stepauth.sdk._io import Flow, run_async, run_sync
from stepauth.sdk.errors import JWKSError, KeyNotFound
from stepauth.sdk.jose import KeySet, parse_header

__all__ = ["JWKSCache"]

_MAX_AGE = re.compile(r"max-age=(\d+)")


class JWKSCache:
    """Cache of one issuer's JWK Set; use :meth:`key_set` (sync) or :meth:`akey_set` (async)."""

    def __init__(
        self,
        jwks_uri: str | None = None,
        *,
        keys: Mapping[str, Any] | KeySet | None = None,
        ttl: float = 300,
        max_ttl: float = 86400,
        cooldown: float = 30,
        clock: Callable[[], float] = time.time,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        if jwks_uri is None and keys is None:
            raise JWKSError("a JWKSCache needs a jwks_uri or a static key set")
        self.jwks_uri = jwks_uri
        self.ttl = ttl
        self.max_ttl = max_ttl
        self.cooldown = cooldown
        self._clock = clock
        self._client = client
        self._async_client = async_client
        self._keys: KeySet | None = None
        self._expires_at = float("inf")
        self._last_attempt: float | None = None
        self._last_failure: float | None = None
        self.fetches = 0
        self.failures = 0
        if keys is not None:
            self._keys = keys if isinstance(keys, KeySet) else KeySet.from_jwks(keys)

    # -- sans-I/O core -------------------------------------------------------------------

    def _needs_fetch(self, kid: str | None, now: float) -> bool:
        if self.jwks_uri is None:
            return False
        recently_failed = (
            self._last_failure is not None and now - self._last_failure < self.cooldown
        )
        if self._keys is None or now >= self._expires_at:
            return not recently_failed  # after a failure, wait for the cool-down
        if kid is not None and kid not in self._keys.kid_set:
            return self._last_attempt is None or now - self._last_attempt >= self.cooldown
        return False

    def _accept(self, response: httpx.Response | None, now: float) -> None:
        self._last_attempt = now
        self.fetches += 1
        try:
            if response is None:
                raise JWKSError("the JWKS endpoint could not be reached")
            if response.status_code != 200:
                raise JWKSError(f"the JWKS endpoint answered {response.status_code}")
            try:
                data = json.loads(response.content)
            except ValueError as exc:
                raise JWKSError("the JWKS endpoint did not return JSON") from exc
            keys = KeySet.from_jwks(data)
            if not keys.keys:
                raise JWKSError("the JWK Set has no usable signing key")
        except JWKSError:
            self.failures += 1
            self._last_failure = now
            if self._keys is None:
                raise
            return  # keep the last good set (and retry after the cool-down)
        self._keys = keys
        self._last_failure = None
        match = _MAX_AGE.search(response.headers.get("cache-control", ""))
        ttl = min(float(match.group(1)), self.max_ttl) if match else self.ttl
        self._expires_at = now + ttl

    def flow(self, kid: str | None) -> Flow[KeySet]:
        """The sans-I/O core: yields the JWKS request when one is needed."""
        now = self._clock()
        if self._needs_fetch(kid, now):
            assert self.jwks_uri is not None
            request = httpx.Request("GET", self.jwks_uri, headers={"Accept": "application/json"})
            response = yield request
            self._accept(response, now)
        if self._keys is None:
            raise JWKSError("no key set is available")
        if kid is not None and kid not in self._keys.kid_set:
            raise KeyNotFound(f"kid {kid!r} is not in the issuer's key set")
        return self._keys

    # -- front ends ----------------------------------------------------------------------

    def cached(self) -> KeySet | None:
        """The current key set without any I/O (``None`` before the first fetch)."""
        return self._keys

    def current(self) -> KeySet | None:
        """The key set while it is fresh, else ``None`` (no I/O: the hot path's check)."""
        if self._clock() < self._expires_at:
            return self._keys
        return None

    def key_set(self, kid: str | None = None) -> KeySet:
        """The key set that can verify a token naming ``kid`` (fetching when needed)."""
        keys = self._keys
        if (
            keys is not None
            and self._clock() < self._expires_at
            and (kid is None or kid in keys.kid_set)
        ):
            return keys  # hot path: no generator, no I/O
        client = self._client or httpx.Client(timeout=5)
        try:
            return run_sync(self.flow(kid), client)
        finally:
            if self._client is None:
                client.close()

    async def akey_set(self, kid: str | None = None) -> KeySet:
        """Async :meth:`key_set`, same core."""
        keys = self._keys
        if (
            keys is not None
            and self._clock() < self._expires_at
            and (kid is None or kid in keys.kid_set)
        ):
            return keys
        client = self._async_client or httpx.AsyncClient(timeout=5)
        try:
            return await run_async(self.flow(kid), client)
        finally:
            if self._async_client is None:
                await client.aclose()

    def for_token(self, token: str) -> KeySet:
        """The key set for the ``kid`` in ``token``'s header."""
        return self.key_set(parse_header(token)[0].kid)

    async def afor_token(self, token: str) -> KeySet:
        return await self.akey_set(parse_header(token)[0].kid)
