"""Flask adapter: ``@stepauth.require("phr", max_age=300)`` and the callback blueprint.

::

    stepauth = FlaskStepAuth(browser=BrowserStepUp(rp))     # and/or resource_server=rs
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
from stepauth.sdk.api import AuthErrorResponse, ResourceServer, bearer_token, error_response
from stepauth.sdk.binding import Binding
from stepauth.sdk.browser import BrowserStepUp
from stepauth.sdk.errors import AuthorizationFailed, CallbackError, InsufficientAuthentication
from stepauth.sdk.errors import SDKError as _SDKError

__all__ = ["FlaskStepAuth"]

F = TypeVar("F", bound=Callable[..., Any])


def _response(answer: AuthErrorResponse) -> flask.Response:
    return flask.Response(answer.body, status=answer.status, headers=dict(answer.headers))


class FlaskStepAuth:
    """The SDK's configuration for one Flask app."""

    def __init__(
        self,
        *,
        resource_server: ResourceServer | None = None,
        browser: BrowserStepUp | None = None,
    ) -> None:
        if resource_server is None and browser is None:
            raise _SDKError("FlaskStepAuth needs a resource_server, a browser flow, or both")
        self.resource_server = resource_server
        self.browser = browser

    def guard(
        self, requirement: Requirement, binding: Binding | None = None
    ) -> HTTPResponse | dict[str, Any]:
        """The claims that meet ``requirement``, or the response to send instead."""
        request = flask.request
        authorization = request.headers.get("Authorization")
        if self.resource_server is not None and (authorization or self.browser is None):
            token = bearer_token(authorization)
            if token is None:
                return _response(error_response(None))
            try:
                return self.resource_server.verify(token, requirement)
            except _SDKError as exc:
                return _response(error_response(exc, profile=self.resource_server.profile))
        assert self.browser is not None
        session = flask.session
        form = [] if request.method in ("GET", "HEAD") else list(request.form.items(multi=True))
        details = None
        if binding is not None:
            fields = dict(form) if form else request.args.to_dict()
            try:
                details = binding.for_action(fields)
            except _SDKError as exc:
                return flask.Response(exc.description, status=400, mimetype="text/plain")
            step_up = self.browser.check_bound(session, requirement, binding, details)
        else:
            step_up = self.browser.check(session, requirement)
        if step_up is None:
            claims = self.browser.claims(session)
            assert claims is not None
            return dict(claims)
        url = self.browser.begin(
            session,
            Requirement(step_up.acr_values or requirement.acr_values, step_up.max_age),
            method=request.method,
            url=request.full_path if request.query_string else request.path,
            form=form,
            authorization_details=details,
            binding=binding,
        )
        return flask.redirect(url, code=303)

    def require(
        self, *acr_values: str, max_age: int | None = None, bind: Binding | None = None
    ) -> Callable[[F], F]:
        """Guard a view; ``bind=`` makes the step-up authorize this one transaction, once."""
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
        assert self.browser is not None
        try:
            resume = self.browser.callback(flask.session, flask.request.args.to_dict())
        except CallbackError as exc:
            return flask.Response(exc.description, status=400, mimetype="text/plain")
        except (AuthorizationFailed, InsufficientAuthentication) as exc:
            text = f"{exc.error}: {exc.description}"
            return flask.Response(text, status=403, mimetype="text/plain")
        except _SDKError as exc:
            text = f"{exc.error}: {exc.description}"
            return flask.Response(text, status=400, mimetype="text/plain")
        if resume.redirect is not None:
            return flask.redirect(resume.redirect, code=303)
        return flask.Response(
            resume.confirm_html or "", mimetype="text/html", headers={"Cache-Control": "no-store"}
        )

    def blueprint(self, name: str = "stepauth") -> flask.Blueprint:
        assert self.browser is not None
        bp = flask.Blueprint(name, __name__)
        bp.add_url_rule(self.browser.callback_path, "callback", self.callback, methods=["GET"])
        return bp
