"""Ephemeral single-use items in Redis: ``RedisEphemeral(url, prefix)``.

Implements :class:`~stepauth.store.repositories.ItemStore` (``put``, ``add``,
``get``, ``consume``, ``delete``, ``revoke_grant``, ``revoke_session_items``) for
deployments that keep codes, PAR requests, challenges and transactions in Redis
(docs/architecture.md). Every item is a hash under ``{prefix}item:{kind}:{key}``; the members
of a grant are indexed in ``{prefix}grant:{grant_id}``, the items of a session in
``{prefix}sid:{sid}``.

``consume`` is one Lua script (atomic on the server), so of any number of concurrent
consumers exactly one sees ``"ok"``. A consumed item is kept, marked, so a second use is
reported as ``"replayed"`` with its payload and grant (the caller revokes the grant);
an item past ``expires_at`` is reported as ``"expired"``. Redis drops each hash
``retain`` seconds (default :data:`RETAIN`) after its ``expires_at``, after which it is
``"missing"``.
Times passed in (``now``, ``expires_at``) are epoch seconds.

Connecting and every reply wait at most ``timeout`` seconds; a connection error or a
timeout becomes :class:`~stepauth.store.adapter.StoreUnavailable` (``backend="redis"``),
so a single-use item is never taken as present or absent when Redis cannot say.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from stepauth.store.adapter import Consumed, Item, StoreUnavailable

__all__ = ["RETAIN", "RedisEphemeral"]

#: Seconds a hash outlives its ``expires_at`` so replays and expiry stay recognisable.
RETAIN = 86_400

_PUT = """
local item = KEYS[1]
redis.call('DEL', item)
redis.call('HSET', item, 'payload', ARGV[1], 'grant_id', ARGV[2], 'user_id', ARGV[3],
           'expires_at', ARGV[4], 'created_at', ARGV[5], 'consumed_at', '', 'revoked', '0')
local drop_ms = tonumber(ARGV[6])
if drop_ms > 0 then redis.call('PEXPIREAT', item, drop_ms) end
-- index the item under its grant (KEYS[2]) and its session (KEYS[3]); an index lives
-- as long as its longest-lived member
local function index(set)
  local existed = redis.call('EXISTS', set)
  local current = redis.call('PEXPIRETIME', set)
  redis.call('SADD', set, item)
  if drop_ms == 0 then
    redis.call('PERSIST', set)
  elseif existed == 0 or (current > 0 and current < drop_ms) then
    redis.call('PEXPIREAT', set, drop_ms)
  end
end
if ARGV[2] ~= '' then index(KEYS[2]) end
if ARGV[7] ~= '' then index(KEYS[3]) end
return 1
"""

_CONSUME = """
local item = KEYS[1]
if redis.call('EXISTS', item) == 0 then return {'missing'} end
local f = redis.call('HMGET', item, 'payload', 'grant_id', 'consumed_at', 'revoked', 'expires_at')
if f[3] and f[3] ~= '' then return {'replayed', f[1], f[2] or ''} end
if f[4] == '1' then return {'missing'} end
if f[5] and f[5] ~= '' and tonumber(f[5]) <= tonumber(ARGV[1]) then return {'expired'} end
redis.call('HSET', item, 'consumed_at', ARGV[1])
return {'ok', f[1], f[2] or ''}
"""

_ADD = """
local item = KEYS[1]
local expires = redis.call('HGET', item, 'expires_at')
if expires and (expires == '' or tonumber(expires) > tonumber(ARGV[3])) then return 0 end
redis.call('DEL', item)
redis.call('HSET', item, 'payload', ARGV[1], 'grant_id', '', 'user_id', '',
           'expires_at', ARGV[2], 'created_at', ARGV[3], 'consumed_at', '', 'revoked', '0')
redis.call('PEXPIREAT', item, ARGV[4])
return 1
"""

_REVOKE = """
local count = 0
for _, item in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('HGET', item, 'revoked') == '0' then
    redis.call('HSET', item, 'revoked', '1')
    count = count + 1
  end
