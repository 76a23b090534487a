"""The redirect back from the OP (OIDC Core §3.1.2.5-6, RFC 9207).

:func:`handle_callback` checks ``state`` (CSRF, RFC 6749 §10.12) and ``iss`` (mix-up,
RFC 9207 §2.4) *before* looking at anything else, then turns an error response into one
distinct outcome (OIDC Core §3.1.2.6; OpenID Connect unmet_authentication_requirements
1.0 §1): the caller decides what each means, and none of them is retried automatically, so
a step-up can never loop and never degrade silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from stepauth.sdk.errors import (
    AccessDenied,
    AuthorizationFailed,
    InteractionRequired,
    IssuerMismatch,
    LoginRequired,
    StateMismatch,
    UnmetAuthenticationRequirements,
)
from stepauth.sdk.validate import same

__all__ = ["OUTCOMES", "AuthorizationResponse", "handle_callback"]

#: Error codes with their own outcome; any other code is a plain AuthorizationFailed.
OUTCOMES: Final[Mapping[str, type[AuthorizationFailed]]] = {
    "unmet_authentication_requirements": UnmetAuthenticationRequirements,
    "login_required": LoginRequired,
    "interaction_required": InteractionRequired,
    "access_denied": AccessDenied,
}


@dataclass(frozen=True)
class AuthorizationResponse:
    """A successful authorization response: the code to exchange."""

    code: str
    state: str
    iss: str | None


def _one(params: Mapping[str, object], name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, list | tuple):
        if len(value) != 1:
            return None  # duplicated parameters are never trusted (RFC 6749 §3.1)
        value = value[0]
    return value if isinstance(value, str) else None


def handle_callback(
    params: Mapping[str, object],
    *,
    expected_state: str,
    expected_issuer: str,
    require_iss: bool = False,
) -> AuthorizationResponse:
    """Check a redirect's ``state`` and ``iss`` and return the code, or raise its outcome.

    ``require_iss`` should be true when the OP advertises
    ``authorization_response_iss_parameter_supported`` (RFC 9207 §3); a present ``iss`` is
    always checked.
    """
    state = _one(params, "state")
    if not state or not expected_state or not same(state, expected_state):
        raise StateMismatch("state is missing or does not belong to this browser")
    iss = _one(params, "iss")
    if "iss" in params and iss is None:
        raise IssuerMismatch("iss is malformed")
    if iss is None and require_iss:
        raise IssuerMismatch("the OP sends iss (RFC 9207) but this response has none")
    if iss is not None and iss != expected_issuer:
        raise IssuerMismatch(f"response from {iss!r}, expected {expected_issuer!r}")
    error = _one(params, "error")
    if error is not None:
        description = _one(params, "error_description") or error
        outcome = OUTCOMES.get(error, AuthorizationFailed)
        raise outcome(description, error=error)
    code = _one(params, "code")
    if not code:
        raise AuthorizationFailed(
            "the response has neither code nor error", error="invalid_request"
        )
    return AuthorizationResponse(code=code, state=state, iss=iss)
