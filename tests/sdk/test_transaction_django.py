"""DjangoTransactionGuard: signed bound tokens through Django's test client and a real Redis
ledger (RFC 9396 §9, ASVS 5.0 10.3.2, PSD2 RTS Art. 5(1)(c)-(d)).

Django's settings are process-wide, so each scenario runs a small Django project in a
fresh interpreter: ``require("phr")`` validates the RS256 token (a real
:class:`ResourceServer`), the guard compares the request's payment with the granted one
and consumes the ``txn`` with ``SET NX PX`` in Redis. The subprocess answers with the
status and error code of each request and the transfers the view executed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from stepauth.assurance import parse_challenges
from stepauth.sdk.dpop import DPOP_ALGS
from tests.sdk.conftest import Keys, sign
from tests.sdk.test_transaction import BATCH, IBAN, NOW, OTHER_IBAN, PAYMENT, claims_for

API = "https://api.bank.example"
TRANSFER = {
    "amount": "1250.00",
    "currency": "EUR",
    "payee": "Erika Mustermann",
    "iban": IBAN,
    "reference": "Invoice 2026-118",
}

PROJECT = r"""
import json, sys, threading
from concurrent.futures import ThreadPoolExecutor

import django
from django.conf import settings

job = json.load(sys.stdin)
settings.configure(
    DEBUG=False, SECRET_KEY="transaction-test-" + "k" * 40, ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF="__main__", INSTALLED_APPS=["django.contrib.sessions"],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
)
django.setup()

from django.http import JsonResponse
from django.test import Client
from django.urls import path

from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.jose import KeySet
from stepauth.sdk.django import DjangoStepAuth, require
from stepauth.sdk.django import DjangoTransactionGuard
from stepauth.sdk.redis_stores import SyncRedisLedger

NOW = job["now"]
settings.STEPAUTH = DjangoStepAuth(resource_server=ResourceServer(
    issuer="https://op.example.com", audience=job["audience"],
    jwks=JWKSCache(keys=KeySet.from_jwks(job["jwks"])), clock=lambda: NOW,
))
ledger = SyncRedisLedger.from_url(job["redis_url"], prefix=job["prefix"], clock=lambda: NOW)
executed = []
lock = threading.Lock()


def payment(request):
    body = json.loads(request.body)
    return [{
        "type": "payment_initiation",
        "instructedAmount": {"currency": body["currency"], "amount": body["amount"]},
        "creditorName": body["payee"],
        "creditorAccount": {"iban": body["iban"]},
        "remittanceInformationUnstructured": body["reference"],
    }]


@require("phr")
@DjangoTransactionGuard(ledger, details=payment, clock=lambda: NOW)
def transfer(request):
    with lock:
        executed.append(request.stepauth_transaction.txn)
    return JsonResponse({"txn": request.stepauth_transaction.txn})


@require("phr")
@DjangoTransactionGuard(ledger, details=payment, clock=lambda: NOW)
async def transfer_async(request):
    with lock:
        executed.append(request.stepauth_transaction.txn)
    return JsonResponse({"txn": request.stepauth_transaction.txn})


@DjangoTransactionGuard(ledger, details=payment, clock=lambda: NOW)
def transfer_unvalidated(request):
    executed.append(request.stepauth_transaction.txn)
    return JsonResponse({"txn": request.stepauth_transaction.txn})


urlpatterns = [
    path("transfers", transfer),
    path("transfers-async", transfer_async),
    path("transfers-unvalidated", transfer_unvalidated),
]


def send(step):
    scheme = step.get("scheme", "Bearer")
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {step['token']}"} if step.get("token") else {}
    response = Client().post(
        step.get("path", "/transfers"), data=json.dumps(step["body"]),
        content_type="application/json", **headers,
    )
    error = None
    if response.status_code != 200 and response["Content-Type"] == "application/json":
        error = json.loads(response.content)["error"]
    if step.get("challenge"):
        return [response.status_code, error, response.get("WWW-Authenticate")]
    return [response.status_code, error]


answers = []
for step in job["steps"]:
    if step.get("concurrent"):
        barrier = threading.Barrier(step["concurrent"])

        def race(_):
            barrier.wait()
            return send(step)

        with ThreadPoolExecutor(step["concurrent"]) as pool:
            answers.append(sorted(pool.map(race, range(step["concurrent"])), key=str))
    else:
        answers.append(send(step))
