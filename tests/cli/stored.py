"""What the CLI tests read back from the store the commands wrote to."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from stepauth.provider.config import load_config
from stepauth.provider.ops.bootstrap import opened_store

__all__ = ["password_hash", "store_call"]

T = TypeVar("T")


def store_call(config: Path, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work`` on the store of the config file ``config`` (opened with the Provider's
    secret, as the commands open it, then closed)."""

    async def go() -> T:
        async with opened_store(load_config(config)) as store:
            return await work(store)

    return asyncio.run(go())


def password_hash(config: Path, username: str) -> str | None:
    """The stored password hash of ``username`` (who must exist)."""

    async def work(store: Any) -> str | None:
        user = await store.get_user_by_username(username)
        assert user is not None, username
        hashed: str | None = user.password_hash
        return hashed

    return store_call(config, work)
