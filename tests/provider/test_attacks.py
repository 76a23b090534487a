"""Attacks on the front channel, each in its own test.

Redirect URIs, PKCE, login CSRF, session fixation, authorization_details and inline script;
attacks on who is signed in are in ``test_attacks_identity``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.frontchannel import (
    COOKIE,
    open_interaction,
    query,
    rp_params,
    session_cookie,
    sign_in,
    submit,
)
from tests.helpers.harness import (
    ISSUER,
    PASSWORD,
    PUBLIC,
    REDIRECT_URI,
    USERNAME,
    Provider,
    config_data,
    running_provider,
)


def _no_redirect(response: Any) -> None:
    assert response.status_code == 400, response.status_code
    assert "location" not in response.headers
    assert REDIRECT_URI not in response.headers.get("refresh", "")


async def test_redirect_uri_mismatch_shows_error_page(provider: Provider) -> None:
    """RFC 6749 §4.1.2.1: a wrong redirect_uri is never redirected to."""
    response = await provider.browser.get(
        "/authorize", params=query(redirect_uri="https://rp.example/other", prompt="none")
    )
    _no_redirect(response)
    assert "invalid_request" in response.text
    assert "text/html" in response.headers["content-type"]


async def test_open_redirect_attempts_are_refused(provider: Provider) -> None:
    """Exact string match only: prefixes, suffixes, userinfo, case and fragments all fail."""
    for uri in (
        "https://attacker.example/callback",
        REDIRECT_URI + "/../evil",
        REDIRECT_URI + "?next=https://attacker.example",
        REDIRECT_URI + "#frag",
        "https://rp.example@attacker.example/callback",
        "HTTPS://RP.EXAMPLE/callback",
        "https://rp.example/callback/",
        "https://rp.example/callbac",
    ):
        response = await provider.browser.get(
            "/authorize", params=query(redirect_uri=uri, response_type="token")
        )
        _no_redirect(response)


async def test_missing_redirect_uri_and_unknown_client(provider: Provider) -> None:
    params = query()
    del params["redirect_uri"]
    _no_redirect(await provider.browser.get("/authorize", params=params))
    unknown = await provider.browser.get("/authorize", params=query(client_id="evil"))
    assert unknown.status_code == 401
    assert "location" not in unknown.headers
    assert "invalid_client" in unknown.text


async def test_pkce_missing_is_refused(provider: Provider) -> None:
    """RFC 9700 §2.1.1: PKCE for every client."""
    params = query(state="p")
    del params["code_challenge"]
    del params["code_challenge_method"]
    for client in (PUBLIC, "bank-app"):
        params["client_id"] = client
        result = rp_params(await provider.browser.get("/authorize", params=params))
        assert result["error"] == "invalid_request"
        assert result["state"] == "p"
        assert result["iss"] == ISSUER


async def test_pkce_plain_is_refused(provider: Provider) -> None:
    result = rp_params(
        await provider.browser.get(
            "/authorize", params=query(code_challenge="a" * 43, code_challenge_method="plain")
        )
    )
    assert result["error"] == "invalid_request"


async def test_pkce_wrong_method_is_refused(provider: Provider) -> None:
    for method in ("S512", "s256", None):
        params = query(code_challenge_method=method)  # type: ignore[arg-type]
        result = rp_params(await provider.browser.get("/authorize", params=params))
        assert result["error"] == "invalid_request", method


async def test_pkce_malformed_challenge_is_refused(provider: Provider) -> None:
    result = rp_params(
        await provider.browser.get("/authorize", params=query(code_challenge="short"))
    )
    assert result["error"] == "invalid_request"


async def test_csrf_token_missing_on_login_form(provider: Provider) -> None:
    """OIDC Core §3.1.2.3; RFC 6749 §10.12, §10.13 / NIST SP 800-63B-4 §5.1, §5.1.1: a login post
    without the form's CSRF token → 403, no session.
    """
    shown = await open_interaction(provider.browser, query())
    form = shown.form("password")
    data = {"factor": "password", "username": USERNAME, "password": PASSWORD}
    response = await provider.browser.post(str(shown.response.url), data=data)
    assert response.status_code == 403
    assert form["action"]
    assert session_cookie(provider.browser) is None


async def test_csrf_token_wrong_on_login_form(provider: Provider) -> None:
    shown = await open_interaction(provider.browser, query())
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD, csrf="forged"
    )
    assert response.status_code == 403
    assert session_cookie(provider.browser) is None


async def test_login_csrf_from_another_browser(provider: Provider) -> None:
    """A form posted without this interaction's browser cookie (cross-site) → 403."""
    shown = await open_interaction(provider.browser, query())
    victim = provider.new_browser()
    form = shown.form("password")
    data = {i["name"]: i.get("value", "") for i in form["inputs"] if i.get("name")}
    data.update(username=USERNAME, password=PASSWORD)
    response = await victim.post(str(shown.response.url), data=data)
    assert response.status_code == 403
    assert victim.cookies.get(COOKIE) is None


