"""Acme Bank: a FastAPI app protected by the public stepauth SDK and action policy only.

``create_app(settings)`` discovers the OP at startup, signs customers in with the code
flow (PKCE, PAR) and asks for a step-up exactly where the policy (``policy.toml`` next to
this file) says so. Sessions live in memory (:mod:`stepauth.demo.sessions`): one worker.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepauth.demo import accounts, admin, payments, payout
from stepauth.demo.ledger import Ledger
from stepauth.demo.sessions import MemorySessions, SessionMiddleware
from stepauth.demo.stepup import ASKED, Gate
from stepauth.demo.web import HERE, Bank, bank_of, customer_of, render
from stepauth.policy import Policy
from stepauth.sdk import (
    BrowserStepUp,
    InsufficientAuthentication,
    ProviderMetadata,
    RelyingParty,
    SDKError,
)
from stepauth.sdk.errors import AuthorizationFailed

__all__ = ["DEFAULT_POLICY", "BankSettings", "create_app"]

DEFAULT_POLICY = HERE / "policy.toml"
_SUMMARIES = {**payments.summaries, **payout.summaries, **admin.summaries}


def _headers(issuer: str) -> dict[str, str]:
    """No inline script, no framing; forms may lead only here and to the OP (redirects)."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(issuer))
    return {
        "content-security-policy": "default-src 'self'; frame-ancestors 'none'; "
        f"form-action 'self' {origin}",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
    }


Hook = Callable[[httpx.Request], Awaitable[None]]


@dataclass(frozen=True)
class BankSettings:
    """Where the OP is and who the bank is to it (a confidential client)."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    #: The bank's own customer records: OP ``sub`` → customer name (demo profiles).
    customers: Mapping[str, str] = field(default_factory=dict)
    #: Registered at the OP: where RP-Initiated Logout returns (None: bank-only sign-out).
    post_logout_redirect_uri: str | None = None
    policy_path: Path = DEFAULT_POLICY
    request_hooks: tuple[Hook, ...] = field(default=())


class _SecurityHeaders:
    def __init__(self, app: ASGIApp, *, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: BankSettings, *, clock: Callable[[], float] = time.time) -> FastAPI:
    policy = Policy.load(settings.policy_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hooks: dict[str, list[Any]] = {"request": list(settings.request_hooks)}
        async with httpx.AsyncClient(timeout=10, event_hooks=hooks) as client:
            metadata = await ProviderMetadata.adiscover(settings.issuer, client)
            rp = RelyingParty(
                metadata,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                redirect_uri=settings.redirect_uri,
                scope="openid profile",
                use_par=metadata.pushed_authorization_request_endpoint is not None,
                clock=clock,
                async_client=client,
            )
            browser = BrowserStepUp(rp, callback_path="/callback", clock=clock)
            discovery = await client.get(f"{settings.issuer}/.well-known/openid-configuration")
            end_session = discovery.json().get("end_session_endpoint")
            app.state.bank = Bank(
                browser,
                Gate(policy, browser),
                Ledger(settings.customers),
                settings.issuer,
                client_id=settings.client_id,
                end_session_endpoint=end_session if isinstance(end_session, str) else None,
                post_logout_redirect_uri=settings.post_logout_redirect_uri,
            )
            yield

    app = FastAPI(
        title="Acme Bank", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.add_middleware(SessionMiddleware, sessions=MemorySessions(clock=clock))
    app.add_middleware(_SecurityHeaders, headers=_headers(settings.issuer))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (accounts, payments, payout, admin):
        app.include_router(module.router)
    app.add_api_route("/", home, methods=["GET"])
    app.add_api_route("/login", login, methods=["GET"])
    app.add_api_route("/callback", callback, methods=["GET"])
    app.add_api_route("/logout", logout, methods=["POST"])
    app.add_api_route("/confirm", confirm, methods=["GET"])
    return app


async def home(request: Request) -> Response:
    if customer_of(request) is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return render(request, "home.html", title="Welcome to Acme Bank")


async def login(request: Request, next: str = "/dashboard") -> Response:
    # The SDK keeps only the path and query of ``resume``: never a redirect off this site.
    url = await bank_of(request).gate.login(request.session, resume=next)
    return RedirectResponse(url, status_code=303)


async def callback(request: Request) -> Response:
    """The redirect_uri: validate the answer, then go back to what the customer was doing."""
    bank = bank_of(request)
    signed_in = BrowserStepUp.claims(request.session) is not None
    try:
        resume = await bank.browser.acallback(request.session, dict(request.query_params))
    except (AuthorizationFailed, InsufficientAuthentication) as exc:
        asked = request.session.pop(ASKED, None)
        return render(
            request,
            "error.html",
            403,
            title="Verification did not complete",
            message=exc.description,
            code=exc.error,
            asked=asked if isinstance(asked, dict) else None,
        )
    except SDKError as exc:
        return render(
            request,
            "error.html",
            400,
            title="Sign-in failed",
            message=exc.description,
            code=exc.error,
        )
    if not signed_in:
        request.session["_rotate"] = True
    return RedirectResponse(resume.redirect or "/dashboard", status_code=303)


async def logout(request: Request) -> Response:
    """End the bank session, then the OP's (RP-Initiated Logout 1.0 §2) when registered."""
    bank = bank_of(request)
    id_token = BrowserStepUp.id_token(request.session)
    request.session.clear()
    request.session["_logout"] = True
    target = "/"
    if bank.end_session_endpoint and bank.post_logout_redirect_uri and isinstance(id_token, str):
        query = urlencode(
            {
                "id_token_hint": id_token,
                "client_id": bank.client_id,
                "post_logout_redirect_uri": bank.post_logout_redirect_uri,
            }
        )
        target = f"{bank.end_session_endpoint}?{query}"
    return RedirectResponse(target, status_code=303)


async def confirm(request: Request) -> Response:
    """After a bound step-up: show the action again; only the customer's click runs it."""
    fields: Mapping[str, str] = dict(parse_qsl(request.url.query))
    next_path = fields.get("next", "")
    summary = _SUMMARIES.get(next_path)
    customer = customer_of(request)
    if customer is None or summary is None:
        return RedirectResponse("/", status_code=303)
    data = {k: v for k, v in fields.items() if k != "next"}
    rows = summary(customer, data)
    if rows is None:
        return RedirectResponse("/", status_code=303)
    return render(
        request, "confirm.html", title="Confirm", rows=rows, action=next_path, fields=data
    )
