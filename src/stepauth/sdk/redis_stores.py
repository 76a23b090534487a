"""Pending actions and transaction grants in Redis, shared by every instance of an app.

:class:`~stepauth.sdk.pending.MemoryPendingStore` and
:class:`~stepauth.sdk.binding.MemoryGrantStore` live in one process: a step-up begun on one
instance and finished on another (no sticky sessions) would find nothing. These two classes
implement the same protocols on one Redis (6.2 or later)::

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    browser = BrowserStepUp(
        rp,
        pending=RedisPendingStore(client, prefix="shop:"),
        grants=RedisGrantStore(client, prefix="shop:"),
    )

Guarantees, the same as the in-memory stores':

* **single use, atomically** - :meth:`RedisPendingStore.take` is one ``GETDEL``, so of any
  number of concurrent callbacks with the same ``state`` exactly one gets the action;
  :meth:`RedisGrantStore.take_matching` reads a grant, matches it against the action's
  details, and consumes it with one ``DEL``: only the caller whose ``DEL`` removed the key
  (reply 1) may run the action;
* **TTL** - every key carries a ``PX`` expiry at its ``expires_at`` (Redis drops it), and
  ``expires_at`` is stored and checked again against ``now`` (the app's clock decides,
  fail closed);
* **what is stored** - the authorization request (``state``, ``nonce``, PKCE verifier,
  parameters, requirement), the interrupted method, local path and form fields, the
  subject, and the granted ``authorization_details``: keep the Redis private to the app
  (the in-memory stores hold the same in process memory). A :class:`Binding`'s function is
  code, not data: a pending action remembers only that it had one, and :meth:`take` gives
  back a binding with the store's RAR ``registry`` (the one the callback checks the grant
  with), so configure the store with the registry the bindings use.

The client is a synchronous ``redis.Redis``: the SDK's flows call the stores between their
network steps, and each call is one short round trip.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from stepauth.assurance import Requirement
from stepauth.rar import DetailsMismatch, RARError, Registry, default_registry, match_details
from stepauth.sdk.authorize import AuthorizationRequest
from stepauth.sdk.binding import Binding, Details
from stepauth.sdk.pending import PendingAction

__all__ = ["RedisGrantStore", "RedisPendingStore"]


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


class RedisGrantStore:
    """:class:`~stepauth.sdk.binding.GrantStore` on Redis: one key per grant id."""

    def __init__(self, client: redis.Redis[Any], *, prefix: str = "stepauth:") -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, grant_id: str) -> str:
        return f"{self.prefix}grant:{grant_id}"

    def put(
        self, grant_id: str, details: Details, *, expires_at: float, now: float | None = None
    ) -> None:
        ttl = _ttl_ms(expires_at, time.time() if now is None else now)
        if ttl is None:
            return
        value = json.dumps(
            {"expires_at": expires_at, "details": [dict(d) for d in details]},
            separators=(",", ":"),
        )
        self.client.set(self._key(grant_id), value, px=ttl)

    def take_matching(
        self, grant_ids: Sequence[str], details: Details, binding: Binding, *, now: float
    ) -> str | None:
        requested = list(details)
        for grant_id in grant_ids:
            key = self._key(grant_id)
            raw = self.client.get(key)
            if not isinstance(raw, bytes | str):
                continue
            item = json.loads(raw)
            if float(item["expires_at"]) <= now:
                continue
            try:
                match_details(item["details"], requested, registry=binding.registry)
            except (DetailsMismatch, RARError):
                continue
            # A grant is written once and never changed: whoever's DEL removes it owns it.
            if self.client.delete(key) == 1:
                return grant_id
        return None
