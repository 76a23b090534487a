"""A replayed code or refresh token ends its grant, whichever request finishes last.

RFC 6749 §4.1.2 (a code used twice: revoke the tokens issued from it) and RFC 9700
§4.14.2 (a rotated refresh token used twice: revoke the grant). When the two uses race,
the winner consumed the item *before* the loser revoked the grant and stores its tokens
*after* it; the revoked-grant record (:mod:`stepauth.provider.grants`) must end them too.

Each race runs ``STEPAUTH_RACE_ROUNDS`` rounds (100 by default; ``make soak`` runs more)
on SQLite, PostgreSQL and PostgreSQL + Redis, through HTTP against the real app.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.client_side import code_grant, refresh_grant
from tests.helpers.harness import CONFIDENTIAL, SECRET, Provider, pkce_pair
from tests.reliability.providers import live_tokens, provider_on

ROUNDS = int(os.environ.get("STEPAUTH_RACE_ROUNDS", "100"))
SCOPE = "openid offline_access"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("postgresql+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
async def racing(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Provider]:
    """A signed-in Provider on each deployment shape."""
    options: dict[str, Any] = {}
    if request.param != "sqlite":
        options["database_url"] = request.getfixturevalue("postgres_url")
    if request.param == "postgresql+redis":
        options["redis_url"] = request.getfixturevalue("redis_url")
        options["redis_prefix"] = request.getfixturevalue("redis_prefix")
    async with provider_on(tmp_path, **options) as provider:
        body, _ = await provider.login_and_exchange(scope=SCOPE)  # signs alice in once
        revoked = await provider.browser.post(
            "/revoke", data={"token": body["refresh_token"]}, auth=(CONFIDENTIAL, SECRET)
        )
        assert revoked.status_code == 200
        assert await live_tokens(provider) == 0
        yield provider


async def _code(provider: Provider) -> tuple[str, str]:
    """A fresh code of the signed-in session and its PKCE verifier."""
    verifier, challenge = pkce_pair()
    result = await provider.authorize(code_challenge=challenge, scope=SCOPE, expect_login=False)
    return result.code, verifier


async def _race(provider: Provider, data: dict[str, str]) -> list[httpx.Response]:
    """The same /token request twice at once."""
    return list(await asyncio.gather(provider.token(data), provider.token(data)))


async def _assert_dead(provider: Provider, bodies: list[dict[str, Any]]) -> None:
    """Nothing any of ``bodies`` handed out is live: introspection says inactive and the
    refresh token is refused."""
    for body in bodies:
        for name in ("access_token", "refresh_token"):
            assert await provider.introspect(str(body[name])) == {"active": False}, name
        refreshed = await provider.token(refresh_grant(str(body["refresh_token"])))
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"


def _settle(responses: list[httpx.Response]) -> list[dict[str, Any]]:
    """The replay was detected (at least one invalid_grant, no other answer than 200);
    returns the bodies of the answers that handed tokens out."""
    statuses = sorted(r.status_code for r in responses)
    assert statuses in ([200, 400], [400, 400]), [r.text for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    return [r.json() for r in responses if r.status_code == 200]


async def test_concurrent_code_replay_leaves_no_live_token(racing: Provider) -> None:
    for _ in range(ROUNDS):
        code, verifier = await _code(racing)
        issued = _settle(await _race(racing, code_grant(code, verifier)))
        await _assert_dead(racing, issued)
    assert await live_tokens(racing) == 0


async def test_concurrent_refresh_reuse_leaves_no_live_token(racing: Provider) -> None:
    for _ in range(ROUNDS):
        code, verifier = await _code(racing)
        first = await racing.exchange(code, verifier)
        issued = _settle(await _race(racing, refresh_grant(str(first["refresh_token"]))))
        await _assert_dead(racing, [first, *issued])
    assert await live_tokens(racing) == 0


async def _replay_lands_before_the_winner_stores(
    provider: Provider, data: dict[str, str]
) -> httpx.Response:
    """Run ``data`` so that a second, identical request (the replay) runs to its end after
    the first consumed its item and before it stores its first token; returns the first's
    answer after checking the replay was refused."""
    store = provider.store
    put = store.put
    replays: list[httpx.Response] = []

    async def replay_first(kind: str, key: str, payload: Any, **kwargs: Any) -> None:
        if kind == "access_token" and not replays:
            store.put = put
            replays.append(await provider.token(data))
        await put(kind, key, payload, **kwargs)

    store.put = replay_first
    try:
        winner = await provider.token(data)
    finally:
        store.put = put
    assert len(replays) == 1
    assert (replays[0].status_code, replays[0].json()["error"]) == (400, "invalid_grant")
    return winner


async def test_code_replay_revoking_before_the_winner_stores_leaves_nothing_live(
    racing: Provider,
) -> None:
    """The bad ordering forced: the replay revokes the grant between the winner's consume
    and its first store. The winner hands nothing out, and nothing it stored is live."""
    code, verifier = await _code(racing)
    winner = await _replay_lands_before_the_winner_stores(racing, code_grant(code, verifier))
    assert (winner.status_code, winner.json()["error"]) == (400, "invalid_grant")
    assert await live_tokens(racing) == 0


async def test_refresh_reuse_revoking_before_the_winner_stores_leaves_nothing_live(
    racing: Provider,
) -> None:
    code, verifier = await _code(racing)
    first = await racing.exchange(code, verifier)
    winner = await _replay_lands_before_the_winner_stores(
        racing, refresh_grant(str(first["refresh_token"]))
    )
    assert (winner.status_code, winner.json()["error"]) == (400, "invalid_grant")
    await _assert_dead(racing, [first])
    assert await live_tokens(racing) == 0
