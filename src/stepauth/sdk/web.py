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

import inspect
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stepauth.assurance import Requirement, StepUp
from stepauth.sdk.api import ResourceRequest, ResourceServer, credentials
from stepauth.sdk.binding import Binding
from stepauth.sdk.browser import BrowserStepUp, Resume
from stepauth.sdk.dpop_check import split_dpop_headers
from stepauth.sdk.errors import (
    AuthorizationFailed,
    CallbackError,
    InsufficientAuthentication,
    SDKError,
)
from stepauth.sdk.ledger import AnyLedger
from stepauth.sdk.transaction import (
    BoundTransaction,
    SyncTransactionGuard,
    TransactionGuard,
)
from stepauth.sdk.transaction_refusal import TransactionRefusal

__all__ = ["FORM_MEDIA_TYPES", "Outcome", "WebRequest", "WebStepAuth", "media_type"]

#: The bodies whose fields a bound action may read (HTML forms).
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SAFE_METHODS = ("GET", "HEAD")


def media_type(content_type: str | None) -> str:
    """``Content-Type`` without its parameters, lower case (``""`` when absent)."""
    return (content_type or "").partition(";")[0].strip().lower()


@dataclass(frozen=True)
class WebRequest:
    """What the core needs of one request, read by the adapter."""

    method: str
    authorization: str | None
    session: MutableMapping[str, Any]
    form: Sequence[tuple[str, str]]
    query: Mapping[str, str] | Sequence[tuple[str, str]]
    url: str
    #: The body is an HTML form (:data:`FORM_MEDIA_TYPES`) and ``form`` holds every field of
    #: it, repeated names included. ``False`` (the default) refuses bound non-GET requests.
    form_body: bool = False
    #: Every ``DPoP`` header value (RFC 9449 §4.1), and the absolute URL the request was
    #: received at (the proof's ``htu``, §4.3 step 9) when ``url`` is only a path.
    dpop: Sequence[str] = ()
    absolute_url: str | None = None


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


def _refusal(status: int, error: str, description: str) -> Outcome:
    return _refusal_outcome(TransactionRefusal(status, error, description))


def _refusal_outcome(refusal: TransactionRefusal) -> Outcome:
    status = refusal.status
    return Outcome(
        status=status,
        body=refusal.body(),
        content_type="application/json",
        headers=refusal.headers(),
    )


