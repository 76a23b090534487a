"""JWT access tokens at a resource server: RFC 9068 §4, then the RFC 9470 decision.

:class:`AccessTokenValidator` is prepared once per issuer and audience and checks each token
(signature first, then ``typ``, ``iss``, ``aud``, ``client_id``, ``exp``, ``sub``, the
sender constraint of RFC 9449 §7.1 / §7.2, and the requirement);
:func:`validate_access_token` is the one-call form. Pure: the key set, the clock and the
expectations are arguments.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from stepauth.assurance import DEFAULT_LADDER, Ladder, Requirement, Satisfied, evaluate
from stepauth.assurance.requirement import MAX_AGE_LEEWAY, unmet_reason
from stepauth.sdk.errors import (
    ClientNotAllowed,
    InsufficientAuthentication,
    InvalidAudience,
    InvalidIssuer,
    InvalidKeyBinding,
    InvalidTokenType,
    MissingClaim,
    TokenExpired,
)
from stepauth.sdk.jose import KeySet, Verifier
from stepauth.sdk.validate import check_asymmetric, check_requirement, claim_number, same

__all__ = ["ACCESS_TOKEN_ALGS", "AccessTokenValidator", "validate_access_token"]

#: Asymmetric algorithms a resource server commonly meets in RFC 9068 tokens.
ACCESS_TOKEN_ALGS: Final = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")

_AT_JWT_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})
_FINITE: Final = 1e300  # a JSON number inside this range is finite; others take the slow path


def _same_issuer(iss: str, expected: str, expected_bytes: bytes) -> bool:
    """Constant-time issuer comparison; ``str`` directly when both are ASCII."""
    try:
        return hmac.compare_digest(iss, expected)
    except TypeError:  # a non-ASCII string: compare the UTF-8 bytes
        return hmac.compare_digest(iss.encode("utf-8", "surrogatepass"), expected_bytes)


def _check_binding(cnf: object, jkt: str | None) -> None:
    """The token's sender constraint (RFC 7800 ``cnf``, RFC 9449 §6.1) against the proof."""
    bound = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    if jkt is None:
        if bound is not None:
            raise InvalidKeyBinding("a DPoP-bound token was presented as a bearer token")
        return
    if not isinstance(bound, str) or not same(bound, jkt):
        raise InvalidKeyBinding("the token is not bound to the DPoP proof's key")


