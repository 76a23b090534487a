"""Resource-server side: bearer token → validated claims, or the RFC 9470 challenge.

:class:`ResourceServer` validates a JWT access token (RFC 9068) against the issuer's key set
and the route's :class:`Requirement`; :func:`challenge_for` builds the ``WWW-Authenticate``
value; :func:`error_response` maps each failure to its status and header (RFC 6750 §3.1,
RFC 9470 §3). The challenge logic runs *after* the token is validated (SU-13), so an
unauthenticated caller learns nothing about what a route requires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stepauth.assurance import Requirement, StepUp
from stepauth.sdk._io import Flow
from stepauth.sdk.errors import InsufficientAuthentication, InvalidToken, SDKError
from stepauth.sdk.jose import KeySet, parse_header
from stepauth.sdk.jwks import JWKSCache
from stepauth.sdk.profiles import STEPAUTH, Profile
from stepauth.sdk.validate import ACCESS_TOKEN_ALGS, validate_access_token

__all__ = ["AuthErrorResponse", "ResourceServer", "challenge_for", "error_response"]


def challenge_for(
    step_up: StepUp, *, profile: Profile = STEPAUTH, description: str | None = None
) -> str:
    """The ``WWW-Authenticate`` value for a step-up (RFC 9470 §3, SU-01..05)."""
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
    """Validates access tokens of one issuer for one audience."""

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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.profile = profile
        self.allowed_algs = tuple(allowed_algs)
        self.expected_typ = expected_typ
        self.leeway = leeway
        self.clock = clock

    def _validate(
        self, token: str, keys: KeySet, requirement: Requirement | None
    ) -> dict[str, Any]:
        now = self.clock()
        claims = validate_access_token(
            token,
            expected_issuer=self.issuer,
            expected_audience=self.audience,
            jwks=keys,
            allowed_algs=self.allowed_algs,
            expected_typ=self.expected_typ,
            now=now,
            leeway=self.leeway,
        )
        self.profile.check(claims, requirement, now=now, leeway=self.leeway)
        return claims

    def flow(self, token: str, requirement: Requirement | None) -> Flow[dict[str, Any]]:
        keys = yield from self.jwks.flow(parse_header(token)[0].kid)
        return self._validate(token, keys, requirement)

    def verify(self, token: str | None, requirement: Requirement | None) -> dict[str, Any]:
        """Claims of a valid, sufficient token; raises InvalidToken / InsufficientAuthentication."""
        if token is None:
            raise InvalidToken("no bearer token")
        keys = self.jwks.for_token(token)
        return self._validate(token, keys, requirement)

    async def averify(self, token: str | None, requirement: Requirement | None) -> dict[str, Any]:
        if token is None:
            raise InvalidToken("no bearer token")
        keys = await self.jwks.afor_token(token)
        return self._validate(token, keys, requirement)
