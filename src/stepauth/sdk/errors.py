"""Errors of the SDK: one class per failed validation step, one per callback outcome.

::

    SDKError(StepAuthError)                 error="sdk_error"
    ├── InvalidToken                        error="invalid_token" (RFC 6750 §3.1)
    │   ├── MalformedToken                  not a compact JWS / bad JSON / bad base64url
    │   ├── InvalidIssuer                   §3.1.3.7 step 2
    │   ├── InvalidAudience                 step 3 (missing, wrong, untrusted extra audience)
    │   ├── ClientNotAllowed                an access token's client_id is not an allowed one
    │   ├── InvalidAuthorizedParty          steps 4-5 (azp)
    │   ├── DisallowedAlgorithm             step 7 (none, HS* with a key set, not allowed)
    │   ├── KeyNotFound                     no key in the JWKS for the kid / alg
    │   ├── InvalidSignature                step 6
    │   ├── TokenExpired                    step 9
    │   ├── InvalidIssuedAt                 step 10
    │   ├── InvalidNonce                    step 11
    │   ├── MissingClaim                    a REQUIRED claim is absent (sub, iat, exp, ...)
    │   ├── InvalidTokenType                RFC 9068 §4 typ is not at+jwt
    │   └── InvalidKeyBinding               RFC 9449 §7.1-7.2: cnf.jkt is not the proof's
    │                                       key, a DPoP-bound token sent as Bearer, or a
    │                                       bearer token where DPoP is required
    ├── InvalidDPoPProof                    error="invalid_dpop_proof" (RFC 9449 §4.3, §7.1)
    │   └── UseDPoPNonce                    error="use_dpop_nonce" (RFC 9449 §9, carries nonce)
    ├── InsufficientAuthentication          steps 12-13: acr / auth_time fall short (carries StepUp)
    ├── InvalidAuthorizationRequest     the request the RP was asked to build is unsafe
    ├── JWKSError                           the key set cannot be fetched or parsed
    ├── AuthorizationFailed                 the OP answered the redirect with an error
    │   ├── UnmetAuthenticationRequirements the OP cannot reach the acr (never retried)
    │   ├── LoginRequired                   prompt=none and no session
    │   ├── InteractionRequired             prompt=none and UI needed
    │   └── AccessDenied                    the user or the OP refused
    ├── CallbackError                       the redirect itself is wrong
    │   ├── StateMismatch                   CSRF / mix-up: state absent or different
    │   └── IssuerMismatch                  RFC 9207 iss absent or different
    └── TransactionError                    a bound action must not run (RFC 9396 §9)
        ├── TransactionMissing              the token is not transaction-bound
        ├── TransactionMismatch             the action differs from the approved details
        ├── TransactionUnavailable          no ledger can record the txn here
        └── TransactionReplayed             the txn was used before
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stepauth.errors import StepAuthError

if TYPE_CHECKING:
    from stepauth.assurance import StepUp
    from stepauth.rar import RARError

__all__ = [
    "AccessDenied",
    "AuthorizationFailed",
    "CallbackError",
    "ClientNotAllowed",
    "DisallowedAlgorithm",
    "InsufficientAuthentication",
    "InteractionRequired",
    "InvalidAudience",
    "InvalidAuthorizationRequest",
    "InvalidAuthorizedParty",
    "InvalidDPoPProof",
    "InvalidIssuedAt",
    "InvalidIssuer",
    "InvalidKeyBinding",
    "InvalidNonce",
    "InvalidSignature",
    "InvalidToken",
    "InvalidTokenType",
    "IssuerMismatch",
    "JWKSError",
    "KeyNotFound",
    "LoginRequired",
    "MalformedToken",
    "MissingClaim",
    "SDKError",
    "StateMismatch",
    "TokenExpired",
    "TransactionError",
    "TransactionMismatch",
    "TransactionMissing",
    "TransactionReplayed",
    "TransactionUnavailable",
    "UnmetAuthenticationRequirements",
    "UseDPoPNonce",
]


class SDKError(StepAuthError):
    """Root of the SDK errors."""

    error = "sdk_error"


class InvalidToken(SDKError):
    """The token is not acceptable (RFC 6750 ``invalid_token``)."""

    error = "invalid_token"


class MalformedToken(InvalidToken):
    """Not a well-formed compact JWS with JSON header and claims."""


class InvalidIssuer(InvalidToken):
    """``iss`` does not exactly match the expected issuer (Core §3.1.3.7 step 2)."""


class InvalidAudience(InvalidToken):
    """``aud`` lacks the client / resource or names an untrusted audience (step 3)."""


class ClientNotAllowed(InvalidToken):
    """An access token's ``client_id`` (RFC 9068 §2.2) is not one the API accepts."""


class InvalidAuthorizedParty(InvalidToken):
    """``azp`` is wrong or missing with several audiences (steps 4-5)."""


