"""Shared set-up of the examples: discover the OP named in the environment.

STEPAUTH_ISSUER         the OP, e.g. http://127.0.0.1:8000 (stepauth) or any OIDC OP
STEPAUTH_CLIENT_ID      this app's client_id
STEPAUTH_CLIENT_SECRET  its secret (client_secret_basic)
STEPAUTH_REDIRECT_URI   e.g. http://127.0.0.1:5000/stepauth/callback
STEPAUTH_ACR_MODE       "claims" (essential acr, default) or "acr_values"
"""

from __future__ import annotations

import os

import httpx

from stepauth.sdk import ProviderMetadata, RelyingParty


def rp_from_env() -> RelyingParty:
    issuer = os.environ["STEPAUTH_ISSUER"]
    with httpx.Client() as client:
        metadata = ProviderMetadata.discover(issuer, client)
    mode = os.environ.get("STEPAUTH_ACR_MODE", "claims")
    return RelyingParty(
        metadata,
        client_id=os.environ["STEPAUTH_CLIENT_ID"],
        client_secret=os.environ.get("STEPAUTH_CLIENT_SECRET"),
        redirect_uri=os.environ["STEPAUTH_REDIRECT_URI"],
        acr_mode="acr_values" if mode == "acr_values" else "claims",
    )
