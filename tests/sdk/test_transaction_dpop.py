"""The transaction guard's own 401 speaks the scheme of the request (RFC 9449 §7.1).

A DPoP request refused by the guard (no validated claims, or an expired token) is answered
``DPoP error="invalid_token", algs="..."``, as the resource server answers it; a Bearer
request keeps ``Bearer error="invalid_token"`` (RFC 6750 §3); ``require_dpop`` answers
every 401 in the DPoP scheme. The core guards, and the Flask, Starlette and Django
adapters over HTTP (Django in a fresh interpreter: its settings are process-wide);
nothing is ever consumed.
"""

from __future__ import annotations

import json
from typing import Any

import flask
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stepauth.assurance import Challenge, parse_challenges
from stepauth.sdk.dpop import DPOP_ALGS
from stepauth.sdk.flask import FlaskTransactionGuard
from stepauth.sdk.ledger import MemoryLedger
from stepauth.sdk.starlette import transaction_guard
from stepauth.sdk.transaction import (
    SyncTransactionGuard,
    TransactionGuard,
    TransactionRefusal,
)
from tests.helpers.django_script import run_django
from tests.helpers.payments import NOW, PAYMENT, claims_for

DPOP = "DPoP eyJhbGciOiJFUzI1NiJ9.e30.c2ln"
BEARER = "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"


def challenge(headers: Any) -> Challenge:
    (only,) = parse_challenges(headers["WWW-Authenticate"])
    return only


def refusal(outcome: object) -> TransactionRefusal:
    assert isinstance(outcome, TransactionRefusal), outcome
    assert outcome.status == 401
    assert outcome.headers()["Cache-Control"] == "no-store"
    return outcome


def test_dpop_request_without_claims_gets_a_dpop_challenge() -> None:
    ledger = MemoryLedger(clock=lambda: NOW)
    guard = SyncTransactionGuard(ledger, clock=lambda: NOW)
    answer = challenge(
        refusal(guard.check_request(None, lambda: PAYMENT, authorization=DPOP)).headers()
    )
    assert answer.scheme == "DPoP"
    assert answer.error == "invalid_token"
    assert answer.params["algs"] == " ".join(DPOP_ALGS)


def test_bearer_request_without_claims_keeps_the_bearer_challenge() -> None:
    guard = SyncTransactionGuard(MemoryLedger(clock=lambda: NOW), clock=lambda: NOW)
    answer = challenge(
        refusal(guard.check_request(None, lambda: PAYMENT, authorization=BEARER)).headers()
    )
    assert (answer.scheme, answer.error) == ("Bearer", "invalid_token")
    assert "algs" not in answer.params


def test_require_dpop_answers_in_the_dpop_scheme_with_its_algs() -> None:
    """A resource server that accepts only DPoP offers only DPoP, with its own algs."""
    guard = SyncTransactionGuard(
        MemoryLedger(clock=lambda: NOW), clock=lambda: NOW, dpop_algs=("ES256",), require_dpop=True
    )
    for authorization in (None, BEARER):
        outcome = guard.check_request(None, lambda: PAYMENT, authorization=authorization)
        answer = challenge(refusal(outcome).headers())
        assert (answer.scheme, answer.error, answer.params["algs"]) == (
            "DPoP",
            "invalid_token",
            "ES256",
        )


async def test_expired_dpop_token_gets_a_dpop_challenge_and_nothing_is_consumed() -> None:
    ledger = MemoryLedger(clock=lambda: NOW)
    guard = TransactionGuard(ledger, clock=lambda: NOW, leeway=0)
    expired = claims_for(PAYMENT, exp=int(NOW) - 60)
    outcome = await guard.check_request(expired, lambda: PAYMENT, authorization=DPOP)
    answer = challenge(refusal(outcome).headers())
    assert (answer.scheme, answer.error) == ("DPoP", "invalid_token")
    # The approval was not burnt: the same txn still passes with a live token.
    bound = await guard.check(PAYMENT, claims_for(PAYMENT))
    assert bound.txn == expired["txn"]


@pytest.mark.parametrize(("authorization", "scheme"), [(DPOP, "DPoP"), (BEARER, "Bearer")])
def test_flask_guard_answers_in_the_request_scheme(authorization: str, scheme: str) -> None:
    app = flask.Flask(__name__)
    ran: list[str] = []

    @app.post("/transfers")
    @FlaskTransactionGuard(
        MemoryLedger(clock=lambda: NOW), details=lambda _: PAYMENT, clock=lambda: NOW
    )
    def transfer() -> str:
        ran.append("ran")
        return "ran"

    response = app.test_client().post(
        "/transfers", data=json.dumps({}), headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    answer = challenge(response.headers)
    assert (answer.scheme, answer.error) == (scheme, "invalid_token")
    assert ran == []


@pytest.mark.parametrize(("authorization", "scheme"), [(DPOP, "DPoP"), (BEARER, "Bearer")])
async def test_starlette_guard_answers_in_the_request_scheme(
    authorization: str, scheme: str
) -> None:
    async def no_claims(request: Request) -> Any:
        return None  # as a claims source that validated nothing

    guard = transaction_guard(
        MemoryLedger(clock=lambda: NOW),
        claims=no_claims,
        details=lambda _: PAYMENT,
        clock=lambda: NOW,
    )
    ran: list[str] = []

    async def transfer(request: Request) -> JSONResponse:
        bound = await guard(request)
        ran.append(bound.txn)
        return JSONResponse({"txn": bound.txn})

    app = Starlette(routes=[Route("/transfers", transfer, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bank.test") as client:
        response = await client.post("/transfers", headers={"Authorization": authorization})
    assert response.status_code == 401
    answer = challenge(response.headers)
    assert (answer.scheme, answer.error) == (scheme, "invalid_token")
    assert ran == []


DJANGO_PROJECT = r"""
import json, sys

import django
from django.conf import settings

job = json.load(sys.stdin)
settings.configure(
    DEBUG=False, SECRET_KEY="transaction-test-" + "k" * 40, ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF="__main__", INSTALLED_APPS=[], MIDDLEWARE=[],
)
django.setup()

from django.http import JsonResponse
from django.test import Client
from django.urls import path

from stepauth.sdk.django import DjangoTransactionGuard
from stepauth.sdk.ledger import MemoryLedger

executed = []


@DjangoTransactionGuard(MemoryLedger(), details=lambda request: job["details"])
def transfer(request):
    executed.append(request.stepauth_transaction.txn)
    return JsonResponse({"txn": request.stepauth_transaction.txn})


urlpatterns = [path("transfers", transfer)]
response = Client().post(
    "/transfers", data="{}", content_type="application/json",
    HTTP_AUTHORIZATION=job["authorization"],
)
print(json.dumps({
    "status": response.status_code,
    "challenge": response.get("WWW-Authenticate"),
    "executed": executed,
}))
"""


@pytest.mark.parametrize(("authorization", "scheme"), [(DPOP, "DPoP"), (BEARER, "Bearer")])
def test_django_guard_answers_in_the_request_scheme(authorization: str, scheme: str) -> None:
    """No validated claims (the guard is not under ``require``): 401 in the request's
    scheme, never executed."""
    result = run_django(DJANGO_PROJECT, {"authorization": authorization, "details": PAYMENT})
    assert result["status"] == 401
    answer = challenge({"WWW-Authenticate": result["challenge"]})
    assert (answer.scheme, answer.error) == (scheme, "invalid_token")
    assert answer.params.get("algs") == (" ".join(DPOP_ALGS) if scheme == "DPoP" else None)
    assert result["executed"] == []
