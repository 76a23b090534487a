"""Django adapter: decorator on sync and async views, the middleware, and the callback view,
with the example project against node's oidc-provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from stepauth.assurance import Requirement
from stepauth.sdk import BrowserStepUp
from stepauth.sdk.django import DjangoStepAuth
from tests.sdk.browser_flow import authorize_params, confirm_fields, essential_acr, through_op
from tests.sdk.conftest import OP, op_rp

pytestmark = pytest.mark.node

CALLBACK = "http://testserver/stepauth/callback"
IBAN = "DE89370400440532013000"


@pytest.fixture(scope="module")
def django_project(node_op: OP) -> Any:
    import django
    from django.conf import settings
    from examples import django_app

    rp = op_rp(node_op, redirect_uri=CALLBACK, acr_mode="claims")
    if not settings.configured:
        settings.configure(
            **django_app.settings_for(
                rp, secret_key="test-" * 10, api_audience=f"{node_op.issuer}/api"
            )
        )
        django.setup()
    return settings


@pytest.fixture
def stepauth(django_project: Any, node_op: OP) -> Iterator[Any]:
    """A fresh DjangoStepAuth per test (fresh pending store); acr mode switchable."""
    original = django_project.STEPAUTH

    def configure(acr_mode: str = "claims") -> DjangoStepAuth:
        rp = op_rp(node_op, redirect_uri=CALLBACK, acr_mode=acr_mode)
        django_project.STEPAUTH = DjangoStepAuth(
            browser=BrowserStepUp(rp), resource_server=original.resource_server
        )
        return django_project.STEPAUTH  # type: ignore[no-any-return]

    configure()
    yield configure
    django_project.STEPAUTH = original


@pytest.fixture
def ua() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def back(client: Any, ua: httpx.Client, location: str) -> Any:
    return client.get("/stepauth/callback", through_op(ua, location, CALLBACK))


def sign_in_low(client: Any, ua: httpx.Client) -> None:
    response = client.get("/login")
    assert response.status_code == 303
    callback = back(client, ua, response["Location"])
    assert callback.status_code == 303
    assert client.get("/login").json()["acr"] == "urn:stepauth:acr:1fa"


def test_sync_view_post_is_stepped_up_and_confirmed(stepauth: Any, ua: httpx.Client) -> None:
    from django.test import Client

    client = Client()
    sign_in_low(client, ua)
    response = client.post("/transfer", {"amount": "250", "iban": IBAN})
    assert response.status_code == 303
    params = authorize_params(response["Location"])
    assert essential_acr(params) == {"essential": True, "values": ["phr"]}
    assert params["max_age"] == "300"
    page = back(client, ua, response["Location"])
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    fields = confirm_fields(page.content.decode())
    assert fields == {"amount": "250", "iban": IBAN}
    done = client.post("/transfer", fields)
    assert f"Sent 250 EUR to {IBAN} (phr)" in done.content.decode()


async def test_async_view_is_guarded(stepauth: Any, node_op: OP) -> None:
    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    rp = op_rp(node_op)
    with httpx.Client() as ua:
        request = rp.authorization_request(Requirement(("urn:stepauth:acr:1fa",)))
        params = through_op(ua, rp.begin(request), rp.redirect_uri)
    tokens = await sync_to_async(rp.finish)(params, request)
    client = AsyncClient()
    response = await client.get(
        "/api/balance", headers={"Authorization": f"Bearer {tokens.access_token}"}
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="A different authentication level is required", '
        'acr_values="phr", max_age="300"'
    )
    browser = await client.get("/api/balance")
    assert browser.status_code == 303
    assert essential_acr(authorize_params(browser["Location"]))["values"] == ["phr"]


def test_middleware_guards_a_path_prefix(stepauth: Any, ua: httpx.Client) -> None:
    from django.test import Client

    client = Client()
    response = client.get("/admin-area/keys")
    assert response.status_code == 303
    callback = back(client, ua, response["Location"])
    assert callback["Location"] == "/admin-area/keys"
    assert client.get("/admin-area/keys").content == b"admin area"


def test_voluntary_lower_acr_is_refused_without_a_loop(stepauth: Any, ua: httpx.Client) -> None:
    from django.test import Client

    stepauth("acr_values")
    client = Client()
    sign_in_low(client, ua)
    response = client.post("/transfer", {"amount": "1", "iban": IBAN})
    outcome = back(client, ua, response["Location"])
    assert outcome.status_code == 403
    assert b"insufficient_user_authentication" in outcome.content
    assert not outcome.has_header("Location")


def test_bound_payment_is_approved_once(stepauth: Any, ua: httpx.Client) -> None:
    """RFC 9396 binding in Django: exactly that payment, once."""
    from django.test import Client

    client = Client()
    sign_in_low(client, ua)
    payment = {"amount": "42.00", "iban": IBAN, "creditor": "Merchant C"}
    response = client.post("/pay", payment)
    assert response.status_code == 303
    assert "authorization_details" in authorize_params(response["Location"])
    fields = confirm_fields(back(client, ua, response["Location"]).content.decode())
    assert client.post("/pay", {**fields, "amount": "4200.00"}).status_code == 303
    assert b"Paid 42.00 EUR to Merchant C" in client.post("/pay", fields).content
    assert client.post("/pay", fields).status_code == 303
