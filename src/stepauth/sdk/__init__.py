"""stepauth.sdk: per-action step-up for web apps and APIs.

The common path, importable from here::

    from stepauth.sdk import RelyingParty, ProviderMetadata, ResourceServer, JWKSCache
    from stepauth.sdk import BrowserStepUp, StepUpAuth, Binding, Requirement
    from stepauth.sdk import DPoPSigner, DPoPChecker, DPoPNonces     # RFC 9449

The core has no I/O (:mod:`.jose`, :mod:`.validate`, :mod:`.authorize`, :mod:`.callback`,
:mod:`.profiles`, :mod:`.api`, :mod:`.browser`); network exchanges are generator flows run
by a sync or an async httpx client (:mod:`.jwks`, :mod:`.rp`, :mod:`.httpx_auth`).
Everything that needs more than the base install lives in a submodule, imported only by
the apps that use it: the framework adapters (:mod:`.starlette`, :mod:`.flask`,
:mod:`.django`), the shared stores (:mod:`.redis_stores`), the consume-once ledgers
(:mod:`.ledger`) and transaction-bound resource servers (:mod:`.transaction`). Importing
this package loads none of them (and never :mod:`stepauth.provider`).
"""

from stepauth.assurance import Requirement
from stepauth.sdk.access_token import validate_access_token
from stepauth.sdk.api import ResourceServer, error_response
from stepauth.sdk.binding import Binding
from stepauth.sdk.browser import BrowserStepUp
from stepauth.sdk.dpop import DPoPKey, DPoPSigner, ECDPoPKey
from stepauth.sdk.dpop_check import DPoPChecker, DPoPNonces
from stepauth.sdk.errors import InsufficientAuthentication, InvalidToken, SDKError
from stepauth.sdk.httpx_auth import StepUpAuth
from stepauth.sdk.jwks import JWKSCache
from stepauth.sdk.rp import ProviderMetadata, RelyingParty, Tokens

__all__ = [
    "Binding",
    "BrowserStepUp",
    "DPoPChecker",
    "DPoPKey",
    "DPoPNonces",
    "DPoPSigner",
    "ECDPoPKey",
    "InsufficientAuthentication",
    "InvalidToken",
    "JWKSCache",
    "ProviderMetadata",
    "RelyingParty",
    "Requirement",
    "ResourceServer",
    "SDKError",
    "StepUpAuth",
    "Tokens",
    "error_response",
    "validate_access_token",
]
