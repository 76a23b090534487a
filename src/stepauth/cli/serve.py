"""``stepauth serve [--config PATH]``: run the Provider with uvicorn.

The schema is migrated to head, the signing-key secret checked and every signing key
created (and published) before the server starts, so a bad database URL or a missing
``$STEPAUTH_SECRET_KEY`` fails at once with one line naming the setting. With a
``[redis]`` table the ephemeral single-use items (codes, PAR requests, challenges) live
in Redis (:class:`stepauth.store.routed.RoutedStore`).

Logs go out as ``[logging]`` says (JSON lines by default, one access event per request
with its id); ``[metrics] enabled`` opens the Prometheus listener. On SIGTERM (or Ctrl-C)
uvicorn stops accepting connections, lets the requests in flight finish for up to
``[server] shutdown_timeout`` seconds, then the app's lifespan closes the store and
truncates a SQLite WAL; after SIGTERM the exit status is 0.

With ``[console] listen = "host:port"`` a second uvicorn server in the same process and
event loop serves the operator console there
(:func:`stepauth.provider.app.create_console_app`, the same state and store); it starts
once the Provider's lifespan is up, and stops with it: the signal that stops the
Provider stops it too, before the store is closed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import socket
import threading
from typing import TYPE_CHECKING, Any, cast

from stepauth.cli import add_config_argument, load_cli_config, run
from stepauth.errors import StepAuthError
from stepauth.provider import create_app
from stepauth.provider.app import create_console_app
from stepauth.provider.config import LOG_LEVELS, store_timeouts
from stepauth.provider.ops import configure_logging
from stepauth.provider.ops.bootstrap import key_secret, prepare
from stepauth.provider.ops.purge import retention
from stepauth.store import build_store

if TYPE_CHECKING:
    from types import FrameType

    from stepauth.provider.config import ProviderConfig

__all__ = ["CoalescedTransport", "http_protocol", "register", "serve"]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="run the OpenID Provider (migrates the database first)"
    )
    add_config_argument(parser)
    parser.add_argument("--host", default=None, help="bind address (default: server.host)")
    parser.add_argument("--port", type=int, default=None, help="port (default: server.port)")
    parser.add_argument(
        "--log-level",
        default=None,
        choices=LOG_LEVELS,
        help="log level (default: logging.level)",
    )
    parser.set_defaults(func=serve)


class CoalescedTransport:
    """A transport whose writes within one event-loop step leave as ONE socket write.

    uvicorn writes a response's status line and headers, then its body, as two writes:
    two ``send`` calls and two TCP segments per response on a ``TCP_NODELAY`` socket. Here
    the bytes written during one step are joined and written at the end of that step
    (``call_soon``), so a response goes out in one segment. Order is kept; ``close`` writes
    what is pending first; everything else is the wrapped transport's.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol over a :class:`CoalescedTransport`."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # uvloop's transports are not asyncio.Transport subclasses: no isinstance here
            coalesced: Any = CoalescedTransport(cast(Any, transport), asyncio.get_running_loop())
            super().connection_made(coalesced)

    return CoalescingHttpToolsProtocol


