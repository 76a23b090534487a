"""FastAPI / Starlette adapter: the example app against node's oidc-provider.

Browser: an insufficient session is redirected to the OP with the right parameters, comes
back through the callback, and a POST is resumed only through a confirmation page. API: 401
with the exact RFC 9470 header; the stepped-up token passes; the old one still fails.
"""

from __future__ import annotations

import json

import httpx
import pytest
from examples.fastapi_app import create_app
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from stepauth.assurance import Requirement
from stepauth.sdk import BrowserStepUp
from stepauth.sdk.starlette import StepAuth, StepUpMiddleware
from tests.sdk.adapter_flow import IBAN, STEP_UP_CHALLENGE, weak_access_token
from tests.sdk.adapter_flow import ua as ua  # the browser fixture
from tests.sdk.browser_flow import authorize_params, confirm_fields, essential_acr, through_op
from tests.sdk.conftest import OP, op_rp

pytestmark = pytest.mark.node

CALLBACK = "http://testserver/stepauth/callback"


def make_client(op: OP, acr_mode: str = "claims") -> TestClient:
    rp = op_rp(op, redirect_uri=CALLBACK, acr_mode=acr_mode)
    app = create_app(rp, secret_key="test-" * 8, api_audience=f"{op.issuer}/api")
    return TestClient(app, follow_redirects=False)


def sign_in_low(client: TestClient, ua: httpx.Client) -> None:
    response = client.get("/login")
    assert response.status_code == 303
    callback = client.get(
        "/stepauth/callback", params=through_op(ua, response.headers["location"], CALLBACK)
    )
    assert callback.status_code == 303
    assert callback.headers["location"] == "/login"
    assert client.get("/login").json()["acr"] == "urn:stepauth:acr:1fa"


def test_post_is_stepped_up_and_resumed_after_confirmation(node_op: OP, ua: httpx.Client) -> None:
    client = make_client(node_op)
    sign_in_low(client, ua)
    response = client.post("/transfer", data={"amount": "250", "iban": IBAN})
    assert response.status_code == 303
    params = authorize_params(response.headers["location"])
    assert essential_acr(params) == {"essential": True, "values": ["phr"]}
    assert "acr_values" not in params  # OIDC Core §5.5.1.1
    assert params["max_age"] == "300"
    assert (
        params["id_token_hint"].count(".") == 2
    )  # same subject (OIDC Core §3.1.2.1 (id_token_hint))
    assert params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == CALLBACK
    assert params["state"]
    assert params["nonce"]

    page = client.get(
        "/stepauth/callback", params=through_op(ua, response.headers["location"], CALLBACK)
    )
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Sent" not in page.text  # the POST was not replayed
    fields = confirm_fields(page.text)
    assert fields == {"amount": "250", "iban": IBAN}

    done = client.post("/transfer", data=fields)
    assert done.status_code == 200
    assert f"Sent 250 EUR to {IBAN} (phr)" in done.text


def test_get_is_resumed_by_redirect(node_op: OP, ua: httpx.Client) -> None:
    client = make_client(node_op)
    response = client.get("/login?next=1")
    callback = client.get(
        "/stepauth/callback", params=through_op(ua, response.headers["location"], CALLBACK)
    )
    assert callback.status_code == 303
    assert callback.headers["location"] == "/login?next=1"


def test_replayed_callback_is_refused(node_op: OP, ua: httpx.Client) -> None:
    client = make_client(node_op)
    response = client.get("/login")
    params = through_op(ua, response.headers["location"], CALLBACK)
    assert client.get("/stepauth/callback", params=params).status_code == 303
    replay = client.get("/stepauth/callback", params=params)
    assert replay.status_code == 400


def test_callback_from_another_browser_is_refused(node_op: OP, ua: httpx.Client) -> None:
    """Login CSRF: a state started by the attacker's browser fails in the victim's."""
    attacker = make_client(node_op)
    response = attacker.get("/login")
    params = through_op(ua, response.headers["location"], CALLBACK)
    victim = TestClient(attacker.app, follow_redirects=False)
    assert victim.get("/stepauth/callback", params=params).status_code == 400


