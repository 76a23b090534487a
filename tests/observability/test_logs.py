"""Structured logs: JSON lines with the request id, and no secret of a real sign-in."""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from stepauth.provider.ops import configure_logging
from tests.helpers.harness import PASSWORD, SECRET, Provider, pkce_pair


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writing JSON (level debug) into a buffer, restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(format="json", level="debug", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in stream.getvalue().splitlines() if line]
    return [json.loads(line) for line in lines]  # every line is one JSON event


def access(stream: io.StringIO) -> list[dict[str, Any]]:
    return [e for e in events(stream) if e["logger"] == "stepauth.access"]


async def test_sign_in_and_token_exchange_leave_no_secret_in_the_log(
    provider: Provider, captured: io.StringIO
) -> None:
    """A password sign-in, a code exchange with PKCE and a refresh: the password, the
    client secret, the code, the verifier, every token and every cookie stay out of the
    log, at debug level, whoever logs (the Provider, uvicorn, httpx, the libraries)."""
    verifier, challenge = pkce_pair()
    result = await provider.authorize(
        code_challenge=challenge, scope="openid offline_access", nonce="n-" + secrets.token_hex(4)
    )
    body = await provider.exchange(result.code, verifier)
    refreshed = await provider.token(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    secret_values = {
        "password": PASSWORD,
        "client_secret": SECRET,
        "code": result.code,
        "code_verifier": verifier,
        "access_token": body["access_token"],
        "id_token": body["id_token"],
        "refresh_token": body["refresh_token"],
        "new_refresh_token": refreshed.json()["refresh_token"],
        **{f"cookie {c.name}": c.value for c in provider.browser.cookies.jar},
    }
    log = captured.getvalue()
    assert access(captured), "no access event was logged"
    for name, secret in secret_values.items():
        assert secret not in log, f"{name} reached the log"
        # nor a piece of a JWT (its signature) or of a long value
        assert secret[-16:] not in log, f"the end of {name} reached the log"


async def test_access_events_carry_route_status_duration_and_request_id(
    provider: Provider, captured: io.StringIO
) -> None:
    response = await provider.browser.get(
        f"/interaction/{secrets.token_urlsafe(24)}", headers={"X-Request-Id": "lb-1234.abc"}
    )
    assert response.headers["x-request-id"] == "lb-1234.abc"
    (event,) = access(captured)
    assert event["request_id"] == "lb-1234.abc"
    assert event["route"] == "/interaction/{uid}"
    assert event["method"] == "GET"
    assert event["status"] == response.status_code == 400
    assert event["duration_ms"] >= 0
    assert event["level"] == "info"
    assert "path" not in event


@pytest.mark.parametrize("given", ["", "a b", "x" * 129, 'id"}\n{"level":"error'])
async def test_an_insane_request_id_is_replaced(
    provider: Provider, captured: io.StringIO, given: str
) -> None:
    """A request id that could break a log line (or flood it) is not echoed: a fresh one is."""
    response = await provider.browser.get(
        "/healthz", headers={"X-Request-Id": given.encode().decode("latin-1")}
    )
    echoed = response.headers["x-request-id"]
    assert echoed != given
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)
    (event,) = access(captured)
    assert event["request_id"] == echoed
    assert event["level"] == "debug"  # a successful probe


async def test_each_request_gets_its_own_id(provider: Provider, captured: io.StringIO) -> None:
    first = await provider.browser.get("/healthz")
    second = await provider.browser.get("/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert [e["request_id"] for e in access(captured)] == [
        first.headers["x-request-id"],
        second.headers["x-request-id"],
    ]


async def test_client_id_is_logged_once_known(provider: Provider, captured: io.StringIO) -> None:
    from tests.helpers.frontchannel import open_interaction, query, submit

    shown = await open_interaction(provider.browser, query())
    await submit(provider.browser, shown, "password", username="alice", password="nope")
    posted = [e for e in access(captured) if e["method"] == "POST"]
    assert posted[-1]["client_id"] == "spa"


def test_a_library_record_quoting_secrets_is_redacted(captured: io.StringIO) -> None:
    """The redaction filter is the second line: a URL, a form, a header or a JSON body that
    some library logs comes out with its secret values replaced."""
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"
    logging.getLogger("some.library").warning(
        "GET %s form=%s headers=%s json=%s",
        "https://rp.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz",
        "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&client_secret=s3cr3t-zz",
        f"Authorization: Bearer {jwt}; Cookie: stepauth_session=Zk9mZkpDb2tpZQ",
        '{"password": "hunter2-hunter2", "otp": "123456", "username": "alice"}',
    )
    logging.getLogger("some.library").info("token", extra={"code_verifier": "dBjftJeZ4CVP"})
    log = captured.getvalue()
    for secret in (
        "SplxlOBeZQQYbYS6WxSbIA",
        "tGzv3JOkF0XG5Qx2TlKWIA",
        "s3cr3t-zz",
        jwt,
        "c2lnbmF0dXJlLXZhbHVl",
        "Zk9mZkpDb2tpZQ",
        "hunter2-hunter2",
        "123456",
        "dBjftJeZ4CVP",
    ):
        assert secret not in log, secret
    first, second = events(captured)
    assert "state=xyz" in first["message"]  # what is not secret stays readable
    assert '"username": "alice"' in first["message"]
    assert second["code_verifier"] == "[redacted]"


def test_text_format_carries_the_request_id() -> None:
    from stepauth.provider.ops.logs import RequestContext, request_context

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(format="text", level="info", stream=stream)
    token = request_context.set(RequestContext("req-42"))
    try:
        logging.getLogger("stepauth.test").info("password=%s", "hunter2-hunter2")
    finally:
        request_context.reset(token)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    line = stream.getvalue()
    assert "[req-42]" in line
    assert "password=[redacted]" in line
    assert "hunter2" not in line
