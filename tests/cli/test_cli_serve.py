"""``stepauth serve`` as a real child process: migrations (under the secret), discovery,
pushed requests in Redis, and the client address left to ``[server] trusted_proxies``.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from stepauth.cli import main
from stepauth.provider.config import load_config
from stepauth.provider.keys import ALGORITHMS
from tests.cli.conftest import KEY_ENV
from tests.helpers.cli_process import serving

pytestmark = pytest.mark.usefixtures("environment")

DISCOVERY = "/.well-known/openid-configuration"


def test_serve_migrates_and_serves(config: Path) -> None:
    """``stepauth serve`` on a fresh directory: schema created, discovery and JWKS served."""
    with serving(config, "--log-level", "warning", ready=DISCOVERY) as (_, base):
        discovery = httpx.get(f"{base}/.well-known/openid-configuration", timeout=5)
        assert discovery.status_code == 200
        assert discovery.json()["issuer"] == "http://localhost:8080"
        jwks = httpx.get(f"{base}/jwks", timeout=5).json()
        # every signing key is published before the first token is signed
        assert sorted(key["alg"] for key in jwks["keys"]) == sorted(ALGORITHMS * 2)
        assert all("d" not in key for key in jwks["keys"])
    assert (config.parent / "stepauth.db").exists()


def test_serve_migrates_a_0003_database_under_its_secret(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database left at revision 0003 (cookie values in ``sessions.id``, a TOTP seed in
    clear): ``stepauth serve`` migrates it at start with the secret from ``.env``. The
    session goes on under its cookie, the seed opens, neither is in the rows any more, and
    the database, its WAL and SHM are private to their owner."""
    import asyncio

    from sqlalchemy import Connection

    from stepauth.provider.ops.bootstrap import load_dotenv
    from stepauth.store.sql import sql_store
    from tests.cli.stored import store_call
    from tests.helpers.old_rows import insert_factor, insert_session
    from tests.helpers.stolen import raw_rows

    monkeypatch.delenv(KEY_ENV)
    load_dotenv(config.parent / ".env")  # the secret `stepauth serve` reads
    url = load_config(config).database.url
    cookie, seed, now = (
        "cookie-of-0003-" + "e" * 30,
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        time.time(),
    )

    def rows_of_0003(conn: Connection) -> None:
        insert_session(conn, cookie, "u1", "sid-1", now=now)
        insert_factor(conn, "f1", "u1", "totp", {"secret": seed})

    async def at_0003() -> None:
        store = sql_store(url)
        try:
            await store.migrate("0003")
            await store.run_sync(rows_of_0003, write=True)
        finally:
            await store.close()

    asyncio.run(at_0003())
    with serving(config, "--log-level", "warning", ready=DISCOVERY):
        database = config.parent / "stepauth.db"
        for path in (database, *(database.with_name(f"stepauth.db-{x}") for x in ("wal", "shm"))):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    copied = raw_rows(url)
    assert cookie not in copied
    assert seed not in copied

    async def read(store: Any) -> tuple[Any, Any]:
        return await store.get_session(cookie, now=now + 1), await store.list_factors("u1")

    session, (factor,) = store_call(config, read)
    assert session is not None
    assert session.sid == "sid-1"
    assert factor.data["secret"] == seed


def test_a_command_without_the_secret_ends_no_session(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command run without the secret (here ``stepauth users list``) on a database at
    revision 0003 does not migrate it: the sessions stay, and the error names the way."""
    import asyncio

    from sqlalchemy import text

    from stepauth.store.sql import sql_store
    from tests.helpers.old_rows import insert_session

    url = load_config(config).database.url

    async def at_0003() -> list[str]:
        store = sql_store(url)
        try:
            await store.migrate("0003")
            await store.run_sync(
                lambda conn: insert_session(conn, "cookie-" + "f" * 30, "u1", "sid-1"), write=True
            )
            return await store.run_sync(
                lambda conn: [r[0] for r in conn.execute(text("SELECT id FROM sessions"))]
            )
        finally:
            await store.close()

    before = asyncio.run(at_0003())
    monkeypatch.setenv(KEY_ENV, "")
    capsys.readouterr()
    assert main(["users", "list", "--config", str(config)]) == 2
    assert "stepauth serve" in capsys.readouterr().err

    async def ids() -> list[str]:
        store = sql_store(url)
        try:
            return await store.run_sync(
                lambda conn: [r[0] for r in conn.execute(text("SELECT id FROM sessions"))]
            )
        finally:
            await store.close()

    assert asyncio.run(ids()) == before


@pytest.mark.redis
def test_serve_keeps_pushed_requests_in_redis(
    config: Path, redis_url: str, redis_prefix: str
) -> None:
    config.write_text(
        config.read_text() + f'\n[redis]\nurl = "{redis_url}"\nprefix = "{redis_prefix}"\n'
    )
    demo = load_config(config).client("demo")
    assert demo is not None
    assert demo.client_secret is not None
    with serving(config, "--log-level", "warning", ready=DISCOVERY) as (_, base):
        pushed = httpx.post(
            f"{base}/par",
            auth=(demo.client_id, demo.client_secret),
            data={
                "response_type": "code",
                "client_id": demo.client_id,
                "redirect_uri": demo.redirect_uris[0],
                "scope": "openid",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            },
            timeout=10,
        )
        assert pushed.status_code == 201, pushed.text
        request_uri = pushed.json()["request_uri"]
        client = redis.Redis.from_url(redis_url)
        try:
            assert client.exists(f"{redis_prefix}item:par:{request_uri}")
        finally:
            client.close()


def test_serve_leaves_the_client_address_to_trusted_proxies(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's own ``X-Forwarded-For`` handling trusts 127.0.0.1 by default; ``stepauth
    serve`` turns it off so ``[server] trusted_proxies`` is the only source of the client
    address (a local client could otherwise choose its own)."""
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    assert main(["serve", "--config", str(config)]) == 0
    assert seen["proxy_headers"] is False
