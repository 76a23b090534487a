"""The hosted pages wear the configured branding: the Provider's name everywhere, a
relying party's name and logo on its step-up and approval pages ("… via <Provider>"),
the colour through a generated style sheet, and a Content-Security-Policy that stays
without ``'unsafe-inline'``."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stepauth.provider.security_headers import IMAGE_CSP
from tests.helpers.bank import PAYMENT
from tests.helpers.frontchannel import enrol_totp, open_interaction, query, submit
from tests.helpers.harness import (
    ACR_2FA,
    PASSWORD,
    PUBLIC,
    USERNAME,
    Provider,
    config_data,
    running_provider,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><script>x</script></svg>'
_CSS = re.compile(r'href="(/branding/theme-[0-9a-f]+\.css)"')
_IMG = re.compile(r'<img class="(client-logo|logo)" src="([^"]+)" alt="([^"]*)">')


@pytest.fixture
async def branded(tmp_path: Path) -> AsyncIterator[Provider]:
    (tmp_path / "op.svg").write_bytes(SVG)
    (tmp_path / "rp.png").write_bytes(PNG)
    clients: list[dict[str, Any]] = config_data(tmp_path / "x.db")["clients"]
    for client in clients:
        if client["client_id"] == PUBLIC:
            client["branding"] = {
                "name": "Acme <Bank>",
                "logo": str(tmp_path / "rp.png"),
                "primary_colour": "#0b5d1e",
            }
    branding = {
        "product_name": "Acme Sign-in",
        "logo": str(tmp_path / "op.svg"),
        "primary_colour": "#1a5fd0",
        "support_url": "https://help.acme.example/",
    }
    async with running_provider(tmp_path, clients=clients, branding=branding) as provider:
        await provider.create_user()
        yield provider


def _images(html: str) -> dict[str, tuple[str, str]]:
    return {kind: (src, alt) for kind, src, alt in _IMG.findall(html)}


async def test_sign_in_page_names_the_client_its_logo_and_the_provider(branded: Provider) -> None:
    shown = await open_interaction(branded.browser, query())
    assert "<title>Sign in · Acme Sign-in</title>" in shown.text
    assert "<strong>Acme &lt;Bank&gt;</strong> asks you to confirm, via Acme Sign-in." in shown.text
    images = _images(shown.text)
    assert images["client-logo"][1] == "Acme &lt;Bank&gt;"
    assert images["logo"][1] == "Acme Sign-in"
    assert images["client-logo"][0].endswith(".png")
    assert '<a href="https://help.acme.example/">Need help?</a>' in shown.text


async def test_step_up_page_shows_the_client_and_the_provider(branded: Provider) -> None:
    shown = await open_interaction(branded.browser, query())
    await submit(branded.browser, shown, "password", username=USERNAME, password=PASSWORD)
    user = await branded.store.get_user_by_username(USERNAME)
    await enrol_totp(branded, user.id)
    branded.clock.advance(60)
    step_up = await open_interaction(branded.browser, query(acr_values=ACR_2FA))
    assert "<h1>Confirm it is you</h1>" in step_up.text
    assert "asks you to confirm, via Acme Sign-in." in step_up.text
    assert set(_images(step_up.text)) == {"client-logo", "logo"}


async def test_approval_page_shows_the_client_and_the_provider(branded: Provider) -> None:
    shown = await open_interaction(
        branded.browser, query(authorization_details=json.dumps(PAYMENT))
    )
    assert "You are approving" in shown.text
    assert "<strong>Acme &lt;Bank&gt;</strong> asks you to confirm, via Acme Sign-in." in shown.text
    assert set(_images(shown.text)) == {"client-logo", "logo"}


async def test_theme_css_carries_the_client_colour_and_is_cacheable(branded: Provider) -> None:
    shown = await open_interaction(branded.browser, query())
    (href,) = _CSS.findall(shown.text)
    css = await branded.browser.get(href)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "--stepauth-primary: #0b5d1e;" in css.text
    assert "immutable" in css.headers["cache-control"]
    assert 'class="themed"' in shown.text
    provider_page = await branded.browser.get("/account/reauth")
    (own,) = _CSS.findall(provider_page.text)
    assert "--stepauth-primary: #1a5fd0;" in (await branded.browser.get(own)).text


async def test_page_csp_stays_strict(branded: Provider) -> None:
    shown = await open_interaction(branded.browser, query())
    csp = shown.response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "img-src" not in csp  # logos served by the Provider itself need nothing more
    assert " style=" not in shown.text
    assert "<style" not in shown.text
    assert "<script>" not in shown.text


async def test_https_logo_origin_is_added_to_img_src_only(tmp_path: Path) -> None:
    branding = {"logo": "https://cdn.acme.example/brand/logo.svg?v=2"}
    async with running_provider(tmp_path, branding=branding) as provider:
        shown = await open_interaction(provider.browser, query())
        csp = shown.response.headers["content-security-policy"]
        assert csp.endswith("; img-src 'self' https://cdn.acme.example")
        assert "unsafe-inline" not in csp
        assert _images(shown.text)["logo"][0] == "https://cdn.acme.example/brand/logo.svg?v=2"


async def test_logo_is_served_with_its_type_and_an_image_only_policy(branded: Provider) -> None:
    shown = await open_interaction(branded.browser, query())
    images = _images(shown.text)
    svg = await branded.browser.get(images["logo"][0])
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["content-security-policy"] == IMAGE_CSP
    assert svg.headers["x-content-type-options"] == "nosniff"
    assert svg.content == SVG
    png = await branded.browser.get(images["client-logo"][0])
    assert png.headers["content-type"] == "image/png"
    assert png.content == PNG


@pytest.mark.parametrize(
    "path",
    [
        "/branding/..%2Fstepauth.toml",
        "/branding/..%2F..%2F..%2Fetc%2Fpasswd",
        "/branding/%2e%2e/op.svg",
        "/branding/op.svg",
        "/branding/logo-0000.svg",
    ],
)
async def test_logo_route_refuses_path_traversal(branded: Provider, path: str) -> None:
    response = await branded.browser.get(path)
    assert response.status_code == 404
    assert b"<svg" not in response.content
    assert b"root:" not in response.content


async def test_default_branding_renders_as_today(provider: Provider) -> None:
    shown = await open_interaction(provider.browser, query())
    assert "<title>Sign in · stepauth</title>" in shown.text
    assert "<header" not in shown.text
    assert "<footer" not in shown.text
    assert "/branding/" not in shown.text
    assert 'class="themed"' not in shown.text
    assert "asks you to confirm" not in shown.text
    assert f"Requested by <strong>{PUBLIC}</strong>." in shown.text
    assert shown.response.headers["content-security-policy"] == (
        "default-src 'self'; frame-ancestors 'none'; script-src 'self'"
    )


async def test_branding_lines_are_translated(branded: Provider) -> None:
    shown = await open_interaction(branded.browser, query(ui_locales="de"))
    assert "<title>Anmelden · Acme Sign-in</title>" in shown.text
    assert (
        "<strong>Acme &lt;Bank&gt;</strong> bittet Sie, über Acme Sign-in zu bestätigen."
        in shown.text
    )
    assert ">Brauchen Sie Hilfe?</a>" in shown.text
