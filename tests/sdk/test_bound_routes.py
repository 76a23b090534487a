"""Transaction-bound routes (``bind=Binding(...)``) in the Flask and Starlette adapters and
the shared core: an API call must spend a token granted for exactly this action, once
(RFC 9396 §9.1, ASVS 5.0 10.3.2, PSD2 RTS Art. 5(1)(c)-(d)); a browser or API request must name the
action unambiguously (each field once, from a form body).

Tokens are real RS256 JWTs validated by the resource server; the txn ledgers are a real
SQLite file (Flask) and a real Redis (Starlette). Each view records what it executed, so the
tests see what ran, not only what was answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import flask
import httpx
import pytest
from fastapi import Depends, FastAPI, Form
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from stepauth.sdk import BrowserStepUp
from stepauth.sdk.errors import SDKError
from stepauth.sdk.flask import FlaskStepAuth
from stepauth.sdk.ledger import Ledger
from stepauth.sdk.redis_stores import RedisLedger
from stepauth.sdk.sql_ledger import SQLLedger, SyncSQLLedger
from stepauth.sdk.starlette import StepAuth, require
from tests.helpers.payments import NOW
from tests.sdk.bound_flow import (
    FIELDS,
    IBAN,
    PAY,
    REPEATED,
    bearer,
    browser_rp,
    error_of,
    resource_server,
)
from tests.sdk.conftest import Keys

FORM = "application/x-www-form-urlencoded"
Claims = dict[str, Any]
#: FastAPI reads string annotations (PEP 563): a dependency built here goes in a default.
BOUND = Depends(require("phr", max_age=300, bind=PAY))

# -- Flask ---------------------------------------------------------------------------------


@pytest.fixture
def sync_ledger(tmp_path: Path) -> Iterator[SyncSQLLedger]:
    ledger = SyncSQLLedger.from_url(f"sqlite:///{tmp_path / 'txn.db'}", clock=lambda: NOW)
    ledger.create_schema()
    yield ledger
    ledger.close()


class FlaskBank:
    def __init__(self, keys: Keys, ledger: SyncSQLLedger) -> None:
        self.paid: list[str] = []
        stepauth = FlaskStepAuth(
            browser=BrowserStepUp(browser_rp()),
            resource_server=resource_server(keys),
            txn_ledger=ledger,
        )
        self.app = flask.Flask(__name__)
        self.app.secret_key = "bound-" * 8

        @self.app.post("/pay")
        @stepauth.require("phr", max_age=300, bind=PAY)
        def pay() -> str:
            self.paid.append(flask.request.form["amount"])
            return "paid " + flask.request.form["amount"]

    def post(self, token: str | None = None, data: Any = None, **kw: Any) -> Any:
        headers = {"Authorization": token} if token else {}
        return self.app.test_client().post(
            "/pay", data=FIELDS if data is None else data, headers=headers, **kw
        )


@pytest.fixture
def flask_bank(keys: Keys, sync_ledger: SyncSQLLedger) -> FlaskBank:
    return FlaskBank(keys, sync_ledger)


def test_flask_plain_step_up_token_cannot_run_a_bound_action(
    flask_bank: FlaskBank, keys: Keys
) -> None:
    """RFC 9396 §9; ASVS 5.0 10.3.2: a phr token without authorization_details/txn authorizes no
    payment, however often it is sent (the reviewer's €99 999 replay)."""
    token = bearer(keys, fields=None)
    for _ in range(2):
        response = flask_bank.post(token)
        assert response.status_code == 403
        assert error_of(response.data) == "transaction_missing"
        assert response.headers["Cache-Control"] == "no-store"
    assert flask_bank.paid == []


def test_flask_bound_token_runs_the_action_once(flask_bank: FlaskBank, keys: Keys) -> None:
    """RFC 9396 §9.1: the approved payment runs, its txn is consumed; a replay is refused."""
    token = bearer(keys)
    assert flask_bank.post(token).get_data(as_text=True) == "paid 99999.00"
    again = flask_bank.post(token)
    assert again.status_code == 403
    assert error_of(again.data) == "transaction_replayed"
    assert flask_bank.paid == ["99999.00"]


def test_flask_amount_changed_after_approval_is_refused(flask_bank: FlaskBank, keys: Keys) -> None:
    """PSD2 RTS Art. 5(1)(d): another amount than the approved one is refused, and the
    refusal does not spend the approval."""
    token = bearer(keys)
    response = flask_bank.post(token, {**FIELDS, "amount": "99999.01"})
    assert response.status_code == 403
    assert error_of(response.data) == "transaction_mismatch"
    assert flask_bank.paid == []
    assert flask_bank.post(token).status_code == 200


def test_flask_repeated_field_on_a_bound_api_call_is_refused(
    flask_bank: FlaskBank, keys: Keys
) -> None:
    """Werkzeug's form[name] is the first value: a repeated amount is refused, not judged
    by one copy and executed with the other."""
    response = flask_bank.post(bearer(keys), REPEATED, content_type=FORM)
    assert response.status_code == 400
    assert error_of(response.data) == "invalid_request"
    assert flask_bank.paid == []


def test_flask_repeated_field_in_a_bound_browser_request_is_refused(
    flask_bank: FlaskBank,
) -> None:
    """The reviewer's case: the OP would be shown one amount and the view run another."""
    response = flask_bank.post(data=REPEATED, content_type=FORM)
    assert response.status_code == 400
    assert "'amount' appears more than once" in response.get_data(as_text=True)
    query = flask_bank.app.test_client().post(
        "/pay?amount=20.00", data={**FIELDS}, content_type=FORM
    )
    assert query.status_code == 400  # the same name in the query and the form
    assert flask_bank.paid == []


def test_flask_bound_post_with_a_json_body_is_refused(flask_bank: FlaskBank, keys: Keys) -> None:
    """A view reading the JSON body would run values the binding (query/form) never saw."""
    for token in (None, bearer(keys)):
        response = flask_bank.app.test_client().post(
            f"/pay?amount=20.00&creditor=Mallory&iban={IBAN}",
            json={"amount": "99999.00", "creditor": "Mallory", "iban": IBAN},
            headers={"Authorization": token} if token else {},
        )
        assert response.status_code == 415
    assert flask_bank.paid == []


def test_flask_bound_api_route_without_a_txn_ledger_is_a_configuration_error(
    keys: Keys,
) -> None:
    """Fail closed at configuration time: no ledger, no bound route that takes tokens."""
    stepauth = FlaskStepAuth(resource_server=resource_server(keys))
    with pytest.raises(SDKError, match="txn_ledger"):
        stepauth.require("phr", bind=PAY)
    stepauth.require("phr")  # an unbound route needs no ledger


def test_flask_refuses_an_async_txn_ledger(keys: Keys, tmp_path: Path) -> None:
    ledger = SQLLedger.from_url(f"sqlite+aiosqlite:///{tmp_path / 'txn.db'}")
    with pytest.raises(SDKError, match="sync ledger"):
        FlaskStepAuth(resource_server=resource_server(keys), txn_ledger=ledger)


# -- Starlette -----------------------------------------------------------------------------


@pytest.fixture
async def redis_ledger(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisLedger]:
    ledger = RedisLedger.from_url(redis_url, prefix=redis_prefix, clock=lambda: NOW)
    yield ledger
    await ledger.close()


def starlette_bank(stepauth: StepAuth, paid: list[str], *, explicit: bool = True) -> Starlette:
    guard = stepauth.require("phr", max_age=300, bind=PAY) if explicit else None

    async def pay(request: Request) -> Response:
        amount = str((await request.form())["amount"])
        paid.append(amount)
        return PlainTextResponse("paid " + amount)

    endpoint = guard(pay) if guard is not None else require("phr", max_age=300, bind=PAY)(pay)
    app = Starlette(
        routes=[Route("/pay", endpoint, methods=["POST"])],
        middleware=[Middleware(SessionMiddleware, secret_key="bound-" * 8)],
    )
    app.state.stepauth = stepauth
    return app


@pytest.fixture
async def starlette_client(
    keys: Keys, redis_ledger: Ledger
) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    paid: list[str] = []
    stepauth = StepAuth(
        browser=BrowserStepUp(browser_rp()),
        resource_server=resource_server(keys),
        txn_ledger=redis_ledger,
    )
    transport = httpx.ASGITransport(app=starlette_bank(stepauth, paid))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, paid


async def spost(client: httpx.AsyncClient, token: str | None = None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": token} if token else {}
    if "data" not in kw and "content" not in kw and "json" not in kw:
        kw["data"] = FIELDS
    return await client.post("/pay", headers={**headers, **kw.pop("headers", {})}, **kw)


@pytest.mark.redis
async def test_starlette_plain_step_up_token_cannot_run_a_bound_action(
    starlette_client: tuple[httpx.AsyncClient, list[str]], keys: Keys
) -> None:
    """RFC 9396 §9; ASVS 5.0 10.3.2: acr and max_age met,
    but no granted authorization_details: refused.
    """
    client, paid = starlette_client
    token = bearer(keys, fields=None)
    for _ in range(2):
        response = await spost(client, token)
        assert response.status_code == 403
        assert error_of(response.text) == "transaction_missing"
    assert paid == []


@pytest.mark.redis
async def test_starlette_bound_token_runs_the_action_once(
    starlette_client: tuple[httpx.AsyncClient, list[str]], keys: Keys
) -> None:
    """RFC 9396 §9.1: once (Redis SET NX), then transaction_replayed."""
    client, paid = starlette_client
    token = bearer(keys)
    first = await spost(client, token)
    assert first.text == "paid 99999.00"
    again = await spost(client, token)
    assert again.status_code == 403
    assert error_of(again.text) == "transaction_replayed"
    assert paid == ["99999.00"]


@pytest.mark.redis
async def test_starlette_amount_changed_after_approval_is_refused(
    starlette_client: tuple[httpx.AsyncClient, list[str]], keys: Keys
) -> None:
    """PSD2 RTS Art. 5(1)(d); the refused request does not spend the approval."""
    client, paid = starlette_client
    token = bearer(keys)
    response = await spost(client, token, data={**FIELDS, "amount": "1.00"})
    assert response.status_code == 403
    assert error_of(response.text) == "transaction_mismatch"
    assert paid == []
    assert (await spost(client, token)).status_code == 200


@pytest.mark.redis
async def test_starlette_repeated_field_is_refused(
    starlette_client: tuple[httpx.AsyncClient, list[str]], keys: Keys
) -> None:
    """Starlette's form[name] is the last value: a repeated field is refused for API and
    browser requests alike, in the form, the query, or both."""
    client, paid = starlette_client
    form = {"Content-Type": FORM}
    api = await spost(client, bearer(keys), content=REPEATED, headers=form)
    assert api.status_code == 400
    assert error_of(api.text) == "invalid_request"
    browser = await spost(client, content=REPEATED, headers=form)
    assert browser.status_code == 400
    both = await client.post("/pay?amount=20.00", data=FIELDS)
    assert both.status_code == 400
    assert paid == []


@pytest.mark.redis
async def test_starlette_bound_post_with_a_json_body_is_refused(
    starlette_client: tuple[httpx.AsyncClient, list[str]], keys: Keys
) -> None:
    """A JSON body is not what the binding reads: 415, for API and browser requests."""
    client, paid = starlette_client
    for token in (bearer(keys), None):
        headers = {"Authorization": token} if token else {}
        response = await client.post(
            f"/pay?amount=20.00&creditor=Mallory&iban={IBAN}", json=FIELDS, headers=headers
        )
        assert response.status_code == 415
    assert paid == []


async def test_starlette_bound_route_without_a_txn_ledger(keys: Keys) -> None:
    """Configuration time for ``stepauth.require``; a route naming no StepAuth (module
    ``require``) answers API calls 403, never runs the action."""
    stepauth = StepAuth(resource_server=resource_server(keys))
    with pytest.raises(SDKError, match="txn_ledger"):
        stepauth.require("phr", bind=PAY)
    paid: list[str] = []
    transport = httpx.ASGITransport(app=starlette_bank(stepauth, paid, explicit=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await spost(client, bearer(keys))
    assert response.status_code == 403
    assert error_of(response.text) == "transaction_unavailable"
    assert paid == []


@pytest.mark.redis
async def test_fastapi_dependency_enforces_the_binding(keys: Keys, redis_ledger: Ledger) -> None:
    """``Depends(require(..., bind=...))`` (the FastAPI example's /pay): the same decisions,
    raised as HTTP errors before the endpoint runs."""
    paid: list[str] = []
    app = FastAPI()
    app.state.stepauth = StepAuth(resource_server=resource_server(keys), txn_ledger=redis_ledger)

    @app.post("/pay")
    def pay(amount: Annotated[str, Form()], claims: Claims = BOUND) -> str:
        paid.append(amount)
        return amount

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        plain = await spost(client, bearer(keys, fields=None))
        assert plain.status_code == 403
        assert "transaction_missing" in plain.text
        token = bearer(keys)
        assert (await spost(client, token, data={**FIELDS, "amount": "5"})).status_code == 403
        assert (await spost(client, token)).json() == "99999.00"
        assert (await spost(client, token)).status_code == 403
        repeated = await spost(client, token, content=REPEATED, headers={"Content-Type": FORM})
        assert repeated.status_code == 400
        assert (
            await client.post("/pay", json=FIELDS, headers={"Authorization": token})
        ).status_code == 415
    assert paid == ["99999.00"]
