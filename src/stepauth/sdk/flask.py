"""Flask adapter: ``@stepauth.require("phr", max_age=300)`` and the callback blueprint.

::

    stepauth = FlaskStepAuth(browser=BrowserStepUp(rp))     # and/or resource_server=rs
                                                            # (+ txn_ledger= for bind=)
    app.register_blueprint(stepauth.blueprint())

    @app.post("/transfer")
    @stepauth.require("phr", max_age=300)
    def transfer(): ...                                       # claims in flask.g.stepauth_claims

The logic is :class:`~stepauth.sdk.browser.BrowserStepUp` and
:class:`~stepauth.sdk.api.ResourceServer`; this module only speaks Flask.

A resource server that executes transaction-bound actions (RFC 9396 §9) consumes each
token's ``txn`` once with :class:`FlaskTransactionGuard`::

    guard = FlaskTransactionGuard(ledger, details=payment_from_request)   # a sync ledger

    @app.post("/transfers")
    @stepauth.require("phr")          # validates the token → g.stepauth_claims
    @guard
    def transfer():
        bound = flask.g.stepauth_transaction    # its txn was consumed; execute exactly this

The checks are :class:`~stepauth.sdk.transaction.SyncTransactionGuard`'s, shared with the
Starlette and Django guards: details compared first, then the ``txn`` consumed in one
atomic ledger operation. A failed binding answers ``403`` (``transaction_missing``,
``transaction_mismatch``, ``transaction_replayed``, ``Cache-Control: no-store``); no
validated claims at all (the guard is not under ``require``) answers ``401``: fail closed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

import flask
from werkzeug.wrappers import Response as HTTPResponse

from stepauth.assurance import Requirement
from stepauth.sdk.binding import Binding, route_rule
from stepauth.sdk.ledger import SyncLedger
from stepauth.sdk.transaction import GuardSettings, SyncTransactionGuard
from stepauth.sdk.transaction_refusal import TransactionRefusal
from stepauth.sdk.web import FORM_MEDIA_TYPES, Outcome, WebRequest, WebStepAuth

if TYPE_CHECKING:
    from stepauth.policy import Decision

__all__ = ["FlaskStepAuth", "FlaskTransactionGuard"]

F = TypeVar("F", bound=Callable[..., Any])


def _response(outcome: Outcome) -> HTTPResponse:
    if outcome.location is not None:
        return flask.redirect(outcome.location, code=303)
    return flask.Response(
        outcome.body,
        status=outcome.status,
        mimetype=outcome.content_type,
        headers=dict(outcome.headers),
    )


class FlaskStepAuth(WebStepAuth):
    """The SDK's configuration for one Flask app (``txn_ledger``: a sync ledger)."""

    sync_only = True

    def guard(
        self, requirement: Requirement, binding: Binding | None = None
    ) -> HTTPResponse | dict[str, Any]:
        """The claims that meet ``requirement``, or the response to send instead."""
        request = flask.request
        form_body = request.mimetype in FORM_MEDIA_TYPES
        read = binding is not None or request.method not in ("GET", "HEAD")
        # Every field with its repeats: Werkzeug's ``form[name]`` is the first of them.
        form = list(request.form.items(multi=True)) if read else []
        outcome = self.decide(
            WebRequest(
                method=request.method,
                authorization=request.headers.get("Authorization"),
                session=flask.session,
                form=form,
                query=list(request.args.items(multi=True)),
                url=request.full_path if request.query_string else request.path,
                form_body=form_body,
                dpop=request.headers.getlist("DPoP"),
                absolute_url=request.base_url,
            ),
            requirement,
            binding,
        )
        return outcome.claims if outcome.claims is not None else _response(outcome)

    def require(
        self,
        *acr_values: str | Decision,
        max_age: int | None = None,
        bind: Binding | None = None,
    ) -> Callable[[F], F]:
        """Guard a view (acr values, or a policy ``Decision``); ``bind=`` makes the step-up
        authorize this one transaction, once.

        A bound view reads its fields from the form (and query), each once
        (:mod:`stepauth.sdk.web`); with a ``resource_server`` it needs ``txn_ledger=``."""
        requirement, bind = route_rule(acr_values, max_age, bind)
        self.check_binding(bind)

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                outcome = self.guard(requirement, bind)
                if isinstance(outcome, HTTPResponse):
                    return outcome
                flask.g.stepauth_claims = outcome
                return view(*args, **kwargs)

            return wrapper  # type: ignore[return-value]

        return decorate

    def callback(self) -> HTTPResponse:
        return _response(self.finish(flask.session, flask.request.args.to_dict()))

    def blueprint(self, name: str = "stepauth") -> flask.Blueprint:
        assert self.browser is not None
        bp = flask.Blueprint(name, __name__)
        bp.add_url_rule(self.browser.callback_path, "callback", self.callback, methods=["GET"])
        return bp


Details = Sequence[Mapping[str, Any]]


def _g_claims() -> Mapping[str, Any] | None:
    claims = getattr(flask.g, "stepauth_claims", None)
    return claims if isinstance(claims, Mapping) else None


class FlaskTransactionGuard:
    """A view decorator that consumes the token's ``txn`` if ``details`` are what was
    approved; the :class:`~stepauth.sdk.transaction.BoundTransaction` is on
    ``flask.g.stepauth_transaction``."""

    def __init__(
        self,
        ledger: SyncLedger,
        *,
        details: Callable[[flask.Request], Details],
        claims: Callable[[], Mapping[str, Any] | None] = _g_claims,
        **settings: Unpack[GuardSettings],
    ) -> None:
        """``settings``: the guard's ``registry``, ``leeway``, ``clock``, and ``dpop_algs``
        and ``require_dpop`` as the resource server's (a ``401`` to a DPoP request, or where
        DPoP is required, is a DPoP challenge: RFC 9449 §7.1)."""
        self.guard = SyncTransactionGuard(ledger, **settings)
        self.details = details
        self.claims = claims

    def check(self) -> flask.Response | None:
        """``None`` when the view may run (the transaction is consumed), else the answer."""
        outcome = self.guard.check_request(
            self.claims(),
            lambda: self.details(flask.request),
            authorization=flask.request.headers.get("Authorization"),
        )
        if isinstance(outcome, TransactionRefusal):
            return flask.Response(
                outcome.body(),
                status=outcome.status,
                mimetype="application/json",
                headers=outcome.headers(),
            )
        flask.g.stepauth_transaction = outcome
        return None

    def __call__(self, view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refused = self.check()
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
