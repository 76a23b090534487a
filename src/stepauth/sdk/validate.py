"""ID token validation for relying parties, and the checks access tokens share.

:func:`validate_id_token` is OpenID Connect Core 1.0 §3.1.3.7 (13 steps, errata set 2) with
one error class per step; :func:`check_requirement` is steps 12-13 and the RFC 9470 decision
(RFC 9470 §3, §6), which :mod:`stepauth.sdk.access_token` (RFC 9068 §4) applies to access
tokens too. Pure: the key set, the clock and the expectations are arguments.

Steps 6-7 (algorithm and signature) run before the claim checks: claims of a token whose
signature has not been verified are attacker-controlled, and nothing should be decided on
them (RFC 8725 §3.1). The remaining steps then run in the order of §3.1.3.7.
"""

from __future__ import annotations

import functools
import hmac
import math
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from stepauth.assurance import DEFAULT_LADDER, Ladder, Requirement, StepUp, evaluate
from stepauth.assurance.requirement import MAX_AGE_LEEWAY
from stepauth.sdk.errors import (
    DisallowedAlgorithm,
    InsufficientAuthentication,
    InvalidAudience,
    InvalidAuthorizedParty,
    InvalidIssuedAt,
    InvalidIssuer,
    InvalidNonce,
    MalformedToken,
    MissingClaim,
    TokenExpired,
)
from stepauth.sdk.jose import KeySet, verify_compact

__all__ = [
    "ID_TOKEN_ALGS",
    "check_asymmetric",
    "check_requirement",
    "claim_number",
    "same",
    "validate_id_token",
]

#: OIDC Core §3.1.3.7 step 7: RS256 unless the client registered another algorithm.
ID_TOKEN_ALGS: Final = ("RS256",)