class DisallowedAlgorithm(InvalidToken):
    """The JWS ``alg`` is not allowed for this key or client (step 7, RFC 8725 §3.1)."""


class KeyNotFound(InvalidToken):
    """No key of the key set matches the token's ``kid`` and ``alg``."""


class InvalidSignature(InvalidToken):
    """The JWS signature does not verify (step 6)."""


class TokenExpired(InvalidToken):
    """``exp`` is in the past (step 9)."""


class InvalidIssuedAt(InvalidToken):
    """``iat`` is outside the accepted window (step 10)."""


class InvalidNonce(InvalidToken):
    """``nonce`` is absent or differs from the one sent (step 11)."""


class MissingClaim(InvalidToken):
    """A required claim is absent or of the wrong type."""


class InvalidTokenType(InvalidToken):
    """The JOSE ``typ`` is not ``at+jwt`` (RFC 9068 §4)."""


class InvalidKeyBinding(InvalidToken):
    """The token's sender constraint does not hold (RFC 9449 §7.1, §7.2): its ``cnf.jkt``
    names another key than the DPoP proof's, a DPoP-bound token came as ``Bearer``, or a
    bearer token came where only DPoP-bound ones are accepted."""


class InvalidDPoPProof(SDKError):
    """The ``DPoP`` header is missing, repeated or fails a check of RFC 9449 §4.3."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(InvalidDPoPProof):
    """The server requires a nonce it issued in the proof (RFC 9449 §9); ``nonce`` is the
    one to use, sent back in the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, *, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce


class InsufficientAuthentication(SDKError):
    """``acr`` or ``auth_time`` do not meet the requirement (steps 12-13, RFC 9470)."""

    error = "insufficient_user_authentication"

    def __init__(self, description: str, *, step_up: StepUp) -> None:
        super().__init__(description)
        self.step_up = step_up


class InvalidAuthorizationRequest(SDKError):
    """An authorization request combining parameters that must not go together.

    ``acr_values`` with an essential ``acr`` (OIDC Core §5.5.1.1), or ``max_age=0`` with
    ``prompt=none`` (the OpenID conformance suite's ``DisallowMaxAgeEqualsZeroAndPromptNone``).
    """

    error = "invalid_request"


class JWKSError(SDKError):
    """The JWK Set cannot be fetched or contains no usable key."""

    error = "jwks_error"


class AuthorizationFailed(SDKError):
    """The OP answered the authorization request with an error (Core §3.1.2.6)."""

    error = "authorization_failed"

    def __init__(self, description: str = "", *, error: str | None = None) -> None:
        super().__init__(description, error=error)


class UnmetAuthenticationRequirements(AuthorizationFailed):
    """The OP cannot meet the acr: show a message, never send the user round again."""

    error = "unmet_authentication_requirements"


class LoginRequired(AuthorizationFailed):
    """``prompt=none`` found no session: an interactive request is needed."""

    error = "login_required"


class InteractionRequired(AuthorizationFailed):
    """``prompt=none`` could not finish without UI."""

    error = "interaction_required"


class AccessDenied(AuthorizationFailed):
    """The user or the OP refused the request."""

    error = "access_denied"


class CallbackError(SDKError):
    """The redirect back to the client is not trustworthy."""

    error = "invalid_callback"


class StateMismatch(CallbackError):
    """``state`` is absent or does not match the one this browser was given."""


class IssuerMismatch(CallbackError):
    """RFC 9207 ``iss`` is absent or names another issuer (mix-up attack)."""


class TransactionError(SDKError):
    """Root of the transaction-binding failures: the action must not run."""

    error = "transaction_error"


class TransactionMissing(TransactionError):
    """The token carries no granted ``authorization_details`` or no ``txn``: not bound."""

    error = "transaction_missing"


class TransactionMismatch(TransactionError):
    """The action differs from the granted ``authorization_details`` (PSD2 RTS Art. 5(1)(d)).

    ``reason`` is the :class:`~stepauth.rar.DetailsMismatch` (or, for a grant the registry
    cannot read, the :class:`~stepauth.rar.InvalidAuthorizationDetails`); ``index`` and
    ``path`` name the first difference.
    """

    error = "transaction_mismatch"

    def __init__(self, description: str, *, reason: RARError) -> None:
        super().__init__(description)
        self.reason = reason
        self.index: int | None = getattr(reason, "index", None)
        self.path: str = getattr(reason, "path", "")


class TransactionUnavailable(TransactionError):
    """No ledger can record the ``txn`` here (none configured, or an async one under sync
    code): the action must not run, since its single use could not be enforced."""

    error = "transaction_unavailable"


class TransactionReplayed(TransactionError):
    """The token's ``txn`` has been used before: one approval executes one action."""

    error = "transaction_replayed"

    def __init__(self, description: str, *, txn: str) -> None:
        super().__init__(description)
        self.txn = txn
