"""Each table of a decoded file → its :mod:`~stepauth.provider.config.model` dataclass.

The schema has checked every value's type and range; what is left here are the defaults
that depend on other values (the database next to the file, the relying party from the
issuer) and the rules between keys that no type can state.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET

from stepauth.assurance import AssuranceError, ladder_from_data
from stepauth.errors import ConfigError
from stepauth.provider.config.model import (
    ConsoleConfig,
    DatabaseConfig,
    LoggingConfig,
    RedisConfig,
    SecretsConfig,
    ServerConfig,
    SessionsConfig,
    ThrottleConfig,
    UIConfig,
    WebAuthnConfig,
)
from stepauth.provider.config.registry import (
    FORWARDED_HEADERS,
    LOG_LEVELS,
    MAX_CONSECUTIVE_FAILURES,
)
from stepauth.provider.config.schema import (
    ConsoleTable,
    DatabaseTable,
    LoggingTable,
    RedisTable,
    SecretsTable,
    ServerTable,
    SessionsTable,
    Table,
    ThrottleTable,
    UITable,
    WebAuthnTable,
)
from stepauth.provider.config.urls import origin_of

__all__ = [
    "console",
    "database",
    "fill",
    "levels",
    "logging",
    "redis",
    "secrets",
    "server",
    "sessions",
    "throttle",
    "ui",
    "webauthn",
]

T = TypeVar("T")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def fill(model: Callable[..., T], table: Table | None, **resolved: Any) -> T:
    """``model`` from the keys ``table`` sets, then ``resolved``; its defaults for the rest."""
    given: dict[str, Any] = {}
    if table is not None:
        for name, value in msgspec.structs.asdict(table).items():
            if value is not UNSET and value is not None:
                given[name] = value
    return model(**(given | resolved))


def server(table: ServerTable | None) -> ServerConfig:
    table = table or ServerTable()
    networks = []
    for value in table.trusted_proxies or ():
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError:
            raise ConfigError(
                f"{value!r} is not a network in CIDR notation (e.g. 10.0.0.0/8)",
                key="server.trusted_proxies",
            ) from None
    header = table.forwarded_header
    if header is not None:
        header = header.lower()
        if header not in FORWARDED_HEADERS:
            raise ConfigError(
                'must be "x-forwarded-for" or "forwarded"', key="server.forwarded_header"
            )
    if networks and header is None:
        # fail closed: a proxy appends to one header; the other is the client's to forge
        raise ConfigError(
            'name the header the trusted proxies write: "x-forwarded-for" or "forwarded"',
            key="server.forwarded_header",
        )
    return fill(ServerConfig, table, trusted_proxies=tuple(networks), forwarded_header=header)


def database(table: DatabaseTable | None, base_dir: Path) -> DatabaseConfig:
    table = table or DatabaseTable()
    url = table.url or f"sqlite+aiosqlite:///{base_dir / 'stepauth.db'}"
    if "://" not in url and not url.startswith(("sqlite:", "postgres")):
        url = f"sqlite+aiosqlite:///{url}"  # a bare path is a SQLite file
    if url.startswith(("sqlite:", "sqlite+")):
        prefix, sep, rest = url.partition(":///")
        if not sep:
            raise ConfigError("SQLite URLs look like sqlite+aiosqlite:///path", key="database.url")
        if prefix not in {"sqlite", "sqlite+aiosqlite"}:
            raise ConfigError("SQLite needs the aiosqlite driver", key="database.url")
        if rest and rest != ":memory:" and not rest.startswith("/"):
            rest = str(base_dir / rest)
        url = f"sqlite+aiosqlite:///{rest}"
    elif url.startswith(("postgresql:", "postgresql+", "postgres:")):
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in {"postgresql", "postgresql+psycopg", "postgres"}:
            raise ConfigError(
                "PostgreSQL URLs look like postgresql+psycopg://user@host/db", key="database.url"
            )
        url = f"postgresql+psycopg://{rest}"
    else:
        raise ConfigError(
            "must be a sqlite+aiosqlite:/// or postgresql+psycopg:// URL", key="database.url"
        )
    return fill(DatabaseConfig, table, url=url)


def webauthn(table: WebAuthnTable | None, issuer: str, base_dir: Path) -> WebAuthnConfig:
    table = table or WebAuthnTable()
    issuer_parts = urlsplit(issuer)
    rp_id = table.rp_id or issuer_parts.hostname or ""
    raw_origins = table.origins or (f"{issuer_parts.scheme}://{issuer_parts.netloc}",)
    origins = tuple(origin_of(o, "webauthn.origins") for o in raw_origins)
    for origin in origins:
        origin_host = urlsplit(origin).hostname or ""
        if origin_host != rp_id and not origin_host.endswith("." + rp_id):
            raise ConfigError(
                f"{origin!r} is not {rp_id!r} or a subdomain of it (WebAuthn §5.1.4.1)",
                key="webauthn.origins",
            )

    def path(value: str) -> str:
        return str((base_dir / value).resolve())

    if table.mds_blob and not table.mds_root:
        # MDS3 §3.2: a BLOB is only as good as the root its chain is checked against.
        raise ConfigError("mds_blob needs mds_root", key="webauthn.mds_root")
    return fill(
        WebAuthnConfig,
        table,
        rp_id=rp_id,
        origins=origins,
        attestation_roots=tuple(path(p) for p in table.attestation_roots or ()),
        mds_blob=path(table.mds_blob) if table.mds_blob else None,
        mds_root=path(table.mds_root) if table.mds_root else None,
    )


def secrets(table: SecretsTable | None) -> SecretsConfig:
    config = fill(SecretsConfig, table)
    if not _ENV_NAME.match(config.key_env):
        raise ConfigError("must be an environment variable name", key="secrets.key_env")
    return config


def sessions(table: SessionsTable | None) -> SessionsConfig:
    config = fill(SessionsConfig, table)
    if config.idle_timeout > config.absolute_timeout:
        raise ConfigError("must not exceed sessions.absolute_timeout", key="sessions.idle_timeout")
    return config


def throttle(table: ThrottleTable | None) -> ThrottleConfig:
    config = fill(ThrottleConfig, table)
    key = "throttle.block_delays"
    if any(later <= earlier for earlier, later in pairwise(config.block_delays)):
        raise ConfigError("each block must be longer than the one before", key=key)
    if config.max_failures * (len(config.block_delays) + 1) > MAX_CONSECUTIVE_FAILURES:
        raise ConfigError(
            f"max_failures x (blocks + 1) must not exceed {MAX_CONSECUTIVE_FAILURES} "
            "consecutive failures (NIST SP 800-63B-4 §3.2.2)",
            key=key,
        )
    return config


def logging(table: LoggingTable | None) -> LoggingConfig:
    config = fill(LoggingConfig, table)
    level = config.level.lower()
    if level not in LOG_LEVELS:
        raise ConfigError(f"must be one of {', '.join(LOG_LEVELS)}", key="logging.level")
    return replace(config, level=level)


def redis(table: RedisTable | None) -> RedisConfig | None:
    if table is None:
        return None
    if urlsplit(table.url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("must be a redis://, rediss:// or unix:// URL", key="redis.url")
    return fill(RedisConfig, table)


def levels(table: dict[str, Any] | None) -> dict[str, Any] | None:
    """``[levels]``: checked by the ladder's own loader (:func:`ladder_from_data`)."""
    if table is None:
        return None
    try:
        ladder_from_data(table)
    except AssuranceError as exc:
        where = str(getattr(exc, "field", None) or "")
        description = exc.description or str(exc)
        if where and description.startswith(f"{where}: "):
            description = description[len(where) + 2 :]
        where = where.removeprefix("ladder").lstrip(".")
        raise ConfigError(description, key=f"levels.{where}" if where else "levels") from None
    return table


def ui(table: UITable | None) -> UIConfig:
    config = fill(UIConfig, table)
    if len(set(config.locales)) != len(config.locales):
        raise ConfigError("names a language twice", key="ui.locales")
    if config.default_locale not in config.locales:
        raise ConfigError("must be one of ui.locales", key="ui.default_locale")
    return config


def console(table: ConsoleTable | None) -> ConsoleConfig:
    """``[console] listen = "host:port"`` (an IPv6 address in brackets: ``"[::1]:9443"``)."""
    if table is None or table.listen is None:
        return ConsoleConfig()
    key = "console.listen"
    host, sep, port = table.listen.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(f"{host!r} is not an IPv6 address", key=key) from None
    elif not _HOST_NAME.match(host):
        raise ConfigError('must be "host:port", e.g. "127.0.0.1:9443"', key=key)
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError("must end with a port between 1 and 65535 (host:port)", key=key)
    return ConsoleConfig(host=host, port=int(port))
