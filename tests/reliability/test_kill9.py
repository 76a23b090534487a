"""kill -9 of a ``stepauth serve`` under mixed load loses no acknowledged write.

Real ``stepauth serve`` processes on 127.0.0.1, a bounded load (sign-ins, code exchanges,
refreshes, logouts; a few seconds, a capped number of flows) and ``SIGKILL`` mid-run:

* two instances on one PostgreSQL (without and with Redis): one is killed, and every
  acknowledged write is checked against the survivor;
* SQLite: the only instance is killed and started again on the same file;
  ``PRAGMA integrity_check`` answers ``ok``.

"Acknowledged" is a response the client received: every 200 token response's refresh
token still refreshes (or, when a later refresh of it was in flight at the kill, was
legitimately rotated: then it is refused as reused), and every acknowledged logout left
its tokens inactive.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.helpers.harness import (
    CONFIDENTIAL,
    LOGOUT_REDIRECT_URI,
    PASSWORD,
    REDIRECT_URI,
    SECRET,
    USERNAME,
    Clock,
    Provider,
    pkce_pair,
)

RUN_MAIN = "import sys; from stepauth.cli import main; sys.exit(main(sys.argv[1:]))"
SECRET_KEY = base64.urlsafe_b64encode(b"kill-9 test secret, 32+ bytes long").decode()
#: the victim is killed once it acknowledged this many sign-ins (or at KILL_BY seconds)
KILL_AFTER_GRANTS = 3
KILL_BY = 20.0
#: the load goes on this long after the kill, on the survivors
AFTER_KILL = 3.0
MAX_FLOWS = 60
WORKERS = 4


def _config(path: Path, database_url: str, redis: tuple[str, str] | None) -> Path:
    text = f"""issuer = "http://localhost:8080"

[database]
url = "{database_url}"

[webauthn]
rp_id = "localhost"
origins = ["http://localhost:8080"]

[logging]
level = "warning"

