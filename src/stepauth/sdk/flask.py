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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import flask
from werkzeug.wrappers import Response as HTTPResponse

from stepauth.assurance import Requirement
from stepauth.sdk.binding import Binding
from stepauth.sdk.web import FORM_MEDIA_TYPES, Outcome, WebRequest, WebStepAuth

__all__ = ["FlaskStepAuth"]

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
            ),
            requirement,
            binding,
        )
        return outcome.claims if outcome.claims is not None else _response(outcome)

    def require(
        self, *acr_values: str, max_age: int | None = None, bind: Binding | None = None
    ) -> Callable[[F], F]:
        """Guard a view; ``bind=`` makes the step-up authorize this one transaction, once.

        A bound view reads its fields from the form (and query), each once
        (:mod:`stepauth.sdk.web`); with a ``resource_server`` it needs ``txn_ledger=``."""
        self.check_binding(bind)
        requirement = Requirement(tuple(acr_values), max_age)

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