async def test_session_fixation_preset_cookie_is_never_adopted(provider: Provider) -> None:
    """ASVS 3.2.1 / 5.0 7.2.4: an id planted before login is ignored; login issues a new one."""
    planted = "attacker-chosen-session-id-0123456789"
    provider.browser.cookies.set(COOKIE, planted, domain="localhost.local")
    shown = await open_interaction(provider.browser, query())
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    rp_params(response)
    issued = response.cookies.get(COOKIE)
    assert issued is not None
    assert issued != planted
    assert await provider.store.get_session(planted, now=provider.clock()) is None
    assert await provider.store.get_session(issued, now=provider.clock()) is not None


async def test_session_id_rotates_on_every_login(provider: Provider) -> None:
    """A new authentication event always rotates the id; the old id stops working."""
    await sign_in(provider.browser, query())
    old = session_cookie(provider.browser)
    assert old is not None
    provider.clock.advance(1)
    shown = await open_interaction(provider.browser, query(prompt="login"))
    rp_params(
        await submit(provider.browser, shown, "password", username=USERNAME, password=PASSWORD)
    )
    new = session_cookie(provider.browser)
    assert new is not None
    assert new != old
    assert await provider.store.get_session(old, now=provider.clock()) is None
    stolen = provider.new_browser()
    stolen.cookies.set(COOKIE, old, domain="localhost")
    result = rp_params(await stolen.get("/authorize", params=query(prompt="none")))
    assert result["error"] == "login_required"


async def test_prompt_none_with_max_age_0_is_login_required(provider: Provider) -> None:
    """prompt=none + max_age=0 can never be answered silently (OIDC Core §3.1.2.1: max_age=0
    asks for a new login, prompt=none forbids one; the OpenID conformance suite's
    oidcc-client-test-form-post-error expects the error).
    """
    await sign_in(provider.browser, query())
    result = rp_params(
        await provider.browser.get("/authorize", params=query(prompt="none", max_age="0"))
    )
    assert result["error"] == "login_required"
    assert "code" not in result


async def test_front_channel_authorization_details_refused_for_par_client(tmp_path: Any) -> None:
    """RFC 9396 §10: a client that must push its authorization_details cannot send them here."""
    data = config_data(tmp_path / "db.sqlite")
    data["clients"].append(
        {
            "client_id": "payments",
            "redirect_uris": [REDIRECT_URI],
            "require_par_for_authorization_details": True,
        }
    )
    details = [
        {
            "type": "payment_initiation",
            "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
            "creditorName": "Merchant A",
            "creditorAccount": {"iban": "DE02100100109307118603"},
        }
    ]
    async with running_provider(tmp_path, clients=data["clients"]) as running:
        response = await running.browser.get(
            "/authorize",
            params=query(
                client_id="payments", authorization_details=json.dumps(details), state="rar"
            ),
        )
        result = rp_params(response)
        assert result["error"] == "invalid_request"
        assert result["state"] == "rar"
        assert "code" not in result


async def test_unknown_authorization_details_type_is_refused(provider: Provider) -> None:
    details = [{"type": "https://attacker.example/anything", "x": 1}]
    result = rp_params(
        await provider.browser.get(
            "/authorize", params=query(authorization_details=json.dumps(details))
        )
    )
    assert result["error"] == "invalid_authorization_details"


async def test_no_inline_script_in_any_template() -> None:
    """The CSP forbids inline script; no template anywhere in the package may need one
    (every folder of ``*.html`` under ``src/stepauth``, found by globbing, not listed)."""
    import re
    from pathlib import Path

    import stepauth

    package = Path(stepauth.__file__).parent
    templates = sorted(package.rglob("*.html"))
    assert templates, f"no *.html template found under {package}"
    folders = {t.parent.parent.name for t in templates}
    assert folders >= {"interaction", "account", "console", "demo"}, folders
    for template in templates:
        text = template.read_text()
        name = str(template.relative_to(package))
        assert re.search(r"<script(?![^>]*\bsrc=)", text) is None, name
        assert re.search(r"\son[a-z]+\s*=", text) is None, name  # no inline handlers
