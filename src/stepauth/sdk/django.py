"""Django adapter: ``@require("phr", max_age=300)`` for sync and async views, the callback
view and :class:`StepUpMiddleware` for path rules.

Settings::

    STEPAUTH = DjangoStepAuth(browser=BrowserStepUp(rp))   # and/or resource_server=rs
                                                           # (+ txn_ledger= for bind=)
    STEPAUTH_RULES = {"/transfer": Requirement(("phr",), 300)}   # for the middleware
    urlpatterns += [path("stepauth/callback", callback_view)]

Async views run the same (sync) guard through ``sync_to_async``, because Django sessions
may touch the database: one code path for both kinds of views.

A resource server that executes transaction-bound actions (RFC 9396 §9) consumes each
token's ``txn`` once with :class:`DjangoTransactionGuard`::

    bound_payment = DjangoTransactionGuard(ledger, details=payment_from_request)  # sync ledger

    @require("phr")                   # token → request.stepauth_claims
    @bound_payment
    def transfer(request):
        bound = request.stepauth_transaction  # its txn was consumed; execute exactly this

The checks are :class:`~stepauth.sdk.transaction.SyncTransactionGuard`'s, shared with the
Starlette and Flask guards; a failed binding answers ``403``, no validated claims ``401``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect

from stepauth.assurance import Requirement
from stepauth.sdk.binding import Binding, route_rule
from stepauth.sdk.errors import SDKError as _SDKError
from stepauth.sdk.ledger import SyncLedger
from stepauth.sdk.transaction import GuardSettings, SyncTransactionGuard
from stepauth.sdk.transaction_refusal import TransactionRefusal
from stepauth.sdk.web import (
    FORM_MEDIA_TYPES,
    Outcome,
    WebRequest,
    WebStepAuth,
    longest_prefix_first,
    match_rule,
)

if TYPE_CHECKING:
    from stepauth.policy import Decision

__all__ = [
    "DjangoStepAuth",
    "DjangoTransactionGuard",
    "StepUpMiddleware",
    "callback_view",
    "require",
]

F = TypeVar("F", bound=Callable[..., Any])


class _SeeOther(HttpResponseRedirect):
    status_code = 303


def _response(outcome: Outcome) -> HttpResponseBase:
    if outcome.location is not None:
        return _SeeOther(outcome.location)
    response = HttpResponse(outcome.body, status=outcome.status, content_type=outcome.content_type)
    for key, value in outcome.headers.items():
        response[key] = value
    return response


class DjangoStepAuth(WebStepAuth):
    """The SDK's configuration for one Django project (``settings.STEPAUTH``); a bound view
    answering API calls needs ``txn_ledger=`` (a sync ledger), else they get ``403``."""

    sync_only = True

    def guard(
        self, request: HttpRequest, requirement: Requirement, binding: Binding | None = None
    ) -> HttpResponseBase | None:
        """``None`` when the request may proceed (claims on ``request.stepauth_claims``)."""
        form: list[tuple[str, str]] = []
        if request.method not in ("GET", "HEAD"):
            form = [(k, v) for k, values in request.POST.lists() for v in values]
        # Django parses a form body for POST only: any other method's body stays unread,
        # so a bound PUT/PATCH/DELETE is refused rather than judged by its query alone.
        form_body = request.method == "POST" and request.content_type in FORM_MEDIA_TYPES
        outcome = self.decide(
            WebRequest(
                method=request.method or "GET",
                authorization=request.headers.get("Authorization"),
                session=request.session,
                form=form,
                query=[(k, v) for k, values in request.GET.lists() for v in values],
                url=request.get_full_path(),
                form_body=form_body,
                dpop=[request.headers["DPoP"]] if "DPoP" in request.headers else [],
                absolute_url=request.build_absolute_uri(request.path),
            ),
            requirement,
            binding,
        )
        if outcome.claims is not None:
            request.stepauth_claims = outcome.claims  # type: ignore[attr-defined]
            return None
        return _response(outcome)

    def callback(self, request: HttpRequest) -> HttpResponseBase:
        return _response(self.finish(request.session, request.GET.dict()))


def _configured() -> DjangoStepAuth:
    found = getattr(settings, "STEPAUTH", None)
    if not isinstance(found, DjangoStepAuth):
        raise _SDKError("settings.STEPAUTH must be a DjangoStepAuth")
    return found


def require(
    *acr_values: str | Decision, max_age: int | None = None, bind: Binding | None = None
) -> Callable[[F], F]:
    """Guard a sync or an async view (acr values, or a policy ``Decision``); ``bind=`` makes
    the step-up authorize this one transaction, once (RFC 9396)."""
    requirement, bind = route_rule(acr_values, max_age, bind)

    def decorate(view: F) -> F:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                denied = await sync_to_async(_configured().guard)(request, requirement, bind)
                if denied is not None:
                    return denied
                return await view(request, *args, **kwargs)

            return markcoroutinefunction(async_wrapper)  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            denied = _configured().guard(request, requirement, bind)
            if denied is not None:
                return denied
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def callback_view(request: HttpRequest) -> HttpResponseBase:
    """The ``redirect_uri`` view (mount it at the browser flow's ``callback_path``)."""
    return _configured().callback(request)


class StepUpMiddleware:
    """Guards path prefixes from ``settings.STEPAUTH_RULES`` (sync and async stacks)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        rules: Mapping[str, Requirement] = getattr(settings, "STEPAUTH_RULES", {})
        self.rules = longest_prefix_first(rules)

    def _match(self, path: str) -> Requirement | None:
        return match_rule(self.rules, path)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        requirement = self._match(request.path)
        if requirement is not None:
            denied = _configured().guard(request, requirement)
            if denied is not None:
                return denied
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        requirement = self._match(request.path)
        if requirement is not None:
            denied = await sync_to_async(_configured().guard)(request, requirement)
            if denied is not None:
                return denied
        result = self.get_response(request)
        return await result if inspect.isawaitable(result) else result


Details = Sequence[Mapping[str, Any]]


def _request_claims(request: HttpRequest) -> Mapping[str, Any] | None:
    claims = getattr(request, "stepauth_claims", None)
    return claims if isinstance(claims, Mapping) else None


class DjangoTransactionGuard:
    """A view decorator that consumes the token's ``txn`` if ``details`` are what was
    approved; the :class:`~stepauth.sdk.transaction.BoundTransaction` is on
    ``request.stepauth_transaction``."""

    def __init__(
        self,
        ledger: SyncLedger,
        *,
        details: Callable[[HttpRequest], Details],
        claims: Callable[[HttpRequest], Mapping[str, Any] | None] = _request_claims,
        **settings: Unpack[GuardSettings],
    ) -> None:
        """``settings``: the guard's ``registry``, ``leeway``, ``clock``, and ``dpop_algs``
        and ``require_dpop`` as the resource server's (a ``401`` to a DPoP request, or where
        DPoP is required, is a DPoP challenge: RFC 9449 §7.1)."""
        self.guard = SyncTransactionGuard(ledger, **settings)
        self.details = details
        self.claims = claims

    def check(self, request: HttpRequest) -> HttpResponse | None:
        """``None`` when the view may run (the transaction is consumed), else the answer."""
        outcome = self.guard.check_request(
            self.claims(request),
            lambda: self.details(request),
            authorization=request.headers.get("Authorization"),
        )
        if isinstance(outcome, TransactionRefusal):
            response = HttpResponse(
                outcome.body(), status=outcome.status, content_type="application/json"
            )
            for name, value in outcome.headers().items():
                response[name] = value
            return response
        request.stepauth_transaction = outcome  # type: ignore[attr-defined]
        return None

    def __call__(self, view: F) -> F:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refused = await sync_to_async(self.check)(request)
                if refused is not None:
                    return refused
                return await view(request, *args, **kwargs)

            return markcoroutinefunction(async_wrapper)  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = self.check(request)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]