class _UnreadableAction(Exception):
    """The request cannot name one transaction unambiguously."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _action_fields(request: WebRequest) -> dict[str, str]:
    """The fields a bound action is judged by: each name once, from query and form body."""
    if request.method.upper() not in _SAFE_METHODS and not request.form_body:
        raise _UnreadableAction(
            415,
            "a transaction-bound action takes its fields from a form body "
            "(application/x-www-form-urlencoded or multipart/form-data)",
        )
    query = request.query.items() if isinstance(request.query, Mapping) else request.query
    fields: dict[str, str] = {}
    for name, value in (*request.form, *query):
        if name in fields:
            raise _UnreadableAction(
                400,
                f"the field {name!r} appears more than once: "
                "a transaction-bound action takes each field once",
            )
        fields[name] = value
    return fields


@dataclass(frozen=True)
class _Verify:
    """An API call: the token (and its DPoP proof) goes to the resource server (and, for a
    bound route, the action to the txn ledger)."""

    rs: ResourceServer
    presented: ResourceRequest
    request: WebRequest
    binding: Binding | None = None


@dataclass(frozen=True)
class _Begin:
    """A browser session that falls short: start a step-up with these arguments."""

    requirement: Requirement
    kw: dict[str, Any]


class WebStepAuth:
    """The SDK's configuration for one web app: an API (``resource_server``), a browser
    app (``browser``), or both. Adapters subclass it and only speak their framework."""

    #: Adapters that decide synchronously (Flask, Django) need a sync ledger.
    sync_only = False

    def __init__(
        self,
        *,
        resource_server: ResourceServer | None = None,
        browser: BrowserStepUp | None = None,
        txn_ledger: AnyLedger | None = None,
    ) -> None:
        """``txn_ledger`` (:mod:`stepauth.sdk.ledger`: ``MemoryLedger``, ``SQLLedger``,
        ``RedisLedger`` or their sync twins) records the ``txn`` of every bound action run by
        an API call: without it a bound route accepts no bearer token. A browser session's
        grants are consumed in the browser flow's ledger (``BrowserStepUp(ledger=...)``)."""
        name = type(self).__name__
        if resource_server is None and browser is None:
            raise SDKError(f"{name} needs a resource_server, a browser flow, or both")
        if (
            txn_ledger is not None
            and self.sync_only
            and inspect.iscoroutinefunction(txn_ledger.consume)
        ):
            raise SDKError(
                f"{name} needs a sync ledger (MemoryLedger, SyncSQLLedger, SyncRedisLedger)"
            )
        dpop = resource_server.dpop if resource_server is not None else None
        if dpop is not None and self.sync_only and inspect.iscoroutinefunction(dpop.ledger.consume):
            raise SDKError(f"{name} needs a sync ledger for DPoP proofs (DPoPChecker(ledger=...))")
        self.resource_server = resource_server
        self.browser = browser
        self.txn_ledger = txn_ledger

    def check_binding(self, binding: Binding | None) -> None:
        """Refuse, at configuration time, a bound route that API calls could never satisfy
        safely: a resource server without a txn ledger (one approval, one action:
        RFC 9396 §9; ASVS 5.0 10.3.2)."""
        if binding is not None and self.resource_server is not None and self.txn_ledger is None:
            raise SDKError(
                f"a transaction-bound route of {type(self).__name__} with a resource_server "
                "needs txn_ledger= (the used txn of each API call is recorded there)"
            )

    # -- guard -------------------------------------------------------------------------------

    def api_call(self, authorization: str | None) -> bool:
        """Is a request with this ``Authorization`` header answered as an API call?"""
        return self.resource_server is not None and bool(authorization or self.browser is None)

    @staticmethod
    def _refused(rs: ResourceServer, exc: SDKError | None, presented: ResourceRequest) -> Outcome:
        answer = rs.refusal(exc, presented)
        return Outcome(status=answer.status, body=answer.body, headers=dict(answer.headers))

    def _plan(
        self, request: WebRequest, requirement: Requirement, binding: Binding | None
    ) -> Outcome | _Verify | _Begin:
        """Everything but the I/O: an answer already, a token to verify, or a step-up."""
        rs = self.resource_server
        if rs is not None and self.api_call(request.authorization):
            presented = ResourceRequest(
                method=request.method,
                url=request.absolute_url or request.url,
                authorization=request.authorization,
                dpop=split_dpop_headers(request.dpop),
            )
            if credentials(request.authorization) is None:
                return self._refused(rs, None, presented)
            return _Verify(rs, presented, request, binding)
        browser = self.browser
        assert browser is not None
        session = request.session
        details = None
        if binding is not None:
            try:
                details = binding.for_action(_action_fields(request))
            except _UnreadableAction as exc:
                return _text(exc.status, exc.description)
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

    def _bound_action(self, plan: _Verify) -> tuple[AnyLedger, list[dict[str, Any]]] | Outcome:
        """A validated token on a bound route: the ledger and the action's details, read
        from the request (each field once, from a form body), or the refusal."""
        assert plan.binding is not None
        ledger = self.txn_ledger
        if ledger is None:
            return _refusal(
                403,
                "transaction_unavailable",
                "this action is transaction-bound and no txn ledger is configured: "
                "no bearer token can authorize it",
            )
        try:
            return ledger, plan.binding.for_action(_action_fields(plan.request))
        except _UnreadableAction as exc:
            return _refusal(exc.status, "invalid_request", exc.description)
        except SDKError as exc:
            return _refusal(400, "invalid_request", exc.description)

    @staticmethod
    def _guard_settings(plan: _Verify) -> dict[str, Any]:
        """The transaction guard's settings for this route: the binding's RAR registry, the
        resource server's clock and leeway (RFC 9396 §9.1 checks, then one consume), and
        its DPoP settings (the scheme of a 401, RFC 9449 §7.1)."""
        assert plan.binding is not None
        rs = plan.rs
        settings: dict[str, Any] = {
            "registry": plan.binding.registry,
            "leeway": rs.leeway,
            "clock": rs.clock,
            "require_dpop": rs.require_dpop,
        }
        if rs.dpop is not None:
            settings["dpop_algs"] = rs.dpop.algs
        return settings

    @staticmethod
    def _answer(outcome: BoundTransaction | TransactionRefusal, claims: dict[str, Any]) -> Outcome:
        if isinstance(outcome, TransactionRefusal):
            return _refusal_outcome(outcome)
        return Outcome(claims=claims)

    def _verified(self, plan: _Verify, claims: dict[str, Any]) -> Outcome:
        if plan.binding is None:
            return Outcome(claims=claims)
        bound = self._bound_action(plan)
        if isinstance(bound, Outcome):
            return bound
        ledger, details = bound
        guard = SyncTransactionGuard(ledger, **self._guard_settings(plan))  # type: ignore[arg-type]
        authorization = plan.request.authorization
        outcome = guard.check_request(claims, lambda: details, authorization=authorization)
        return self._answer(outcome, claims)

    async def _averified(self, plan: _Verify, claims: dict[str, Any]) -> Outcome:
        if plan.binding is None:
            return Outcome(claims=claims)
        bound = self._bound_action(plan)
        if isinstance(bound, Outcome):
            return bound
        ledger, details = bound
        guard = TransactionGuard(ledger, **self._guard_settings(plan))
        authorization = plan.request.authorization
        outcome = await guard.check_request(claims, lambda: details, authorization=authorization)
        return self._answer(outcome, claims)

    def decide(
        self, request: WebRequest, requirement: Requirement, binding: Binding | None = None
    ) -> Outcome:
        """Claims that meet ``requirement``, or the answer to send instead (sync)."""
        plan = self._plan(request, requirement, binding)
        if isinstance(plan, _Verify):
            try:
                claims = plan.rs.verify_request(plan.presented, requirement)
            except SDKError as exc:
                return self._refused(plan.rs, exc, plan.presented)
            return self._verified(plan, claims)
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
                claims = await plan.rs.averify_request(plan.presented, requirement)
            except SDKError as exc:
                return self._refused(plan.rs, exc, plan.presented)
            return await self._averified(plan, claims)
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
