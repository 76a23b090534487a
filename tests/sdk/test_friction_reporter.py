"""The SDK's friction reporters and the Provider's ``POST /friction/events``.

The HTTP reporter posts as the confidential client (RFC 6749 §2.3.1); the Provider stores
the events as audit records and the report counts them. Every refusal is checked with its
status and error, and with nothing stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from stepauth.audit.friction import TOTAL, friction_report
from stepauth.audit.friction_records import ACTION_EXECUTED, AVOIDED_REASONS, PROMPT_AVOIDED
from stepauth.provider.friction.events import MAX_BODY, MAX_EVENTS, PATH
from stepauth.sdk import friction as sdk_friction
from stepauth.sdk.errors import SDKError
from stepauth.sdk.friction import (
    CallbackReporter,
    FrictionEvent,
    FrictionReporter,
    FrictionReportFailed,
    HttpReporter,
    action_executed,
    prompt_avoided,
)
from tests.helpers.harness import (
    CLIENT_KEY,
    CONFIDENTIAL,
    ISSUER,
    JWT_CLIENT,
    PUBLIC,
    SECRET,
    Provider,
    client_assertion,
    provider,
)

__all__ = ["provider"]

PAY = "payment_initiation"
EVENTS = [
    prompt_avoided(PAY, reason="exemption", exemption="low_value"),
    prompt_avoided(PAY, reason="fresh_session"),
    action_executed(PAY),
]


async def _stored(provider: Provider) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await provider.store.audit_between(
        since=0, until=provider.clock() + 1, event="friction"
    )
    return rows


def _basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


async def _post(
    provider: Provider, body: bytes | str, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return await provider.browser.post(
        PATH, content=content, headers=headers or {"Content-Type": "application/json"}
    )


def _events(n: int = 1) -> str:
    return json.dumps({"events": [{"type": "action_executed", "action": PAY}] * n})


async def test_the_http_reporter_stores_events_the_report_counts(provider: Provider) -> None:
    reporter = HttpReporter(
        ISSUER, client_id=CONFIDENTIAL, client_secret=SECRET, http=provider.new_browser()
    )
    assert isinstance(reporter, FrictionReporter)
    await reporter.report(EVENTS)
    stored = await _stored(provider)
    assert [(r["kind"], r.get("reason"), r.get("exemption")) for r in stored] == [
        ("prompt_avoided", "exemption", "low_value"),
        ("prompt_avoided", "fresh_session", None),
        ("action_executed", None, None),
    ]
    assert {r["client_id"] for r in stored} == {CONFIDENTIAL}
    assert {r["at"] for r in stored} == {provider.clock()}  # the Provider's clock
    now = provider.clock()
    (row,) = [r for r in friction_report(stored, since=0, until=now + 1, now=now) if r.day == TOTAL]
    assert (row.action, row.attempts, row.prompts) == (PAY, 2, 0)
    assert (row.avoided_exemption, row.avoided_reuse, row.executed_after_step_up) == (1, 1, 1)


async def test_a_large_report_is_sent_in_batches(provider: Provider) -> None:
    seen: list[int] = []

    async def count(request: httpx.Request) -> None:
        seen.append(len(json.loads(request.content)["events"]))

    http = provider.new_browser()
    http.event_hooks["request"].append(count)
    reporter = HttpReporter(ISSUER, client_id=CONFIDENTIAL, client_secret=SECRET, http=http)
    await reporter.report([action_executed(PAY)] * (MAX_EVENTS + 1))
    assert seen == [MAX_EVENTS, 1]
    assert len(await _stored(provider)) == MAX_EVENTS + 1


async def test_a_wrong_secret_is_refused_401_and_stores_nothing(provider: Provider) -> None:
    reporter = HttpReporter(
        ISSUER, client_id=CONFIDENTIAL, client_secret="wrong", http=provider.new_browser()
    )
    with pytest.raises(FrictionReportFailed) as refused:
        await reporter.report(EVENTS)
    assert refused.value.status == 401
    assert await _stored(provider) == []


async def test_an_unauthenticated_report_is_refused_401(provider: Provider) -> None:
    response = await _post(provider, _events())
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert await _stored(provider) == []


async def test_a_public_client_cannot_report(provider: Provider) -> None:
    """A public client proves nothing: anyone could write in its name."""
    body = json.dumps({"client_id": PUBLIC, "events": [{"type": "action_executed", "action": "x"}]})
    response = await _post(provider, body)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert await _stored(provider) == []


async def test_a_confidential_client_without_its_secret_is_refused(provider: Provider) -> None:
    body = json.dumps({"client_id": CONFIDENTIAL, "events": [{"type": "action_executed"}]})
    response = await _post(provider, body)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_a_private_key_jwt_client_reports_with_an_assertion(provider: Provider) -> None:
    """RFC 7523 §2.2 in the JSON body, audience the endpoint; the jti is single use."""
    assertion = client_assertion(
        audience=ISSUER + PATH, now=provider.clock(), key=CLIENT_KEY, alg="ES256"
    )
    body = {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "events": [{"type": "action_executed", "action": PAY}],
    }
    first = await _post(provider, json.dumps(body))
    assert first.status_code == 202, first.text
    assert first.json() == {"recorded": 1}
    replayed = await _post(provider, json.dumps(body))
    assert replayed.status_code == 401
    assert [r["client_id"] for r in await _stored(provider)] == [JWT_CLIENT]


async def test_an_oversized_body_is_refused_413(provider: Provider) -> None:
    padding = "x" * (MAX_BODY + 1)
    body = json.dumps({"events": [{"type": "action_executed", "action": padding}]})
    response = await _post(provider, body, _basic(CONFIDENTIAL, SECRET))
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    assert await _stored(provider) == []


async def test_deeply_nested_json_is_refused_400(provider: Provider) -> None:
    deep = '{"events": [{"type": "action_executed", "action": ' + "[" * 50 + "]" * 50 + "}]}"
    response = await _post(provider, deep, _basic(CONFIDENTIAL, SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "deeper" in response.json()["error_description"]
    assert await _stored(provider) == []


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"events": []}),
        json.dumps({"events": [{"type": "action_executed", "action": "x"}] * (MAX_EVENTS + 1)}),
        json.dumps({"events": [{"type": "login", "action": "x"}]}),
        json.dumps({"events": [{"type": "action_executed"}]}),
        json.dumps({"events": [{"type": "action_executed", "action": ""}]}),
        json.dumps({"events": [{"type": "action_executed", "action": "a\nb"}]}),
        json.dumps({"events": [{"type": "action_executed", "action": "x", "user": "alice"}]}),
        json.dumps({"events": [{"type": "prompt_avoided", "action": "x", "reason": "bored"}]}),
        json.dumps(
            {
                "events": [
                    {
                        "type": "prompt_avoided",
                        "action": "x",
                        "reason": "fresh_session",
                        "exemption": "low_value",
                    }
                ]
            }
        ),
        json.dumps({"events": [{"type": "action_executed", "action": "x"}], "extra": 1}),
        json.dumps({"events": [{"type": "action_executed", "action": 7}]}),
    ],
)
async def test_a_body_off_the_schema_is_refused_400(provider: Provider, body: str) -> None:
    response = await _post(provider, body, _basic(CONFIDENTIAL, SECRET))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert await _stored(provider) == []


async def test_one_bad_event_stores_none_of_the_batch(provider: Provider) -> None:
    body = {"events": [{"type": "action_executed", "action": PAY}, {"type": "bad"}]}
    response = await _post(provider, json.dumps(body), _basic(CONFIDENTIAL, SECRET))
    assert response.status_code == 400
    assert await _stored(provider) == []


async def test_the_callback_reporter_takes_plain_and_coroutine_functions() -> None:
    plain: list[Sequence[FrictionEvent]] = []
    await CallbackReporter(plain.append).report(EVENTS)
    assert plain == [EVENTS]

    awaited: list[Sequence[FrictionEvent]] = []

    async def keep(events: Sequence[FrictionEvent]) -> None:
        awaited.append(events)

    reporter = CallbackReporter(keep)
    assert isinstance(reporter, FrictionReporter)
    await reporter.report(EVENTS[:1])
    assert awaited == [EVENTS[:1]]


def test_the_sync_http_reporter_posts_the_same_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"recorded": 3})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    HttpReporter(
        "https://op.example/", client_id="a b", client_secret="p:w", http_sync=http
    ).report_sync(EVENTS)
    (request,) = seen
    assert str(request.url) == "https://op.example/friction/events"
    # RFC 6749 §2.3.1: form-urlencoded before Base64
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"a%20b:p%3Aw").decode()
    assert json.loads(request.content) == {"events": [e.to_json() for e in EVENTS]}


def test_the_sdk_speaks_the_providers_vocabulary() -> None:
    assert sdk_friction.AVOIDED_REASONS == AVOIDED_REASONS
    assert {e.type for e in EVENTS} == {PROMPT_AVOIDED, ACTION_EXECUTED}
    assert sdk_friction.BATCH == MAX_EVENTS
    assert sdk_friction.EVENTS_PATH == PATH


def test_the_sdk_refuses_events_the_provider_would_refuse() -> None:
    with pytest.raises(SDKError):
        prompt_avoided(PAY, reason="bored")  # type: ignore[arg-type]
    with pytest.raises(SDKError):
        prompt_avoided(PAY, reason="fresh_session", exemption="low_value")
