"""Prometheus metrics: their own listener, bounded labels, counters that move with events."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from stepauth.assurance import DEFAULT_LADDER
from stepauth.provider.ops import metrics as ops_metrics
from tests.conftest import free_port
from tests.helpers.frontchannel import (
    TOTP,
    enrol_totp,
    open_interaction,
    query,
    rp_params,
    sign_in,
    submit,
    totp_code,
    use_factors,
)
from tests.helpers.harness import (
    ACR_2FA,
    PASSWORD,
    USERNAME,
    Provider,
    pkce_pair,
    running_provider,
)
from tests.observability.conftest import sample, value


async def test_metrics_listen_on_their_own_port_and_not_on_the_public_one(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with running_provider(tmp_path, metrics={"enabled": True, "port": port}) as provider:
        assert (await provider.browser.get("/healthz")).status_code == 200
        public = await provider.browser.get("/metrics")
        assert public.status_code == 404
        assert "stepauth_" not in public.text
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200
        text = scraped.text
        assert (
            sample(
                text,
                "stepauth_http_requests_total",
                route="/healthz",
                method="GET",
                status="200",
            )
            == 1
        )
        assert sample(text, "stepauth_http_requests_total", route="/metrics") == 0
    async with httpx.AsyncClient() as scraper:
        with pytest.raises(httpx.TransportError):  # the listener stops with the app
            await scraper.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


async def test_metrics_listener_is_off_unless_enabled(tmp_path: Path) -> None:
    port = free_port()
    async with running_provider(tmp_path, metrics={"port": port}) as provider:
        assert provider.state.config.metrics.enabled is False
        async with httpx.AsyncClient() as scraper:
            with pytest.raises(httpx.TransportError):
                await scraper.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


async def test_request_labels_are_route_templates_never_paths(provider: Provider) -> None:
    """Ids and tokens in a path never become label values (bounded cardinality)."""
    uid = secrets.token_urlsafe(24)
    await provider.browser.get(f"/interaction/{uid}")
    await provider.browser.get(f"/no-such-page/{uid}")
    app = provider.app
    assert (
        value(
            app,
            "stepauth_http_requests_total",
            route="/interaction/{uid}",
            method="GET",
            status="400",
        )
        == 1
    )
    assert (
        value(app, "stepauth_http_requests_total", route="unmatched", method="GET", status="404")
        == 1
    )
    from prometheus_client import generate_latest

    exposition = generate_latest(app.state.metrics.registry).decode()
    assert uid not in exposition
    assert "stepauth_http_request_duration_seconds_bucket" in exposition


async def test_failed_sign_in_moves_the_failure_counters(provider: Provider) -> None:
    shown = await open_interaction(provider.browser, query())
    refused = await submit(
        provider.browser, shown, "password", username=USERNAME, password="wrong " + PASSWORD
    )
    assert refused.status_code == 400
    app = provider.app
    assert value(app, "stepauth_step_ups_started_total", reason="no_session", acr="none") == 1
    assert (
        value(app, "stepauth_authentication_attempts_total", factor="password", result="failure")
        == 1
    )
    assert value(app, "stepauth_factor_failures_total", factor="password") == 1
    assert value(app, "stepauth_lockouts_total", factor="password") == 0
    assert value(app, "stepauth_step_ups_completed_total", acr="none") == 0


async def test_lockout_is_counted(provider: Provider) -> None:
    shown = await open_interaction(provider.browser, query())
    for _ in range(5):
        await submit(provider.browser, shown, "password", username=USERNAME, password="nope")
    app = provider.app
    assert value(app, "stepauth_factor_failures_total", factor="password") == 5
    assert value(app, "stepauth_lockouts_total", factor="password") >= 1
    assert value(
        app, "stepauth_authentication_attempts_total", factor="password", result="locked"
    ) == value(app, "stepauth_lockouts_total", factor="password")


async def test_step_up_is_counted_started_and_completed(provider: Provider) -> None:
    use_factors(provider, totp=True)
    user = await provider.store.get_user_by_username(USERNAME)
    params = await enrol_totp(provider, user.id)
    await sign_in(provider.browser, query())
    app = provider.app
    assert value(app, "stepauth_step_ups_completed_total", acr="none") == 1
    assert (
        value(app, "stepauth_authentication_attempts_total", factor="password", result="success")
        == 1
    )

    provider.clock.advance(60)
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA))
    assert value(app, "stepauth_step_ups_started_total", reason="acr_not_met", acr=ACR_2FA) == 1
    assert value(app, "stepauth_step_ups_completed_total", acr=ACR_2FA) == 0
    rp_params(await submit(provider.browser, shown, TOTP, code=totp_code(provider, params)))
    assert value(app, "stepauth_step_ups_completed_total", acr=ACR_2FA) == 1
    assert value(app, "stepauth_authentication_attempts_total", factor=TOTP, result="success") == 1


async def test_unknown_acr_values_do_not_grow_the_series(provider: Provider) -> None:
    asked = [secrets.token_hex(8) for _ in range(3)]
    for acr in asked:
        await open_interaction(provider.browser, query(acr_values=acr))
    from prometheus_client import generate_latest

    exposition = generate_latest(provider.app.state.metrics.registry).decode()
    assert not any(acr in exposition for acr in asked)
    started = [
        value(provider.app, "stepauth_step_ups_started_total", reason="no_session", acr=acr)
        for acr in ("none", "other")
    ]
    assert sum(started) == 3


async def test_expired_interaction_is_counted_abandoned(provider: Provider) -> None:
    response = await provider.browser.get("/authorize", params=query())
    location = response.headers["location"]
    provider.clock.advance(601)
    assert (await provider.browser.get(location)).status_code == 400
    assert value(provider.app, "stepauth_step_ups_abandoned_total", why="expired") == 1


async def test_code_replay_is_counted(provider: Provider) -> None:
    verifier, challenge = pkce_pair()
    result = await provider.authorize(code_challenge=challenge)
    await provider.exchange(result.code, verifier)
    again = await provider.token(
        {
            "grant_type": "authorization_code",
            "code": result.code,
            "redirect_uri": "https://rp.example/callback",
            "code_verifier": verifier,
        }
    )
    assert again.status_code == 400
    assert value(provider.app, "stepauth_replays_detected_total", kind="code") == 1
    assert value(provider.app, "stepauth_replays_detected_total", kind="refresh_token") == 0


async def test_each_app_counts_on_its_own_registry(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        running_provider(tmp_path / "a") as first,
        running_provider(tmp_path / "b") as second,
    ):
        assert first.app.state.metrics.registry is not second.app.state.metrics.registry
        await first.browser.get("/healthz")
        labels = {"route": "/healthz", "method": "GET", "status": "200"}
        assert value(first.app, "stepauth_http_requests_total", **labels) == 1
        assert value(second.app, "stepauth_http_requests_total", **labels) == 0


async def test_a_metrics_port_in_use_stops_startup_naming_the_key(tmp_path: Path) -> None:
    import socket

    from stepauth.errors import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            async with running_provider(tmp_path, metrics={"enabled": True, "port": port}):
                pass
    assert caught.value.key == "metrics.port"


async def test_refresh_token_replay_is_counted(provider: Provider) -> None:
    verifier, challenge = pkce_pair()
    result = await provider.authorize(code_challenge=challenge, scope="openid offline_access")
    body = await provider.exchange(result.code, verifier)
    grant = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert (await provider.token(grant)).status_code == 200
    assert (await provider.token(grant)).status_code == 400
    assert value(provider.app, "stepauth_replays_detected_total", kind="refresh_token") == 1


def test_activate_makes_metrics_current_until_deactivated() -> None:
    registry = ops_metrics.Metrics(ladder=DEFAULT_LADDER)
    assert ops_metrics.current() is None
    token = ops_metrics.activate(registry)
    assert ops_metrics.current() is registry
    ops_metrics.deactivate(token)
    assert ops_metrics.current() is None
