"""Pending actions and consume-once ledgers in Redis, shared by every instance of an app.

:class:`~stepauth.sdk.pending.MemoryPendingStore` and
:class:`~stepauth.sdk.ledger.MemoryLedger` live in one process: a step-up begun on one
instance and finished on another (no sticky sessions) would find nothing, and each
instance would accept a used approval once. These classes implement the same protocols
on one Redis (6.2 or later; the ``redis`` extra)::

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    browser = BrowserStepUp(
        rp,
        pending=RedisPendingStore(client, prefix="shop:"),
        ledger=SyncRedisLedger(client, prefix="shop:"),
    )

Guarantees, the same as the in-memory ones':

* **single use, atomically** - :meth:`RedisPendingStore.take` is one ``GETDEL``, so of any
  number of concurrent callbacks with the same ``state`` exactly one gets the action;
  :meth:`SyncRedisLedger.consume` (and the async :class:`RedisLedger`'s) is one
  ``SET {prefix}txn:{key} 1 NX PX <ms>``: only the caller Redis answers ``OK`` may run the
  action (a bound browser grant, a token's ``txn``);
* **TTL** - every key carries a ``PX`` expiry at its ``expires_at`` (Redis drops it), and
  ``expires_at`` is stored and checked again against ``now`` (the app's clock decides,
  fail closed); a ledger's lifetime is relative and measured on the ledger's clock;
* **what is stored** - the authorization request (``state``, ``nonce``, PKCE verifier,
  parameters, requirement, ``authorization_details``), the interrupted method, local path
  and form fields and the subject: keep the Redis private to the app (the in-memory stores
  hold the same in process memory). A :class:`Binding`'s function is code, not data: a
  pending action remembers only that it had one, and :meth:`take` gives back a binding
  with the store's RAR ``registry`` (the one the callback checks the grant with), so
  configure the store with the registry the bindings use.

The pending store's client is a synchronous ``redis.Redis``: the SDK's flows call it
between their network steps, and each call is one short round trip.
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Generic, Self, TypeVar

import redis
import redis.asyncio as aioredis

from stepauth.assurance import Requirement
from stepauth.rar import Registry, default_registry
from stepauth.sdk.authorize import AuthorizationRequest
from stepauth.sdk.binding import Binding, Details
from stepauth.sdk.pending import PendingAction

__all__ = ["RedisLedger", "RedisPendingStore", "SyncRedisLedger"]

_ClientT = TypeVar("_ClientT")


def _ttl_ms(expires_at: float, now: float) -> int | None:
    """Milliseconds until ``expires_at``, or ``None`` when it is already past."""
    remaining = expires_at - now
    if not remaining > 0 or not math.isfinite(remaining):
        return None
    return max(1, math.ceil(remaining * 1000))


def _no_details(_fields: Mapping[str, str]) -> Details:
    return ()


def _encode_action(action: PendingAction, expires_at: float) -> str:
    request = action.request
    requirement = request.requirement
    return json.dumps(
        {
            "v": 1,
            "expires_at": expires_at,
            "request": {
                "authorization_endpoint": request.authorization_endpoint,
                "params": dict(request.params),
                "state": request.state,
                "nonce": request.nonce,
                "code_verifier": request.code_verifier,
                "max_age": request.max_age,
                "requirement": None
                if requirement is None
                else {"acr_values": list(requirement.acr_values), "max_age": requirement.max_age},
                "authorization_details": [dict(d) for d in request.authorization_details],
            },
            "method": action.method,
            "path": action.path,
            "form": [list(pair) for pair in action.form],
            "subject": action.subject,
            "created_at": action.created_at,
            "binding": action.binding is not None,
        },
        separators=(",", ":"),
    )


def _decode_action(raw: bytes, registry: Registry) -> tuple[PendingAction, float]:
    data = json.loads(raw)
    req = data["request"]
    wanted = req["requirement"]
    request = AuthorizationRequest(
        authorization_endpoint=req["authorization_endpoint"],
        params=dict(req["params"]),
        state=req["state"],
        nonce=req["nonce"],
        code_verifier=req["code_verifier"],
        max_age=req["max_age"],
        requirement=None
        if wanted is None
        else Requirement(tuple(wanted["acr_values"]), wanted["max_age"]),
        authorization_details=tuple(req["authorization_details"]),
    )
    action = PendingAction(
        request=request,
        method=data["method"],
        path=data["path"],
        form=tuple((str(k), str(v)) for k, v in data["form"]),
        subject=data["subject"],
        created_at=float(data["created_at"]),
        binding=Binding(_no_details, registry=registry) if data["binding"] else None,
    )
    return action, float(data["expires_at"])


class RedisPendingStore:
    """:class:`~stepauth.sdk.pending.PendingStore` on Redis: one key per ``state``."""

    def __init__(
        self,
        client: redis.Redis[Any],
        *,
        prefix: str = "stepauth:",
        registry: Registry = default_registry,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.registry = registry

    def _key(self, state: str) -> str:
        return f"{self.prefix}pending:{state}"

    def put(self, state: str, action: PendingAction, *, expires_at: float) -> None:
        ttl = _ttl_ms(expires_at, action.created_at)
        if ttl is None:
            return  # born expired: nothing a callback could use
        self.client.set(self._key(state), _encode_action(action, expires_at), px=ttl)

    def take(self, state: str, *, now: float) -> PendingAction | None:
        raw = self.client.getdel(self._key(state))  # one atomic read-and-delete
        if not isinstance(raw, bytes | str):
            return None
        action, expires_at = _decode_action(
            raw.encode() if isinstance(raw, str) else raw, self.registry
        )
        if expires_at <= now:
            return None
        return action


class _RedisLedger(ABC, Generic[_ClientT]):
    """What the async and sync Redis ledgers share: the client, the key and the lifetime."""

    def __init__(
        self,
        client: _ClientT,
        *,
        prefix: str = "stepauth:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self._owns_client = False

    @staticmethod
    @abstractmethod
    def _connect(url: str) -> _ClientT:
        """A new client for ``url``."""

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "stepauth:", clock: Callable[[], float] = time.time
    ) -> Self:
        ledger = cls(cls._connect(url), prefix=prefix, clock=clock)
        ledger._owns_client = True
        return ledger

    def key(self, key: str) -> str:
        return f"{self.prefix}txn:{key}"

    def _lifetime_ms(self, expires_at: float) -> int | None:
        """Milliseconds the record must live, or ``None`` for an approval already dead.

        Relative lifetime (PX) measured on the ledger's clock, the one that judged the
        approval's expiry: the record's life does not depend on the Redis host's wall clock
        (``EXAT`` would)."""
        return _ttl_ms(expires_at, self.clock())


class RedisLedger(_RedisLedger["aioredis.Redis[bytes]"]):
    """:class:`~stepauth.sdk.ledger.Ledger` on Redis: ``SET {prefix}txn:{key} 1 NX PX <ms>``
    answers ``OK`` to the first setter only, and Redis forgets the key when the approval is
    dead."""

    @staticmethod
    def _connect(url: str) -> aioredis.Redis[bytes]:
        return aioredis.Redis.from_url(url)

    async def consume(self, key: str, *, expires_at: float) -> bool:
        lifetime = self._lifetime_ms(expires_at)
        if lifetime is None:
            return False
        return bool(await self.client.set(self.key(key), b"1", nx=True, px=lifetime))

    async def close(self) -> None:
        """Close the connection pool if this ledger created it."""
        if self._owns_client:
            await self.client.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag


class SyncRedisLedger(_RedisLedger["redis.Redis[bytes]"]):
    """:class:`RedisLedger` for sync code (Flask, Django, the browser flow's grants)."""

    @staticmethod
    def _connect(url: str) -> redis.Redis[bytes]:
        return redis.Redis.from_url(url)

    def consume(self, key: str, *, expires_at: float) -> bool:
        lifetime = self._lifetime_ms(expires_at)
        if lifetime is None:
            return False
        return bool(self.client.set(self.key(key), b"1", nx=True, px=lifetime))

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
