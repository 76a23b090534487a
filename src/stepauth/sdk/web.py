"""The request glue every web adapter shares: bearer token or session, binding, step-up,
callback.

An adapter reads its framework's request into a :class:`WebRequest` (method,
``Authorization`` header, session, form fields, query, URL), calls :meth:`WebStepAuth.decide`
(or :meth:`~WebStepAuth.adecide`) and turns the :class:`Outcome` into its own response
type; the callback goes through :meth:`WebStepAuth.finish`. Every decision - API or
browser, 401 challenge, bound details, where to resume - is made here, once, for
Starlette/FastAPI, Flask and Django alike.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stepauth.assurance import Requirement, StepUp
from stepauth.sdk.api import ResourceServer, bearer_token, error_response
from stepauth.sdk.binding import Binding
from stepauth.sdk.browser import BrowserStepUp, Resume
from stepauth.sdk.errors import (
    AuthorizationFailed,
    CallbackError,
    InsufficientAuthentication,
    SDKError,
)

__all__ = ["Outcome", "WebRequest", "WebStepAuth"]


@dataclass(frozen=True)
class WebRequest:
    """What the core needs of one request, read by the adapter."""

    method: str
    authorization: str | None
    session: MutableMapping[str, Any]
    form: Sequence[tuple[str, str]]
    query: Mapping[str, str]
    url: str


@dataclass(frozen=True)
class Outcome:
    """The answer: ``claims`` (the request may proceed), a 303 to ``location``, or a body."""

    status: int = 200
    body: str = ""
    content_type: str = "text/plain"
    headers: Mapping[str, str] = field(default_factory=dict)
    location: str | None = None
    claims: dict[str, Any] | None = None


def _text(status: int, body: str) -> Outcome:
    return Outcome(status=status, body=body)


@dataclass(frozen=True)
class _Verify:
    """An API call: the bearer token goes to the resource server."""

    rs: ResourceServer
    token: str


@dataclass(frozen=True)
class _Begin:
    """A browser session that falls short: start a step-up with these arguments."""

    requirement: Requirement
    kw: dict[str, Any]


class WebStepAuth:
    """The SDK's configuration for one web app: an API (``resource_server``), a browser
    app (``browser``), or both. Adapters subclass it and only speak their framework."""

    def __init__(
        self,
        *,
        resource_server: ResourceServer | None = None,
        browser: BrowserStepUp | None = None,
    ) -> None:
        if resource_server is None and browser is None:
            raise SDKError(
                f"{type(self).__name__} needs a resource_server, a browser flow, or both"
            )
        self.resource_server = resource_server
        self.browser = browser

    # -- guard -------------------------------------------------------------------------------

    def api_call(self, authorization: str | None) -> bool:
        """Is a request with this ``Authorization`` header answered as an API call?"""
        return self.resource_server is not None and bool(authorization or self.browser is None)

    @staticmethod
    def _refused(rs: ResourceServer, exc: SDKError | None) -> Outcome:
        answer = error_response(exc, profile=rs.profile)
        return Outcome(status=answer.status, body=answer.body, headers=dict(answer.headers))

    def _plan(
        self, request: WebRequest, requirement: Requirement, binding: Binding | None
    ) -> Outcome | _Verify | _Begin:
        """Everything but the I/O: an answer already, a token to verify, or a step-up."""
        rs = self.resource_server
        if rs is not None and self.api_call(request.authorization):
            token = bearer_token(request.authorization)
            return self._refused(rs, None) if token is None else _Verify(rs, token)
        browser = self.browser
        assert browser is not None
        session = request.session
        details = None
        if binding is not None:
            fields = dict(request.form) if request.form else dict(request.query)
            try:
                details = binding.for_action(fields)
            except SDKError as exc:
                return _text(400, exc.description)
            step_up: StepUp | None = browser.check_bound(session, requirement, binding, details)
        else:
            step_up = browser.check(session, requirement)
        if step_up is None:
            return Outcome(claims=dict(browser.claims(session) or {}))
        wanted = Requirement(step_up.acr_values or requirement.acr_values, step_up.max_age)
        kw = {
            "method": request.method,
            "url": request.url,
            "form": list(request.form),
            "authorization_details": details,
            "binding": binding,
        }
        return _Begin(wanted, kw)

    def decide(
        self, request: WebRequest, requirement: Requirement, binding: Binding | None = None
    ) -> Outcome:
        """Claims that meet ``requirement``, or the answer to send instead (sync)."""
        plan = self._plan(request, requirement, binding)
        if isinstance(plan, _Verify):
            try:
                return Outcome(claims=plan.rs.verify(plan.token, requirement))
            except SDKError as exc:
                return self._refused(plan.rs, exc)
        if isinstance(plan, _Begin):
            assert self.browser is not None
            url = self.browser.begin(request.session, plan.requirement, **plan.kw)
            return Outcome(status=303, location=url)
        return plan

    async def adecide(
        self, request: WebRequest, requirement: Requirement, binding: Binding | None = None
    ) -> Outcome:
        """:meth:`decide` with the async key-set fetch and OP calls."""
        plan = self._plan(request, requirement, binding)
        if isinstance(plan, _Verify):
            try:
                return Outcome(claims=await plan.rs.averify(plan.token, requirement))
            except SDKError as exc:
                return self._refused(plan.rs, exc)
        if isinstance(plan, _Begin):
            assert self.browser is not None
            url = await self.browser.abegin(request.session, plan.requirement, **plan.kw)
            return Outcome(status=303, location=url)
        return plan

    # -- callback ----------------------------------------------------------------------------

    @staticmethod
    def _failed(exc: SDKError) -> Outcome:
        if isinstance(exc, CallbackError):
            return _text(400, exc.description)
        if isinstance(exc, AuthorizationFailed | InsufficientAuthentication):
            # An outcome, not a retry: the user sees why, and nothing redirects again.
            return _text(403, f"{exc.error}: {exc.description}")
        return _text(400, f"{exc.error}: {exc.description}")

    @staticmethod
    def _resumed(resume: Resume) -> Outcome:
        if resume.redirect is not None:
            return Outcome(status=303, location=resume.redirect)
        return Outcome(
            body=resume.confirm_html or "",
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    def finish(self, session: MutableMapping[str, Any], params: Mapping[str, str]) -> Outcome:
        """The ``redirect_uri`` endpoint: validate, then resume the interrupted action."""
        assert self.browser is not None
        try:
            return self._resumed(self.browser.callback(session, params))
        except SDKError as exc:
            return self._failed(exc)

    async def afinish(
        self, session: MutableMapping[str, Any], params: Mapping[str, str]
    ) -> Outcome:
        assert self.browser is not None
        try:
            return self._resumed(await self.browser.acallback(session, params))
        except SDKError as exc:
            return self._failed(exc)


def longest_prefix_first(rules: Mapping[str, Requirement]) -> list[tuple[str, Requirement]]:
    """Path rules ordered so ``/admin/keys`` can be stricter than ``/admin``."""
    return sorted(rules.items(), key=lambda item: len(item[0]), reverse=True)


def match_rule(rules: Sequence[tuple[str, Requirement]], path: str) -> Requirement | None:
    """The requirement of the longest rule prefix that ``path`` falls under."""
    for prefix, requirement in rules:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return requirement
    return None
