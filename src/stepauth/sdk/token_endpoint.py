"""Requests to the OP's token endpoint (RFC 6749 §3.2), with DPoP when the client uses it.

:func:`token_request_flow` posts one grant (``authorization_code``, ``refresh_token``) with
the client's authentication headers and, given a :class:`~stepauth.sdk.dpop.DPoPSigner`, a
``DPoP`` proof (RFC 9449 §5). An authorization server that wants a nonce answers ``400``
``use_dpop_nonce`` with a ``DPoP-Nonce`` header (§8): the request is signed again with that
nonce and sent once more - exactly once, so a server that keeps asking cannot make the
client loop. :class:`TokenResponse` is a refresh's answer (RFC 6749 §6).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from stepauth.sdk._io import Flow
from stepauth.sdk.dpop import DPoPSigner
from stepauth.sdk.errors import AuthorizationFailed

__all__ = ["TokenResponse", "json_object", "token_request_flow"]


def json_object(response: httpx.Response | None) -> dict[str, Any]:
    """The JSON object of a response body, ``{}`` for anything else."""
    if response is None:
        return {}
    try:
        data = json.loads(response.content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def token_request_flow(
    endpoint: str,
    body: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    dpop: DPoPSigner | None = None,
    default_error: str = "invalid_grant",
) -> Flow[dict[str, Any]]:
    """POST ``body`` to the token endpoint; the JSON of a ``200``, else
    :class:`AuthorizationFailed` with the endpoint's ``error`` (RFC 6749 §5.2)."""
    request = httpx.Request("POST", endpoint, data=dict(body), headers=dict(headers))
    if dpop is not None:
        dpop.sign(request)
    response = yield request
    if dpop is not None and response is not None and dpop.should_retry(response):
        dpop.sign(request)  # a fresh proof carrying the server's nonce (RFC 9449 §8), once
        response = yield request
        if response is not None:
            dpop.remember(response)
    data = json_object(response)
    if response is None or response.status_code != 200:
        raise AuthorizationFailed(
            str(data.get("error_description", "token request failed")),
            error=str(data.get("error", default_error)),
        )
    return data


@dataclass(frozen=True)
class TokenResponse:
    """A refresh's answer (RFC 6749 §5.1): ``token_type`` is ``DPoP`` for a DPoP-bound
    access token (RFC 9449 §5). An ID token the OP may add is left in ``raw``, unvalidated:
    a refresh signs nobody in."""

    access_token: str
    token_type: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenResponse:
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise AuthorizationFailed(
                "the token response has no access_token", error="invalid_grant"
            )
        token_type, refresh_token = data.get("token_type"), data.get("refresh_token")
        expires_in = data.get("expires_in")
        return cls(
            access_token=access_token,
            token_type=token_type if isinstance(token_type, str) else None,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            expires_in=expires_in if type(expires_in) is int else None,
            raw=data,
        )
