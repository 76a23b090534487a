"""What a configured Provider runs on, opened outside a request: the ``.env`` next to the
config, the store under the configured secret and the signing-key ring.

Shared by ``stepauth`` commands (:mod:`stepauth.cli`) and the demo launcher
(:mod:`stepauth.demo.launcher`), so neither imports the other.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from dotenv.parser import parse_stream

from stepauth.errors import ConfigError
from stepauth.provider.config import ProviderConfig, store_timeouts
from stepauth.provider.keys import KeyRing
from stepauth.store import Store, open_store

__all__ = ["key_secret", "load_dotenv", "load_key_ring", "opened_store", "prepare"]


def load_dotenv(path: Path) -> dict[str, str]:
    """Read a ``.env`` file with ``python-dotenv`` (``KEY=VALUE`` lines, ``export``, ``#``
    comments, quotes; no ``${VAR}`` expansion); set the variables not already set.

    A line that is not ``NAME=VALUE`` is a :class:`ConfigError` naming it, not skipped.
    """
    loaded: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return loaded
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is None and not binding.error:
            continue  # a blank line or a comment
        if binding.error or binding.value is None or not (binding.key or "").isidentifier():
            original = binding.original.string
            skipped = original[: len(original) - len(original.lstrip())].count("\n")
            raise ConfigError(f"{path}:{binding.original.line + skipped}: expected NAME=VALUE")
        assert binding.key is not None
        loaded[binding.key] = binding.value
        os.environ.setdefault(binding.key, binding.value)
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
