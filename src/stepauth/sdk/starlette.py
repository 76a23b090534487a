"""Starlette / FastAPI adapter: ``require()`` as a dependency or a decorator, and middleware.

::

    stepauth = StepAuth(resource_server=rs)               # API: bearer tokens
    stepauth = StepAuth(resource_server=rs, txn_ledger=ledger)   # … and bound routes
    stepauth = StepAuth(browser=BrowserStepUp(rp))        # browser app: session + redirect
    app.state.stepauth = stepauth

    @app.post("/transfer")
    async def transfer(claims = Depends(require("phr", max_age=300))): ...

    @require("phr", max_age=300)                           # plain Starlette endpoint
    async def transfer(request): ...

An API route answers ``401`` with the RFC 9470 challenge; a browser route is redirected to
the OP and resumed after the callback (:meth:`StepAuth.routes` mounts it). For session-based
apps :class:`StepUpMiddleware` guards path prefixes without touching the endpoints.

A resource server that executes transaction-bound actions (RFC 9396 §9) consumes each
token's ``txn`` once with :func:`transaction_guard`::

    guard = transaction_guard(ledger, claims=require("phr"), details=payment_from_request)

    @app.post("/transfers")
    async def transfer(bound: BoundTransaction = Depends(guard)):
        ...                                   # bound.txn was consumed; execute exactly this

``ledger`` is any consume-once ledger (:mod:`stepauth.sdk.ledger`); ``claims`` turns the
request into validated access-token claims (a :func:`require` dependency: its 401 challenge
passes through); ``details`` builds the ``authorization_details`` the endpoint is about to
execute (sync or async). The checks are :class:`~stepauth.sdk.transaction.TransactionGuard`'s,
the same as the Flask and Django guards': a failed binding answers ``403`` with
``transaction_missing``, ``transaction_mismatch`` or ``transaction_replayed`` and the reason
(``Cache-Control: no-store``): a step-up cannot fix a tampered or spent approval.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Unpack, overload

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from stepauth.assurance import Requirement
from stepauth.sdk.binding import Binding, route_rule
from stepauth.sdk.errors import SDKError as _SDKError
from stepauth.sdk.ledger import AnyLedger
from stepauth.sdk.transaction import (
    BoundTransaction,
    GuardSettings,
    TransactionGuard,
)
from stepauth.sdk.transaction_refusal import TransactionRefusal
from stepauth.sdk.web import (
    FORM_MEDIA_TYPES,
    Outcome,
    WebRequest,
    WebStepAuth,
    longest_prefix_first,
    match_rule,
    media_type,
)

if TYPE_CHECKING:
    from stepauth.policy import Decision

__all__ = [
    "StepAuth",
    "StepUpMiddleware",
    "TransactionDependency",
    "require",
    "transaction_guard",
]

F = TypeVar("F", bound=Callable[..., Any])


class _Denied(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _response(outcome: Outcome) -> Response:
    if outcome.location is not None:
        return RedirectResponse(outcome.location, status_code=303)
    if outcome.content_type == "text/html":
        return HTMLResponse(outcome.body, outcome.status, headers=dict(outcome.headers))
    return PlainTextResponse(outcome.body, outcome.status, headers=dict(outcome.headers))


class StepAuth(WebStepAuth):
    """The SDK's configuration for one Starlette/FastAPI app (API, browser, or both)."""

    def require(
        self,
        *acr_values: str | Decision,
        max_age: int | None = None,
        bind: Binding | None = None,
    ) -> Require:
        """A route's requirement (acr values, or a policy ``Decision``); a bound one with a
        ``resource_server`` needs ``txn_ledger=`` (refused here, at configuration time)."""
        requirement, binding = route_rule(acr_values, max_age, bind)
        self.check_binding(binding)
        return Require(requirement, stepauth=self, binding=binding)

    async def guard(
        self, request: Request, requirement: Requirement, binding: Binding | None = None
    ) -> dict[str, Any]:
        """Claims that meet ``requirement``, or raise :class:`_Denied` with the answer."""
        form: list[tuple[str, str]] = []
        authorization = request.headers.get("authorization")
        form_body = media_type(request.headers.get("content-type")) in FORM_MEDIA_TYPES
        if binding is not None and form_body:
            # A file part counts too: ``form[name]`` is the last part of that name, whatever
            # its kind, so a text field repeated as a file must be seen as repeated.
            data = await request.form()
            form = [(k, v if isinstance(v, str) else "") for k, v in data.multi_items()]
        elif request.method not in ("GET", "HEAD") and not self.api_call(authorization):
            data = await request.form()
            form = [(k, v) for k, v in data.multi_items() if isinstance(v, str)]
        outcome = await self.adecide(
            WebRequest(
                method=request.method,
                authorization=authorization,
                session=request.session if self.browser is not None else {},
                form=form,
                query=request.query_params.multi_items(),
                url=str(request.url),
                form_body=form_body,
                dpop=request.headers.getlist("dpop"),
            ),
            requirement,
            binding,
        )
        if outcome.claims is not None:
            return outcome.claims
        raise _Denied(_response(outcome))

    async def callback(self, request: Request) -> Response:
        """The redirect_uri endpoint: validate, then resume the interrupted action."""
        return _response(await self.afinish(request.session, dict(request.query_params)))

    def routes(self) -> list[Route]:
        assert self.browser is not None
        return [Route(self.browser.callback_path, self.callback, methods=["GET"])]


