"""StepUpAuth: 401 insufficient_user_authentication → callback → one retry (RFC 9470 §2, §4).

The resource server is a real Starlette app guarded by the SDK, served by uvicorn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stepauth.assurance import Challenge
from stepauth.sdk import JWKSCache, ResourceServer, SDKError, StepUpAuth
from stepauth.sdk.starlette import StepAuth, require
from tests.helpers.served import ServedApp
from tests.sdk.conftest import API, ISSUER, Keys, token


@pytest.fixture
def api(keys: Keys, serve: Callable[[Any], ServedApp]) -> ServedApp:
    async def transfer(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "acr": request.state.stepauth_claims["acr"]})

    app = Starlette(routes=[Route("/transfer", require("phr", max_age=300)(transfer))])
    app.state.stepauth = StepAuth(
        resource_server=ResourceServer(
            issuer=ISSUER, audience=API, jwks=JWKSCache(keys=keys.jwks("rsa"))
        )
    )
    return serve(app)


def test_sync_client_steps_up_once_and_retries(keys: Keys, api: ServedApp) -> None:
    seen: list[Challenge] = []

    def step_up(challenge: Challenge) -> str:
        seen.append(challenge)
        return token(keys, "phr")

    auth = StepUpAuth(token(keys, "urn:stepauth:acr:1fa"), step_up)
    with httpx.Client(auth=auth) as client:
        response = client.get(f"{api.url}/transfer")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "acr": "phr"}
    assert len(seen) == 1
    assert seen[0].acr_values == ("phr",)
    assert seen[0].max_age == 300


async def test_async_client_with_async_callback(keys: Keys, api: ServedApp) -> None:
    calls = 0

    async def step_up(challenge: Challenge) -> str:
        nonlocal calls
        calls += 1
        return token(keys, "phr")

    auth = StepUpAuth(token(keys, "urn:stepauth:acr:1fa"), step_up)
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.get(f"{api.url}/transfer")
    assert response.status_code == 200
    assert calls == 1


def test_retry_happens_only_once(keys: Keys, api: ServedApp) -> None:
    """A callback that cannot get a strong enough token never causes a loop."""
    calls = 0

    def step_up(challenge: Challenge) -> str:
        nonlocal calls
        calls += 1
        return token(keys, "urn:stepauth:acr:2fa")

    auth = StepUpAuth(token(keys, "urn:stepauth:acr:1fa"), step_up)
    with httpx.Client(auth=auth) as client:
        response = client.get(f"{api.url}/transfer")
    assert response.status_code == 401
    assert 'error="insufficient_user_authentication"' in response.headers["www-authenticate"]
    assert calls == 1


def test_old_token_still_gets_401_and_stale_token_asks_for_max_age(
    keys: Keys, api: ServedApp
) -> None:
    """RFC 9470 §2: the original token is kept; it keeps failing on its own."""
    weak = token(keys, "urn:stepauth:acr:1fa")
    auth = StepUpAuth(weak, lambda challenge: token(keys, "phr"))
    with httpx.Client(auth=auth) as client:
        assert client.get(f"{api.url}/transfer").status_code == 200
    response = httpx.get(f"{api.url}/transfer", headers={"Authorization": f"Bearer {weak}"})
    assert response.status_code == 401
    stale = httpx.get(
        f"{api.url}/transfer", headers={"Authorization": f"Bearer {token(keys, 'phr', 3600)}"}
    )
    assert stale.headers["www-authenticate"] == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="More recent authentication is required", '
        'acr_values="phr", max_age="300"'
    )


def test_remember_reuses_the_stepped_up_token(keys: Keys, api: ServedApp) -> None:
    calls = 0

    def step_up(challenge: Challenge) -> str:
        nonlocal calls
        calls += 1
        return token(keys, "phr")

    auth = StepUpAuth(token(keys, "urn:stepauth:acr:1fa"), step_up, remember=True)
    with httpx.Client(auth=auth) as client:
        assert client.get(f"{api.url}/transfer").status_code == 200
        assert client.get(f"{api.url}/transfer").status_code == 200
    assert calls == 1


def test_no_challenge_no_callback(keys: Keys, api: ServedApp) -> None:
    def step_up(challenge: Challenge) -> str:
        raise AssertionError("must not be called")

    with httpx.Client(auth=StepUpAuth(token(keys, "phr"), step_up)) as client:
        assert client.get(f"{api.url}/transfer").status_code == 200
    with httpx.Client(auth=StepUpAuth("garbage", step_up)) as client:
        response = client.get(f"{api.url}/transfer")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_async_callback_in_a_sync_client_is_an_error(keys: Keys, api: ServedApp) -> None:
    async def step_up(challenge: Challenge) -> str:
        return "x"

    with (
        httpx.Client(auth=StepUpAuth(token(keys, "urn:stepauth:acr:1fa"), step_up)) as client,
        pytest.raises(SDKError),
    ):
        client.get(f"{api.url}/transfer")
