"""A reader of the database (a copied file, a backup, a replica) through HTTP.

The copy holds no session cookie and no TOTP seed; what it does hold (the keyed hash of a
session id, a sealed seed) is refused when replayed or moved to another user's row.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from stepauth.provider.throttle import GENERIC_FAILURE
from tests.helpers.frontchannel import (
    COOKIE,
    TOTP,
    enrol_totp,
    open_interaction,
    page,
    query,
    rp_params,
    session_cookie,
    sign_in,
    submit,
    totp_code,
    use_factors,
)
from tests.helpers.harness import (
    ACR_2FA,
    ISSUER,
    USERNAME,
    Clock,
    Provider,
    config_data,
    provider_on_each_db,
)
from tests.helpers.stolen import raw_rows

__all__ = ["provider_on_each_db"]


def _database(provider: Provider) -> str:
    return provider.state.config.database.url


async def _step_up(provider: Provider, browser: httpx.AsyncClient, code: str) -> httpx.Response:
    shown = await open_interaction(browser, query(acr_values=ACR_2FA, state="up"))
    assert shown.kinds() == [TOTP]
    return await submit(browser, shown, TOTP, code=code)


async def test_a_copied_database_holds_no_session_cookie_and_no_totp_seed(
    provider_on_each_db: Provider,
) -> None:
    provider = provider_on_each_db
    use_factors(provider, totp=True)
    user = await provider.store.get_user_by_username(USERNAME)
    params = await enrol_totp(provider, user.id)
    await sign_in(provider.browser, query())
    first = session_cookie(provider.browser)
    provider.clock.advance(60)
    result = rp_params(await _step_up(provider, provider.browser, totp_code(provider, params)))
    assert "code" in result  # the sealed seed opens for the Provider: TOTP works
    second = session_cookie(provider.browser)
    assert first
    assert second
    assert first != second

    copied = raw_rows(_database(provider))
    assert first not in copied
    assert second not in copied
    assert params.secret not in copied


async def test_stored_session_id_replayed_as_a_cookie_is_refused(provider: Provider) -> None:
    await sign_in(provider.browser, query())
    cookie = session_cookie(provider.browser)
    path = provider.state.config.database.url.removeprefix("sqlite+aiosqlite:///")
    with closing(sqlite3.connect(path)) as db:
        (stored,) = db.execute("SELECT id FROM sessions").fetchone()
    assert stored != cookie

    thief = provider.new_browser()
    thief.cookies.set(COOKIE, stored)
    refused = rp_params(await thief.get("/authorize", params=query(prompt="none")))
    assert refused["error"] == "login_required"
    assert "code" in rp_params(  # the browser's own cookie still signs in
        await provider.browser.get("/authorize", params=query(prompt="none"))
    )


async def test_totp_factor_moved_to_another_user_is_refused_not_a_500(provider: Provider) -> None:
    """Mallory, who can write to the database but lacks the secret, moves her own TOTP
    factor (whose seed she knows) to alice: the sealed seed no longer opens, so her code
    is refused with the generic failure, and no code is issued."""
    use_factors(provider, totp=True)
    alice = await provider.store.get_user_by_username(USERNAME)
    mallory = await provider.create_user("mallory", "mallory's own password!")
    known = await enrol_totp(provider, mallory.id)
    await sign_in(provider.browser, query())
    path = provider.state.config.database.url.removeprefix("sqlite+aiosqlite:///")
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE factors SET user_id = ? WHERE user_id = ?", (alice.id, mallory.id))
        db.commit()

    provider.clock.advance(60)
    response = await _step_up(provider, provider.browser, totp_code(provider, known))
    assert response.status_code == 400
    assert GENERIC_FAILURE in page(response).text
    assert "location" not in response.headers


@pytest.fixture
async def routed_provider(
    tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Provider]:
    """The Provider over a store routed to Redis, opened without the secret (as ``stepauth
    serve`` may build it): the Provider gives the store its keys when it starts."""
    import base64

    from stepauth.provider.app import create_app
    from stepauth.provider.config import ProviderConfig
    from stepauth.store import open_store

    monkeypatch.setenv("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"r" * 32).decode())
    data = config_data(tmp_path / "routed.db")
    store = await open_store(
        data["database"]["url"], redis_url=redis_url, redis_prefix=redis_prefix
    )
    clock = Clock()
    app = create_app(ProviderConfig.from_dict(data), store=store, clock=clock)
    try:
        async with app.router.lifespan_context(app):
            browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER)
            running = Provider(app=app, browser=browser, clock=clock, state=app.state.stepauth)
            try:
                await running.create_user()
                yield running
            finally:
                await browser.aclose()
    finally:
        await store.close()


async def test_with_redis_routing_the_database_holds_no_cookie_and_no_seed(
    routed_provider: Provider,
) -> None:
    provider = routed_provider
    use_factors(provider, totp=True)
    user = await provider.store.get_user_by_username(USERNAME)
    params = await enrol_totp(provider, user.id)
    await sign_in(provider.browser, query())
    provider.clock.advance(60)
    assert "code" in rp_params(
        await _step_up(provider, provider.browser, totp_code(provider, params))
    )
    cookie = session_cookie(provider.browser)
    assert cookie
    # the sign-out form is pending: its record names the session by its sid only
    shown = await provider.browser.get("/logout")
    assert shown.status_code == 200
    copied = raw_rows(_database(provider))
    assert cookie not in copied
    assert params.secret not in copied
    match = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert match is not None
    signed_out = await provider.browser.post("/logout", data={"csrf": match.group(1)})
    assert signed_out.status_code == 200
    assert cookie not in raw_rows(_database(provider))
    assert await provider.store.get_session(cookie, now=provider.clock()) is None
