"""Django adapter: ``@require("phr", max_age=300)`` for sync and async views, the callback
view and :class:`StepUpMiddleware` for path rules.

Settings::

    STEPAUTH = DjangoStepAuth(browser=BrowserStepUp(rp))   # and/or resource_server=rs
    STEPAUTH_RULES = {"/transfer": Requirement(("phr",), 300)}   # for the middleware
    urlpatterns += [path("stepauth/callback", callback_view)]

Async views run the same (sync) guard through ``sync_to_async``, because Django sessions
may touch the database: one code path for both kinds of views.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect

from stepauth.assurance import Requirement
from stepauth.sdk.api import AuthErrorResponse, ResourceServer, bearer_token, error_response
from stepauth.sdk.binding import Binding
from stepauth.sdk.browser import BrowserStepUp
from stepauth.sdk.errors import AuthorizationFailed, CallbackError, InsufficientAuthentication
from stepauth.sdk.errors import SDKError as _SDKError

__all__ = ["DjangoStepAuth", "StepUpMiddleware", "callback_view", "require"]

F = TypeVar("F", bound=Callable[..., Any])


class _SeeOther(HttpResponseRedirect):
    status_code = 303


def _response(answer: AuthErrorResponse) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status, content_type="text/plain")
    for key, value in answer.headers.items():
        response[key] = value
    return response


class DjangoStepAuth:
    """The SDK's configuration for one Django project (``settings.STEPAUTH``)."""

    def __init__(
        self,
        *,
        resource_server: ResourceServer | None = None,
        browser: BrowserStepUp | None = None,
    ) -> None:
        if resource_server is None and browser is None:
            raise _SDKError("DjangoStepAuth needs a resource_server, a browser flow, or both")
        self.resource_server = resource_server
        self.browser = browser

    def guard(
        self, request: HttpRequest, requirement: Requirement, binding: Binding | None = None
    ) -> HttpResponseBase | None:
        """``None`` when the request may proceed (claims on ``request.stepauth_claims``)."""
        authorization = request.headers.get("Authorization")
        if self.resource_server is not None and (authorization or self.browser is None):
            token = bearer_token(authorization)
            if token is None:
                return _response(error_response(None))
            try:
                claims = self.resource_server.verify(token, requirement)
            except _SDKError as exc:
                return _response(error_response(exc, profile=self.resource_server.profile))
            request.stepauth_claims = claims  # type: ignore[attr-defined]
            return None
        assert self.browser is not None
        session = request.session
        form: list[tuple[str, str]] = []
        if request.method not in ("GET", "HEAD"):
            form = [(k, v) for k, values in request.POST.lists() for v in values]
        details = None
        if binding is not None:
            fields = dict(form) if form else request.GET.dict()
            try:
                details = binding.for_action(fields)
            except _SDKError as exc:
                return HttpResponse(exc.description, status=400, content_type="text/plain")
            step_up = self.browser.check_bound(session, requirement, binding, details)
        else:
            step_up = self.browser.check(session, requirement)
        if step_up is None:
            request.stepauth_claims = dict(self.browser.claims(session) or {})  # type: ignore[attr-defined]
            return None
        url = self.browser.begin(
            session,
            Requirement(step_up.acr_values or requirement.acr_values, step_up.max_age),
            method=request.method or "GET",
            url=request.get_full_path(),
            form=form,
            authorization_details=details,
            binding=binding,
        )
        return _SeeOther(url)

    def callback(self, request: HttpRequest) -> HttpResponseBase:
        assert self.browser is not None
        try:
            resume = self.browser.callback(request.session, request.GET.dict())
        except CallbackError as exc:
            return HttpResponse(exc.description, status=400, content_type="text/plain")
        except (AuthorizationFailed, InsufficientAuthentication) as exc:
            text = f"{exc.error}: {exc.description}"
            return HttpResponse(text, status=403, content_type="text/plain")
        except _SDKError as exc:
            text = f"{exc.error}: {exc.description}"
            return HttpResponse(text, status=400, content_type="text/plain")
        if resume.redirect is not None:
            return _SeeOther(resume.redirect)
        response = HttpResponse(resume.confirm_html or "", content_type="text/html")
        response["Cache-Control"] = "no-store"
        return response


def _configured() -> DjangoStepAuth:
    found = getattr(settings, "STEPAUTH", None)
    if not isinstance(found, DjangoStepAuth):
        raise _SDKError("settings.STEPAUTH must be a DjangoStepAuth")
    return found


def require(
    *acr_values: str, max_age: int | None = None, bind: Binding | None = None
) -> Callable[[F], F]:
    """Guard a sync or an async view; ``bind=`` makes the step-up authorize this one
    transaction, once (RFC 9396)."""
    requirement = Requirement(tuple(acr_values), max_age)

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
        self.rules = sorted(rules.items(), key=lambda item: len(item[0]), reverse=True)

    def _match(self, path: str) -> Requirement | None:
        for prefix, requirement in self.rules:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return requirement
        return None

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
