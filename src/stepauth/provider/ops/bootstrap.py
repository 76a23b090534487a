"""What a configured Provider runs on, opened outside a request: the ``.env`` next to the
config, the store under the configured secret and the signing-key ring.

Shared by ``stepauth`` commands (:mod:`stepauth.cli`) and the demo launcher
(:mod:`stepauth.demo.launcher`), so neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from stepauth.errors import ConfigError
from stepauth.provider.config import ProviderConfig, store_timeouts
from stepauth.provider.keys import KeyRing
from stepauth.store import Store, open_store

__all__ = ["key_secret", "load_dotenv", "load_key_ring", "opened_store", "prepare"]


def load_dotenv(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines (``#`` comments, optional quotes); set unset variables."""
    loaded: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return loaded
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier():
            raise ConfigError(f"{path}:{number}: expected NAME=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        loaded[name] = value
        os.environ.setdefault(name, value)
    return loaded


def key_secret(config: ProviderConfig) -> bytes:
    """The key-encryption secret from ``$<secrets.key_env>`` (checked by the key ring)."""
    return os.environ.get(config.secrets.key_env, "").encode()


@asynccontextmanager
async def opened_store(config: ProviderConfig) -> AsyncIterator[Store]:
    """The configured store, closed on the way out; under the Provider's secret when it is
    set, so session ids and factor secrets can be kept (and migrated) under it. Without it
    the store refuses sessions and factor secrets, and a database that still holds them in
    clear is not migrated (revision 0004 needs the secret)."""
    store = await open_store(
        config.database.url,
        secret=key_secret(config) or None,
        key_env=config.secrets.key_env,
        timeouts=store_timeouts(config),
    )
    try:
        yield store
    finally:
        await store.close()


async def load_key_ring(store: Store, config: ProviderConfig) -> KeyRing:
    """The signing-key ring in ``store``, under the configured secret and retention."""
    return await KeyRing.load(
        store,
        secret=key_secret(config),
        retain=config.ttl.max_signed_token,
        key_env=config.secrets.key_env,
    )


async def prepare(config: ProviderConfig) -> None:
    """Migrate the schema, open the key ring and create missing keys (before binding)."""
    async with opened_store(config) as store:
        ring = await load_key_ring(store, config)
        await ring.ensure()
