"""The client address behind trusted proxies, and the configured throttle, over HTTP.

RFC 7239 §5.2 / §8.1: only a trusted proxy's forwarded header is believed, and only its
right-most untrusted hop; the per-address throttle and the audit log key on that address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from stepauth.provider import throttle
from tests.helpers.frontchannel import open_interaction, page, query, rp_params, submit
from tests.helpers.harness import PASSWORD, USERNAME, Provider, running_provider

PROXY = "10.0.0.5"
SERVER = {"trusted_proxies": ["10.0.0.0/24"], "forwarded_header": "x-forwarded-for"}


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Provider]:
    async with running_provider(tmp_path, server=SERVER) as running:
        await running.create_user()
        yield running


def peer(provider: Provider, address: str, **headers: str) -> httpx.AsyncClient:
    """A browser whose TCP peer (as the Provider sees it) is ``address``."""
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=provider.app, client=(address, 40000)),
        base_url=provider.issuer,
        headers=headers,
    )
    provider.extra_clients.append(client)
    return client


async def fail(
    browser: httpx.AsyncClient,
    times: int,
    headers_for: Callable[[int], dict[str, str]] = lambda attempt: {},
) -> list[int]:
    """``times`` failed password sign-ins of unknown users (no account gets blocked);
    attempt ``n`` is sent with the extra ``headers_for(n)``. Returns the statuses."""
    codes = []
    shown = await open_interaction(browser, query())
    for attempt in range(times):
        form = shown.form("password")
        data = {f["name"]: f.get("value", "") for f in form["inputs"] if f.get("name")}
        data.update(username=f"nobody{attempt}", password="guess")
        response = await browser.post(
            str(shown.response.url.join(form["action"])), data=data, headers=headers_for(attempt)
        )
        codes.append(response.status_code)
        shown = page(response)
    return codes


async def audit_ips(provider: Provider) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await provider.store.tail_audit(1000)
    return rows


async def sign_in_from(browser: httpx.AsyncClient) -> httpx.Response:
    shown = await open_interaction(browser, query())
    return await submit(browser, shown, "password", username=USERNAME, password=PASSWORD)


async def test_failures_of_one_client_behind_the_proxy_do_not_block_another(
    provider: Provider,
) -> None:
    """Behind one trusted proxy: 31 failures from one client address are that address's
    alone — another client's right password still signs in, and the audit log names
    each client, not the proxy."""
    attacker = peer(provider, PROXY, **{"x-forwarded-for": "198.51.100.7"})
    codes = await fail(attacker, throttle.IP_LIMIT + 1)
    assert codes == [400] * throttle.IP_LIMIT + [429]
    still = await sign_in_from(attacker)
    assert still.status_code == 429

    other = peer(provider, PROXY, **{"x-forwarded-for": "203.0.113.9"})
    rp_params(await sign_in_from(other))

    ips = [r.get("ip") for r in await audit_ips(provider) if r["event"] == "authentication"]
    assert ips.count("198.51.100.7") == throttle.IP_LIMIT + 2
    assert "203.0.113.9" in ips
    assert PROXY not in ips


async def test_spoofed_x_forwarded_for_from_an_untrusted_peer_cannot_escape_the_limit(
    provider: Provider,
) -> None:
    """A client that connects directly sends a new ``X-Forwarded-For`` with every
    attempt: the header is ignored, every attempt counts against its own address."""

    def forged(attempt: int) -> dict[str, str]:
        return {
            "x-forwarded-for": f"198.51.100.{attempt + 1}",
            "forwarded": f"for=203.0.113.{attempt}",
        }

    codes = await fail(peer(provider, "192.0.2.50"), throttle.IP_LIMIT + 1, forged)
    assert codes == [400] * throttle.IP_LIMIT + [429]
    ips = {r.get("ip") for r in await audit_ips(provider) if r["event"] == "authentication"}
    assert ips == {"192.0.2.50"}


async def test_client_written_hops_left_of_the_proxy_are_ignored(provider: Provider) -> None:
    """Behind the trusted proxy the client prepends a fresh address to ``X-Forwarded-For``
    each time; the proxy appends the address it saw, and that right-most hop is the one
    counted."""

    def hops(attempt: int) -> dict[str, str]:
        return {"x-forwarded-for": f"198.51.100.{attempt + 1}, 10.0.0.9, 192.0.2.60, 10.0.0.7"}

    codes = await fail(peer(provider, PROXY), throttle.IP_LIMIT + 1, hops)
    assert codes == [400] * throttle.IP_LIMIT + [429]
    ips = {r.get("ip") for r in await audit_ips(provider) if r["event"] == "authentication"}
    assert ips == {"192.0.2.60"}


@pytest.mark.parametrize(
    "header",
    [
        "not an address",
        "198.51.100.7,,",
        "unknown",
        "_hidden",
        "198.51.100.7, fe80::1%eth0",
        "x" * 5000,
    ],
)
async def test_malformed_forwarded_header_falls_back_to_the_peer(
    provider: Provider, header: str
) -> None:
    """A header that does not parse is no error page and no address the client chose:
    the attempt is counted and audited against the proxy itself."""
    browser = peer(provider, PROXY, **{"x-forwarded-for": header})
    assert await fail(browser, 1) == [400]
    rp_params(await sign_in_from(browser))
    ips = {r.get("ip") for r in await audit_ips(provider) if r["event"] == "authentication"}
    assert ips == {PROXY}


async def test_rfc7239_forwarded_header_when_configured(tmp_path: Path) -> None:
    """With ``forwarded_header = "forwarded"`` the RFC 7239 ``for=`` of the right-most
    untrusted element is the client; ``X-Forwarded-For`` is then the client's to forge
    and is never read."""
    server = {"trusted_proxies": ["10.0.0.0/24"], "forwarded_header": "forwarded"}
    async with running_provider(tmp_path, server=server) as provider:
        await provider.create_user()
        browser = peer(
            provider,
            PROXY,
            forwarded='for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.8;by=10.0.0.5',
        )
        browser.headers["x-forwarded-for"] = "192.0.2.99"
        rp_params(await sign_in_from(browser))
        ips = {r.get("ip") for r in await audit_ips(provider) if r["event"] == "authentication"}
        assert ips == {"2001:db8:cafe::17"}


async def test_configured_throttle_limits_apply(tmp_path: Path) -> None:
    """``[throttle]``: three failures block the password for the first configured delay,
    and two failures from one address exhaust its configured limit."""
    limits = {"max_failures": 3, "block_delays": [120, 600], "ip_limit": 2, "ip_window": 300}
    async with running_provider(tmp_path, throttle=limits) as provider:
        user = await provider.create_user()
        for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
            browser = peer(provider, address)
            shown = await open_interaction(browser, query())
            response = await submit(browser, shown, "password", username=USERNAME, password="x")
            assert response.status_code == 400
        state = await provider.store.failure_state(user.id, "password")
        assert (state.count, state.blocked_until) == (3, provider.clock() + 120)

        assert await fail(peer(provider, "192.0.2.9"), 3) == [400, 400, 429]
        provider.clock.advance(300)
        assert await fail(peer(provider, "192.0.2.9"), 1) == [400]


async def test_access_log_and_audit_name_the_forwarded_client_over_a_socket(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Over a real socket, with uvicorn's own proxy-header handling off (as ``stepauth
    serve`` runs it): the access log and the audit log show the client that the trusted
    proxy (the loopback peer) named; without ``trusted_proxies`` the same header from the
    same peer is ignored."""
    import asyncio
    import base64
    import logging
    import os

    import uvicorn

    from stepauth.provider.app import create_app
    from stepauth.provider.config import ProviderConfig
    from tests.conftest import free_port
    from tests.helpers.harness import Clock, config_data

    os.environ.setdefault("STEPAUTH_SECRET_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    proxied = {"trusted_proxies": ["127.0.0.0/8"], "forwarded_header": "x-forwarded-for"}
    for server_table, expected in ((proxied, "198.51.100.7"), ({}, "127.0.0.1")):
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        data = config_data(tmp_path / f"{port}.db", issuer=issuer, server=server_table)
        app = create_app(ProviderConfig.from_dict(data), clock=Clock())
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, proxy_headers=False, log_config=None)
        )
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                assert not task.done(), "uvicorn stopped during startup"
                await asyncio.sleep(0.02)
            caplog.clear()
            async with httpx.AsyncClient(
                base_url=issuer, headers={"x-forwarded-for": "198.51.100.7"}
            ) as browser:
                shown = await open_interaction(browser, query())
                response = await submit(browser, shown, "password", username="x", password="y")
                assert response.status_code == 400
            rows = await app.state.stepauth.store.tail_audit(10)
            assert {r.get("ip") for r in rows if r["event"] == "authentication"} == {expected}
            logged = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
            assert logged
            assert all(line.startswith(f"{expected}:") for line in logged), logged
        finally:
            server.should_exit = True
            await task


async def test_ipv6_client_cannot_escape_the_limit_by_rotating_within_its_64(
    tmp_path: Path,
) -> None:
    """An IPv6 end site holds a whole /64 (RFC 6177): a new source address per attempt
    still counts against the one /64; a client of another /64 is not affected. The
    audit log keeps each full address."""
    async with running_provider(tmp_path, throttle={"ip_limit": 3}) as provider:
        await provider.create_user()
        codes = []
        for i in range(4):
            browser = peer(provider, f"2001:db8:1:2::{i + 1:x}")
            codes += await fail(browser, 1)
        assert codes == [400, 400, 400, 429]
        rp_params(await sign_in_from(peer(provider, "2001:db8:1:3::1")))
        ips = [r.get("ip") for r in await audit_ips(provider) if r["event"] == "authentication"]
        assert "2001:db8:1:2::4" in ips
        assert "2001:db8:1:3::1" in ips