def test_voluntary_lower_acr_is_refused_without_a_loop(node_op: OP, ua: httpx.Client) -> None:
    """OIDC Core §5.5.1.1, §3.1.3.7 step 12; RFC 9470 §5 in a browser: the OP answers acr_values=phr
    with 1fa; the app says no, once.
    """
    client = make_client(node_op, acr_mode="acr_values")
    sign_in_low(client, ua)
    response = client.post("/transfer", data={"amount": "250", "iban": IBAN})
    assert authorize_params(response.headers["location"])["acr_values"] == "phr"
    outcome = client.get(
        "/stepauth/callback", params=through_op(ua, response.headers["location"], CALLBACK)
    )
    assert outcome.status_code == 403
    assert "insufficient_user_authentication" in outcome.text
    assert "location" not in outcome.headers
    assert client.get("/login").json()["acr"] == "urn:stepauth:acr:1fa"


def test_op_error_outcome_is_shown_not_retried(node_op: OP) -> None:
    client = make_client(node_op)
    response = client.get("/login")
    state = authorize_params(response.headers["location"])["state"]
    outcome = client.get(
        "/stepauth/callback",
        params={
            "error": "unmet_authentication_requirements",
            "state": state,
            "iss": node_op.issuer,
        },
    )
    assert outcome.status_code == 403
    assert outcome.text.startswith("unmet_authentication_requirements")
    assert "location" not in outcome.headers


def test_api_route_answers_the_exact_rfc9470_challenge(node_op: OP, ua: httpx.Client) -> None:
    client = make_client(node_op)
    weak = weak_access_token(node_op, ua)
    response = client.get("/api/balance", headers={"Authorization": f"Bearer {weak}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == STEP_UP_CHALLENGE
    rp_strong = op_rp(node_op, acr_mode="claims")
    request = rp_strong.authorization_request(Requirement(("phr",), 300))
    strong = rp_strong.finish(
        through_op(ua, rp_strong.begin(request), rp_strong.redirect_uri), request
    )
    ok = client.get("/api/balance", headers={"Authorization": f"Bearer {strong.access_token}"})
    assert ok.status_code == 200
    assert ok.json()["sub"] == "alice"
    assert (
        client.get("/api/balance", headers={"Authorization": f"Bearer {weak}"}).status_code == 401
    )


def test_middleware_guards_a_path_prefix(node_op: OP, ua: httpx.Client) -> None:
    rp = op_rp(node_op, redirect_uri=CALLBACK, acr_mode="claims")

    async def keys(request: Request) -> PlainTextResponse:
        return PlainTextResponse("admin keys")

    stepauth = StepAuth(browser=BrowserStepUp(rp))
    app = Starlette(
        routes=[Route("/admin/keys", keys), Route("/public", keys)],
        middleware=[
            Middleware(SessionMiddleware, secret_key="k" * 32),
            Middleware(
                StepUpMiddleware, stepauth=stepauth, rules={"/admin": Requirement(("phr",), 300)}
            ),
        ],
    )
    client = TestClient(app, follow_redirects=False)
    assert client.get("/public").status_code == 200
    response = client.get("/admin/keys")
    assert response.status_code == 303
    callback = client.get(
        "/stepauth/callback", params=through_op(ua, response.headers["location"], CALLBACK)
    )
    assert callback.headers["location"] == "/admin/keys"
    assert client.get("/admin/keys").text == "admin keys"


def test_bound_payment_is_approved_once_for_exactly_that_payment(
    node_op: OP, ua: httpx.Client
) -> None:
    """RFC 9396 binding: the grant covers one payment, is consumed, and a change needs a new one."""
    client = make_client(node_op)
    sign_in_low(client, ua)
    payment = {"amount": "1250.00", "iban": IBAN, "creditor": "Merchant A"}
    response = client.post("/pay", data=payment)
    assert response.status_code == 303
    params = authorize_params(response.headers["location"])
    details = json.loads(params["authorization_details"])
    assert details[0]["instructedAmount"] == {"currency": "EUR", "amount": "1250.00"}
    page = client.get(
        "/stepauth/callback", params=through_op(ua, response.headers["location"], CALLBACK)
    )
    assert page.status_code == 200
    fields = confirm_fields(page.text)

    tampered = client.post("/pay", data={**fields, "amount": "9999.00"})
    assert tampered.status_code == 303  # a different payment: a new approval is needed
    done = client.post("/pay", data=fields)
    assert done.status_code == 200
    assert "Paid 1250.00 EUR to Merchant A" in done.text
    again = client.post("/pay", data=fields)
    assert again.status_code == 303  # the approval was used up
