"""``stepauth serve [--config PATH]``: run the Provider with uvicorn.

The schema is migrated to head, the signing-key secret checked and every signing key
created (and published) before the server starts, so a bad database URL or a missing
``$STEPAUTH_SECRET_KEY`` fails at once with one line naming the setting. With a
``[redis]`` table the ephemeral single-use items (codes, PAR requests, challenges) live
in Redis (:class:`stepauth.store.routed.RoutedStore`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from stepauth.cli import add_config_argument, load_cli_config, load_key_ring, opened_store, run
from stepauth.errors import StepAuthError

if TYPE_CHECKING:
    from stepauth.provider.config import ProviderConfig

__all__ = ["prepare", "register", "serve"]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="run the OpenID Provider (migrates the database first)"
    )
    add_config_argument(parser)
    parser.add_argument("--host", default=None, help="bind address (default: server.host)")
    parser.add_argument("--port", type=int, default=None, help="port (default: server.port)")
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    parser.set_defaults(func=serve)


async def prepare(config: ProviderConfig) -> None:
    """Migrate the schema, open the key ring and create missing keys (before binding)."""
    async with opened_store(config) as store:
        ring = await load_key_ring(store, config)
        await ring.ensure()


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from stepauth.provider import create_app

    if args.port is not None and not 1 <= args.port <= 65535:
        raise StepAuthError("--port must be between 1 and 65535", error="usage")
    config = load_cli_config(args)
    run(prepare(config))
    if config.redis is not None:
        from stepauth.store import build_store

        # ephemeral single-use items in Redis; the schema was migrated by prepare()
        store = build_store(
            config.database.url, redis_url=config.redis.url, redis_prefix=config.redis.prefix
        )
        app = create_app(config, store=store)
    else:
        app = create_app(config)
    uvicorn.run(
        app,
        host=args.host or config.server.host,
        port=args.port or config.server.port,
        log_level=args.log_level,
        proxy_headers=False,
    )
    return 0
