"""transaction_guard on FastAPI and plain Starlette:
signed bound tokens over HTTP (RFC 9396 §9; ASVS 5.0 10.3.2).

The token is a real RS256 JWT validated by :class:`ResourceServer` (through
``require("phr")``); the guard then compares the request's payment with the granted one and
consumes the ``txn`` in a SQLite ledger. Each transfer is recorded by the endpoint, so the
tests see what was executed, not only what was answered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stepauth.rar import canonical_json
from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.sql_ledger import SQLLedger
from stepauth.sdk.starlette import StepAuth, require, transaction_guard
from stepauth.sdk.transaction import BoundTransaction
from tests.sdk.conftest import Keys, sign
from tests.sdk.test_transaction import IBAN, NOW, OTHER_IBAN, PAYMENT, claims_for

API = "https://api.bank.example"
TRANSFER = {
    "amount": "1250.00",
    "currency": "EUR",
    "payee": "Erika Mustermann",
    "iban": IBAN,
    "reference": "Invoice 2026-118",
}


async def payment_from_request(request: Request) -> list[dict[str, Any]]:
    """The endpoint's own reading of the request as authorization_details."""
    body = await request.json()
    return [
        {
            "type": "payment_initiation",
            "instructedAmount": {"currency": body["currency"], "amount": body["amount"]},
            "creditorName": body["payee"],
            "creditorAccount": {"iban": body["iban"]},
            "remittanceInformationUnstructured": body["reference"],
        }
    ]


class Bank:
    def __init__(self, keys: Keys, ledger: SQLLedger) -> None:
        self.executed: list[tuple[str, dict[str, Any]]] = []
        resource_server = ResourceServer(
            issuer="https://op.example.com",
            audience=API,
            jwks=JWKSCache(keys=keys.key_set()),
            clock=lambda: NOW,
        )
        self.stepauth = StepAuth(resource_server=resource_server)
        self.guard = transaction_guard(
            ledger, claims=require("phr"), details=payment_from_request, clock=lambda: NOW
        )

    def fastapi(self) -> FastAPI:
        app = FastAPI()
        app.state.stepauth = self.stepauth

        @app.post("/transfers")
        async def transfer(
            request: Request,
            bound: BoundTransaction = Depends(self.guard),  # noqa: B008
        ) -> dict[str, str]:
            self.executed.append((bound.txn, await request.json()))
            return {"txn": bound.txn}

        return app

    def starlette(self) -> Starlette:
        async def transfer(request: Request) -> JSONResponse:
            bound = await self.guard(request)
            self.executed.append((bound.txn, await request.json()))
            return JSONResponse({"txn": bound.txn})

        app = Starlette(routes=[Route("/transfers", transfer, methods=["POST"])])
        app.state.stepauth = self.stepauth
        return app


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SQLLedger]:
    ledger = SQLLedger.from_url(f"sqlite+aiosqlite:///{tmp_path / 'txn.db'}", clock=lambda: NOW)
    await ledger.create_schema()
    yield ledger
    await ledger.close()


@pytest.fixture(params=["fastapi", "starlette"])
async def bank(
    request: pytest.FixtureRequest, keys: Keys, ledger: SQLLedger
) -> AsyncIterator[tuple[Bank, httpx.AsyncClient]]:
    bank = Bank(keys, ledger)
    app = bank.fastapi() if request.param == "fastapi" else bank.starlette()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bank.test") as client:
        yield bank, client


def bearer(keys: Keys, details: Any = PAYMENT, **overrides: Any) -> dict[str, str]:
    claims = claims_for(details, aud=API, jti="at-1", **overrides)
    return {"Authorization": f"Bearer {sign(claims, keys.rsa, typ='at+jwt')}"}


async def post(client: httpx.AsyncClient, headers: dict[str, str], **change: str) -> httpx.Response:
    body = json.dumps({**TRANSFER, **change})
    return await client.post(
        "/transfers", content=body, headers={**headers, "Content-Type": "application/json"}
    )


def error_of(response: httpx.Response) -> str:
    text = (
        response.json()["detail"] if "json" in response.headers["content-type"] else response.text
    )
    return str(text)


async def test_bound_token_executes_the_transfer_once(
    bank: tuple[Bank, httpx.AsyncClient], keys: Keys
) -> None:
    app, client = bank
    headers = bearer(keys)
    first = await post(client, headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"txn": "txn-A-3f9c2b"}
    again = await post(client, headers)
    assert again.status_code == 403
    assert error_of(again).startswith("transaction_replayed:")
    assert again.headers["cache-control"] == "no-store"
    assert [txn for txn, _ in app.executed] == ["txn-A-3f9c2b"]


async def test_amount_changed_in_the_request_is_refused(
    bank: tuple[Bank, httpx.AsyncClient], keys: Keys
) -> None:
    app, client = bank
    response = await post(client, bearer(keys), amount="9250.00")
    assert response.status_code == 403
    assert error_of(response).startswith("transaction_mismatch:")
    assert "instructedAmount.amount" in error_of(response)
    assert app.executed == []


async def test_payee_swapped_in_the_request_is_refused(
    bank: tuple[Bank, httpx.AsyncClient], keys: Keys
) -> None:
    app, client = bank
    response = await post(client, bearer(keys), iban=OTHER_IBAN)
    assert response.status_code == 403
    assert "creditorAccount.iban" in error_of(response)
    assert app.executed == []
    # the genuine transfer is still possible: the refused request did not spend the approval
    assert (await post(client, bearer(keys))).status_code == 200


async def test_unbound_step_up_token_is_refused(
    bank: tuple[Bank, httpx.AsyncClient], keys: Keys
) -> None:
    """A phr token without authorization_details meets the acr but authorizes no payment."""
    app, client = bank
    response = await post(client, bearer(keys, details=None, txn=None))
    assert response.status_code == 403
    assert error_of(response).startswith("transaction_missing:")
    assert app.executed == []


async def test_missing_or_weak_token_gets_the_step_up_challenge_first(
    bank: tuple[Bank, httpx.AsyncClient], keys: Keys
) -> None:
    """The binding is checked after the token: 401 + RFC 9470 header, nothing consumed."""
    app, client = bank
    anonymous = await post(client, {})
    assert anonymous.status_code == 401
    weak = await post(client, bearer(keys, acr="urn:stepauth:acr:1fa"))
    assert weak.status_code == 401
    assert "insufficient_user_authentication" in weak.headers["www-authenticate"]
    assert app.executed == []
    assert (await post(client, bearer(keys))).status_code == 200


async def test_forged_details_in_an_unsigned_token_are_refused(
    bank: tuple[Bank, httpx.AsyncClient], keys: Keys
) -> None:
    """Editing the token's authorization_details breaks its signature: 401, never executed."""
    app, client = bank
    token = bearer(keys)["Authorization"].removeprefix("Bearer ")
    header, _payload, signature = token.split(".")
    claims = claims_for(PAYMENT, aud=API, jti="at-1")
    claims["authorization_details"][0]["creditorAccount"]["iban"] = OTHER_IBAN
    forged_payload = base64.urlsafe_b64encode(canonical_json(claims)).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    response = await post(client, {"Authorization": f"Bearer {forged}"}, iban=OTHER_IBAN)
    assert response.status_code == 401
    assert app.executed == []
