"""The shape of ``stepauth.toml``: one :class:`msgspec.Struct` per table.

These Structs say what a file may contain: every key, its type and its range. Unknown keys
are errors (``forbid_unknown_fields``), so a typo never silently falls back to a default.
A key the file leaves out is ``UNSET`` here (``None`` for optional values and for lists);
:mod:`stepauth.provider.config.sections` fills in the defaults of
:mod:`stepauth.provider.config.model` and applies the rules a type cannot express (a
redirect URI's scheme, ``idle_timeout`` ≤ ``absolute_timeout``, …).
:mod:`stepauth.provider.config.validation` turns msgspec's errors into
:class:`~stepauth.errors.ConfigError` naming the key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from stepauth.provider.config.registry import (
    MAX_CODE_TTL,
    Algorithm,
    AuthMethod,
    Profile,
    UILocale,
)

__all__ = [
    "AccountTable",
    "BrandingTable",
    "ClientBrandingTable",
    "ClientTable",
    "ConfigFile",
    "ConsoleTable",
    "DPoPTable",
    "DatabaseTable",
    "LoggingTable",
    "MetricsTable",
    "PurgeTable",
    "RedisTable",
    "SecretsTable",
    "ServerTable",
    "SessionsTable",
    "TTLTable",
    "ThrottleTable",
    "UITable",
    "WebAuthnTable",
]

DAY = 86400


def _between(lo: int, hi: int) -> Meta:
    return Meta(ge=lo, le=hi)


#: A string with something in it (not empty, not only blanks).
Text = Annotated[str, Meta(pattern=r"\S")]
Port = Annotated[int, _between(1, 65535)]
Texts = tuple[Text, ...]


class Table(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A TOML table: its keys are the fields; any other key is an error."""


class ServerTable(Table, frozen=True):
    host: Text | UnsetType = UNSET
    port: Port | UnsetType = UNSET
    shutdown_timeout: Annotated[int, _between(1, 3600)] | UnsetType = UNSET
    trusted_proxies: Texts | None = None
    forwarded_header: Text | None = None


class MetricsTable(Table, frozen=True):
    enabled: bool | UnsetType = UNSET
    host: Text | UnsetType = UNSET
    port: Port | UnsetType = UNSET


class LoggingTable(Table, frozen=True):
    format: Literal["json", "text"] | UnsetType = UNSET
    level: Text | UnsetType = UNSET  # compared without case: read in sections


class DatabaseTable(Table, frozen=True):
    url: Text | UnsetType = UNSET
    connect_timeout: Annotated[int, _between(1, 600)] | UnsetType = UNSET
    statement_timeout: Annotated[int, _between(1, 600)] | UnsetType = UNSET


class WebAuthnTable(Table, frozen=True):
    rp_id: Text | UnsetType = UNSET
    rp_name: Text | UnsetType = UNSET
    origins: Annotated[Texts, Meta(min_length=1)] | None = None
    attestation_roots: Texts | None = None
    mds_blob: Text | None = None
    mds_root: Text | None = None
    mds_min_serial: Annotated[int, _between(0, 2**53)] | UnsetType = UNSET


class SecretsTable(Table, frozen=True):
    key_env: Text | UnsetType = UNSET


class SessionsTable(Table, frozen=True):
    idle_timeout: Annotated[int, _between(1, 31 * DAY)] | UnsetType = UNSET
    absolute_timeout: Annotated[int, _between(1, 366 * DAY)] | UnsetType = UNSET


class TTLTable(Table, frozen=True):
    code: Annotated[int, _between(1, MAX_CODE_TTL)] | UnsetType = UNSET
    par: Annotated[int, _between(1, MAX_CODE_TTL)] | UnsetType = UNSET
    access_token: Annotated[int, _between(1, DAY)] | UnsetType = UNSET
    id_token: Annotated[int, _between(1, DAY)] | UnsetType = UNSET
    refresh_token: Annotated[int, _between(1, 366 * DAY)] | UnsetType = UNSET


class AccountTable(Table, frozen=True):
    binding_hold: Annotated[int, _between(0, 366 * DAY)] | UnsetType = UNSET


