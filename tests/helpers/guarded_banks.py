"""One bank per web adapter, each guarding ``POST /transfers`` with the SDK's transaction
guard behind ``require("phr")`` (RFC 9396 §9; ASVS 5.0 10.3.2; PSD2 RTS Art. 5(1)(c)-(d)).

A bank runs a batch of requests (:class:`Send`) and reports what each got (:class:`Answer`)
and the ``txn`` of every transfer its view executed, so one scenario drives every adapter:

* Flask — its test client in process; a Redis, SQLite or PostgreSQL ledger
  (:class:`FlaskBank`);
* FastAPI and plain Starlette — httpx over ASGI; an async SQLite ledger (:class:`AsgiBank`);
* Django — its settings are process-wide, so each batch runs a small Django project in a
  fresh interpreter (:data:`DJANGO_PROJECT`); a Redis ledger (:class:`DjangoBank`).

The tokens are real RS256 JWTs validated by :class:`stepauth.sdk.ResourceServer`; the view
reads the payment from the request body itself.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import flask
import httpx
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.flask import FlaskStepAuth, FlaskTransactionGuard
from stepauth.sdk.sql_ledger import SQLLedger
from stepauth.sdk.starlette import StepAuth, require, transaction_guard
from stepauth.sdk.transaction import BoundTransaction
from tests.helpers.django_script import DJANGO_SETUP, run_django
from tests.helpers.payments import API, NOW, TRANSFER, payment_of

__all__ = [
    "Answer",
    "AsgiBank",
    "Bank",
    "DjangoBank",
    "FlaskBank",
    "Outcome",
    "Send",
]

ISSUER = "https://op.example.com"


@dataclass(frozen=True)
class Send:
    """One transfer request: ``token`` as the bearer (``None``: no Authorization header),
    ``change`` over :data:`TRANSFER`; ``concurrent`` copies sent at once."""

    token: str | None
    change: Mapping[str, str] = field(default_factory=dict)
    path: str = "/transfers"
    concurrent: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"token": self.token, "body": {**TRANSFER, **self.change}, "path": self.path}


@dataclass(frozen=True)
class Answer:
    """What one request got: the status, a refusal's ``"error: description"``, a success's
    JSON body, and the two headers the guard and ``require`` set."""

    status: int
    error: str | None = None
    body: Any = None
    cache_control: str | None = None
    www_authenticate: str | None = None

    def sort_key(self) -> tuple[int, str]:
        return self.status, self.error or ""


@dataclass(frozen=True)
class Outcome:
    """The answers in the order sent (a concurrent send: its answers sorted, 200 first) and
    the ``txn`` of every transfer the view executed during the batch."""

    answers: list[Any]
    executed: list[str]


class Bank(Protocol):
    def run(self, *sends: Send) -> Outcome: ...


def _concurrently(send: Send, one: Callable[[Send], Answer]) -> list[Answer]:
    barrier = threading.Barrier(send.concurrent)

    def race(_: int) -> Answer:
        barrier.wait()
        return one(send)

    with ThreadPoolExecutor(send.concurrent) as pool:
        return sorted(pool.map(race, range(send.concurrent)), key=Answer.sort_key)


def _answer(status: int, headers: Mapping[str, str], body: bytes, *, detail: bool) -> Answer:
    """``detail``: a Starlette ``HTTPException`` body (``{"detail": "error: description"}``),
    else the guard's OAuth error body (RFC 6750 §3)."""
    content_type = headers.get("content-type", "")
    data = json.loads(body) if "json" in content_type and body else None
    error: str | None = None
    if status != 200:
        if data is None:
            error = body.decode() or None
        elif detail:
            error = str(data["detail"])
        elif "error" in data:
            error = f"{data['error']}: {data.get('error_description', '')}"
    return Answer(
        status=status,
        error=error,
        body=data if status == 200 else None,
        cache_control=headers.get("cache-control"),
        www_authenticate=headers.get("www-authenticate"),
    )


def _bearer(send: Send) -> dict[str, str]:
    return {"Authorization": f"Bearer {send.token}"} if send.token else {}


class FlaskBank:
    """``FlaskStepAuth.require("phr")`` then ``FlaskTransactionGuard`` over a sync ledger."""

    def __init__(self, jwks: Any, ledger: Any) -> None:
        self.executed: list[str] = []
        self.lock = threading.Lock()
        resource_server = ResourceServer(
            issuer=ISSUER, audience=API, jwks=JWKSCache(keys=jwks), clock=lambda: NOW
        )
        stepauth = FlaskStepAuth(resource_server=resource_server)
        guard = FlaskTransactionGuard(
            ledger,
            details=lambda request: payment_of(request.get_json(force=True)),
            clock=lambda: NOW,
        )
        self.app = flask.Flask(__name__)

        @self.app.post("/transfers")
        @stepauth.require("phr")
        @guard
        def transfer() -> dict[str, str]:
            bound = flask.g.stepauth_transaction
            with self.lock:
                self.executed.append(bound.txn)
            return {"txn": bound.txn}

    def one(self, send: Send) -> Answer:
        body = json.dumps(send.to_json()["body"])
        response = self.app.test_client().post(send.path, data=body, headers=_bearer(send))
        headers = {k.lower(): v for k, v in response.headers.items()}
        return _answer(response.status_code, headers, response.get_data(), detail=False)

    def run(self, *sends: Send) -> Outcome:
        before = len(self.executed)
        answers: list[Any] = [
            _concurrently(s, self.one) if s.concurrent > 1 else self.one(s) for s in sends
        ]
        return Outcome(answers, self.executed[before:])


