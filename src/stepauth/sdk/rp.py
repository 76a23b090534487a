"""A relying party: one OP, one client, the code flow with step-up (sans-I/O + drivers).

:class:`RelyingParty` holds the configuration; every network exchange is a generator flow
(:mod:`stepauth.sdk._io`) so the sync and the async front ends share one implementation:

* :meth:`RelyingParty.begin` - the URL to send the browser to (after a PAR push if enabled);
* :meth:`RelyingParty.finish` - callback checks, code exchange (PKCE), ID token validation
  (all 13 steps through the profile), same-subject check for a step-up (OIDC Core §3.1.2.2);
* :meth:`RelyingParty.refresh` - the refresh grant (RFC 6749 §6).

With ``dpop=`` a :class:`~stepauth.sdk.dpop.DPoPSigner`, both grants carry a DPoP proof of
the client's key (RFC 9449 §5; one retry with the server's nonce, §8), and with
``dpop_jkt=True`` the authorization request names the key's thumbprint (``dpop_jkt``,
§10), pushed with PAR like every other parameter.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import httpx

from stepauth.assurance import Requirement
from stepauth.assurance.requirement import MAX_AGE_LEEWAY
from stepauth.sdk._io import Flow, run_async, run_sync
from stepauth.sdk.authorize import (
    AuthorizationRequest,
    build_authorization_request,
    par_body,
    par_redirect_url,
)
from stepauth.sdk.callback import handle_callback
from stepauth.sdk.dpop import DPoPSigner
from stepauth.sdk.errors import AuthorizationFailed, InvalidToken, SDKError
from stepauth.sdk.jose import parse_header
from stepauth.sdk.jwks import JWKSCache
from stepauth.sdk.metadata import ProviderMetadata
from stepauth.sdk.profiles import STEPAUTH, AcrMode, Profile
from stepauth.sdk.token_endpoint import TokenResponse, json_object, token_request_flow
from stepauth.sdk.validate import ID_TOKEN_ALGS, validate_id_token

__all__ = ["ProviderMetadata", "RelyingParty", "TokenResponse", "Tokens"]

T = TypeVar("T")


@dataclass(frozen=True)
class Tokens:
    """A validated token response (``token_type`` ``DPoP`` for a bound access token)."""

    id_token: str
    claims: Mapping[str, Any]
    access_token: str | None = None
    token_type: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    authorization_details: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


class RelyingParty:
    """One OAuth client of one OP, ready for step-up."""

    def __init__(
        self,
        metadata: ProviderMetadata,
        *,
        client_id: str,
        redirect_uri: str,
        client_secret: str | None = None,
        scope: str = "openid",
        profile: Profile = STEPAUTH,
        acr_mode: AcrMode | None = None,
        use_par: bool = False,
        jwks: JWKSCache | None = None,
        id_token_algs: Sequence[str] = ID_TOKEN_ALGS,
        leeway: float = 60,
        max_age_leeway: float = MAX_AGE_LEEWAY,
        clock: Callable[[], float] = time.time,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
        dpop: DPoPSigner | None = None,
        dpop_jkt: bool = False,
    ) -> None:
        if dpop_jkt and dpop is None:
            raise SDKError("dpop_jkt needs dpop=DPoPSigner(...)")
        self.metadata = metadata
        self.dpop = dpop
        self.dpop_jkt = dpop_jkt
        self.max_age_leeway = max_age_leeway
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.client_secret = client_secret
        self.scope = scope
        self.profile = profile
        self.acr_mode = acr_mode
        self.use_par = use_par
        self.jwks = jwks or JWKSCache(metadata.jwks_uri, clock=clock)
        self.id_token_algs = tuple(id_token_algs)
        self.leeway = leeway
        self.clock = clock
        self._client = client
        self._async_client = async_client

    # -- requests ----------------------------------------------------------------------------

    def authorization_request(
        self,
        requirement: Requirement | None,
        *,
        id_token_hint: str | None = None,
        prompt: str | None = None,
        authorization_details: Sequence[Mapping[str, Any]] | None = None,
    ) -> AuthorizationRequest:
        return build_authorization_request(
            authorization_endpoint=self.metadata.authorization_endpoint,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scope=self.scope,
            requirement=requirement,
            profile=self.profile,
            acr_mode=self.acr_mode,
            prompt=prompt,
            id_token_hint=id_token_hint,
            authorization_details=authorization_details,
            # RFC 9449 §10: the code is bound to this key; the token request must prove it.
            extra={"dpop_jkt": self.dpop.jkt} if self.dpop is not None and self.dpop_jkt else None,
        )

    def logout_url(
        self,
        *,
        id_token_hint: str | None = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
    ) -> str:
        """Where to send the browser to end the OP session too (RP-Initiated Logout 1.0 §2).

        ``id_token_hint`` is the ID token the OP issued to this client (the OP then knows
        whose session to end without asking); ``post_logout_redirect_uri`` must be one the
        client registered and comes with ``client_id`` (§3); ``state`` is echoed back on it.
        """
        endpoint = self.metadata.end_session_endpoint
        if endpoint is None:
            raise SDKError("the OP has no end_session_endpoint")
        params: dict[str, str] = {}
        if id_token_hint is not None:
            params["id_token_hint"] = id_token_hint
        if post_logout_redirect_uri is not None:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
            params["client_id"] = self.client_id
            if state is not None:
                params["state"] = state
        elif state is not None:
            raise SDKError("state is only returned with a post_logout_redirect_uri")
        if not params:
            params["client_id"] = self.client_id
        sep = "&" if urlsplit(endpoint).query else "?"
        return f"{endpoint}{sep}{urlencode(params)}"

    def _auth(self, body: dict[str, str]) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.client_secret is not None:
            # client_secret_basic: both parts form-urlencoded first (RFC 6749 §2.3.1).
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            body["client_id"] = self.client_id
        return headers

    def begin_flow(self, request: AuthorizationRequest) -> Flow[str]:
        """The URL for the browser; pushes the request first when PAR is on (RFC 9126)."""
        if not self.use_par:
            return request.url
        endpoint = self.metadata.pushed_authorization_request_endpoint
        if endpoint is None:
            raise SDKError("the OP has no pushed_authorization_request_endpoint")
        body = par_body(request)
        headers = self._auth(body)
        response = yield httpx.Request("POST", endpoint, data=body, headers=headers)
        data = json_object(response)
        if response is None or response.status_code not in (200, 201):
            raise AuthorizationFailed(
                str(data.get("error_description", "PAR failed")),
                error=str(data.get("error", "invalid_request")),
            )
        request_uri = data.get("request_uri")
        if not isinstance(request_uri, str):
            raise AuthorizationFailed("PAR response has no request_uri", error="invalid_request")
        return par_redirect_url(request, request_uri=request_uri)

    def finish_flow(
        self,
        params: Mapping[str, object],
        request: AuthorizationRequest,
        *,
        expected_subject: str | None = None,
        requested_at: float | None = None,
    ) -> Flow[Tokens]:
        """Callback → code exchange → ID token validation → requirement (steps 12-13).

        ``requested_at``: when the authorization request was made; with ``max_age=0`` an
        ``auth_time`` from then on is fresh (:func:`stepauth.assurance.evaluate`).
        """
        response = handle_callback(
            params,
            expected_state=request.state,
            expected_issuer=self.metadata.issuer,
            require_iss=self.metadata.iss_parameter_supported,
        )
        body = {
            "grant_type": "authorization_code",
            "code": response.code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": request.code_verifier,
        }
        headers = self._auth(body)
        data = yield from token_request_flow(
            self.metadata.token_endpoint, body, headers, dpop=self.dpop
        )
        id_token = data.get("id_token")
        if not isinstance(id_token, str):
            raise InvalidToken("the token response has no id_token")
        keys = yield from self.jwks.flow(parse_header(id_token)[0].kid)
        now = self.clock()
        claims = validate_id_token(
            id_token,
            expected_issuer=self.metadata.issuer,
            expected_audience=self.client_id,
            expected_nonce=request.nonce,
            jwks=keys,
            allowed_algs=self.id_token_algs,
            now=now,
            leeway=self.leeway,
        )
        # Steps 12-13 through the profile, so vendor vocabularies are translated first.
        self.profile.check(
            claims,
            request.requirement,
            max_age=request.max_age,
            now=now,
            leeway=self.leeway,
            max_age_leeway=self.max_age_leeway,
            not_before=requested_at,
        )
        if expected_subject is not None and claims.get("sub") != expected_subject:
            # OIDC Core §3.1.2.2: a step-up must come back for the same user.
            raise InvalidToken("the step-up returned a different subject")
        details = data.get("authorization_details")
        return Tokens(
            id_token=id_token,
            claims=claims,
            access_token=_str(data.get("access_token")),
            token_type=_str(data.get("token_type")),
            refresh_token=_str(data.get("refresh_token")),
            expires_in=data.get("expires_in") if isinstance(data.get("expires_in"), int) else None,
            authorization_details=tuple(details) if isinstance(details, list) else (),
            raw=data,
        )

    def refresh_flow(self, refresh_token: str, *, scope: str | None = None) -> Flow[TokenResponse]:
        """The refresh grant (RFC 6749 §6), with a DPoP proof when the client has a key
        (RFC 9449 §5: a public client's refresh token is bound to that key)."""
        body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope is not None:
            body["scope"] = scope
        headers = self._auth(body)
        data = yield from token_request_flow(
            self.metadata.token_endpoint, body, headers, dpop=self.dpop
        )
        return TokenResponse.from_json(data)

    # -- drivers -----------------------------------------------------------------------------

    def refresh(self, refresh_token: str, *, scope: str | None = None) -> TokenResponse:
        return self.drive(self.refresh_flow(refresh_token, scope=scope))

    async def arefresh(self, refresh_token: str, *, scope: str | None = None) -> TokenResponse:
        return await self.adrive(self.refresh_flow(refresh_token, scope=scope))

    def begin(self, request: AuthorizationRequest) -> str:
        return self.drive(self.begin_flow(request))

    async def abegin(self, request: AuthorizationRequest) -> str:
        return await self.adrive(self.begin_flow(request))

    def finish(
        self,
        params: Mapping[str, object],
        request: AuthorizationRequest,
        *,
        expected_subject: str | None = None,
        requested_at: float | None = None,
    ) -> Tokens:
        flow = self.finish_flow(
            params, request, expected_subject=expected_subject, requested_at=requested_at
        )
        return self.drive(flow)

    async def afinish(
        self,
        params: Mapping[str, object],
        request: AuthorizationRequest,
        *,
        expected_subject: str | None = None,
        requested_at: float | None = None,
    ) -> Tokens:
        flow = self.finish_flow(
            params, request, expected_subject=expected_subject, requested_at=requested_at
        )
        return await self.adrive(flow)

    def drive(self, flow: Flow[T]) -> T:
        """Run a flow of this RP with its sync client (a fresh one when none was given)."""
        client = self._client or httpx.Client(timeout=10)
        try:
            return run_sync(flow, client)
        finally:
            if self._client is None:
                client.close()

    async def adrive(self, flow: Flow[T]) -> T:
        """Run a flow of this RP with its async client."""
        client = self._async_client or httpx.AsyncClient(timeout=10)
        try:
            return await run_async(flow, client)
        finally:
            if self._async_client is None:
                await client.aclose()


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
