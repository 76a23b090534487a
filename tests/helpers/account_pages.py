"""The Provider's ``/account`` pages as a browser reads and fills them: a form field's
value, the CSRF token, the alert, and the step-up at ``/account/reauth``."""

from __future__ import annotations

import re
from html import unescape

import httpx

__all__ = ["account_page", "csrf_of", "error_of", "field", "reauth"]


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in: {html[:400]}"
    return unescape(match.group(1))


def csrf_of(html: str) -> str:
    return field(html, "csrf")


def error_of(html: str) -> str:
    match = re.search(r'<p[^>]* role="alert" class="error"[^>]*>([^<]*)</p>', html)
    return unescape(match.group(1)) if match else ""


async def account_page(browser: httpx.AsyncClient) -> str:
    page = await browser.get("/account")
    assert page.status_code == 200, page.text[:300]
    return page.text


async def reauth(
    browser: httpx.AsyncClient,
    factor: str,
    expect: int = 303,
    *,
    recovery: bool = False,
    **form: str,
) -> httpx.Response:
    """Open /account/reauth (``recovery``: its recovery-code variant) and submit
    ``factor``'s form with ``form``."""
    params = {"next": "/account", **({"mode": "recovery"} if recovery else {})}
    page = await browser.get("/account/reauth", params=params)
    assert page.status_code == 200, page.text[:300]
    assert f'data-factor="{factor}"' in page.text, page.text[:600]
    response = await browser.post(
        "/account/reauth",
        params=params,
        data={"csrf": csrf_of(page.text), "factor": factor, **form},
    )
    assert response.status_code == expect, f"{response.status_code}: {response.text[:400]}"
    return response