class ThrottleTable(Table, frozen=True):
    # PSD2 RTS Art. 4(3)(b): no more than five consecutive failures before a block
    max_failures: Annotated[int, _between(1, 5)] | UnsetType = UNSET
    block_delays: (
        Annotated[tuple[Annotated[int, _between(1, 7 * DAY)], ...], Meta(min_length=1)] | UnsetType
    ) = UNSET
    ip_limit: Annotated[int, _between(1, 100_000)] | UnsetType = UNSET
    ip_window: Annotated[int, _between(60, DAY)] | UnsetType = UNSET


class PurgeTable(Table, frozen=True):
    interval: Annotated[int, _between(0, DAY)] | UnsetType = UNSET
    batch: Annotated[int, _between(1, 100_000)] | UnsetType = UNSET
    vacuum: bool | UnsetType = UNSET


class UITable(Table, frozen=True):
    """The languages of the hosted pages (OIDC Core §3.1.2.1 ``ui_locales``)."""

    default_locale: UILocale | UnsetType = UNSET
    locales: Annotated[tuple[UILocale, ...], Meta(min_length=1)] | UnsetType = UNSET


class RedisTable(Table, frozen=True):
    url: Text
    prefix: Text | UnsetType = UNSET
    timeout: Annotated[int, _between(1, 600)] | UnsetType = UNSET


class DPoPTable(Table, frozen=True):
    """RFC 9449 (DPoP): the server nonce (§8) and how old a proof may be (§11.1)."""

    nonce_lifetime: Annotated[int, _between(1, DAY)] | UnsetType = UNSET
    require_nonce: bool | UnsetType = UNSET
    proof_max_age: Annotated[int, _between(1, 3600)] | UnsetType = UNSET


class ConsoleTable(Table, frozen=True):
    """The operator console ``/admin``: ``listen = "host:port"`` serves it on a listener of
    its own (checked in :func:`stepauth.provider.config.sections.console`)."""

    listen: Text | None = None


class BrandingTable(Table, frozen=True):
    """The hosted pages' name, logo, colour and help link."""

    product_name: Text | UnsetType = UNSET
    logo: Text | None = None
    primary_colour: Text | None = None
    support_url: Text | None = None


class ClientBrandingTable(Table, frozen=True):
    """A relying party's own name, logo and colour on its pages."""

    name: Text | None = None
    logo: Text | None = None
    primary_colour: Text | None = None


class ClientTable(Table, frozen=True):
    client_id: Text
    client_secret: Text | None = None
    redirect_uris: Texts | None = None
    post_logout_redirect_uris: Texts | None = None
    id_token_signed_response_alg: Algorithm | UnsetType = UNSET
    acr_values: Literal["required", "voluntary"] | UnsetType = UNSET
    token_endpoint_auth_method: AuthMethod | UnsetType = UNSET
    jwks: dict[str, Any] | None = None
    require_par_for_authorization_details: bool | UnsetType = UNSET
    client_name: Text | None = None
    resources: Texts | None = None
    profile: Profile | None = None
    dpop_bound_access_tokens: bool | UnsetType = UNSET
    request_object_signing_alg: Text | None = None
    rotate_refresh_tokens: bool | None = None
    branding: ClientBrandingTable | None = None


class ConfigFile(Table, frozen=True):
    """The whole file."""

    issuer: Text
    default_resource: Text | None = None
    server: ServerTable | None = None
    database: DatabaseTable | None = None
    webauthn: WebAuthnTable | None = None
    clients: tuple[ClientTable, ...] | None = None
    secrets: SecretsTable | None = None
    sessions: SessionsTable | None = None
    ttl: TTLTable | None = None
    throttle: ThrottleTable | None = None
    redis: RedisTable | None = None
    levels: dict[str, Any] | None = None
    account: AccountTable | None = None
    metrics: MetricsTable | None = None
    logging: LoggingTable | None = None
    purge: PurgeTable | None = None
    dpop: DPoPTable | None = None
    ui: UITable | None = None
    console: ConsoleTable | None = None
    branding: BrandingTable | None = None