def claim_number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MissingClaim(f"{name} is required and must be a JSON number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise MissingClaim(f"{name} must be a finite number")
    return number


def same(a: str, b: str) -> bool:
    """Constant-time equality of two strings (any characters, unlike hmac on str)."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


@functools.lru_cache(maxsize=64)
def check_asymmetric(allowed_algs: tuple[str, ...]) -> None:
    if any(a.startswith("HS") or a == "none" for a in allowed_algs):
        raise DisallowedAlgorithm("allowed_algs may only name asymmetric algorithms")


def _check_issuer(claims: Mapping[str, Any], expected_issuer: str) -> None:
    # Step 2: "MUST exactly match" - no normalisation, no trailing-slash tolerance.
    iss = claims.get("iss")
    if not isinstance(iss, str) or not same(iss, expected_issuer):
        raise InvalidIssuer(f"iss {iss!r} does not match the expected issuer")


def _check_audience(
    claims: Mapping[str, Any], expected_audience: str, trusted_audiences: Collection[str]
) -> list[str]:
    # Step 3: aud contains our client_id; reject additional audiences we do not trust.
    aud = claims.get("aud")
    if isinstance(aud, str):
        audiences = [aud]
    elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        audiences = aud
    else:
        raise InvalidAudience("aud is missing or malformed")
    if expected_audience not in audiences:
        raise InvalidAudience(f"aud does not contain {expected_audience!r}")
    untrusted = [a for a in audiences if a != expected_audience and a not in trusted_audiences]
    if untrusted:
        raise InvalidAudience(f"aud contains untrusted audiences {untrusted!r}")
    return audiences


def _check_times(
    claims: Mapping[str, Any], now: float, leeway: float, max_token_age: float | None
) -> None:
    # Step 9: the current time MUST be before exp.
    exp = claim_number(claims, "exp")
    if now >= exp + leeway:
        raise TokenExpired("the token has expired")
    # Step 10: iat limits the time the RP accepts a token (client-specific window).
    if "iat" not in claims:
        raise InvalidIssuedAt("iat is required")
    try:
        iat = claim_number(claims, "iat")
    except MissingClaim as exc:
        raise InvalidIssuedAt("iat must be a JSON number") from exc
    if iat > now + leeway:
        raise InvalidIssuedAt("iat is in the future")
    if max_token_age is not None and now - iat > max_token_age + leeway:
        raise InvalidIssuedAt("iat is older than the accepted window")


def check_requirement(
    claims: Mapping[str, Any],
    requirement: Requirement | None,
    *,
    max_age: int | None = None,
    now: float,
    leeway: float = 0,
    ladder: Ladder = DEFAULT_LADDER,
    max_age_leeway: float = MAX_AGE_LEEWAY,
    not_before: float | None = None,
) -> None:
    """Steps 12-13 (and RFC 9470 §3, §6): ``acr`` appropriate, ``auth_time`` present and fresh.

    ``max_age`` is the value sent in the authorization request; it is combined with the
    requirement's own (the smaller wins). A missing ``auth_time`` when ``max_age`` was sent is
    a failure, not a pass (OIDC Core §3.1.3.7 step 13). ``max_age_leeway`` and ``not_before``
    are those of :func:`stepauth.assurance.evaluate` (``not_before``: when the step-up request
    for ``max_age=0`` was made). Raises :class:`InsufficientAuthentication` carrying the
    :class:`StepUp` that would pass.
    """
    acr_values: tuple[str, ...] = requirement.acr_values if requirement else ()
    ages = [a for a in (max_age, requirement.max_age if requirement else None) if a is not None]
    effective_max_age = min(ages) if ages else None
    if requirement is None and effective_max_age is None:
        return  # nothing was asked of how the user authenticated

    if effective_max_age is not None and "auth_time" not in claims:
        raise InsufficientAuthentication(
            "auth_time is missing although max_age was requested",
            step_up=StepUp(acr_values, effective_max_age, "auth_time_missing"),
        )
    if requirement is not None and effective_max_age == requirement.max_age:
        wanted = requirement  # the common case: no new Requirement per request
    else:
        wanted = Requirement(acr_values, effective_max_age)
    outcome = evaluate(
        wanted,
        claims,
        now,
        leeway,
        ladder,
        max_age_leeway=max_age_leeway,
        not_before=not_before,
    )
    if isinstance(outcome, StepUp):
        raise InsufficientAuthentication(
            f"authentication does not meet the requirement ({outcome.reason})", step_up=outcome
        )


def validate_id_token(
    token: str,
    *,
    expected_issuer: str,
    expected_audience: str,
    expected_nonce: str | None,
    jwks: KeySet,
    allowed_algs: Sequence[str] = ID_TOKEN_ALGS,
    trusted_audiences: Collection[str] = (),
    max_age: int | None = None,
    requirement: Requirement | None = None,
    max_token_age: float | None = 600,
    now: float | None = None,
    leeway: float = 60,
    ladder: Ladder = DEFAULT_LADDER,
    max_age_leeway: float = MAX_AGE_LEEWAY,
    not_before: float | None = None,
) -> dict[str, Any]:
    """Validate an ID Token from the token endpoint (OIDC Core §3.1.3.7) and return its claims.

    ``expected_audience`` is the client_id; ``expected_nonce`` the nonce sent in the request
    (``None`` only when none was sent). ``max_age`` is the value sent in the request;
    ``requirement`` the per-action assurance (step 12 ``acr``, step 13 ``auth_time``);
    ``max_age_leeway`` is added to the freshness window and ``not_before`` is when the
    request was made (with ``max_age=0``, an ``auth_time`` from then on is fresh).
    """
    now = time.time() if now is None else now
    if not isinstance(token, str):
        raise MalformedToken("token must be a string")
    # Step 1: encrypted ID tokens (JWE, five parts) were not negotiated: refuse them.
    if token.count(".") == 4:
        raise MalformedToken("encrypted ID tokens are not accepted (no encryption negotiated)")
    # Steps 7 and 8: never `none`; MAC algorithms (HS*) are refused outright: the key set is
    # public, so an HMAC "verified" with it proves nothing (algorithm confusion, RFC 8725).
    check_asymmetric(tuple(allowed_algs))
    # Step 6 (and 7): the signature, with the key named by kid, under an allowed alg.
    _, claims = verify_compact(token, jwks, allowed_algs=allowed_algs)
    # Step 2: iss.
    _check_issuer(claims, expected_issuer)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise MissingClaim("sub is required (OIDC Core §2)")
    # Step 3: aud.
    audiences = _check_audience(claims, expected_audience, trusted_audiences)
    # Steps 4-5: azp, when present, is our client_id; several audiences need azp.
    azp = claims.get("azp")
    if azp is not None and azp != expected_audience:
        raise InvalidAuthorizedParty(f"azp {azp!r} is not this client")
    if len(audiences) > 1 and azp is None:
        raise InvalidAuthorizedParty("azp is required when aud has several values")
    # Steps 9-10: exp and iat.
    _check_times(claims, now, leeway, max_token_age)
    # Step 11: nonce, compared in constant time.
    if expected_nonce is not None:
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not same(nonce, expected_nonce):
            raise InvalidNonce("nonce is missing or does not match the one sent")
    # Steps 12-13: acr and auth_time.
    check_requirement(
        claims,
        requirement,
        max_age=max_age,
        now=now,
        leeway=leeway,
        ladder=ladder,
        max_age_leeway=max_age_leeway,
        not_before=not_before,
    )
    return claims