ledger.close()
print(json.dumps({"answers": answers, "executed": executed}))
"""


def run_project(
    keys: Keys, redis_url: str, redis_prefix: str, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    job = {
        "now": NOW,
        "audience": API,
        "jwks": keys.jwks("rsa"),
        "redis_url": redis_url,
        "prefix": redis_prefix,
        "steps": steps,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROJECT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def token(keys: Keys, details: Any = PAYMENT, **overrides: Any) -> str:
    return sign(claims_for(details, aud=API, jti="at-1", **overrides), keys.rsa, typ="at+jwt")


@pytest.fixture
def project(keys: Keys, redis_url: str, redis_prefix: str) -> Any:
    def run(*steps: dict[str, Any]) -> dict[str, Any]:
        return run_project(keys, redis_url, redis_prefix, list(steps))

    return run


def step(keys: Keys, token_details: Any = PAYMENT, **change: Any) -> dict[str, Any]:
    path = change.pop("path", "/transfers")
    return {"token": token(keys, token_details), "body": {**TRANSFER, **change}, "path": path}


def test_matching_details_pass_once(project: Any, keys: Keys) -> None:
    """RFC 9396 §9; ASVS 5.0 10.3.2: the approved transfer runs once;
    the second use of the txn is refused.
    """
    result = project(step(keys), step(keys))
    assert result["answers"] == [[200, None], [403, "transaction_replayed"]]
    assert result["executed"] == ["txn-A-3f9c2b"]


def test_async_view_passes_once(project: Any, keys: Keys) -> None:
    result = project(step(keys, path="/transfers-async"), step(keys, path="/transfers-async"))
    assert result["answers"] == [[200, None], [403, "transaction_replayed"]]
    assert result["executed"] == ["txn-A-3f9c2b"]


def test_amount_changed_is_refused(project: Any, keys: Keys) -> None:
    result = project(step(keys, amount="1250.01"))
    assert result["answers"] == [[403, "transaction_mismatch"]]
    assert result["executed"] == []


def test_payee_swapped_is_refused_and_the_approval_survives(project: Any, keys: Keys) -> None:
    result = project(step(keys, iban=OTHER_IBAN), step(keys, payee="Mallory"), step(keys))
    assert result["answers"] == [
        [403, "transaction_mismatch"],
        [403, "transaction_mismatch"],
        [200, None],
    ]
    assert result["executed"] == ["txn-A-3f9c2b"]


def test_currency_changed_is_refused(project: Any, keys: Keys) -> None:
    result = project(step(keys, currency="USD"))
    assert result["answers"] == [[403, "transaction_mismatch"]]


def test_token_for_another_transaction_is_refused(project: Any, keys: Keys) -> None:
    result = project(step(keys, BATCH))
    assert result["answers"] == [[403, "transaction_mismatch"]]
    assert result["executed"] == []


def test_no_token_is_refused_before_the_binding(project: Any, keys: Keys) -> None:
    result = project({"body": TRANSFER}, step(keys))
    assert result["answers"][0][0] == 401
    assert result["answers"][1] == [200, None]


@pytest.mark.parametrize("scheme", ["DPoP", "Bearer"])
def test_guard_without_validated_claims_answers_in_the_request_scheme(
    project: Any, keys: Keys, scheme: str
) -> None:
    """No validated claims (the guard is not under ``require``): 401 in the scheme the
    request used, DPoP with ``algs`` (RFC 9449 §7.1) or Bearer (RFC 6750 §3)."""
    sent = {**step(keys), "path": "/transfers-unvalidated", "scheme": scheme, "challenge": True}
    result = project(sent)
    status, error, header = result["answers"][0]
    assert (status, error) == (401, "invalid_token")
    (challenge,) = parse_challenges(header)
    assert (challenge.scheme, challenge.error) == (scheme, "invalid_token")
    assert challenge.params.get("algs") == (" ".join(DPOP_ALGS) if scheme == "DPoP" else None)
    assert result["executed"] == []


def test_concurrent_uses_exactly_one_wins(project: Any, keys: Keys) -> None:
    """Four threads send the same token at once: the Redis SET NX lets one through."""
    result = project({**step(keys), "concurrent": 4})
    assert result["answers"] == [
        [
            [200, None],
            [403, "transaction_replayed"],
            [403, "transaction_replayed"],
            [403, "transaction_replayed"],
        ]
    ]
    assert result["executed"] == ["txn-A-3f9c2b"]
