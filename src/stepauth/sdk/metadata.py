"""The OP's metadata the RP relies on (OIDC Discovery §3, §4.3; RFC 8414; RFC 9126; RFC 9207).

:class:`ProviderMetadata` is parsed from the discovery document, whose ``issuer`` must be
the one asked for, through a sans-I/O flow (:mod:`stepauth.sdk._io`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from stepauth.sdk._io import Flow, run_async, run_sync
from stepauth.sdk.errors import SDKError

__all__ = ["ProviderMetadata"]


@dataclass(frozen=True)
class ProviderMetadata:
    """The OP endpoints the RP uses (OIDC Discovery §3, RFC 8414, RFC 9126, RFC 9207)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    pushed_authorization_request_endpoint: str | None = None
    iss_parameter_supported: bool = False
    acr_values_supported: tuple[str, ...] = ()
    end_session_endpoint: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, expected_issuer: str) -> ProviderMetadata:
        """Parse discovery metadata; ``issuer`` must equal the one asked (OIDC Discovery §4.3)."""
        if data.get("issuer") != expected_issuer:
            raise SDKError(f"discovery issuer {data.get('issuer')!r} is not {expected_issuer!r}")
        end_session = data.get("end_session_endpoint")
        try:
            return cls(
                issuer=expected_issuer,
                authorization_endpoint=str(data["authorization_endpoint"]),
                token_endpoint=str(data["token_endpoint"]),
                jwks_uri=str(data["jwks_uri"]),
                pushed_authorization_request_endpoint=data.get(
                    "pushed_authorization_request_endpoint"
                ),
                iss_parameter_supported=bool(
                    data.get("authorization_response_iss_parameter_supported", False)
                ),
                acr_values_supported=tuple(data.get("acr_values_supported") or ()),
                end_session_endpoint=end_session if isinstance(end_session, str) else None,
            )
        except KeyError as exc:
            raise SDKError(f"discovery metadata lacks {exc.args[0]}") from exc

    @staticmethod
    def discovery_flow(issuer: str) -> Flow[ProviderMetadata]:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = yield httpx.Request("GET", url, headers={"Accept": "application/json"})
        if response is None or response.status_code != 200:
            raise SDKError(f"discovery at {url} failed")
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise SDKError("discovery document is not JSON") from exc
        return ProviderMetadata.from_dict(data, expected_issuer=issuer)

    @classmethod
    def discover(cls, issuer: str, client: httpx.Client) -> ProviderMetadata:
        return run_sync(cls.discovery_flow(issuer), client)

    @classmethod
    async def adiscover(cls, issuer: str, client: httpx.AsyncClient) -> ProviderMetadata:
        return await run_async(cls.discovery_flow(issuer), client)