def serve(args: argparse.Namespace) -> int:
    if args.port is not None and not 1 <= args.port <= 65535:
        raise StepAuthError("--port must be between 1 and 65535", error="usage")
    config = load_cli_config(args)
    _check_port_free(args.host or config.server.host, args.port or config.server.port)
    if config.console.host is not None and config.console.port is not None:
        _check_port_free(config.console.host, config.console.port, key="[console] listen")
    level = args.log_level or config.logging.level
    configure_logging(format=config.logging.format, level=level)
    run(prepare(config))
    if config.redis is not None:
        # ephemeral single-use items in Redis; the schema was migrated by prepare(). They
        # expire there as long after their expiry as the purge keeps SQL items.
        store = build_store(
            config.database.url,
            redis_url=config.redis.url,
            redis_prefix=config.redis.prefix,
            redis_retain=retention(config),
            secret=key_secret(config),
            key_env=config.secrets.key_env,
            timeouts=store_timeouts(config),
        )
        app = create_app(config, store=store, close_store=True)
    else:
        app = create_app(config)
    # uvicorn re-raises the SIGTERM it handled once its graceful shutdown is over; that is
    # the normal end of `serve` (exit 0), not a death by signal.
    if threading.current_thread() is not threading.main_thread():
        _run_uvicorn(app, config, args, level)  # no signals off the main thread
        return 0
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        _run_uvicorn(app, config, args, level)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _check_port_free(host: str, port: int, *, key: str = "--port or [server] port") -> None:
    """A taken address is one error line before anything starts (uvicorn would log and
    exit 3). A probe, so a server that grabs the port in between still fails in uvicorn."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StepAuthError(f"cannot bind to {host}: {exc.strerror}", error="usage") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise StepAuthError(
                f"cannot listen on {host}:{port}: {exc.strerror} (choose another with {key})",
                error="usage",
            ) from None


def _stopped(signum: int, frame: FrameType | None) -> None:
    del signum, frame


def _uvicorn_options(config: ProviderConfig, host: str, port: int, level: str) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "log_level": level,
        "log_config": None,  # configure_logging's handler; one access event per request is ours
        "access_log": False,
        "timeout_graceful_shutdown": config.server.shutdown_timeout,
        "proxy_headers": False,
        "http": http_protocol(),  # httptools, one socket write per response (loop: uvloop)
    }


def _run_uvicorn(app: Any, config: ProviderConfig, args: argparse.Namespace, level: str) -> None:
    host, port = args.host or config.server.host, args.port or config.server.port
    options = _uvicorn_options(config, host, port, level)
    # What is loaded by now (modules, config, the app) lives as long as the process: out of
    # the cyclic collector's way (gc.freeze), a full collection scans only what requests
    # allocate instead of the whole heap (~150,000 objects, ~0.1 s per collection). Only a
    # process of its own: `serve` run in a thread (the tests) leaves its host's heap alone.
    own_process = threading.current_thread() is threading.main_thread()
    if own_process:
        gc.collect()
        gc.freeze()
    try:
        _run_servers(app, config, options, level)
    finally:
        if own_process:
            gc.unfreeze()


def _run_servers(app: Any, config: ProviderConfig, options: dict[str, Any], level: str) -> None:
    """The Provider; with ``[console] listen``, the console's listener beside it."""
    import uvicorn

    if config.console.host is None or config.console.port is None:
        uvicorn.run(app, **options)
        return
    main = uvicorn.Server(uvicorn.Config(app, **options))
    console_options = _uvicorn_options(config, config.console.host, config.console.port, level)
    # no lifespan: the state is the Provider's, published by the main app's lifespan
    console_app = create_console_app(app, config)
    console = uvicorn.Server(uvicorn.Config(console_app, lifespan="off", **console_options))
    try:
        with asyncio.Runner(loop_factory=main.config.get_loop_factory()) as runner:
            runner.run(_serve_both(main, console))
    except KeyboardInterrupt:  # Ctrl-C after the graceful shutdown, as uvicorn.run ends
        pass


async def _serve_both(main: Any, console: Any) -> None:
    """Run the Provider; once its lifespan is up, the console listener beside it, until
    the Provider is told to stop (its signal handler sets ``main.should_exit``)."""

    async def console_while_main_runs() -> None:
        while not main.started:
            if main.should_exit:
                return
            await asyncio.sleep(0.05)
        stopper = asyncio.create_task(stop_with_main())
        try:
            # _serve, not serve: the signals are the main server's (serve would take them)
            await console._serve()
        finally:
            stopper.cancel()

    async def stop_with_main() -> None:
        while True:  # should_exit is a flag set by a signal handler: no event to await
            if main.should_exit:
                console.should_exit = True
                return
            await asyncio.sleep(0.1)

    task = asyncio.create_task(console_while_main_runs())
    try:
        await main.serve()
    finally:
        console.should_exit = True
        await task
