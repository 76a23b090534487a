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
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepauth.demo import accounts, admin, payments, payout
from stepauth.demo.ledger import Ledger
from stepauth.demo.sessions import MemorySessions, SessionMiddleware
from stepauth.demo.stepup import ASKED, Gate
from stepauth.demo.web import (
    HERE,
    Bank,
    account_url,
    bank_of,
    customer_of,
    pending_action,
    render,
)
from stepauth.policy import load_policy
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
#: The forms a bound action starts from: template and title.
_FORMS = {
    "/transfer": ("transfer.html", "Send money"),
    "/payees": ("payees.html", "Payees"),
    "/payout": ("payout.html", "Payout details"),
}
#: OpenID Connect Core 1.0 §3.1.2.6: no way to meet the requested authentication.
UNMET = "unmet_authentication_requirements"


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
    policy = load_policy(settings.policy_path)

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
    app.add_api_route("/favicon.ico", favicon, methods=["GET"])
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
        if exc.error == UNMET and isinstance(asked, dict) and customer_of(request) is not None:
            return _unmet(request, asked)
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


def _unmet(request: Request, asked: Mapping[str, Any]) -> Response:
    """None of the customer's sign-in methods can meet the step-up (the Provider answered
    ``unmet_authentication_requirements``, OpenID Connect Core 1.0 §3.1.2.6): say in
    words what is missing and where to add it, on the form the action came from, as typed.
    """
    acr_values = asked.get("acr_values")
    hardware = isinstance(acr_values, list) and "phrh" in acr_values
    need = {"href": account_url(request)}
    if hardware:
        need["text"] = (
            "This needs a security key whose attestation your identity provider trusts: a "
            "hardware key certified in the FIDO Metadata Service, added with Add security "
            "key. Your account has no such key yet (a passkey, synced or not, does not "
            "count)."
        )
        need["link"] = "Add a security key at your identity provider"
    else:
        need["text"] = (
            "This needs a passkey, and your account has none that can approve it yet (a "
            "passkey added with a password alone is on hold for a day)."
        )
        need["link"] = "Add a passkey at your identity provider"
    resume = asked.get("resume")
    key = dict(parse_qsl(urlsplit(resume).query)).get("id", "") if isinstance(resume, str) else ""
    pending = pending_action(request, key)
    if pending is not None and pending[0] in _FORMS:
        template, title = _FORMS[pending[0]]
        need["after"] = "Then send this form again: what you typed is kept."
        return render(request, template, 403, title=title, form=pending[1], need=need)
    need["after"] = "Then try again."
    return render(
        request,
        "error.html",
        403,
        title="Add a stronger sign-in first",
        need=need,
        asked=dict(asked),
    )


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


async def confirm(request: Request, id: str = "") -> Response:
    """After a bound step-up: show the action as it was stored before the step-up (never
    values from this URL); only the customer's click runs it."""
    customer = customer_of(request)
    pending = pending_action(request, id) if customer is not None else None
    summary = _SUMMARIES.get(pending[0]) if pending is not None else None
    rows = summary(customer, pending[1]) if summary and pending and customer else None
    if pending is None or rows is None:
        return RedirectResponse("/", status_code=303)
    return render(
        request, "confirm.html", title="Confirm", rows=rows, action=pending[0], fields=pending[1]
    )


async def favicon(request: Request) -> Response:
    """Browsers ask for ``/favicon.ico`` whatever the page links: the bank's icon."""
    del request
    return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")