class AccessTokenValidator:
    """RFC 9068 §4 checks for one issuer and audience, prepared once (a resource server's).

    The signature goes through one :class:`~stepauth.sdk.jose.Verifier`, which works out
    what depends only on the allow-list and the protected header once per encoded header
    and key set (alg, ``crit``, the key named by ``kid`` and its ``kty``/``alg`` match). The
    signature, ``typ``, the claims and the requirement are checked on every call, in the
    order of :func:`validate_access_token`: nothing about a token is ever remembered.
    """

    __slots__ = (
        "_audience",
        "_clients",
        "_issuer",
        "_issuer_bytes",
        "_verifier",
        "expected_typ",
        "ladder",
        "leeway",
        "max_age_leeway",
    )

    def __init__(
        self,
        *,
        expected_issuer: str,
        expected_audience: str,
        allowed_algs: Sequence[str] = ACCESS_TOKEN_ALGS,
        expected_typ: str | None = "at+jwt",
        leeway: float = 30,
        max_age_leeway: float = MAX_AGE_LEEWAY,
        ladder: Ladder = DEFAULT_LADDER,
        allowed_clients: Collection[str] | None = None,
    ) -> None:
        check_asymmetric(tuple(allowed_algs))
        if isinstance(allowed_clients, str):
            raise TypeError("allowed_clients is a collection of client_ids, not one string")
        self._clients = frozenset(allowed_clients) if allowed_clients is not None else None
        self._verifier = Verifier(allowed_algs)
        self._issuer = expected_issuer
        self._issuer_bytes = expected_issuer.encode("utf-8", "surrogatepass")
        self._audience = expected_audience
        self.expected_typ = expected_typ
        self.leeway = leeway
        self.max_age_leeway = max_age_leeway
        self.ladder = ladder

    def validate(
        self,
        token: str,
        keys: KeySet,
        now: float,
        requirement: Requirement | None = None,
        jkt: str | None = None,
    ) -> dict[str, Any]:
        """The claims of a valid token; raises the error class of the first failed check.

        ``jkt`` is the thumbprint of the DPoP proof's key the token came with (``None``: it
        came as a bearer token); the token's ``cnf.jkt`` must name it (RFC 9449 §7.1), and a
        token with a ``cnf.jkt`` is never accepted as a bearer token (§7.2)."""
        header, claims = self._verifier.verify(token, keys)
        typ = header.typ
        if (
            typ not in _AT_JWT_TYPES  # the common spelling: no lower() per call
            and self.expected_typ is not None
            and (typ or "").lower() not in _AT_JWT_TYPES
        ):
            raise InvalidTokenType(f"typ {typ!r} is not at+jwt (RFC 9068 §4)")
        iss = claims.get("iss")
        if type(iss) is not str or not _same_issuer(iss, self._issuer, self._issuer_bytes):
            raise InvalidIssuer(f"iss {iss!r} does not match the expected issuer")
        aud = claims.get("aud")
        audience = self._audience
        if aud != audience and not (type(aud) is list and audience in aud):
            raise InvalidAudience(f"aud does not contain {audience!r}")
        clients = self._clients
        if clients is not None:
            client_id = claims.get("client_id")
            if type(client_id) is not str or client_id not in clients:
                raise ClientNotAllowed(f"client_id {client_id!r} is not allowed (RFC 9068 §2.2)")
        exp: Any = claims.get("exp")
        kind = type(exp)
        if not ((kind is int or kind is float) and -_FINITE < exp < _FINITE):
            exp = claim_number(claims, "exp")
        if now >= exp + self.leeway:
            raise TokenExpired("the access token has expired")
        sub = claims.get("sub")
        if type(sub) is not str or not sub:
            raise MissingClaim("sub is required (RFC 9068 §2.2)")
        if jkt is not None or "cnf" in claims:
            _check_binding(claims.get("cnf"), jkt)
        if requirement is not None and unmet_reason(
            requirement, claims, now, self.leeway, self.ladder, self.max_age_leeway
        ):
            self.check(claims, requirement, now)  # raises the precise step-up
        return claims

    def check(
        self,
        claims: Mapping[str, Any],
        requirement: Requirement | None,
        now: float,
        ladder: Ladder | None = None,
    ) -> None:
        """RFC 9470 on validated claims: :func:`evaluate` directly when it passes, and
        :func:`check_requirement` (for the exact error) when it does not."""
        if requirement is None:
            return
        ladder = self.ladder if ladder is None else ladder
        outcome = evaluate(
            requirement, claims, now, self.leeway, ladder, max_age_leeway=self.max_age_leeway
        )
        if isinstance(outcome, Satisfied):
            return
        check_requirement(
            claims,
            requirement,
            now=now,
            leeway=self.leeway,
            ladder=ladder,
            max_age_leeway=self.max_age_leeway,
        )
        raise InsufficientAuthentication(  # pragma: no cover - check_requirement raised
            "authentication does not meet the requirement", step_up=outcome
        )


def validate_access_token(
    token: str,
    *,
    expected_issuer: str,
    expected_audience: str,
    jwks: KeySet,
    allowed_algs: Sequence[str] = ACCESS_TOKEN_ALGS,
    expected_typ: str | None = "at+jwt",
    requirement: Requirement | None = None,
    now: float | None = None,
    leeway: float = 30,
    ladder: Ladder = DEFAULT_LADDER,
    max_age_leeway: float = MAX_AGE_LEEWAY,
    allowed_clients: Collection[str] | None = None,
    jkt: str | None = None,
) -> dict[str, Any]:
    """Validate a JWT access token (RFC 9068 §4), then its ``acr``/``auth_time`` (RFC 9470).

    ``jkt``: the thumbprint of the key of the DPoP proof the token came with, once the proof
    was checked (:mod:`stepauth.sdk.dpop_check`); a DPoP-bound token is refused without it.

    ``expected_typ=None`` accepts vendor tokens typed ``JWT`` (some IdPs do not follow
    RFC 9068 §2.1); the other checks stay. Raises :class:`InsufficientAuthentication` with
    the :class:`StepUp` to put into the challenge when the token is valid but too weak.
    A resource server keeps one :class:`AccessTokenValidator` instead (same checks).
    """
    validator = AccessTokenValidator(
        expected_issuer=expected_issuer,
        expected_audience=expected_audience,
        allowed_algs=allowed_algs,
        expected_typ=expected_typ,
        leeway=leeway,
        max_age_leeway=max_age_leeway,
        ladder=ladder,
        allowed_clients=allowed_clients,
    )
    now = time.time() if now is None else now
    return validator.validate(token, jwks, now, requirement, jkt)
