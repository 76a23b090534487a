"""Resource-server side: access token → validated claims, or the RFC 9470 challenge.

:class:`ResourceServer` validates a JWT access token (RFC 9068) against the issuer's key set
and the route's :class:`Requirement`; :func:`challenge_for` builds the ``WWW-Authenticate``
value; :func:`error_response` maps each failure to its status and header (RFC 6750 §3.1,
RFC 9470 §3). The challenge logic runs *after* the token is validated (RFC 9470 §9), so an
unauthenticated caller learns nothing about what a route requires.

DPoP (RFC 9449): with ``dpop=`` a :class:`~stepauth.sdk.dpop_check.DPoPChecker`,
:meth:`ResourceServer.verify_request` accepts ``Authorization: DPoP <token>`` with one
``DPoP`` proof. The proof is checked first (§4.3, nothing recorded), then the token, which
must be bound to the proof's key (``cnf.jkt``, §7.1), then its ``jti`` is consumed in the
ledger. A DPoP-bound token sent as ``Bearer`` is refused (§7.2); ``require_dpop=True``
refuses bearer tokens altogether. :meth:`ResourceServer.refusal` answers in the scheme the
request used: ``DPoP error="...", algs="..."`` (§7.1; the RFC 9470 step-up error too),
with a ``DPoP-Nonce`` when the checker issues nonces (§9). Without ``dpop=`` everything is
as for bearer tokens only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stepauth.assurance import Requirement, StepUp, build_challenge
from stepauth.assurance.requirement import MAX_AGE_LEEWAY
from stepauth.sdk._io import Flow
from stepauth.sdk.access_token import ACCESS_TOKEN_ALGS, AccessTokenValidator
from stepauth.sdk.dpop_check import CheckedProof, DPoPChecker
from stepauth.sdk.errors import (
    InsufficientAuthentication,
    InvalidKeyBinding,
    InvalidToken,
    KeyNotFound,
    SDKError,
    UseDPoPNonce,
)
from stepauth.sdk.jose import KeySet, parse_header
from stepauth.sdk.jwks import JWKSCache
from stepauth.sdk.profiles import STEPAUTH, STEPAUTH_ACR, Profile

__all__ = [
    "AuthErrorResponse",
    "ResourceRequest",
    "ResourceServer",
    "challenge_for",
    "credentials",
    "error_response",
]


def challenge_for(
    step_up: StepUp,
    *,
    profile: Profile = STEPAUTH,
    description: str | None = None,
    scheme: str = "Bearer",
    params: Mapping[str, str] | None = None,
) -> str:
    """The ``WWW-Authenticate`` value for a step-up (RFC 9470 §3), in ``scheme`` (``DPoP``
    with its ``algs`` for a DPoP-bound token, RFC 9449 §7.1)."""
    if description is None:
        # The RFC 9470 §3 wording: freshness when only time is the problem, else the level.
        stale = step_up.reason in ("max_age_exceeded", "auth_time_missing")
        description = (
            "More recent authentication is required"
            if stale or not step_up.acr_values
            else "A different authentication level is required"
        )
    return profile.challenge(step_up, description=description, scheme=scheme, params=params)


@dataclass(frozen=True)
class AuthErrorResponse:
    status: int
    headers: Mapping[str, str]
    body: str


def error_response(exc: SDKError | None, *, profile: Profile = STEPAUTH) -> AuthErrorResponse:
    """401 + the right ``WWW-Authenticate`` for a missing token, a bad one, or a weak one."""
    if exc is None:  # no credentials at all: no error code (RFC 6750 §3.1)
        return AuthErrorResponse(401, {"WWW-Authenticate": "Bearer"}, "authentication required")
    if isinstance(exc, InsufficientAuthentication):
        header = challenge_for(exc.step_up, profile=profile)
        return AuthErrorResponse(401, {"WWW-Authenticate": header}, exc.error)
    return AuthErrorResponse(
        401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, "invalid_token"
    )


def credentials(authorization: str | None) -> tuple[str, str] | None:
    """``("bearer" | "dpop", token)`` of an ``Authorization: Bearer`` (RFC 6750 §2.1) or
    ``Authorization: DPoP`` (RFC 9449 §7.1) header, else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    scheme = scheme.lower()
    if scheme not in ("bearer", "dpop") or not token:
        return None
    return scheme, token


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), else ``None``."""
    found = credentials(authorization)
    return found[1] if found is not None and found[0] == "bearer" else None


@dataclass(frozen=True)
class ResourceRequest:
    """What a resource server reads of one HTTP request: the method, the absolute URL it
    was received at (the DPoP ``htu``, RFC 9449 §4.3 step 9), the ``Authorization`` header
    and every ``DPoP`` header value."""

    method: str
    url: str
    authorization: str | None
    dpop: tuple[str, ...] = ()


class ResourceServer:
    """Validates access tokens of one issuer for one audience.

    ``audience`` is this API's own identifier, the RFC 8707 resource its clients ask for
    (never the issuer: the stepauth Provider gives tokens that name no resource the issuer
    as ``aud``, for its UserInfo endpoint). ``allowed_clients``, when given, lists the
    ``client_id`` values whose tokens this API accepts (RFC 9068 §2.2); any other is
    ``invalid_token``.

    ``leeway`` is the clock skew allowed on ``exp`` and a future ``auth_time``;
    ``max_age_leeway`` (default :data:`~stepauth.assurance.requirement.MAX_AGE_LEEWAY`, 5 s)
    is added to a route's ``max_age``: an API has no step-up request of its own to compare
    ``auth_time`` with, so a ``max_age=0`` route accepts an authentication at most that old.

    With a vendor ``profile`` the claims a route gets are the token's own (``acr`` as the
    IdP wrote it) plus :data:`STEPAUTH_ACR`: the level the requirement was decided on, in
    the stepauth vocabulary (``None`` when the IdP's value has no stepauth meaning).

    ``dpop`` (a :class:`~stepauth.sdk.dpop_check.DPoPChecker`, with its ``jti`` ledger)
    accepts DPoP-bound tokens (RFC 9449 §7); ``require_dpop=True`` accepts nothing else.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JWKSCache,
        profile: Profile = STEPAUTH,
        allowed_algs: Sequence[str] = ACCESS_TOKEN_ALGS,
        expected_typ: str | None = "at+jwt",
        leeway: float = 30,
        max_age_leeway: float = MAX_AGE_LEEWAY,
        clock: Callable[[], float] = time.time,
        allowed_clients: Collection[str] | None = None,
        dpop: DPoPChecker | None = None,
        require_dpop: bool = False,
    ) -> None:
        if require_dpop and dpop is None:
            raise SDKError("require_dpop needs dpop=DPoPChecker(ledger=...)")
        self.issuer = issuer
        self.allowed_clients = frozenset(allowed_clients) if allowed_clients is not None else None
        self.max_age_leeway = max_age_leeway
        self.audience = audience
        self.jwks = jwks
        self.profile = profile
        self.allowed_algs = tuple(allowed_algs)
        self.expected_typ = expected_typ
        self.leeway = leeway
        self.clock = clock
        self.dpop = dpop
        self.require_dpop = require_dpop
        self._plain = type(profile) is Profile and not profile.acr_map
        self._validator = AccessTokenValidator(
            expected_issuer=issuer,
            expected_audience=audience,
            allowed_algs=self.allowed_algs,
            expected_typ=expected_typ,
            leeway=leeway,
            max_age_leeway=max_age_leeway,
            ladder=profile.ladder,
            allowed_clients=allowed_clients,
        )

    def _validate(
        self, token: str, keys: KeySet, requirement: Requirement | None, jkt: str | None = None
    ) -> dict[str, Any]:
        now = self.clock()
        if self._plain:  # the profile's claims are stepauth's: one call does everything
            return self._validator.validate(token, keys, now, requirement, jkt)
        claims = self._validator.validate(token, keys, now, None, jkt)
        profile = self.profile
        normalized = profile.normalize(claims)
        if requirement is not None:
            self._validator.check(normalized, requirement, now, profile.ladder)
        return {**claims, STEPAUTH_ACR: normalized.get("acr")}

    def flow(
        self, token: str, requirement: Requirement | None, jkt: str | None = None
    ) -> Flow[dict[str, Any]]:
        keys = yield from self.jwks.flow(parse_header(token)[0].kid)
        return self._validate(token, keys, requirement, jkt)

    def _claims(
        self, token: str, requirement: Requirement | None, jkt: str | None
    ) -> dict[str, Any]:
        keys = self.jwks.current()
        if keys is not None:
            try:
                return self._validate(token, keys, requirement, jkt)
            except KeyNotFound:
                pass  # a kid the cached set lacks: the cache decides whether to refetch
        return self._validate(token, self.jwks.for_token(token), requirement, jkt)

    async def _aclaims(
        self, token: str, requirement: Requirement | None, jkt: str | None
    ) -> dict[str, Any]:
        keys = self.jwks.current()
        if keys is not None:
            try:
                return self._validate(token, keys, requirement, jkt)
            except KeyNotFound:
                pass
        return self._validate(token, await self.jwks.afor_token(token), requirement, jkt)

    def _bearer(self, token: str | None) -> str:
        if token is None:
            raise InvalidToken("no bearer token")
        if self.require_dpop:
            raise InvalidKeyBinding("this resource accepts DPoP-bound tokens only")
        return token

    def verify(self, token: str | None, requirement: Requirement | None) -> dict[str, Any]:
        """Claims of a valid, sufficient bearer token; raises InvalidToken /
        InsufficientAuthentication (a DPoP-bound token is refused: RFC 9449 §7.2)."""
        return self._claims(self._bearer(token), requirement, None)

    async def averify(self, token: str | None, requirement: Requirement | None) -> dict[str, Any]:
        return await self._aclaims(self._bearer(token), requirement, None)

    def _presented(self, request: ResourceRequest) -> tuple[str, CheckedProof | None]:
        """The token and, for ``Authorization: DPoP``, its checked proof (nothing recorded)."""
        found = credentials(request.authorization)
        if found is None:
            raise InvalidToken("no access token")
        scheme, token = found
        if scheme == "bearer":
            return self._bearer(token), None
        if self.dpop is None:
            raise InvalidToken("this resource does not accept DPoP-bound tokens")
        proof = self.dpop.check(
            request.dpop,
            method=request.method,
            url=request.url,
            access_token=token,
            now=self.clock(),
        )
        return token, proof

    def verify_request(
        self, request: ResourceRequest, requirement: Requirement | None
    ) -> dict[str, Any]:
        """Claims of a valid, sufficient token presented as ``Bearer``, or as ``DPoP`` with
        its proof (RFC 9449 §7.1); the proof's ``jti`` is consumed once all else holds."""
        token, proof = self._presented(request)
        if proof is None:
            return self._claims(token, requirement, None)
        claims = self._claims(token, requirement, proof.jkt)
        assert self.dpop is not None
        self.dpop.consume(proof)
        return claims

    async def averify_request(
        self, request: ResourceRequest, requirement: Requirement | None
    ) -> dict[str, Any]:
        token, proof = self._presented(request)
        if proof is None:
            return await self._aclaims(token, requirement, None)
        claims = await self._aclaims(token, requirement, proof.jkt)
        assert self.dpop is not None
        await self.dpop.aconsume(proof)
        return claims

    def refusal(
        self, exc: SDKError | None, request: ResourceRequest | None = None
    ) -> AuthErrorResponse:
        """The 401 for ``exc`` (``None``: no credentials), in the scheme the request used.

        Bearer requests get :func:`error_response`'s answer. A DPoP request, or any request
        where DPoP is required, gets ``DPoP error="...", algs="..."`` (RFC 9449 §7.1) - the
        RFC 9470 step-up challenge included - and a ``DPoP-Nonce`` when nonces are issued
        (§9). A request without credentials is offered both schemes unless DPoP is required.
        """
        dpop = self.dpop
        if dpop is None:
            return error_response(exc, profile=self.profile)
        found = credentials(request.authorization) if request is not None else None
        if exc is not None and not self.require_dpop and (found is None or found[0] != "dpop"):
            return error_response(exc, profile=self.profile)
        algs = {"algs": " ".join(dpop.algs)}
        if exc is None:
            value = build_challenge(error=None, scheme="DPoP", params=algs)
            if not self.require_dpop:
                value = f"Bearer, {value}"
        elif isinstance(exc, InsufficientAuthentication):
            value = challenge_for(exc.step_up, profile=self.profile, scheme="DPoP", params=algs)
        else:
            value = build_challenge(error=exc.error, scheme="DPoP", params=algs)
        headers = {"WWW-Authenticate": value}
        if isinstance(exc, UseDPoPNonce):
            headers["DPoP-Nonce"] = exc.nonce
        elif dpop.nonces is not None:
            headers["DPoP-Nonce"] = dpop.nonces.issue()
        return AuthErrorResponse(
            401, headers, "authentication required" if exc is None else exc.error
        )
