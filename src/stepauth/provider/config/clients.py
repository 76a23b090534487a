"""``[[clients]]`` → :class:`~stepauth.provider.config.model.ClientConfig`.

The rules between a client's keys: how it authenticates follows from its secret (RFC 7591
§2 ``token_endpoint_auth_method``), ``private_key_jwt`` needs a public JWK Set, and a
request object is never unsigned (OIDC Core §6.1: ``none`` would let anyone write one).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stepauth.errors import ConfigError
from stepauth.provider.config.branding import client_branding
from stepauth.provider.config.model import ClientConfig
from stepauth.provider.config.registry import MIN_CLIENT_SECRET
from stepauth.provider.config.schema import ClientTable
from stepauth.provider.config.sections import fill
from stepauth.provider.config.urls import check_resource, uri_list
from stepauth.provider.profiles import fapi2
from stepauth.sdk.errors import JWKSError
from stepauth.sdk.jose import ALGORITHMS as JWS_ALGORITHMS
from stepauth.sdk.jose import KeySet

__all__ = ["clients"]

_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def _jwks(value: Mapping[str, Any], key: str) -> dict[str, Any]:
    keys = value.get("keys")
    if not isinstance(keys, list):
        raise ConfigError('must be a JWK Set: a table with a "keys" list', key=key)
    if not keys:
        raise ConfigError("must contain at least one key", key=key)
    for index, jwk in enumerate(keys):
        if not isinstance(jwk, Mapping):
            raise ConfigError("must be a JWK table", key=f"{key}.keys[{index}]")
        if any(private in jwk for private in _PRIVATE_MEMBERS):
            raise ConfigError(
                "must hold public keys only (a private or symmetric key was given)",
                key=f"{key}.keys[{index}]",
            )
    try:
        # The parser the client assertions are verified with (stepauth.sdk.jose).
        KeySet.from_jwks({"keys": [dict(k) for k in keys]}, strict=True)
    except JWKSError as exc:
        raise ConfigError(f"is not a valid JWK Set ({exc})", key=key) from None
    return {"keys": [dict(k) for k in keys]}


def _request_object_alg(alg: str | None, key: str) -> str | None:
    if alg is None:
        return None
    if alg.lower() == "none":
        raise ConfigError('must not be "none": an unsigned request object proves nothing', key=key)
    if alg not in JWS_ALGORITHMS:
        raise ConfigError(f"must be one of {', '.join(JWS_ALGORITHMS)} (got {alg!r})", key=key)
    return alg


def _client(table: ClientTable, where: str, base_dir: Path) -> ClientConfig:
    secret = table.client_secret
    if secret is not None and len(secret) < MIN_CLIENT_SECRET:
        raise ConfigError(
            f"must be at least {MIN_CLIENT_SECRET} characters", key=f"{where}.client_secret"
        )
    method = table.token_endpoint_auth_method or ("client_secret_basic" if secret else "none")
    method_key = f"{where}.token_endpoint_auth_method"
    if method.startswith("client_secret") and secret is None:
        raise ConfigError(f"{method} needs client_secret", key=method_key)
    if method in ("none", "private_key_jwt") and secret is not None:
        raise ConfigError(f"{method} clients must not have a client_secret", key=method_key)
    jwks = _jwks(table.jwks, f"{where}.jwks") if table.jwks is not None else None
    if method == "private_key_jwt" and jwks is None:
        raise ConfigError("private_key_jwt needs jwks", key=method_key)
    ro_key = f"{where}.request_object_signing_alg"
    ro_alg = _request_object_alg(table.request_object_signing_alg, ro_key)
    if ro_alg is not None and jwks is None:
        raise ConfigError("request objects are verified with the client's jwks", key=ro_key)
    client = fill(
        ClientConfig,
        table,
        token_endpoint_auth_method=method,
        jwks=jwks,
        redirect_uris=uri_list(table.redirect_uris, f"{where}.redirect_uris", required=True),
        post_logout_redirect_uris=uri_list(
            table.post_logout_redirect_uris, f"{where}.post_logout_redirect_uris", required=False
        ),
        resources=tuple(check_resource(r, f"{where}.resources") for r in table.resources or ()),
        request_object_signing_alg=ro_alg,
        branding=client_branding(table.branding, where, base_dir),
    )
    fapi2.check_client(client, where)
    return client


def clients(tables: tuple[ClientTable, ...] | None, base_dir: Path) -> tuple[ClientConfig, ...]:
    """Every client, each ``client_id`` once (a logo file is relative to ``base_dir``)."""
    configs = tuple(
        _client(table, f"clients[{i}]", base_dir) for i, table in enumerate(tables or ())
    )
    seen: set[str] = set()
    for i, client in enumerate(configs):
        if client.client_id in seen:
            raise ConfigError(f"duplicate {client.client_id!r}", key=f"clients[{i}].client_id")
        seen.add(client.client_id)
    return configs
