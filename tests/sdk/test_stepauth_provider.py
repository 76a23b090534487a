"""The SDK against the stepauth Provider (served by uvicorn, SQLite store, real login form).

Browser apps (FastAPI, Flask and Django examples): a password session (1fa) is stepped up to
``urn:stepauth:acr:2fa`` with ``max_age=300``; the Provider asks for the missing factor only
(a TOTP code) and the POST passes after confirmation. API: 401 challenge → new token → 200;
the old token is still 401. ``phr`` needs a WebAuthn ceremony (browser tests of the factors
area); 2fa exercises the same SDK paths with a factor a test can compute.
"""

from __future__ import annotations

from typing import Any

import httpx

from stepauth.assurance import Challenge, Requirement
from stepauth.sdk import JWKSCache, ResourceServer, StepUpAuth
from tests.helpers.stepauth_op import (
    ACR_2FA,
    API_RESOURCE,
    CLIENT_ID,
    IBAN,
    LOCAL_CALLBACK,
    PUBLIC_CLIENT_ID,
    RP_CALLBACK,
    StepauthOP,
    drive_stepauth,
    example_browser_flow,
    rp_for,
)
from tests.helpers.stepauth_op import stepauth_op as stepauth_op  # the fixtures
from tests.helpers.stepauth_op import ua as ua


def test_fastapi_example_steps_up_against_stepauth(
    stepauth_op: StepauthOP, ua: httpx.Client
) -> None:
    from examples.fastapi_app import create_app
    from starlette.testclient import TestClient

    callback = LOCAL_CALLBACK
    rp = rp_for(stepauth_op, callback, acr_mode="claims")
    client = TestClient(
        create_app(rp, secret_key="s" * 40, transfer_acr=ACR_2FA),
        base_url="http://localhost",
        follow_redirects=False,
    )
    status, text = example_browser_flow(
        stepauth_op,
        ua,
        lambda path, q: client.get(path, params=q),
        lambda path, d: client.post(path, data=d),
        callback,
    )
    assert status == 200
    assert f"Sent 250 EUR to {IBAN} ({ACR_2FA})" in text


def test_flask_example_steps_up_against_stepauth(stepauth_op: StepauthOP, ua: httpx.Client) -> None:
    from examples.flask_app import create_app

    callback = LOCAL_CALLBACK
    rp = rp_for(stepauth_op, callback, acr_mode="claims")
    client = create_app(rp, secret_key="s" * 40, transfer_acr=ACR_2FA).test_client()
    status, text = example_browser_flow(
        stepauth_op,
        ua,
        lambda path, q: client.get(path, query_string=q),
        lambda path, d: client.post(path, data=d),
        callback,
    )
    assert status == 200
    assert f"Sent 250 EUR to {IBAN} ({ACR_2FA})" in text


