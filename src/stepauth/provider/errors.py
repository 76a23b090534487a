"""OAuth 2.0 / OpenID Connect errors of the Provider, one class per error code.

::

    ProviderError (StepAuthError)          status, error, description, redirectable
    ├── InvalidRequest                     invalid_request                400
    │   └── InvalidRedirectUri             invalid_request, never redirected (RFC 6749 §4.1.2.1)
    ├── InvalidClient                      invalid_client                 401, never redirected
    ├── InvalidGrant                       invalid_grant                  400, back channel
    ├── UnauthorizedClient                 unauthorized_client            400
    ├── UnsupportedGrantType               unsupported_grant_type         400, back channel
    ├── UnsupportedResponseType            unsupported_response_type      400
    ├── InvalidScope                       invalid_scope                  400
    ├── AccessDenied                       access_denied                  400
    ├── LoginRequired                      login_required                 (OIDC Core §3.1.2.6)
    ├── InteractionRequired                interaction_required
    ├── ConsentRequired                    consent_required
    ├── UnmetAuthenticationRequirements    unmet_authentication_requirements
    │                                      (OpenID Connect unmet_authentication_requirements 1.0 §1)
    ├── InvalidRequestUri                  invalid_request_uri            (RFC 9126 §4)
    ├── InvalidRequestObject               invalid_request_object         (RFC 9101 §6.2)
    ├── InvalidAuthorizationDetails        invalid_authorization_details  (RFC 9396 §5)
    ├── InvalidTarget                      invalid_target                 (RFC 8707 §2)
    ├── InvalidDPoPProof                   invalid_dpop_proof             400 (RFC 9449 §5)
    ├── UseDPoPNonce                       use_dpop_nonce                 400, DPoP-Nonce (§8)
    ├── InvalidToken                       invalid_token                  401, back channel
    ├── InsufficientScope                  insufficient_scope             403, back channel
    ├── ServerError                        server_error                   500
    └── TemporarilyUnavailable             temporarily_unavailable        503, Retry-After

The classes are data only; how an error is answered (a redirect to the client, an error
page or a JSON body, and a store outage as ``temporarily_unavailable``) is
:mod:`stepauth.provider.error_responses`.

Every ``error_description`` is written by this Provider, never copied from the request, and
is kept within RFC 6749 §5.2's character set (``%x20-21 / %x23-5B / %x5D-7E``): whatever a
description would carry outside it (a quote, a backslash, a control or non-ASCII character)
is replaced when the error is created, so no channel can echo it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from stepauth.errors import StepAuthError

__all__ = [
    "AccessDenied",
    "ConsentRequired",
    "InsufficientScope",
    "InteractionRequired",
    "InvalidAuthorizationDetails",
    "InvalidClient",
    "InvalidDPoPProof",
    "InvalidGrant",
    "InvalidRedirectUri",
    "InvalidRequest",
    "InvalidRequestObject",
    "InvalidRequestUri",
    "InvalidScope",
    "InvalidTarget",
    "InvalidToken",
    "LoginRequired",
    "ProviderError",
    "ServerError",
    "TemporarilyUnavailable",
    "UnauthorizedClient",
    "UnmetAuthenticationRequirements",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "UseDPoPNonce",
    "safe_description",
]

#: Seconds a client is asked to wait after a 503 (RFC 9110 §10.2.3 ``Retry-After``).
RETRY_AFTER = 5
#: RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ).
_OUTSIDE_DESCRIPTION_SET = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
MAX_DESCRIPTION = 200


def safe_description(description: str) -> str:
    """``description`` within RFC 6749 §5.2's character set and :data:`MAX_DESCRIPTION`;
    every other character becomes ``?``."""
    return _OUTSIDE_DESCRIPTION_SET.sub("?", description[:MAX_DESCRIPTION])


class ProviderError(StepAuthError):
    """An OAuth/OIDC error with its HTTP status and whether it may be redirected."""

    error = "server_error"
    status: ClassVar[int] = 400
    redirectable: ClassVar[bool] = True

    def __init__(
        self,
        description: str = "",
        *,
        error: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(safe_description(description), error=error)
        self.headers: dict[str, str] = dict(headers or {})
        self.redirect_uri: str | None = None
        self.state: str | None = None
        self.response_mode: str = "query"

    def bind_redirect(
        self, redirect_uri: str, *, state: str | None, response_mode: str = "query"
    ) -> ProviderError:
        """Attach a *verified* redirect target (client registered it, exact match)."""
        self.redirect_uri = redirect_uri
        self.state = state
        self.response_mode = response_mode
        return self

    def to_dict(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequest(ProviderError):
    error = "invalid_request"


class InvalidRedirectUri(InvalidRequest):
    """A redirect_uri that is absent, unregistered or not an exact match: never followed."""

    redirectable = False


class InvalidClient(ProviderError):
    error = "invalid_client"
    status = 401
    redirectable = False


class InvalidGrant(ProviderError):
    error = "invalid_grant"
    redirectable = False


class UnauthorizedClient(ProviderError):
    error = "unauthorized_client"


class UnsupportedGrantType(ProviderError):
    error = "unsupported_grant_type"
    redirectable = False


class UnsupportedResponseType(ProviderError):
    error = "unsupported_response_type"


class InvalidScope(ProviderError):
    error = "invalid_scope"


class AccessDenied(ProviderError):
    error = "access_denied"


class LoginRequired(ProviderError):
    error = "login_required"


class InteractionRequired(ProviderError):
    error = "interaction_required"


class ConsentRequired(ProviderError):
    error = "consent_required"


class UnmetAuthenticationRequirements(ProviderError):
    error = "unmet_authentication_requirements"


class InvalidRequestUri(ProviderError):
    error = "invalid_request_uri"


class InvalidRequestObject(ProviderError):
    """RFC 9101 §6.2 / OIDC Core §6.1: the ``request`` parameter holds an invalid Request
    Object (signature, algorithm, type, issuer, audience, lifetime, replay)."""

    error = "invalid_request_object"


class InvalidAuthorizationDetails(ProviderError):
    error = "invalid_authorization_details"

    @classmethod
    def from_rar(cls, exc: Any) -> InvalidAuthorizationDetails:
        """The RFC 9396 §5 error for a :mod:`stepauth.rar` validation failure, described by
        its entry and reason only: the registry's own message may quote the request."""
        index = getattr(exc, "index", None)
        reason = str(getattr(exc, "reason", "") or "invalid_value")
        where = "authorization_details" if index is None else f"authorization_details[{index}]"
        return cls(f"{where} is invalid ({reason})")


class InvalidTarget(ProviderError):
    """RFC 8707 §2: the requested resource is invalid, unknown or not allowed."""

    error = "invalid_target"


class InvalidDPoPProof(ProviderError):
    """RFC 9449 §5: the DPoP proof is missing, malformed or does not hold."""

    error = "invalid_dpop_proof"
    redirectable = False


class UseDPoPNonce(ProviderError):
    """RFC 9449 §8: the proof must carry a nonce the server issued (sent in ``DPoP-Nonce``)."""

    error = "use_dpop_nonce"
    redirectable = False


class InvalidToken(ProviderError):
    error = "invalid_token"
    status = 401
    redirectable = False


class InsufficientScope(ProviderError):
    error = "insufficient_scope"
    status = 403
    redirectable = False


class ServerError(ProviderError):
    error = "server_error"
    status = 500


class TemporarilyUnavailable(ServerError):
    """RFC 6749 §4.1.2.1 ``temporarily_unavailable``: the store cannot answer now."""

    error = "temporarily_unavailable"
    status = 503
    redirectable = False

    def __init__(self, description: str = "try again shortly") -> None:
        super().__init__(description, headers={"Retry-After": str(RETRY_AFTER)})