def _find_stepauth(conn: HTTPConnection, explicit: StepAuth | None) -> StepAuth:
    found = explicit or conn.scope.get("stepauth") or getattr(conn.app.state, "stepauth", None)
    if not isinstance(found, StepAuth):
        raise _SDKError("no StepAuth configured: set app.state.stepauth or pass stepauth=")
    return found


class Require:
    """``Depends(require(...))`` returns the claims; ``@require(...)`` guards an endpoint."""

    def __init__(
        self,
        requirement: Requirement,
        *,
        stepauth: StepAuth | None = None,
        binding: Binding | None = None,
    ) -> None:
        self.requirement = requirement
        self.stepauth = stepauth
        self.binding = binding

    @overload
    def __call__(self, request: Request) -> Awaitable[dict[str, Any]]: ...

    @overload
    def __call__(self, request: F) -> F: ...

    def __call__(self, request: Request) -> Any:  # type: ignore[misc]
        # FastAPI reads this signature: the one parameter must be annotated Request.
        if isinstance(request, Request):
            return self._dependency(request)
        return self._decorate(request)

    async def _dependency(self, request: Request) -> dict[str, Any]:
        try:
            stepauth = _find_stepauth(request, self.stepauth)
            return await stepauth.guard(request, self.requirement, self.binding)
        except _Denied as denied:
            response = denied.response
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            detail = response.body.decode() if isinstance(response.body, bytes) else None
            raise HTTPException(response.status_code, detail=detail, headers=headers) from None

    def _decorate(self, func: F) -> F:
        params = list(inspect.signature(func).parameters)
        index = params.index("request") if "request" in params else 0

        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = kwargs.get("request", args[index] if len(args) > index else None)
            if not isinstance(request, Request):
                raise _SDKError("@require needs the endpoint's request argument")
            try:
                claims = await _find_stepauth(request, self.stepauth).guard(
                    request, self.requirement, self.binding
                )
            except _Denied as denied:
                return denied.response
            request.state.stepauth_claims = claims
            result = func(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return wrapper  # type: ignore[return-value]


def _mark_coroutine_function(func: Callable[..., Any]) -> None:
    # `Require.__call__` answers a Request with a coroutine (dependency) and a function with
    # a wrapper (decorator). Marking it lets FastAPI await it as an async dependency.
    if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+
        inspect.markcoroutinefunction(func)
    else:
        import asyncio.coroutines

        func._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]


_mark_coroutine_function(Require.__call__)


def require(
    *acr_values: str | Decision,
    max_age: int | None = None,
    bind: Binding | None = None,
    stepauth: StepAuth | None = None,
) -> Require:
    """The requirement of one route: ``require("phr", max_age=300)``, or the action
    policy's ``require(policy.decide(action, context))``; ``bind=`` makes the step-up
    authorize this one transaction, once (RFC 9396)."""
    requirement, binding = route_rule(acr_values, max_age, bind)
    return Require(requirement, stepauth=stepauth, binding=binding)


class StepUpMiddleware:
    """ASGI middleware for session-based apps: ``rules`` maps path prefixes to requirements.

    Needs Starlette's ``SessionMiddleware`` outside it. Serves the callback path itself.
    ``methods`` limits which methods are guarded (all by default).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        stepauth: StepAuth,
        rules: Mapping[str, Requirement],
        methods: Sequence[str] | None = None,
    ) -> None:
        self.app = app
        self.stepauth = stepauth
        self.rules = longest_prefix_first(rules)
        self.methods = {m.upper() for m in methods} if methods else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["stepauth"] = self.stepauth
        request = Request(scope, receive)
        browser = self.stepauth.browser
        if browser is not None and scope["path"] == browser.callback_path:
            await (await self.stepauth.callback(request))(scope, receive, send)
            return
        requirement = self._match(scope["path"], scope["method"])
        if requirement is not None:
            try:
                await self.stepauth.guard(request, requirement)
            except _Denied as denied:
                await denied.response(scope, receive, send)
                return
        await self.app(scope, request.receive, send)

    def _match(self, path: str, method: str) -> Requirement | None:
        if self.methods is not None and method.upper() not in self.methods:
            return None
        return match_rule(self.rules, path)


Details = Sequence[Mapping[str, Any]]
DetailsFrom = Callable[[Request], Details | Awaitable[Details]]
ClaimsFrom = Callable[[Request], Awaitable[Mapping[str, Any]]]


class TransactionDependency:
    """``Depends(guard)`` → the consumed :class:`BoundTransaction`, or the refusal raised as
    an ``HTTPException``."""

    def __init__(self, guard: TransactionGuard, *, claims: ClaimsFrom, details: DetailsFrom):
        self.guard = guard
        self.claims = claims
        self.details = details

    async def __call__(self, request: Request) -> BoundTransaction:
        claims = await self.claims(request)
        outcome = await self.guard.check_request(
            claims,
            lambda: self.details(request),
            authorization=request.headers.get("authorization"),
        )
        if isinstance(outcome, TransactionRefusal):
            raise HTTPException(
                outcome.status,
                detail=f"{outcome.error}: {outcome.description}",
                headers=outcome.headers(),
            )
        return outcome


def transaction_guard(
    ledger: AnyLedger,
    *,
    claims: ClaimsFrom,
    details: DetailsFrom,
    **settings: Unpack[GuardSettings],
) -> TransactionDependency:
    """A dependency that consumes the token's ``txn`` if ``details`` are what was approved;
    ``settings`` as the guard's (its ``401`` is in the DPoP scheme, with ``dpop_algs``, for
    a DPoP request or where ``require_dpop``: RFC 9449 §7.1)."""
    return TransactionDependency(
        TransactionGuard(ledger, **settings),
        claims=claims,
        details=details,
    )
