"""The database or Redis cannot answer: every endpoint answers its protocol's error, quickly.

RFC 6749 §4.1.2.1 ``temporarily_unavailable``; RFC 9110 §15.6.4 503 with ``Retry-After``.
JSON endpoints answer ``{"error": "temporarily_unavailable"}`` with status 503, pages a
503 page; never a plain-text 500 or a traceback. A *frozen* PostgreSQL (a proxy that stops
forwarding bytes) is answered within ``connect_timeout + statement_timeout``, not for as
long as it stays frozen; PostgreSQL gone and Redis stopped answer at once; all recover.
Every fault is injected on 127.0.0.1 (:mod:`tests.reliability.faults`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.harness import (
    CONFIDENTIAL,
    REDIRECT_URI,
    SECRET,
    Clock,
    Provider,
    config_data,
    pkce_pair,
    provider_of,
    running_provider,
)
from tests.reliability.faults import PausableProxy, PrivateRedis

CONNECT_TIMEOUT = 2
STATEMENT_TIMEOUT = 1
#: connect + statement timeouts, and room for a loaded CI machine
ANSWERED_WITHIN = CONNECT_TIMEOUT + STATEMENT_TIMEOUT + 2.5


def _authorize_query() -> dict[str, str]:
    _, challenge = pkce_pair()
    return {
        "client_id": CONFIDENTIAL,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "nonce": "n",
    }


def _unavailable_json(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "temporarily_unavailable"
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["cache-control"] == "no-store"


def _unavailable_page(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "temporarily unavailable" in response.text
    assert int(response.headers["retry-after"]) > 0
    for leak in ("Traceback", "psycopg", "sqlalchemy", "redis", "127.0.0.1"):
        assert leak not in response.text


async def _each_endpoint(provider: Provider, tokens: dict[str, Any]) -> list[httpx.Response]:
    """One request to each endpoint that needs the store (JSON first, then pages)."""
    browser = provider.browser
    client = (CONFIDENTIAL, SECRET)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    anonymous = provider.new_browser()
    return list(
        await asyncio.gather(
            provider.token(
                {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            ),
            browser.post("/introspect", data={"token": tokens["access_token"]}, auth=client),
            browser.get("/userinfo", headers=bearer),
            browser.post("/par", data=_authorize_query(), auth=client),
            anonymous.get("/authorize", params=_authorize_query()),
            browser.get("/account"),
        )
    )


def _check_unavailable(responses: list[httpx.Response]) -> None:
    *json_answers, authorize, account = responses
    for response in json_answers:
        _unavailable_json(response)
    _unavailable_page(authorize)
    _unavailable_page(account)


async def _recovers(attempt: Callable[[], Awaitable[httpx.Response]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        response = await attempt()
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        _unavailable_json(response)
        await asyncio.sleep(0.2)
    assert response.status_code == 200, response.text


def _refresh(provider: Provider, tokens: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
    def attempt() -> Awaitable[httpx.Response]:
        return provider.token(
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )

    return attempt


@asynccontextmanager
async def _behind_proxy(tmp_path: Path, postgres_url: str) -> AsyncIterator[Any]:
    proxy = await PausableProxy(5432).start()
    url = postgres_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    database = {
        "url": url,
        "connect_timeout": CONNECT_TIMEOUT,
        "statement_timeout": STATEMENT_TIMEOUT,
    }
    try:
        async with running_provider(tmp_path, database=database) as provider:
            await provider.create_user()
            yield provider, proxy
    finally:
        proxy.resume()
        await proxy.close()


@pytest.mark.postgres
async def test_frozen_postgresql_answers_503_within_its_timeout_and_recovers(
    tmp_path: Path, postgres_url: str
) -> None:
    async with _behind_proxy(tmp_path, postgres_url) as (provider, proxy):
        tokens, _ = await provider.login_and_exchange(scope="openid offline_access")
        proxy.pause()
        start = time.monotonic()
        responses = await _each_endpoint(provider, tokens)
        elapsed = time.monotonic() - start
        _check_unavailable(responses)
        assert elapsed < ANSWERED_WITHIN, f"a frozen database held requests {elapsed:.1f} s"
        proxy.resume()
        # the refresh that was answered 503 never committed: the token still works
        await _recovers(_refresh(provider, tokens), seconds=15)


@pytest.mark.postgres
async def test_postgresql_gone_answers_503_and_recovers(tmp_path: Path, postgres_url: str) -> None:
    async with _behind_proxy(tmp_path, postgres_url) as (provider, proxy):
        tokens, _ = await provider.login_and_exchange(scope="openid offline_access")
        await proxy.close()  # connections cut, the port refuses
        start = time.monotonic()
        responses = await _each_endpoint(provider, tokens)
        elapsed = time.monotonic() - start
        _check_unavailable(responses)
        assert elapsed < ANSWERED_WITHIN
        await proxy.start()  # back on the same port
        await _recovers(_refresh(provider, tokens), seconds=15)


@asynccontextmanager
async def _with_redis(tmp_path: Path, redis: PrivateRedis) -> AsyncIterator[Provider]:
    """A Provider on SQLite that keeps its single-use items in ``redis``."""
    import base64
    import os

    from stepauth.provider.app import create_app
    from stepauth.provider.config import ProviderConfig, store_timeouts
    from stepauth.store import build_store, open_store

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    data = config_data(tmp_path / "stepauth.db", redis={"url": redis.url, "timeout": 1})
    config = ProviderConfig.from_dict(data)
    await (await open_store(config.database.url)).close()  # migrated
    store = build_store(
        config.database.url,
        redis_url=redis.url,
        redis_prefix="stepauth-outage:",
        timeouts=store_timeouts(config),
    )
    clock = Clock()
    app = create_app(config, store=store, clock=clock, close_store=True)
    async with provider_of(app, clock) as provider:
        yield provider


@pytest.mark.redis
async def test_redis_down_answers_503_and_recovers(tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path).start()
    try:
        async with _with_redis(tmp_path, redis) as provider:
            await provider.create_user()
            tokens, _ = await provider.login_and_exchange(scope="openid offline_access")
            verifier, challenge = pkce_pair()
            code = (await provider.authorize(code_challenge=challenge, nonce="n")).code
            redis.stop()
            start = time.monotonic()
            exchange = await provider.token(
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": verifier,
                }
            )
            _unavailable_json(exchange)  # the code is neither spent nor refused
            _unavailable_json(
                await provider.browser.post(
                    "/par", data=_authorize_query(), auth=(CONFIDENTIAL, SECRET)
                )
            )
            _unavailable_page(
                await provider.new_browser().get("/authorize", params=_authorize_query())
            )
            assert time.monotonic() - start < ANSWERED_WITHIN
            # durable state lives in SQL: a refresh still works without Redis
            tokens = (await _refresh(provider, tokens)()).json()
            assert "refresh_token" in tokens, tokens
            redis.start()  # same port, empty
            body, _ = await provider.login_and_exchange()
            assert body["access_token"]
    finally:
        redis.stop()


@pytest.mark.postgres
async def test_a_duplicate_key_is_not_reported_as_an_outage(postgres_url: str) -> None:
    """Only connection and timeout errors become StoreUnavailable: an integrity error
    keeps its meaning (here: the username is taken)."""
    from stepauth.store import StoreError, StoreUnavailable, open_store

    store = await open_store(postgres_url)
    try:
        await store.create_user("bob", None)
        with pytest.raises(StoreError) as caught:
            await store.create_user("bob", None)
        assert not isinstance(caught.value, StoreUnavailable)
        assert caught.value.error == "user_exists"
    finally:
        await store.close()
