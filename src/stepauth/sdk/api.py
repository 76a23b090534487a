"""Resource-server side: bearer token → validated claims, or the RFC 9470 challenge.

:class:`ResourceServer` validates a JWT access token (RFC 9068) against the issuer's key set
and the route's :class:`Requirement`; :func:`challenge_for` builds the ``WWW-Authenticate``
value; :func:`error_response` maps each failure to its status and header (RFC 6750 §3.1,
RFC 9470 §3). The challenge logic runs *after* the token is validated (RFC 9470 §9), so an
unauthenticated caller learns nothing about what a route requires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stepauth.assurance import Requirement, StepUp
from stepauth.assurance.requirement import MAX_AGE_LEEWAY
from stepauth.sdk._io import Flow
from stepauth.sdk.access_token import ACCESS_TOKEN_ALGS, AccessTokenValidator
from stepauth.sdk.errors import InsufficientAuthentication, InvalidToken, KeyNotFound, SDKError
from stepauth.sdk.jose import KeySet, parse_header
from stepauth.sdk.jwks import JWKSCache
from stepauth.sdk.profiles import STEPAUTH, STEPAUTH_ACR, Profile

__all__ = ["AuthErrorResponse", "ResourceServer", "challenge_for", "error_response"]


def challenge_for(
    step_up: StepUp, *, profile: Profile = STEPAUTH, description: str | None = None
) -> str:
    """The ``WWW-Authenticate`` value for a step-up (RFC 9470 §3)."""
    if description is None:
        # The RFC 9470 §3 wording: freshness when only time is the problem, else the level.
        stale = step_up.reason in ("max_age_exceeded", "auth_time_missing")
        description = (
            "More recent authentication is required"
            if stale or not step_up.acr_values
            else "A different authentication level is required"
        )
    return profile.challenge(step_up, description=description)


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


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


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
    ) -> None:
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
        self, token: str, keys: KeySet, requirement: Requirement | None
    ) -> dict[str, Any]:
        now = self.clock()
        if self._plain:  # the profile's claims are stepauth's: one call does everything
            return self._validator.validate(token, keys, now, requirement)
        claims = self._validator.validate(token, keys, now)
        profile = self.profile
        normalized = profile.normalize(claims)
        if requirement is not None:
            self._validator.check(normalized, requirement, now, profile.ladder)
        return {**claims, STEPAUTH_ACR: normalized.get("acr")}

    def flow(self, token: str, requirement: Requirement | None) -> Flow[dict[str, Any]]:
        keys = yield from self.jwks.flow(parse_header(token)[0].kid)
        return self._validate(token, keys, requirement)

    def verify(self, token: str | None, requirement: Requirement | None) -> dict[str, Any]:
        """Claims of a valid, sufficient token; raises InvalidToken / InsufficientAuthentication."""
        if token is None:
            raise InvalidToken("no bearer token")
        keys = self.jwks.current()
        if keys is not None:
            try:
                return self._validate(token, keys, requirement)
            except KeyNotFound:
                pass  # a kid the cached set lacks: the cache decides whether to refetch
        return self._validate(token, self.jwks.for_token(token), requirement)

    async def averify(self, token: str | None, requirement: Requirement | None) -> dict[str, Any]:
        if token is None:
            raise InvalidToken("no bearer token")
        keys = self.jwks.current()
        if keys is not None:
            try:
                return self._validate(token, keys, requirement)
            except KeyNotFound:
                pass
        return self._validate(token, await self.jwks.afor_token(token), requirement)
