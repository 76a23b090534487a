"""Shared set-up of the examples: discover the OP named in the environment.

STEPAUTH_ISSUER         the OP, e.g. http://127.0.0.1:8000 (stepauth) or any OIDC OP
STEPAUTH_CLIENT_ID      this app's client_id
STEPAUTH_CLIENT_SECRET  its secret (client_secret_basic)
STEPAUTH_REDIRECT_URI   e.g. http://127.0.0.1:5000/stepauth/callback
STEPAUTH_ACR_MODE       "claims" (essential acr, default) or "acr_values"
STEPAUTH_API_AUDIENCE   the API's own resource URI (RFC 8707): the aud its tokens must carry
STEPAUTH_API_CLIENTS    comma-separated client_ids whose tokens the API accepts (default:
                        this app's client_id only)
STEPAUTH_TXN_LEDGER     where API calls' used txn ids are kept (bound payments), a SQLAlchemy
                        URL, default sqlite:///stepauth-txn.db
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import httpx

from stepauth.sdk import ProviderMetadata, RelyingParty

if TYPE_CHECKING:  # the ledgers need the `sql` extra: imported only by the apps that use them
    from stepauth.sdk.sql_ledger import SQLLedger, SyncSQLLedger

_LEDGER_URL = "sqlite:///stepauth-txn.db"


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


def api_clients_from_env() -> tuple[str, ...] | None:
    """The client_ids an example's API accepts, or ``None`` for the app's own only."""
    raw = os.environ.get("STEPAUTH_API_CLIENTS")
    if raw is None:
        return None
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def sync_ledger_from_env() -> SyncSQLLedger:
    """The txn ledger of a sync app (Flask, Django), its table created."""
    from stepauth.sdk.sql_ledger import SyncSQLLedger

    ledger = SyncSQLLedger.from_url(os.environ.get("STEPAUTH_TXN_LEDGER", _LEDGER_URL))
    ledger.create_schema()
    return ledger


async def ledger_from_env() -> SQLLedger:
    """The txn ledger of an async app (FastAPI), its table created."""
    from stepauth.sdk.sql_ledger import SQLLedger

    url = os.environ.get("STEPAUTH_TXN_LEDGER", _LEDGER_URL).replace(
        "sqlite://", "sqlite+aiosqlite://", 1
    )
    ledger = SQLLedger.from_url(url)
    await ledger.create_schema()
    return ledger
