"""Per-request observation: the request id, the access event and the HTTP metrics.

Done around every request by :class:`~stepauth.provider.request_frame.RequestFrame` (the
outermost layer, so it times everything and sees every status):

* the request id is the client's ``X-Request-Id`` when it is sane (1–128 characters of
  ``[A-Za-z0-9._:-]``, so nothing can be smuggled into a log line), else a fresh random
  one; it is echoed on the response and carried by every log record of the request;
* one ``stepauth.access`` event per request: method, route template, status, duration,
  client id when known; never the path, the query, a header or a cookie (a successful
  ``/healthz`` or ``/readyz`` probe at ``debug``, every other request at ``info``);
* ``stepauth_http_requests_total`` and the latency histogram, labelled by the matched
  route's *template* (``/interaction/{uid}``) — an unmatched path counts as
  ``unmatched`` — so ids and tokens never become label values;
* an exception escaping the app that comes from the database or Redis is counted in
  ``stepauth_store_errors_total`` before it propagates.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any

from starlette.routing import Match, Mount

from stepauth.provider.ops import metrics as _metrics
from stepauth.provider.ops.logs import ACCESS_LOGGER, RequestContext

if TYPE_CHECKING:
    from starlette.routing import BaseRoute
    from starlette.types import Scope

__all__ = ["REQUEST_ID_HEADER", "RequestObserver", "request_id", "route_template"]

REQUEST_ID_HEADER = "x-request-id"
_HEADER_NAME = REQUEST_ID_HEADER.encode()
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_access = logging.getLogger(ACCESS_LOGGER)
_PROBES = frozenset({"/healthz", "/readyz"})


def template_of(route: BaseRoute) -> str:
    """A route's path template; a mount's is ``/static/{path}``."""
    path = str(getattr(route, "path", "")) or "unmatched"
    return f"{path}/{{path}}" if isinstance(route, Mount) else path


def route_template(routes: list[BaseRoute], scope: Scope) -> str:
    """The path template of the route that ``scope`` matches (``unmatched`` if none)."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return template_of(route)
    return "unmatched"


def request_id(scope: Scope) -> str:
    """The client's sane ``X-Request-Id``, else a fresh random one."""
    for name, value in scope.get("headers", ()):
        if name == _HEADER_NAME:
            candidate = bytes(value).decode("latin-1")
            if _SANE_ID.match(candidate):
                return candidate
            break
    return os.urandom(16).hex()  # what secrets.token_hex(16) is


class RequestObserver:
    """See the module docstring: :meth:`failed` and :meth:`finished` for each request."""

    def __init__(self, metrics: _metrics.Metrics) -> None:
        self.metrics = metrics
        # the labelled children of the two HTTP metrics, looked up once per label set
        # (bounded: route templates × METHODS × status codes)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def failed(self, exc: BaseException) -> None:
        """An exception escaped the app: a store's is counted (it propagates anyway)."""
        backend = _metrics.backend_of(exc)
        if backend is not None:
            _metrics.store_error(backend, self.metrics)

    def finished(self, scope: Scope, status: int, duration: float, context: RequestContext) -> None:
        """The access event and the HTTP metrics of one answered request."""
        # the router records the route it matched in the scope; no match: no route
        matched = scope.get("route")
        route = template_of(matched) if matched is not None else "unmatched"
        method = scope.get("method", "")
        method = method if method in _metrics.METHODS else _metrics.OTHER  # a client's word
        children = self._children.get((route, method, status))
        if children is None:
            children = self._children[(route, method, status)] = (
                self.metrics.requests.labels(route, method, str(status)),
                self.metrics.latency.labels(route, method),
            )
        counted, timed = children
        counted.inc()
        timed.observe(duration)
        # a prober's every-few-seconds success is noise at info; its failure is not
        level = logging.DEBUG if route in _PROBES and status < 400 else logging.INFO
        if not _access.isEnabledFor(level):
            return  # the event's fields are built only for a logger that takes it
        fields: dict[str, object] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(duration * 1000, 3),
        }
        if context.client_id is not None:
            fields["client_id"] = context.client_id
        _access.log(level, "%s %s %s", method, route, status, extra=fields)
