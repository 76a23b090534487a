"""A Flask app whose wire transfer needs a fresh phishing-resistant sign-in.

    STEPAUTH_ISSUER=... STEPAUTH_CLIENT_ID=... STEPAUTH_CLIENT_SECRET=... \
    STEPAUTH_REDIRECT_URI=http://127.0.0.1:5000/stepauth/callback \
    python -m examples.flask_app
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Collection
from typing import Any

import flask
from examples._payment import payment
from markupsafe import escape

from stepauth.sdk import BrowserStepUp, JWKSCache, RelyingParty, ResourceServer
from stepauth.sdk.binding import Binding
from stepauth.sdk.flask import FlaskStepAuth
from stepauth.sdk.ledger import SyncLedger


def create_app(
    rp: RelyingParty,
    *,
    secret_key: str,
    api_audience: str | None = None,
    api_clients: Collection[str] | None = None,
    txn_ledger: SyncLedger | None = None,
    transfer_acr: str = "phr",
) -> flask.Flask:
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
    stepauth = FlaskStepAuth(
        browser=BrowserStepUp(rp), resource_server=resource_server, txn_ledger=txn_ledger
    )
    app = flask.Flask(__name__)
    app.secret_key = secret_key
    app.register_blueprint(stepauth.blueprint())

    @app.get("/login")
    @stepauth.require("urn:stepauth:acr:1fa")
    def login() -> dict[str, Any]:
        claims = flask.g.stepauth_claims
        return {"signed_in": claims["sub"], "acr": claims["acr"]}

    @app.get("/transfer")
    def transfer_form() -> str:
        return (
            '<form method="post" action="/transfer"><input name="amount" value="100">'
            '<input name="iban" value="DE89370400440532013000"><button>Send</button></form>'
        )

    @app.post("/transfer")
    @stepauth.require(transfer_acr, max_age=300)
    def transfer() -> str:
        form = flask.request.form
        acr = flask.g.stepauth_claims["acr"]
        return f"<p>Sent {escape(form['amount'])} EUR to {escape(form['iban'])} ({acr})</p>"

    @app.post("/pay")
    @stepauth.require("phr", max_age=300, bind=Binding(payment))
    def pay() -> str:
        # Bound: this exact payment was approved at the OP, and the approval is now used up.
        form = flask.request.form
        return f"<p>Paid {escape(form['amount'])} EUR to {escape(form['creditor'])}</p>"

    @app.get("/api/balance")
    @stepauth.require("phr", max_age=300)
    def balance() -> dict[str, Any]:
        return {"sub": flask.g.stepauth_claims["sub"], "balance": "1250.00"}

    return app


if __name__ == "__main__":
    from examples._config import api_clients_from_env, rp_from_env, sync_ledger_from_env

    application = create_app(
        rp_from_env(),
        secret_key=secrets.token_hex(32),
        api_audience=os.environ.get("STEPAUTH_API_AUDIENCE"),
        api_clients=api_clients_from_env(),
        txn_ledger=sync_ledger_from_env(),
    )
    application.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
