"""``[console] listen``: the operator console on a listener of its own.

With the setting, ``/admin`` is not on the Provider's listener (404 there) and
:func:`stepauth.provider.app.create_console_app` serves it with the same state and store;
``stepauth serve`` runs both listeners in one process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from stepauth.cli import main
from stepauth.errors import ConfigError
from stepauth.provider.app import create_console_app
from stepauth.provider.config import ProviderConfig
from tests.conftest import free_port
from tests.helpers.account_pages import csrf_of
from tests.helpers.console_pages import ADMIN, sign_in, step_up
from tests.helpers.harness import ISSUER, Provider, config_data, running_provider
from tests.helpers.passkeys import enrol_passkey, use_passkeys

LISTEN = "127.0.0.1:9443"
RUN_MAIN = "import sys; from stepauth.cli import main; sys.exit(main(sys.argv[1:]))"


def _config(tmp_path: Path, listen: object) -> ProviderConfig:
    return ProviderConfig.from_dict(
        config_data(tmp_path / "stepauth.db", console={"listen": listen})
    )


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:9443", "127.0.0.1", 9443),
        ("[::1]:9443", "::1", 9443),
        ("admin.op:1", "admin.op", 1),
    ],
)
def test_listen_is_host_and_port(tmp_path: Path, listen: str, host: str, port: int) -> None:
    config = _config(tmp_path, listen)
    assert (config.console.host, config.console.port) == (host, port)
    assert config.console.separate


def test_without_listen_the_console_is_on_the_main_listener(tmp_path: Path) -> None:
    config = ProviderConfig.from_dict(config_data(tmp_path / "stepauth.db"))
    assert not config.console.separate


@pytest.mark.parametrize(
    "listen",
    [
        "9443",
        "127.0.0.1",
        "127.0.0.1:",
        ":9443",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        "127.0.0.1:https",
        "[zz]:9443",
        "::1:9443",
        "a b:9443",
        " ",
        9443,
    ],
)
def test_bad_listen_is_refused_naming_the_key(tmp_path: Path, listen: object) -> None:
    with pytest.raises(ConfigError) as refused:
        _config(tmp_path, listen)
    assert "console.listen" in str(refused.value)


@pytest.fixture
async def separate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Provider]:
    monkeypatch.setenv("STEPAUTH_OUTBOX", str(tmp_path / "outbox.jsonl"))
    async with running_provider(tmp_path, console={"listen": LISTEN}) as running:
        use_passkeys(running)
        yield running


async def test_main_app_has_no_admin_and_the_console_app_answers(separate: Provider) -> None:
    for path in ("/admin", "/admin/users", "/admin/reauth", "/admin/static/console.css"):
        assert (await separate.browser.get(path)).status_code == 404, path
    assert (await separate.browser.get("/.well-known/openid-configuration")).status_code == 200
    console = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_console_app(separate.app, separate.state.config)),
        base_url=ISSUER,
    )
    async with console:
        assert (await console.get("/.well-known/openid-configuration")).status_code == 404
        first = await console.get("/admin/users")
        assert first.status_code == 303
        assert first.headers["location"].startswith("/admin/reauth")
        # the same store: an admin created through the Provider signs in on the console,
        # steps up with the passkey and locks a user
        admin = await separate.create_user(ADMIN)
        await separate.store.set_user_role(admin.id, "admin", True)
        passkey = await enrol_passkey(separate, admin.id)
        victim = await separate.create_user("bob")
        await sign_in(console, ADMIN)
        listing = await console.get("/admin/users")
        assert listing.status_code == 200
        assert "content-security-policy" in listing.headers
        assert f'href="/admin/users/{victim.id}"' in listing.text
        page = await console.get(f"/admin/users/{victim.id}")
        asked = await console.post(
            f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(page.text)}
        )
        await step_up(console, passkey, asked.headers["location"])
        page = await console.get(f"/admin/users/{victim.id}")
        done = await console.post(
            f"/admin/users/{victim.id}/lock", data={"csrf": csrf_of(page.text)}
        )
        assert done.headers["location"].endswith("?done=locked")
        assert (await separate.store.get_user(victim.id)).disabled


def _wait_for(url: str, proc: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate(timeout=5)[0].decode()
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def test_serve_listens_on_both_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``stepauth serve`` in a child process: the Provider on its port without ``/admin``,
    the console on ``[console] listen``; SIGTERM stops both, exit status 0."""
    monkeypatch.delenv("STEPAUTH_CONFIG", raising=False)
    assert main(["init", str(tmp_path / "op")]) == 0
    config = tmp_path / "op" / "stepauth.toml"
    port, console_port = free_port(), free_port()
    with config.open("a", encoding="utf-8") as file:
        file.write(f'\n[console]\nlisten = "127.0.0.1:{console_port}"\n')
    env = {k: v for k, v in os.environ.items() if k != "STEPAUTH_SECRET_KEY"}  # from .env
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_MAIN, "serve", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base, console = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{console_port}"
        assert _wait_for(f"{base}/.well-known/openid-configuration", proc).status_code == 200
        assert httpx.get(f"{base}/admin/reauth", timeout=5).status_code == 404
        reauth = _wait_for(f"{console}/admin/reauth", proc)
        assert reauth.status_code == 200
        assert "Sign in to the operator console." in reauth.text
        assert httpx.get(f"{console}/admin/users", timeout=5).status_code == 303
        assert httpx.get(f"{console}/jwks", timeout=5).status_code == 404
    finally:
        proc.terminate()
        output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{console_port}/admin/reauth", timeout=2)
