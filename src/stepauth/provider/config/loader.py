"""``stepauth.toml`` → :class:`ProviderConfig`: read, decode against the schema, resolve.

Three steps, each with its own errors, all :class:`~stepauth.errors.ConfigError`:

1. read the file and parse TOML (``tomllib``): a missing file, bad UTF-8, bad TOML;
2. convert the data to :class:`~stepauth.provider.config.schema.ConfigFile` (msgspec):
   an unknown key, a wrong type, a value out of range;
3. resolve each table (:mod:`~stepauth.provider.config.sections`,
   :mod:`~stepauth.provider.config.clients`): defaults drawn from other keys, paths
   against the file's folder, and the rules between keys.

Every error names the key (``clients[0].redirect_uris``); :func:`load_config` adds the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from stepauth.errors import ConfigError
from stepauth.provider.config import sections
from stepauth.provider.config.branding import BrandingConfig, branding
from stepauth.provider.config.clients import clients
from stepauth.provider.config.model import (
    AccountConfig,
    ClientConfig,
    ConsoleConfig,
    DatabaseConfig,
    DPoPConfig,
    LoggingConfig,
    MetricsConfig,
    PurgeConfig,
    RedisConfig,
    SecretsConfig,
    ServerConfig,
    SessionsConfig,
    ThrottleConfig,
    TTLConfig,
    UIConfig,
    WebAuthnConfig,
)
from stepauth.provider.config.schema import ConfigFile
from stepauth.provider.config.urls import check_issuer, check_resource
from stepauth.provider.config.validation import config_error
from stepauth.provider.profiles import fapi2
from stepauth.store.sql import Timeouts

__all__ = ["ProviderConfig", "load_config", "store_timeouts"]


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    issuer: str
    database: DatabaseConfig
    webauthn: WebAuthnConfig
    server: ServerConfig = field(default_factory=ServerConfig)
    clients: tuple[ClientConfig, ...] = ()
    secrets: SecretsConfig = field(default_factory=SecretsConfig)
    sessions: SessionsConfig = field(default_factory=SessionsConfig)
    ttl: TTLConfig = field(default_factory=TTLConfig)
    account: AccountConfig = field(default_factory=AccountConfig)
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)
    redis: RedisConfig | None = None
    levels: dict[str, Any] | None = None
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    purge: PurgeConfig = field(default_factory=PurgeConfig)
    base_dir: Path = field(default_factory=Path.cwd)
    default_resource: str | None = None
    dpop: DPoPConfig = field(default_factory=DPoPConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    branding: BrandingConfig = field(default_factory=BrandingConfig)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: Path | None = None) -> ProviderConfig:
        """Validate plain data (e.g. ``tomllib.loads``); relative paths use ``base_dir``."""
        return _resolve(_decode(data), (base_dir or Path.cwd()).resolve())

    def client(self, client_id: str) -> ClientConfig | None:
        for client in self.clients:
            if client.client_id == client_id:
                return client
        return None


def store_timeouts(config: ProviderConfig) -> Timeouts:
    """The store's :class:`~stepauth.store.sql.Timeouts` from ``[database]`` and ``[redis]``."""
    return Timeouts(
        connect=config.database.connect_timeout,
        statement=config.database.statement_timeout,
        redis=config.redis.timeout if config.redis is not None else Timeouts().redis,
    )


def load_config(path: str | Path) -> ProviderConfig:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    try:
        return ProviderConfig.from_dict(data, base_dir=path.resolve().parent)
    except ConfigError as exc:
        raise exc.in_file(path) from None


def _decode(data: Mapping[str, Any]) -> ConfigFile:
    if not isinstance(data, Mapping):
        raise ConfigError("must be a table", key="config")
    try:
        return msgspec.convert(dict(data), ConfigFile)
    except msgspec.ValidationError as exc:
        raise config_error(exc, ConfigFile) from None


def _resolve(file: ConfigFile, base_dir: Path) -> ProviderConfig:
    issuer = check_issuer(file.issuer)
    if file.default_resource is not None:
        check_resource(file.default_resource, "default_resource")
    configured = clients(file.clients, base_dir)
    ttl = sections.fill(TTLConfig, file.ttl)
    fapi2.check_par_lifetime(configured, ttl.par)
    return ProviderConfig(
        issuer=issuer,
        server=sections.server(file.server),
        database=sections.database(file.database, base_dir),
        webauthn=sections.webauthn(file.webauthn, issuer, base_dir),
        clients=configured,
        secrets=sections.secrets(file.secrets),
        sessions=sections.sessions(file.sessions),
        ttl=ttl,
        account=sections.fill(AccountConfig, file.account),
        throttle=sections.throttle(file.throttle),
        redis=sections.redis(file.redis),
        levels=sections.levels(file.levels),
        metrics=sections.fill(MetricsConfig, file.metrics),
        logging=sections.logging(file.logging),
        purge=sections.fill(PurgeConfig, file.purge),
        base_dir=base_dir,
        default_resource=file.default_resource,
        dpop=sections.fill(DPoPConfig, file.dpop),
        ui=sections.ui(file.ui),
        console=sections.console(file.console),
        branding=branding(file.branding, base_dir),
    )
