"""Structured logs: one JSON object per line, with the request's id, and no secrets.

:func:`configure_logging` (``stepauth serve``) installs one handler on the root logger,
so the Provider's, uvicorn's and the libraries' records all leave the same way:
``[logging] format = "json"`` (one event per line) or ``"text"``.

Secrets stay out by construction first: the access event
(:mod:`stepauth.provider.ops.requests`) carries the route *template*, never the path or
its query, and the audit helpers take named fields only. :class:`Redact` is the second
line for every other record (a library quoting a URL or a form, a traceback): values of
parameters and fields named like a secret (``password``, ``code``, ``client_secret``,
``*_token``, ``cookie``, ``authorization``…), ``Bearer``/``Basic`` credentials and
compact JWTs are replaced by ``[redacted]`` before the record is formatted (OWASP ASVS
5.0 16.2.5: no credentials or session tokens in logs).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any

from stepauth import observe

__all__ = [
    "ACCESS_LOGGER",
    "JsonFormatter",
    "Redact",
    "RequestContext",
    "configure_logging",
    "note_client",
    "redact",
    "request_context",
]

ACCESS_LOGGER = "stepauth.access"
REDACTED = "[redacted]"

#: Names whose values are secrets wherever they appear (form fields, query parameters,
#: JSON keys, ``extra=`` fields). ``code`` is the authorization code (RFC 6749 §4.1.2).
SECRET_NAMES = (
    "password",
    "passwd",
    "secret",
    "client_secret",
    "client_assertion",
    "code",
    "code_verifier",
    "otp",
    "totp",
    "recovery_code",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "logout_token",
    "subject_token",
    "assertion",
    "credential",
    "cookie",
    "set-cookie",
    "authorization",
    "csrf",
    "request",
    "dpop",
)
_NAMES = "|".join(re.escape(n) for n in sorted(SECRET_NAMES, key=len, reverse=True))
_PATTERNS = (
    # name=value in query strings and forms; "name": "value" in JSON; name: value headers
    re.compile(rf"(?i)\b((?:[a-z_-]*_)?(?:{_NAMES}))(=)[^&\s\"',;]+"),
    re.compile(rf"(?i)([\"']?(?:[a-z_-]*_)?(?:{_NAMES})[\"']?\s*:\s*)(\"[^\"]*\"|'[^']*')"),
    re.compile(r"(?i)\b(bearer|basic|dpop)(\s+)[A-Za-z0-9._~+/=-]+"),
    # a compact JWS/JWE anywhere (header starts with {" → eyJ)
    re.compile(r"()()eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]*"),
    # stepauth's own cookies: the session and the interaction binding
    re.compile(r"(?i)(stepauth_[a-z_]+)(=)[^;\s\"',]+"),
)
_SECRET_KEY = re.compile(rf"(?i)^(?:[a-z_-]*_)?(?:{_NAMES})$")


def _sub(match: re.Match[str]) -> str:
    if match.lastindex and match.lastindex >= 2 and match.group(1):
        if match.re is _PATTERNS[1]:
            return f'{match.group(1)}"{REDACTED}"'
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    return REDACTED


def redact(text: str) -> str:
    """``text`` with every secret-looking value replaced by ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(_sub, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.match(key):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value("", v) for v in value]
    return value


class RequestContext:
    """What the log knows about the request being served (set for it by
    :class:`~stepauth.provider.request_frame.RequestFrame`)."""

    __slots__ = ("client_id", "request_id")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.client_id: str | None = None


request_context: ContextVar[RequestContext | None] = ContextVar("stepauth_request", default=None)


def note_client(client_id: str | None) -> None:
    """Record the OAuth client the current request is for (once it is known)."""
    context = request_context.get()
    if context is not None and client_id:
        context.client_id = client_id[:128]


# The audit log names the request's client through stepauth.observe.
observe.install(client_known=note_client)


#: LogRecord attributes that are not ``extra=`` fields.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "client_id", "color_message"}
)


class Redact(logging.Filter):
    """Render each record's message now and redact it and its ``extra=`` fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD:
                record.__dict__[key] = _redact_value(key, value)
        context = request_context.get()
        if context is not None:
            record.request_id = context.request_id
            if context.client_id is not None and not hasattr(record, "client_id"):
                record.client_id = context.client_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD or key in ("request_id", "client_id"):
                event[key] = value
        if record.exc_info:
            event["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(event, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message key=value…`` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{k}={v}"
            for k, v in record.__dict__.items()
            if k not in _STANDARD and k not in ("request_id",)
        )
        rid = getattr(record, "request_id", None)
        head = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{head} {record.levelname:<7} {record.name}"
        line += f" [{rid}]" if rid else ""
        line += f" {record.getMessage()}" + (f" {fields}" if fields else "")
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


def configure_logging(*, format: str = "json", level: str = "info", stream: Any = None) -> None:
    """One redacting handler on the root logger; uvicorn's loggers propagate to it."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(Redact())
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
