"""A FastAPI app whose wire transfer needs a fresh phishing-resistant sign-in.

    STEPAUTH_ISSUER=... STEPAUTH_CLIENT_ID=... STEPAUTH_CLIENT_SECRET=... \
    STEPAUTH_REDIRECT_URI=http://127.0.0.1:5000/stepauth/callback \
    python -m examples.fastapi_app

``GET /login`` signs in with any factor; ``POST /transfer`` needs ``phr`` within 5 minutes:
a weaker or older session is sent to the OP and, once back, asked to confirm the transfer.
``POST /pay`` is transaction-bound (RFC 9396): the OP approves that payment, once.
``GET /api/balance`` is an API route: a bearer token without ``phr`` gets the RFC 9470 401.
"""

from __future__ import annotations

import html
import os
import secrets
from collections.abc import Collection
from typing import Annotated, Any

from examples._payment import payment
from fastapi import Depends, FastAPI, Form
from fastapi.responses import HTMLResponse
from starlette.middleware.sessions import SessionMiddleware

from stepauth.sdk import BrowserStepUp, JWKSCache, RelyingParty, ResourceServer
from stepauth.sdk.binding import Binding
from stepauth.sdk.ledger import Ledger
from stepauth.sdk.starlette import StepAuth, require

Claims = dict[str, Any]


def create_app(
    rp: RelyingParty,
    *,
    secret_key: str,
    api_audience: str | None = None,
    api_clients: Collection[str] | None = None,
    txn_ledger: Ledger | None = None,
    transfer_acr: str = "phr",
) -> FastAPI:
    """``transfer_acr``: the level a transfer needs (``phr`` unless the IdP offers less);
    ``txn_ledger`` records the bound payments API calls run (needed with ``api_audience``)."""
    resource_server = None
    if api_audience is not None:
        # The API accepts tokens for its own resource (aud, RFC 8707) issued to the clients
        # it serves (client_id, RFC 9068 §2.2): by default this app only.
        resource_server = ResourceServer(
            issuer=rp.metadata.issuer,
            audience=api_audience,
            jwks=JWKSCache(rp.metadata.jwks_uri),
            allowed_clients=api_clients if api_clients is not None else (rp.client_id,),
        )
    stepauth = StepAuth(
        browser=BrowserStepUp(rp), resource_server=resource_server, txn_ledger=txn_ledger
    )
    app = FastAPI()
    app.add_middleware(SessionMiddleware, secret_key=secret_key, same_site="lax")
    app.state.stepauth = stepauth
    app.router.routes.extend(stepauth.routes())

    @app.get("/login")
    def login(claims: Annotated[Claims, Depends(require("urn:stepauth:acr:1fa"))]) -> Claims:
        return {"signed_in": claims["sub"], "acr": claims["acr"]}

    @app.get("/transfer", response_class=HTMLResponse)
    def transfer_form() -> str:
        return (
            '<form method="post" action="/transfer"><input name="amount" value="100">'
            '<input name="iban" value="DE89370400440532013000"><button>Send</button></form>'
        )

    # Annotations are strings here (PEP 563): a dependency built from a local goes in a default.
    transfer_guard = Depends(require(transfer_acr, max_age=300))

    @app.post("/transfer", response_class=HTMLResponse)
    def transfer(
        amount: Annotated[str, Form()],
        iban: Annotated[str, Form()],
        claims: Claims = transfer_guard,
    ) -> str:
        return f"<p>Sent {html.escape(amount)} EUR to {html.escape(iban)} ({claims['acr']})</p>"

    @app.post("/pay", response_class=HTMLResponse)
    def pay(
        amount: Annotated[str, Form()],
        iban: Annotated[str, Form()],
        creditor: Annotated[str, Form()],
        claims: Annotated[Claims, Depends(require("phr", max_age=300, bind=Binding(payment)))],
    ) -> str:
        # Bound: this exact payment was approved at the OP, and the approval is now used up.
        return f"<p>Paid {html.escape(amount)} EUR to {html.escape(creditor)}</p>"

    @app.get("/api/balance")
    def balance(claims: Annotated[Claims, Depends(require("phr", max_age=300))]) -> Claims:
        return {"sub": claims["sub"], "balance": "1250.00"}

    return app


if __name__ == "__main__":
    import asyncio

    import uvicorn
    from examples._config import api_clients_from_env, ledger_from_env, rp_from_env

    port = int(os.environ.get("PORT", "5000"))
    app = create_app(
        rp_from_env(),
        secret_key=secrets.token_hex(32),
        api_audience=os.environ.get("STEPAUTH_API_AUDIENCE"),
        api_clients=api_clients_from_env(),
        txn_ledger=asyncio.run(ledger_from_env()),
    )
    uvicorn.run(app, host="127.0.0.1", port=port)
