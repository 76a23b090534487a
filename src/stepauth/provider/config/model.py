"""The typed configuration the Provider runs on: frozen dataclasses with today's defaults.

:mod:`stepauth.provider.config.schema` says what a file may hold; these classes are what a
loaded file means, every default filled in and every path resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepauth.provider.config.branding import ClientBranding
from stepauth.provider.config.registry import DEFAULT_KEY_ENV, UI_LOCALES, Network, Profile

__all__ = [
    "AccountConfig",
    "ClientConfig",
    "ConsoleConfig",
    "DPoPConfig",
    "DatabaseConfig",
    "LoggingConfig",
    "MetricsConfig",
    "PurgeConfig",
    "RedisConfig",
    "SecretsConfig",
    "ServerConfig",
    "SessionsConfig",
    "TTLConfig",
    "ThrottleConfig",
    "UIConfig",
    "WebAuthnConfig",
]


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
class UIConfig:
    """The languages of the hosted pages: ``locales`` offered (in the order a tie is
    broken), ``default_locale`` when neither ``ui_locales`` nor ``Accept-Language`` names
    one of them (:mod:`stepauth.provider.i18n`)."""

    default_locale: str = "en"
    locales: tuple[str, ...] = UI_LOCALES


@dataclass(frozen=True, slots=True)
class RedisConfig:
    url: str
    prefix: str = "stepauth:"
    timeout: int = 3


@dataclass(frozen=True, slots=True)
class DPoPConfig:
    """RFC 9449 (DPoP) settings: how long a server nonce (§8) stays valid, whether every
    proof must carry one, and how old a proof's ``iat`` may be (§11.1)."""

    nonce_lifetime: int = 300
    require_nonce: bool = False
    proof_max_age: int = 60


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """Where ``/admin`` is served: on the main listener (``host`` is ``None``), or on
    ``host:port`` of its own (``[console] listen``) and then not on the main one."""

    host: str | None = None
    port: int | None = None

    @property
    def separate(self) -> bool:
        return self.host is not None


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
    #: ``"fapi2"``: the client is held to the FAPI 2.0 Security Profile; ``None``: not.
    profile: Profile | None = None
    #: RFC 9449 §5 / RFC 7591 ``dpop_bound_access_tokens``: the client always binds its
    #: access tokens to a DPoP key.
    dpop_bound_access_tokens: bool = False
    #: OIDC Dynamic Client Registration §2 ``request_object_signing_alg``: the one
    #: algorithm the client's request objects must be signed with (never ``none``).
    request_object_signing_alg: str | None = None
    #: Refresh-token rotation (RFC 9700 §4.14.2): ``None`` is the profile's default, on for
    #: ordinary clients and off for ``"fapi2"`` (FAPI 2.0 §5.3.2.1).
    rotate_refresh_tokens: bool | None = None
    #: The client's own name, logo and colour on its step-up and approval pages.
    branding: ClientBranding | None = None

    @property
    def public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def requires_dpop(self) -> bool:
        """Every token request must carry a DPoP proof and access tokens are DPoP-bound:
        asked for (RFC 9449 §5.2), or implied by the fapi2 profile (FAPI 2.0 Security
        Profile §5.3.2.1: "shall only issue sender-constrained access tokens")."""
        return self.dpop_bound_access_tokens or self.profile == "fapi2"

    @property
    def require_signed_request_object(self) -> bool:
        """RFC 9101 §10.5: every pushed request of a fapi2 client that registered a
        ``request_object_signing_alg`` is a signed request object."""
        return self.profile == "fapi2" and self.request_object_signing_alg is not None

    @property
    def rotates_refresh_tokens(self) -> bool:
        """Whether a refresh replaces the refresh token: the client's choice, else its
        profile's default (on, RFC 9700 §4.14.2; off for fapi2, FAPI 2.0 §5.3.2.1)."""
        if self.rotate_refresh_tokens is not None:
            return self.rotate_refresh_tokens
        return self.profile != "fapi2"
