"""Provider metadata and keys: ``/.well-known/openid-configuration`` and ``/jwks``.

OIDC Discovery 1.0 §3 / RFC 8414 §2 metadata. The members a step-up RP relies on:
``acr_values_supported`` (its presence says ``acr_values`` and ``max_age`` are honoured,
RFC 9470 §7, OIDC Discovery §3), ``claims_parameter_supported: true`` (essential ``acr``,
OIDC Core §5.5), ``claims_supported`` with ``acr``/``amr``/``auth_time`` (OIDC Discovery §3),
``authorization_details_types_supported`` (RFC 9396 §10), the PAR endpoint
(RFC 9126 §5), ``authorization_response_iss_parameter_supported`` (RFC 9207 §3) and
``dpop_signing_alg_values_supported`` (RFC 9449 §5.1).
Signed request objects (RFC 9101 §10.1): ``request_parameter_supported`` and
``request_object_signing_alg_values_supported`` (never ``none``);
``require_signed_request_object`` (RFC 9101 §10.5) and
``require_pushed_authorization_requests`` (RFC 9126 §5) are true only when every client
is held to them — otherwise they are client settings (FAPI 2.0 clients, docs/fapi.md).
Every ``*_auth_methods_supported`` that lists ``private_key_jwt`` comes with its
``*_auth_signing_alg_values_supported`` (RFC 8414 §2).
``issuer`` is exactly the configured issuer (Discovery §4.3).

``/jwks`` publishes the next, active and still-needed retired keys (RFC 7517 §5), so a
rotated key is known before it signs and after it stops.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from stepauth.provider.client_auth import ASSERTION_ALGS, TOKEN_ENDPOINT_AUTH_METHODS
from stepauth.provider.dpop import DPOP_ALGS
from stepauth.provider.grant_record import PROFILE_CLAIMS
from stepauth.provider.profiles.fapi2 import FAPI2
from stepauth.provider.request_object import REQUEST_OBJECT_ALGS
from stepauth.provider.state import ProviderState, get_state
from stepauth.provider.token_endpoint import GRANT_TYPES
from stepauth.provider.token_minting import ID_TOKEN_ALGS
from stepauth.rar import default_registry

__all__ = ["metadata", "routes"]

#: Metadata and keys change rarely; a short public cache keeps RPs from hammering them.
CACHE = {"Cache-Control": "public, max-age=300"}


def _acr_values(state: ProviderState) -> list[str]:
    return list(state.ladder.acr_values)


def metadata(state: ProviderState) -> dict[str, Any]:
    """The Provider's metadata document (OIDC Discovery 1.0 §3)."""
    issuer = str(state.config.issuer)
    clients = state.config.clients
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks",
        "pushed_authorization_request_endpoint": f"{base}/par",
        "introspection_endpoint": f"{base}/introspect",
        "revocation_endpoint": f"{base}/revoke",
        "end_session_endpoint": f"{base}/logout",
        "scopes_supported": ["openid", "profile", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGS),
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        # RFC 7662 §2.1: introspection needs an authenticated (confidential) client.
        "introspection_endpoint_auth_methods_supported": [
            m for m in TOKEN_ENDPOINT_AUTH_METHODS if m != "none"
        ],
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "revocation_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": _acr_values(state),
        "claims_parameter_supported": True,
        # OIDC Discovery §3: the languages the hosted pages speak ([ui] locales)
        "ui_locales_supported": list(state.config.ui.locales),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            *PROFILE_CLAIMS,
        ],
        "claim_types_supported": ["normal"],
        "prompt_values_supported": ["none", "login"],
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": list(REQUEST_OBJECT_ALGS),
        "require_signed_request_object": bool(clients)
        and all(c.require_signed_request_object for c in clients),
        "request_uri_parameter_supported": True,
        "require_pushed_authorization_requests": bool(clients)
        and all(c.profile == FAPI2 for c in clients),
        "authorization_response_iss_parameter_supported": True,
        "authorization_details_types_supported": default_registry.types(),
        # RFC 9449 §5.1: the JWS algorithms accepted for DPoP proofs.
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
    }


async def openid_configuration(request: Request) -> JSONResponse:
    return JSONResponse(metadata(get_state(request)), headers=CACHE)


async def jwks(request: Request) -> JSONResponse:
    return JSONResponse(get_state(request).keys.public_jwks(), headers=CACHE)


routes: list[BaseRoute] = [
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    Route("/jwks", jwks, methods=["GET"]),
]
