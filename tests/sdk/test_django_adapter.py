"""Django adapter: decorator on sync and async views, the middleware, and the callback view,
with the example project against node's oidc-provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stepauth.assurance import Requirement
from stepauth.sdk import BrowserStepUp
from stepauth.sdk.django import DjangoStepAuth
from stepauth.sdk.errors import SDKError
from stepauth.sdk.sql_ledger import SQLLedger, SyncSQLLedger
from tests.helpers.payments import NOW
from tests.sdk.bound_flow import FIELDS, IBAN, REPEATED, bearer, error_of, resource_server
from tests.sdk.browser_flow import authorize_params, confirm_fields, essential_acr, through_op
from tests.sdk.conftest import OP, Keys, op_rp

pytestmark = pytest.mark.node

CALLBACK = "http://testserver/stepauth/callback"


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


# -- transaction-bound /pay answered as an API call (RFC 9396 §9.1, ASVS 5.0 10.3.2) --------------


@pytest.fixture
def bound_api(django_project: Any, keys: Keys, tmp_path: Path) -> Iterator[list[str]]:
    """The example's bound /pay behind a resource server of local keys and a SQLite ledger;
    yields the amounts the view answered as paid."""
    original = django_project.STEPAUTH
    ledger = SyncSQLLedger.from_url(f"sqlite:///{tmp_path / 'txn.db'}", clock=lambda: NOW)
    ledger.create_schema()
    django_project.STEPAUTH = DjangoStepAuth(
        browser=original.browser, resource_server=resource_server(keys), txn_ledger=ledger
    )
    yield []
    django_project.STEPAUTH = original
    ledger.close()


def pay(data: Any = None, token: str | None = None, **kw: Any) -> Any:
    from django.test import Client

    extra = {"HTTP_AUTHORIZATION": token} if token else {}
    return Client().post("/pay", FIELDS if data is None else data, **extra, **kw)


def test_plain_step_up_token_cannot_run_a_bound_view(bound_api: Any, keys: Keys) -> None:
    """RFC 9396 §9; ASVS 5.0 10.3.2: a phr token with no
    granted authorization_details pays nothing, twice.
    """
    token = bearer(keys, fields=None)
    for _ in range(2):
        response = pay(token=token)
        assert response.status_code == 403
        assert error_of(response.content) == "transaction_missing"
        assert b"Paid" not in response.content


def test_bound_token_runs_the_bound_view_once(bound_api: Any, keys: Keys) -> None:
    token = bearer(keys)
    assert b"Paid 99999.00 EUR to Mallory" in pay(token=token).content
    again = pay(token=token)
    assert again.status_code == 403
    assert error_of(again.content) == "transaction_replayed"


def test_amount_changed_after_approval_is_refused(bound_api: Any, keys: Keys) -> None:
    """PSD2 RTS Art. 5(1)(d); the refused request does not spend the approval."""
    token = bearer(keys)
    response = pay({**FIELDS, "amount": "99998.00"}, token)
    assert response.status_code == 403
    assert error_of(response.content) == "transaction_mismatch"
    assert pay(token=token).status_code == 200


def test_repeated_field_of_a_bound_view_is_refused(bound_api: Any, keys: Keys) -> None:
    """Django's POST[name] is the last value: a repeated field is refused (API and browser)."""
    form = "application/x-www-form-urlencoded"
    api = pay(REPEATED, bearer(keys), content_type=form)
    assert api.status_code == 400
    assert error_of(api.content) == "invalid_request"
    browser = pay(REPEATED, content_type=form)
    assert browser.status_code == 400
    assert b"appears more than once" in browser.content


def test_bound_post_with_a_json_body_is_refused(bound_api: Any, keys: Keys) -> None:
    """A JSON body is not what the binding reads: 415, never the query's values."""
    from django.test import Client

    for extra in ({"HTTP_AUTHORIZATION": bearer(keys)}, {}):
        response = Client().post(
            f"/pay?amount=20.00&creditor=Mallory&iban={IBAN}",
            FIELDS,
            content_type="application/json",
            **extra,
        )
        assert response.status_code == 415


def test_bound_view_without_a_txn_ledger_refuses_api_calls(
    django_project: Any, keys: Keys, tmp_path: Path
) -> None:
    """Fail closed: a module-level require(bind=...) cannot be checked at import time, so
    without a ledger every API call to it answers 403."""
    original = django_project.STEPAUTH
    django_project.STEPAUTH = DjangoStepAuth(resource_server=resource_server(keys))
    try:
        response = pay(token=bearer(keys))
    finally:
        django_project.STEPAUTH = original
    assert response.status_code == 403
    assert error_of(response.content) == "transaction_unavailable"
    ledger = SQLLedger.from_url(f"sqlite+aiosqlite:///{tmp_path / 'txn.db'}")
    with pytest.raises(SDKError, match="sync ledger"):
        DjangoStepAuth(resource_server=resource_server(keys), txn_ledger=ledger)
