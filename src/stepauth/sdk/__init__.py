"""stepauth.sdk: per-action step-up for web apps and APIs.

The core has no I/O (:mod:`.jose`, :mod:`.validate`, :mod:`.authorize`, :mod:`.callback`,
:mod:`.profiles`, :mod:`.api`, :mod:`.browser`); network exchanges are generator flows run
by a sync or an async httpx client (:mod:`.jwks`, :mod:`.rp`, :mod:`.httpx_auth`). The
framework adapters live in :mod:`.starlette`, :mod:`.flask` and :mod:`.django` and are
imported only by apps that use them.
"""

from stepauth.assurance import Requirement, Satisfied, StepUp, evaluate
from stepauth.sdk.api import ResourceServer, challenge_for, error_response
from stepauth.sdk.authorize import (
    AuthorizationRequest,
    build_authorization_request,
    code_challenge_s256,
    par_body,
    par_redirect_url,
)
from stepauth.sdk.binding import Binding, BindingNotGranted, MemoryGrantStore
from stepauth.sdk.browser import BrowserStepUp, Resume
from stepauth.sdk.callback import AuthorizationResponse, handle_callback
from stepauth.sdk.errors import (
    AccessDenied,
    AuthorizationFailed,
    CallbackError,
    InsufficientAuthentication,
    InteractionRequired,
    InvalidToken,
    IssuerMismatch,
    LoginRequired,
    SDKError,
    StateMismatch,
    UnmetAuthenticationRequirements,
)
from stepauth.sdk.httpx_auth import StepUpAuth
from stepauth.sdk.jose import KeySet, PublicKey
from stepauth.sdk.jwks import JWKSCache
from stepauth.sdk.pending import MemoryPendingStore, PendingAction, PendingStore
from stepauth.sdk.profiles import STEPAUTH, Profile, auth0, entra_id, generic_oidc, keycloak, okta
from stepauth.sdk.redis_stores import RedisGrantStore, RedisPendingStore
from stepauth.sdk.rp import ProviderMetadata, RelyingParty, Tokens
from stepauth.sdk.transaction import (
    BoundTransaction,
    SyncTransactionGuard,
    SyncTxnLedger,
    TransactionError,
    TransactionGuard,
    TransactionMismatch,
    TransactionMissing,
    TransactionReplayed,
    TxnLedger,
    check_transaction,
    require_transaction,
    require_transaction_sync,
)
from stepauth.sdk.txn_ledger import (
    RedisTxnLedger,
    SQLTxnLedger,
    SyncRedisTxnLedger,
    SyncSQLTxnLedger,
)
from stepauth.sdk.validate import check_requirement, validate_access_token, validate_id_token

__all__ = [
    "STEPAUTH",
    "AccessDenied",
    "AuthorizationFailed",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "Binding",
    "BindingNotGranted",
    "BoundTransaction",
    "BrowserStepUp",
    "CallbackError",
    "InsufficientAuthentication",
    "InteractionRequired",
    "InvalidToken",
    "IssuerMismatch",
    "JWKSCache",
    "KeySet",
    "LoginRequired",
    "MemoryGrantStore",
    "MemoryPendingStore",
    "PendingAction",
    "PendingStore",
    "Profile",
    "ProviderMetadata",
    "PublicKey",
    "RedisGrantStore",
    "RedisPendingStore",
    "RedisTxnLedger",
    "RelyingParty",
    "Requirement",
    "ResourceServer",
    "Resume",
    "SDKError",
    "SQLTxnLedger",
    "Satisfied",
    "StateMismatch",
    "StepUp",
    "StepUpAuth",
    "SyncRedisTxnLedger",
    "SyncSQLTxnLedger",
    "SyncTransactionGuard",
    "SyncTxnLedger",
    "Tokens",
    "TransactionError",
    "TransactionGuard",
    "TransactionMismatch",
    "TransactionMissing",
    "TransactionReplayed",
    "TxnLedger",
    "UnmetAuthenticationRequirements",
    "auth0",
    "build_authorization_request",
    "challenge_for",
    "check_requirement",
    "check_transaction",
    "code_challenge_s256",
    "entra_id",
    "error_response",
    "evaluate",
    "generic_oidc",
    "handle_callback",
    "keycloak",
    "okta",
    "par_body",
    "par_redirect_url",
    "require_transaction",
    "require_transaction_sync",
    "validate_access_token",
    "validate_id_token",
]