end
return count
"""


@contextmanager
def _reachable() -> Iterator[None]:
    """Redis's connection and timeout errors as :class:`StoreUnavailable`; a script or
    data error keeps its type."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError) as exc:
        raise StoreUnavailable("redis", f"Redis is unavailable ({type(exc).__name__})") from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisEphemeral:
    """Single-use items in Redis (``redis.asyncio``; no synchronous calls)."""

    def __init__(
        self, url: str, prefix: str = "stepauth:", *, timeout: float = 3.0, retain: float = RETAIN
    ) -> None:
        """``retain``: seconds a hash outlives its ``expires_at`` (``stepauth serve`` gives
        the SQL purge's retention, :func:`stepauth.provider.ops.purge.retention`);
        ``timeout``: seconds any Redis call may wait (then the store is unavailable)."""
        self.prefix = prefix
        self.retain = retain
        self.client: aioredis.Redis[bytes] = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._put = self.client.register_script(_PUT)
        self._consume = self.client.register_script(_CONSUME)
        self._revoke = self.client.register_script(_REVOKE)
        self._add = self.client.register_script(_ADD)

    def _item(self, kind: str, key: str) -> str:
        return f"{self.prefix}item:{kind}:{key}"

    def _grant(self, grant_id: str) -> str:
        return f"{self.prefix}grant:{grant_id}"

    def _sid(self, sid: str) -> str:
        return f"{self.prefix}sid:{sid}"

    async def close(self) -> None:
        await self.client.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag

    async def put(
        self,
        kind: str,
        key: str,
        payload: Mapping[str, Any],
        *,
        expires_at: float | None,
        grant_id: str | None = None,
        user_id: str | None = None,
        sid: str | None = None,
    ) -> None:
        drop_ms = 0 if expires_at is None else int((expires_at + self.retain) * 1000)
        with _reachable():
            await self._put(
                keys=[self._item(kind, key), self._grant(grant_id or ""), self._sid(sid or "")],
                args=[
                    json.dumps(dict(payload), separators=(",", ":")),
                    grant_id or "",
                    user_id or "",
                    "" if expires_at is None else repr(float(expires_at)),
                    repr(time.time()),
                    drop_ms,
                    sid or "",
                ],
            )

    async def get(self, kind: str, key: str, *, now: float) -> Item | None:
        with _reachable():
            raw = await self.client.hgetall(self._item(kind, key))
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        expires_at = float(fields["expires_at"]) if fields.get("expires_at") else None
        if fields.get("consumed_at") or fields.get("revoked") == "1":
            return None
        if expires_at is not None and expires_at <= now:
            return None
        return Item(
            kind=kind,
            key=key,
            payload=json.loads(fields["payload"]),
            grant_id=fields.get("grant_id") or None,
            user_id=fields.get("user_id") or None,
            expires_at=expires_at,
            consumed_at=None,
            created_at=float(fields.get("created_at") or 0.0),
        )

    async def any_live(self, wanted: Sequence[tuple[str, str]], *, now: float) -> bool:
        for kind, key in wanted:
            if await self.get(kind, key, now=now) is not None:
                return True
        return False

    async def consume(self, kind: str, key: str, *, now: float) -> Consumed:
        with _reachable():
            result = await self._consume(keys=[self._item(kind, key)], args=[repr(float(now))])
        status = _text(result[0])
        if status in ("ok", "replayed"):
            payload = json.loads(_text(result[1]))
            grant = _text(result[2]) or None
            return Consumed("ok" if status == "ok" else "replayed", payload, grant)
        return Consumed("expired" if status == "expired" else "missing")

    async def add(
        self,
        kind: str,
        key: str,
        *,
        expires_at: float,
        now: float,
        data: Mapping[str, Any] | None = None,
    ) -> bool:
        """Insert-if-absent as one script (the ``SET NX PX`` of a hash that also lets an
        expired-but-retained item be replaced)."""
        with _reachable():
            added = await self._add(
                keys=[self._item(kind, key)],
                args=[
                    json.dumps(dict(data or {}), separators=(",", ":")),
                    repr(float(expires_at)),
                    repr(float(now)),
                    int((expires_at + self.retain) * 1000),
                ],
            )
        return int(added) == 1

    async def delete(self, kind: str, key: str) -> None:
        with _reachable():
            await self.client.delete(self._item(kind, key))

    async def revoke_grant(self, grant_id: str) -> int:
        with _reachable():
            return int(await self._revoke(keys=[self._grant(grant_id)], args=[]))

    async def revoke_session_items(self, sid: str) -> int:
        with _reachable():
            return int(await self._revoke(keys=[self._sid(sid)], args=[]))