class AsgiBank:
    """``transaction_guard(ledger, claims=require("phr"))`` as a FastAPI dependency or called
    by a plain Starlette endpoint; a SQLite ledger opened in each batch's event loop."""

    def __init__(self, jwks: Any, database: Path, flavour: str) -> None:
        self.jwks = jwks
        self.url = f"sqlite+aiosqlite:///{database}"
        self.flavour = flavour
        self.executed: list[str] = []

    def app(self, ledger: Any) -> Any:
        async def details(request: Request) -> list[dict[str, Any]]:
            return payment_of(await request.json())

        resource_server = ResourceServer(
            issuer=ISSUER, audience=API, jwks=JWKSCache(keys=self.jwks), clock=lambda: NOW
        )
        guard = transaction_guard(ledger, claims=require("phr"), details=details, clock=lambda: NOW)
        app: Any
        if self.flavour == "fastapi":
            app = FastAPI()

            @app.post("/transfers")
            async def transfer(
                bound: BoundTransaction = Depends(guard),  # noqa: B008
            ) -> dict[str, str]:
                self.executed.append(bound.txn)
                return {"txn": bound.txn}

        else:

            async def endpoint(request: Request) -> JSONResponse:
                bound = await guard(request)
                self.executed.append(bound.txn)
                return JSONResponse({"txn": bound.txn})

            app = Starlette(routes=[Route("/transfers", endpoint, methods=["POST"])])
        app.state.stepauth = StepAuth(resource_server=resource_server)
        return app

    async def batch(self, sends: Sequence[Send]) -> Outcome:
        before = len(self.executed)
        ledger = SQLLedger.from_url(self.url, clock=lambda: NOW)
        await ledger.create_schema()
        transport = httpx.ASGITransport(app=self.app(ledger))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bank.test") as c:

                async def one(send: Send) -> Answer:
                    headers = {**_bearer(send), "Content-Type": "application/json"}
                    body = json.dumps(send.to_json()["body"])
                    response = await c.post(send.path, content=body, headers=headers)
                    lowered = {k.lower(): v for k, v in response.headers.items()}
                    return _answer(response.status_code, lowered, response.content, detail=True)

                answers: list[Any] = []
                for send in sends:
                    if send.concurrent > 1:
                        many = await asyncio.gather(*(one(send) for _ in range(send.concurrent)))
                        answers.append(sorted(many, key=Answer.sort_key))
                    else:
                        answers.append(await one(send))
        finally:
            await ledger.close()
        return Outcome(answers, self.executed[before:])

    def run(self, *sends: Send) -> Outcome:
        return asyncio.run(self.batch(sends))


DJANGO_PROJECT = (
    DJANGO_SETUP
    + r"""
import threading
from concurrent.futures import ThreadPoolExecutor

from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.jose import KeySet
from stepauth.sdk.django import DjangoStepAuth, require
from stepauth.sdk.django import DjangoTransactionGuard
from stepauth.sdk.redis_stores import SyncRedisLedger
from tests.helpers.payments import payment_of

NOW = job["now"]
settings.STEPAUTH = DjangoStepAuth(resource_server=ResourceServer(
    issuer=job["issuer"], audience=job["audience"],
    jwks=JWKSCache(keys=KeySet.from_jwks(job["jwks"])), clock=lambda: NOW,
))
ledger = SyncRedisLedger.from_url(job["redis_url"], prefix=job["prefix"], clock=lambda: NOW)
executed = []
lock = threading.Lock()


def payment(request):
    return payment_of(json.loads(request.body))


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


urlpatterns = [path("transfers", transfer), path("transfers-async", transfer_async)]


def send(step):
    headers = {"HTTP_AUTHORIZATION": "Bearer " + step["token"]} if step.get("token") else {}
    response = Client().post(
        step["path"], data=json.dumps(step["body"]),
        content_type="application/json", **headers,
    )
    return {
        "status": response.status_code,
        "headers": {k.lower(): v for k, v in response.items()},
        "body": response.content.decode(),
    }


answers = []
for step in job["steps"]:
    if step["concurrent"] > 1:
        barrier = threading.Barrier(step["concurrent"])

        def race(_):
            barrier.wait()
            return send(step)

        with ThreadPoolExecutor(step["concurrent"]) as pool:
            answers.append(list(pool.map(race, range(step["concurrent"]))))
    else:
        answers.append(send(step))
ledger.close()
print(json.dumps({"answers": answers, "executed": executed}))
"""
)


class DjangoBank:
    """``require("phr")`` then ``DjangoTransactionGuard`` (a sync and an async view,
    ``/transfers-async``) over a Redis ledger, in a fresh interpreter per batch."""

    def __init__(self, jwks: Mapping[str, Any], redis_url: str, redis_prefix: str) -> None:
        self.jwks = jwks
        self.redis_url = redis_url
        self.redis_prefix = redis_prefix

    def run(self, *sends: Send) -> Outcome:
        steps = [{**s.to_json(), "concurrent": s.concurrent} for s in sends]
        job = {
            "now": NOW,
            "issuer": ISSUER,
            "audience": API,
            "jwks": self.jwks,
            "redis_url": self.redis_url,
            "prefix": self.redis_prefix,
            "steps": steps,
        }
        result: dict[str, Any] = run_django(DJANGO_PROJECT, job)

        def answer(raw: Mapping[str, Any]) -> Answer:
            return _answer(raw["status"], raw["headers"], raw["body"].encode(), detail=False)

        answers: list[Any] = [
            sorted(map(answer, raw), key=Answer.sort_key) if isinstance(raw, list) else answer(raw)
            for raw in result["answers"]
        ]
        return Outcome(answers, list(result["executed"]))