[[clients]]
client_id = "{CONFIDENTIAL}"
client_secret = "{SECRET}"
redirect_uris = ["{REDIRECT_URI}"]
post_logout_redirect_uris = ["{LOGOUT_REDIRECT_URI}"]
"""
    if redis is not None:
        text += f'\n[redis]\nurl = "{redis[0]}"\nprefix = "{redis[1]}"\n'
    path.write_text(text)
    return path


class Instance:
    """One ``stepauth serve`` child process on a free port."""

    def __init__(self, config: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "STEPAUTH_SECRET_KEY": SECRET_KEY}
        command = [sys.executable, "-c", RUN_MAIN, "serve", "--config", str(config)]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("stepauth serve did not become ready")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        assert self.process.stderr is not None
        self.process.stderr.close()


@dataclass
class Grant:
    """What a client was told about one sign-in: its newest acknowledged tokens."""

    browser: httpx.AsyncClient
    instance: Instance
    refresh_token: str
    access_token: str
    id_token: str
    #: a request on this grant got no answer (its instance died): it may have rotated
    uncertain: bool = False
    logged_out: bool = False


def _client(instance: Instance) -> Provider:
    browser = httpx.AsyncClient(base_url=instance.base, timeout=10)
    return Provider(app=None, browser=browser, clock=Clock(), state=None, over_asgi=False)


async def _flow(instances: list[Instance], grants: list[Grant], rng: random.Random) -> None:
    """Sign in, exchange the code, refresh twice (on any live instance), sometimes log out."""
    live = [i for i in instances if i.alive]
    if not live:
        return
    home = rng.choice(live)
    client = _client(home)
    try:
        verifier, challenge = pkce_pair()
        result = await client.authorize(
            code_challenge=challenge, scope="openid offline_access", nonce="n"
        )
        response = await client.token(
            {
                "grant_type": "authorization_code",
                "code": result.code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            }
        )
    except (httpx.TransportError, AssertionError, KeyError) as exc:
        await client.browser.aclose()
        if home.alive:  # only the killed instance may fail a sign-in
            raise AssertionError(f"a sign-in failed on a live instance: {exc!r}") from exc
        return  # never acknowledged
    if response.status_code != 200:
        await client.browser.aclose()
        assert not home.alive, response.text
        return
    body = response.json()
    grant = Grant(
        client.browser, home, body["refresh_token"], body["access_token"], body["id_token"]
    )
    grants.append(grant)
    for _ in range(2):
        live = [i for i in instances if i.alive]
        if not live:
            return
        target = rng.choice(live)
        try:
            refreshed = await client.browser.post(
                f"{target.base}/token",
                data={"grant_type": "refresh_token", "refresh_token": grant.refresh_token},
                auth=(CONFIDENTIAL, SECRET),
            )
        except httpx.TransportError:
            grant.uncertain = True
            return
        assert refreshed.status_code == 200, refreshed.text  # no fault but the kill
        grant.refresh_token = refreshed.json()["refresh_token"]
        grant.access_token = refreshed.json()["access_token"]
    # about a third of the grants end with a logout, and the first acknowledged grant
    # always does: a slow machine that completes few flows still checks one logout
    if rng.random() < 0.3 or not any(g.logged_out for g in grants):
        try:
            ended = await client.browser.get(
                f"{home.base}/logout",
                params={
                    "id_token_hint": grant.id_token,
                    "post_logout_redirect_uri": LOGOUT_REDIRECT_URI,
                },
            )
        except httpx.TransportError:
            grant.uncertain = True
            return
        assert ended.status_code in (200, 302, 303), ended.text
        grant.logged_out = True


async def _load(instances: list[Instance], victim: Instance) -> list[Grant]:
    grants: list[Grant] = []
    started = time.monotonic()
    stop_at = started + KILL_BY + AFTER_KILL
    flows = 0

    async def worker(seed: int) -> None:
        nonlocal flows
        rng = random.Random(seed)
        while time.monotonic() < stop_at and flows < MAX_FLOWS:
            flows += 1
            await _flow(instances, grants, rng)

    async def killer() -> None:
        nonlocal stop_at
        while time.monotonic() - started < KILL_BY:
            if sum(g.instance is victim for g in grants) >= KILL_AFTER_GRANTS:
                break
            await asyncio.sleep(0.05)
        victim.kill9()
        stop_at = time.monotonic() + AFTER_KILL

    await asyncio.gather(killer(), *(worker(n) for n in range(WORKERS)))
    return grants


async def _check(grants: list[Grant], survivor: Instance) -> None:
    """Every acknowledged write holds on ``survivor``."""
    async with httpx.AsyncClient(base_url=survivor.base, timeout=10) as client:
        auth = (CONFIDENTIAL, SECRET)
        for grant in grants:
            if grant.logged_out:
                introspected = await client.post(
                    "/introspect", data={"token": grant.access_token}, auth=auth
                )
                assert introspected.json() == {"active": False}
            refreshed = await client.post(
                "/token",
                data={"grant_type": "refresh_token", "refresh_token": grant.refresh_token},
                auth=auth,
            )
            if grant.logged_out:
                assert refreshed.status_code == 400, refreshed.text
                assert refreshed.json()["error"] == "invalid_grant"
            elif grant.uncertain:
                assert refreshed.status_code in (200, 400), refreshed.text
                if refreshed.status_code == 400:
                    assert refreshed.json()["error"] == "invalid_grant"
            else:
                assert refreshed.status_code == 200, refreshed.text
    for grant in grants:
        await grant.browser.aclose()


async def _create_user(database_url: str) -> None:
    from stepauth.provider.factors.password import hash_password
    from stepauth.store import open_store

    store = await open_store(database_url, secret=SECRET_KEY.encode())
    try:
        await store.create_user(USERNAME, hash_password(PASSWORD))
    finally:
        await store.close()


async def _two_instances_one_killed(tmp_path: Path, url: str, redis: Any) -> None:
    await _create_user(url)
    config = _config(tmp_path / "stepauth.toml", url, redis)
    first, second = Instance(config), Instance(config)
    try:
        grants = await _load([first, second], victim=first)
        assert not first.alive
        assert second.alive
        assert any(g.instance is first for g in grants), "the victim acknowledged sign-ins"
        assert any(g.instance is second for g in grants), "the survivor acknowledged sign-ins"
        assert any(g.logged_out for g in grants), "the load logged someone out"
        await _check(grants, second)
    finally:
        first.stop()
        second.stop()


@pytest.mark.postgres
async def test_kill9_of_one_instance_on_postgresql_loses_no_acknowledged_write(
    tmp_path: Path, postgres_url: str
) -> None:
    await _two_instances_one_killed(tmp_path, postgres_url, None)


@pytest.mark.postgres
@pytest.mark.redis
async def test_kill9_of_one_instance_on_postgresql_and_redis_loses_no_acknowledged_write(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    await _two_instances_one_killed(tmp_path, postgres_url, (redis_url, redis_prefix))


async def test_kill9_on_sqlite_keeps_the_file_intact_and_acknowledged_writes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "stepauth.db"
    url = f"sqlite+aiosqlite:///{db}"
    await _create_user(url)
    config = _config(tmp_path / "stepauth.toml", url, None)
    victim = Instance(config)
    try:
        grants = await _load([victim], victim=victim)
    finally:
        victim.stop()
    assert grants, "the load got tokens before the kill"
    with sqlite3.connect(db) as conn:  # recovers the WAL the killed process left
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    restarted = Instance(config)
    try:
        await _check(grants, restarted)
    finally:
        restarted.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
