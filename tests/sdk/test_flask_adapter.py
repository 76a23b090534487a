"""Flask adapter: the example app against node's oidc-provider (browser and API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from examples.flask_app import create_app

from stepauth.sdk.errors import SDKError
from stepauth.sdk.sql_ledger import SyncSQLLedger
from tests.sdk.adapter_flow import IBAN, STEP_UP_CHALLENGE, weak_access_token
from tests.sdk.adapter_flow import ua as ua  # the browser fixture
from tests.sdk.browser_flow import authorize_params, confirm_fields, essential_acr, through_op
from tests.sdk.conftest import OP, op_rp

pytestmark = pytest.mark.node

CALLBACK = "http://localhost/stepauth/callback"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SyncSQLLedger]:
    """The txn ledger of the app's API calls (a bound route with an API needs one)."""
    ledger = SyncSQLLedger.from_url(f"sqlite:///{tmp_path / 'txn.db'}")
    ledger.create_schema()
    yield ledger
    ledger.close()


def make_client(op: OP, ledger: SyncSQLLedger, acr_mode: str = "claims") -> Any:
    rp = op_rp(op, redirect_uri=CALLBACK, acr_mode=acr_mode)
    app = create_app(rp, secret_key="test-" * 8, api_audience=f"{op.issuer}/api", txn_ledger=ledger)
    return app.test_client()


def test_bound_example_with_an_api_needs_a_txn_ledger(node_op: OP) -> None:
    """A bound /pay that API calls reach is refused at configuration time without a ledger."""
    rp = op_rp(node_op, redirect_uri=CALLBACK)
    with pytest.raises(SDKError, match="txn_ledger"):
        create_app(rp, secret_key="test-" * 8, api_audience=f"{node_op.issuer}/api")


def back(client: Any, ua: httpx.Client, location: str) -> Any:
    return client.get("/stepauth/callback", query_string=through_op(ua, location, CALLBACK))


def sign_in_low(client: Any, ua: httpx.Client) -> None:
    response = client.get("/login")
    assert response.status_code == 303
    callback = back(client, ua, response.headers["Location"])
    assert callback.status_code == 303
    assert callback.headers["Location"] == "/login"
    assert client.get("/login").get_json()["acr"] == "urn:stepauth:acr:1fa"


def test_post_is_stepped_up_and_resumed_after_confirmation(
    node_op: OP, ua: httpx.Client, ledger: SyncSQLLedger
) -> None:
    client = make_client(node_op, ledger)
    sign_in_low(client, ua)
    response = client.post("/transfer", data={"amount": "250", "iban": IBAN})
    assert response.status_code == 303
    params = authorize_params(response.headers["Location"])
    assert essential_acr(params) == {"essential": True, "values": ["phr"]}
    assert params["max_age"] == "300"
    assert "id_token_hint" in params
    assert params["redirect_uri"] == CALLBACK
    page = back(client, ua, response.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Sent" not in text
    fields = confirm_fields(text)
    assert fields == {"amount": "250", "iban": IBAN}
    done = client.post("/transfer", data=fields)
    assert f"Sent 250 EUR to {IBAN} (phr)" in done.get_data(as_text=True)


def test_voluntary_lower_acr_is_refused_without_a_loop(
    node_op: OP, ua: httpx.Client, ledger: SyncSQLLedger
) -> None:
    client = make_client(node_op, ledger, acr_mode="acr_values")
    sign_in_low(client, ua)
    response = client.post("/transfer", data={"amount": "250", "iban": IBAN})
    outcome = back(client, ua, response.headers["Location"])
    assert outcome.status_code == 403
    assert "insufficient_user_authentication" in outcome.get_data(as_text=True)
    assert "Location" not in outcome.headers


def test_replayed_callback_is_refused(node_op: OP, ua: httpx.Client, ledger: SyncSQLLedger) -> None:
    client = make_client(node_op, ledger)
    response = client.get("/login")
    params = through_op(ua, response.headers["Location"], CALLBACK)
    assert client.get("/stepauth/callback", query_string=params).status_code == 303
    assert client.get("/stepauth/callback", query_string=params).status_code == 400


def test_api_route_answers_the_exact_rfc9470_challenge(
    node_op: OP, ua: httpx.Client, ledger: SyncSQLLedger
) -> None:
    client = make_client(node_op, ledger)
    weak = weak_access_token(node_op, ua)
    response = client.get("/api/balance", headers={"Authorization": f"Bearer {weak}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == STEP_UP_CHALLENGE
    assert (
        client.get("/api/balance", headers={"Authorization": "Bearer x.y.z"}).headers[
            "WWW-Authenticate"
        ]
        == 'Bearer error="invalid_token"'
    )


def test_bound_payment_is_approved_once(
    node_op: OP, ua: httpx.Client, ledger: SyncSQLLedger
) -> None:
    """RFC 9396 binding in Flask: exactly that payment, once."""
    client = make_client(node_op, ledger)
    sign_in_low(client, ua)
    payment = {"amount": "80.00", "iban": IBAN, "creditor": "Merchant B"}
    response = client.post("/pay", data=payment)
    assert response.status_code == 303
    assert "authorization_details" in authorize_params(response.headers["Location"])
    page = back(client, ua, response.headers["Location"])
    fields = confirm_fields(page.get_data(as_text=True))
    assert client.post("/pay", data={**fields, "creditor": "Mallory"}).status_code == 303
    done = client.post("/pay", data=fields)
    assert "Paid 80.00 EUR to Merchant B" in done.get_data(as_text=True)
    assert client.post("/pay", data=fields).status_code == 303
