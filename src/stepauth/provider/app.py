"""The Provider's ASGI application: ``create_app(config) -> Starlette``.

Every endpoint module exposes ``routes: list[BaseRoute]``; the app mounts the front
channel (authorize, interaction) and the back channel (token, userinfo, introspect,
revoke, par, discovery + jwks, logout) in one table. The lifespan opens the store (when
none is given), gives it the keys that protect session ids and factor secrets at rest
(:mod:`stepauth.store.at_rest`) and loads the signing keys, then publishes a
:class:`ProviderState` on ``app.state.stepauth``.

Operations (:mod:`stepauth.provider.ops`): ``/healthz`` and ``/readyz`` are mounted with
the endpoints; one layer around every request (:mod:`stepauth.provider.request_frame`)
gives it its id, access event, security headers, language, branding and
metrics (``app.state.metrics``, a registry of this app's own); with ``[metrics]
enabled`` the lifespan serves them on their own listener; OpenTelemetry wraps the app
when it is installed. On shutdown the friction counts still in memory are written
(:mod:`stepauth.provider.friction.tally`), the store is closed and a SQLite WAL truncated.

With ``[console] listen`` the operator console is not mounted here:
:func:`create_console_app` builds it as an app of its own, sharing this app's state
(the same :class:`ProviderState` and store), which ``stepauth serve`` runs on that
address (docs/console.md).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from stepauth.assurance import DEFAULT_LADDER, ladder_from_data
from stepauth.errors import ConfigError
from stepauth.provider.branding import Themes
from stepauth.provider.config import store_timeouts
from stepauth.provider.error_responses import exception_handlers
from stepauth.provider.factors.base import FactorRegistry, default_factors
from stepauth.provider.factors.webauthn.mds import keep_trust_fresh, load_trust
from stepauth.provider.forwarded import TrustedProxies
from stepauth.provider.friction.tally import flush_logged, keep_flushing
from stepauth.provider.i18n import translations
from stepauth.provider.keys import KeyRing
from stepauth.provider.ops import Metrics, tracing_middleware
from stepauth.provider.ops.metrics import serve_metrics
from stepauth.provider.ops.purge import keep_purging
from stepauth.provider.ops.shutdown import checkpoint_sqlite
from stepauth.provider.request_frame import RequestFrame
from stepauth.provider.state import ProviderState
from stepauth.store import open_store
from stepauth.store.at_rest import AtRest

if TYPE_CHECKING:
    from stepauth.assurance import Ladder
    from stepauth.provider.config import ProviderConfig
    from stepauth.provider.factors.webauthn.attestation import TrustStore
    from stepauth.store import Store

__all__ = [
    "CONSOLE_MODULE",
    "ENDPOINT_MODULES",
    "create_app",
    "create_console_app",
]

#: Endpoint modules in mount order; each exposes ``routes``. A module that fails to
#: import is an error: the Provider never starts with an endpoint silently missing.
ENDPOINT_MODULES = (
    "stepauth.provider.authorize",
    "stepauth.provider.interaction.routes",
    "stepauth.provider.par",
    "stepauth.provider.token_endpoint",
    "stepauth.provider.userinfo",
    "stepauth.provider.introspect",
    "stepauth.provider.revoke",
    "stepauth.provider.discovery",
    "stepauth.provider.logout",
    "stepauth.provider.account",
    "stepauth.provider.console",
    "stepauth.provider.ops.health",
    "stepauth.provider.friction.events",
    "stepauth.provider.branding.routes",
)

#: The operator console: mounted with the others, unless ``[console] listen`` is set.
CONSOLE_MODULE = "stepauth.provider.console"

STATIC_DIR = Path(__file__).parent / "interaction" / "static"


def _key_secret(config: ProviderConfig) -> bytes:
    name = config.secrets.key_env
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"environment variable {name} is not set", key="secrets.key_env")
    return value.encode()


def _ladder(config: ProviderConfig) -> Ladder:
    levels = getattr(config, "levels", None)
    return ladder_from_data(levels) if levels else DEFAULT_LADDER


def endpoint_routes(*, console: bool = True) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in ENDPOINT_MODULES:
        if name == CONSOLE_MODULE and not console:
            continue
        module = importlib.import_module(name)
        routes.extend(module.routes)
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"))
    return routes


def create_app(
    config: ProviderConfig,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    factors: FactorRegistry | None = None,
    trust: TrustStore | None = None,
    close_store: bool = False,
) -> Starlette:
    """Build the Provider for ``config``; ``store``, ``clock``, ``factors`` and the
    attestation ``trust`` store are injectable. Without ``trust``, the store is built
    once at start-up from ``[webauthn]`` (:func:`stepauth.provider.factors.webauthn.mds.load_trust`)
    and a configured MDS3 BLOB is refreshed in the background when its ``nextUpdate``
    passes. A given ``store`` is closed at shutdown only with ``close_store``."""

    ladder = _ladder(config)
    metrics = Metrics(ladder=ladder)
    themes = Themes.build(config.branding, config.clients)
    for locale in config.ui.locales:
        translations(locale)  # a configured language without its catalogue stops start-up

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        secret = _key_secret(config)
        owned = store is None or close_store
        active: Store
        if store is None:
            active = await open_store(
                config.database.url,
                secret=secret,
                key_env=config.secrets.key_env,
                timeouts=store_timeouts(config),
            )
        else:
            active = store
        try:
            # session ids and factor secrets are kept under keys from the Provider's secret
            active.protect(AtRest(secret, key_env=config.secrets.key_env))
            keys = await KeyRing.load(
                active,
                secret=secret,
                clock=clock,
                key_env=config.secrets.key_env,
            )
            state = ProviderState(
                config=config,
                store=active,
                keys=keys,
                clock=clock,
                ladder=ladder,
                factors=factors if factors is not None else default_factors(),
                trust=trust
                if trust is not None
                else await load_trust(config.webauthn, store=active, now=clock()),
            )
            app.state.stepauth = state
            refresher = None
            if trust is None and config.webauthn.mds_blob:
                refresher = asyncio.create_task(keep_trust_fresh(state))
            purger = None
            if config.purge.interval:
                purger = asyncio.create_task(keep_purging(state, metrics))
            flusher = asyncio.create_task(keep_flushing(state.friction, active))
            stop_metrics = _metrics_listener(config, metrics)
            try:
                yield
            finally:
                stop_metrics()
                if refresher is not None:
                    refresher.cancel()
                if purger is not None:
                    purger.cancel()
                flusher.cancel()
                # after the last request in flight: the counts not yet written
                await flush_logged(state.friction, active)
        finally:
            if owned:
                await active.close()
                checkpoint_sqlite(config.database.url)

    routes = endpoint_routes(console=not config.console.separate)
    middleware = [
        *_trusted_proxies(config),
        *tracing_middleware(routes),
        Middleware(
            RequestFrame,
            metrics=metrics,
            image_origins=themes.image_origins,
            ui=config.ui,
            brand=themes.provider,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.branding = themes
    return app


def _trusted_proxies(config: ProviderConfig) -> list[Middleware]:
    """Outermost when configured: every layer below (logs and metrics included) and the
    server's access log see the client."""
    if not (config.server.trusted_proxies and config.server.forwarded_header):
        return []
    return [
        Middleware(
            TrustedProxies,
            trusted_proxies=config.server.trusted_proxies,
            header=config.server.forwarded_header,
        )
    ]


def create_console_app(app: Starlette, config: ProviderConfig) -> Starlette:
    """The operator console alone, for its own listener (``[console] listen``).

    It shares ``app``'s state, so it answers with the :class:`ProviderState` and store
    that ``app``'s lifespan publishes: serve it only while ``app`` runs (it has no
    lifespan of its own). Same trusted proxies, security headers, error pages and
    request metrics as ``app``."""
    console = Starlette(
        routes=list(importlib.import_module(CONSOLE_MODULE).routes),
        middleware=[
            *_trusted_proxies(config),
            Middleware(RequestFrame, metrics=app.state.metrics),
        ],
        exception_handlers=exception_handlers(),
    )
    console.state = app.state
    return console


def _metrics_listener(config: ProviderConfig, metrics: Metrics) -> Callable[[], None]:
    """Serve ``metrics`` on ``[metrics] host:port`` when enabled; returns its stop()."""
    if not config.metrics.enabled:
        return lambda: None
    host, port = config.metrics.host, config.metrics.port
    try:
        stop: Callable[[], None] = serve_metrics(metrics, host=host, port=port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror})", key="metrics.port"
        ) from None
    return stop