def test_api_flow_against_stepauth(stepauth_op: StepauthOP, ua: httpx.Client, serve: Any) -> None:
    """401 challenge → new token → 200; the old token is still 401 (RFC 9470 §3)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from stepauth.sdk.starlette import StepAuth, require

    rp = rp_for(stepauth_op, RP_CALLBACK, acr_mode="claims")
    low = rp.authorization_request(Requirement(("urn:stepauth:acr:1fa",)))
    weak = rp.finish(drive_stepauth(ua, rp.begin(low), RP_CALLBACK, stepauth_op), low)
    assert weak.access_token is not None
    rs = ResourceServer(
        issuer=stepauth_op.issuer, audience=API_RESOURCE, jwks=JWKSCache(rp.metadata.jwks_uri)
    )

    async def transfer(request: Request) -> JSONResponse:
        return JSONResponse({"acr": request.state.stepauth_claims["acr"]})

    app = Starlette(routes=[Route("/transfer", require(ACR_2FA, max_age=300)(transfer))])
    app.state.stepauth = StepAuth(resource_server=rs)
    api = serve(app)

    def step_up(challenge: Challenge) -> str:
        request = rp.authorization_request(Requirement(challenge.acr_values, challenge.max_age))
        tokens = rp.finish(drive_stepauth(ua, rp.begin(request), RP_CALLBACK, stepauth_op), request)
        assert tokens.access_token is not None
        return tokens.access_token

    first = httpx.get(
        f"{api.url}/transfer", headers={"Authorization": f"Bearer {weak.access_token}"}
    )
    assert first.status_code == 401
    assert 'acr_values="urn:stepauth:acr:2fa", max_age="300"' in first.headers["www-authenticate"]
    with httpx.Client(auth=StepUpAuth(weak.access_token, step_up)) as client:
        response = client.get(f"{api.url}/transfer")
    assert response.status_code == 200
    assert response.json() == {"acr": ACR_2FA}
    old = httpx.get(f"{api.url}/transfer", headers={"Authorization": f"Bearer {weak.access_token}"})
    assert old.status_code == 401


def test_api_refuses_a_token_of_a_client_it_does_not_allow(
    stepauth_op: StepauthOP, ua: httpx.Client, serve: Any
) -> None:
    """RFC 9068 §2.2: the API names the clients it serves (``allowed_clients``). A public
    client's token for the same resource, even from a silent ``prompt=none`` in the user's
    session, is ``invalid_token``; the bank app's token passes."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from stepauth.sdk.starlette import StepAuth, require

    bank = rp_for(stepauth_op, RP_CALLBACK)
    request = bank.authorization_request(Requirement(("urn:stepauth:acr:1fa",)))
    own = bank.finish(drive_stepauth(ua, bank.begin(request), RP_CALLBACK, stepauth_op), request)
    spa = rp_for(stepauth_op, RP_CALLBACK, client_id=PUBLIC_CLIENT_ID, client_secret=None)
    silent = spa.authorization_request(None, prompt="none")
    other = spa.finish(drive_stepauth(ua, spa.begin(silent), RP_CALLBACK, stepauth_op), silent)
    assert own.access_token is not None
    assert other.access_token is not None

    rs = ResourceServer(
        issuer=stepauth_op.issuer,
        audience=API_RESOURCE,
        jwks=JWKSCache(bank.metadata.jwks_uri),
        allowed_clients=[CLIENT_ID],
    )

    async def balance(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.stepauth_claims["sub"]})

    app = Starlette(routes=[Route("/balance", require("urn:stepauth:acr:1fa")(balance))])
    app.state.stepauth = StepAuth(resource_server=rs)
    api = serve(app)

    def get(token: str) -> httpx.Response:
        return httpx.get(f"{api.url}/balance", headers={"Authorization": f"Bearer {token}"})

    refused = get(other.access_token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert get(own.access_token).status_code == 200


def test_django_example_steps_up_against_stepauth(
    stepauth_op: StepauthOP, ua: httpx.Client
) -> None:
    import django
    from django.conf import settings
    from django.test import Client
    from examples import django_app

    rp = rp_for(stepauth_op, LOCAL_CALLBACK, acr_mode="claims")
    wanted = django_app.settings_for(rp, secret_key="s" * 50, transfer_acr=ACR_2FA)
    if not settings.configured:
        settings.configure(**wanted)
        django.setup()
    saved = {k: getattr(settings, k) for k in ("STEPAUTH", "STEPAUTH_RULES")}
    try:
        settings.STEPAUTH = wanted["STEPAUTH"]
        settings.STEPAUTH_RULES = wanted["STEPAUTH_RULES"]
        client = Client()
        status, text = example_browser_flow(
            stepauth_op,
            ua,
            lambda path, q: client.get(path, q),
            lambda path, d: client.post(path, d),
            LOCAL_CALLBACK,
        )
    finally:
        for key, value in saved.items():
            setattr(settings, key, value)
    assert status == 200
    assert f"Sent 250 EUR to {IBAN} ({ACR_2FA})" in text
