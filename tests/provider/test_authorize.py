"""The authorization endpoint over HTTP: its steps, the code flow, cookies and response modes.

Black-box against a running Provider (SQLite, injectable clock). Its neighbours cover the
session behaviours (``test_authorize_session``), error responses (``test_authorize_errors``)
and pushed requests (``test_authorize_pushed``). Tests cite the specification section they check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from stepauth.provider.authorize import STEPS
from tests.helpers.frontchannel import (
    answer_password,
    code_payload,
    exchange_public,
    open_interaction,
    page,
    query,
    rp_params,
    session_cookie,
    sign_in,
)
from tests.helpers.harness import (
    ACR_1FA,
    ISSUER,
    PASSWORD,
    REDIRECT_URI,
    USERNAME,
    Provider,
    pkce_pair,
)


async def test_steps_run_in_the_documented_order() -> None:
    """The authorization endpoint is one visible ordered table of small steps."""
    assert [s.__name__ for s in STEPS] == [
        "parse",
        "check_client",
        "load_request_uri",
        "check_profile",
        "load_request_object",
        "check_redirect_uri",
        "refuse_request_uri",
        "check_response_type",
        "check_pkce",
        "check_dpop_jkt",
        "check_claims",
        "check_acr_values",
        "check_authorization_details",
        "check_resource",
        "check_max_age",
        "check_prompt",
        "check_id_token_hint",
    ]


async def test_code_flow_with_password(provider: Provider) -> None:
    """The full code flow: login page, code with state and iss (RFC 9207), tokens (OpenID
    conformance suite: PerformStandardIdTokenChecks).
    """
    verifier, challenge = pkce_pair()
    params = query(code_challenge=challenge, nonce="n-1", state="st-1")
    shown = await open_interaction(provider.browser, params)
    assert "Username" in shown.labels
    assert "Password" in shown.labels
    assert "Continue" in shown.buttons
    assert shown.reasons() == ["no_session"]
    assert shown.response.headers["cache-control"] == "no-store"
    response = await answer_password(provider, shown)
    result = rp_params(response)
    assert result["state"] == "st-1"
    assert result["iss"] == ISSUER
    stored = await provider.store.get(
        "code",
        __import__("hashlib").sha256(result["code"].encode()).hexdigest(),
        now=provider.clock(),
    )
    assert stored is not None
    assert stored.payload["code_challenge_method"] == "S256"
    assert stored.payload["acr"] == ACR_1FA
    assert stored.payload["amr"] == ["pwd"]
    assert stored.payload["auth_time"] == int(provider.clock())
    claims = await exchange_public(provider, result, verifier)
    user = await provider.store.get_user_by_username(USERNAME)
    assert claims["sub"] == user.id
    assert claims["acr"] == ACR_1FA
    assert claims["amr"] == ["pwd"]


async def test_session_cookie_attributes(provider: Provider) -> None:
    """NIST SP 800-63B-4 §5.1, §5.1.1: opaque id, HttpOnly,
    SameSite=Lax, Path=/; expiry not trusted.
    """
    shown = await open_interaction(provider.browser, query())
    response = await answer_password(provider, shown)
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and "stepauth_session=" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    value = session_cookie(provider.browser)
    assert value is not None
    assert len(value) >= 16
    session = await provider.store.get_session(value, now=provider.clock())
    assert session is not None


async def test_authorization_request_by_post(provider: Provider) -> None:
    """OIDC Core §3.1.2.1: the endpoint accepts POST as well as GET."""
    await sign_in(provider.browser, query())
    response = await provider.browser.post("/authorize", data=query(state="by-post"))
    result = rp_params(response)
    assert result["state"] == "by-post"
    assert result["code"]


async def test_form_post_response_mode(provider: Provider) -> None:
    """Form Post Response Mode with a visible Continue button and no inline script (CSP)."""
    await sign_in(provider.browser, query())
    response = await provider.browser.get(
        "/authorize", params=query(response_mode="form_post", state="fp")
    )
    assert response.status_code == 200
    shown = page(response)
    assert shown.forms[0]["action"] == REDIRECT_URI
    assert shown.forms[0]["method"] == "post"
    fields = {i["name"]: i["value"] for i in shown.forms[0]["inputs"]}
    assert fields["state"] == "fp"
    assert fields["iss"] == ISSUER
    assert fields["code"]
    assert "Continue" in shown.buttons
    assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    script = await provider.browser.get("/static/form_post.js")
    assert script.status_code == 200
    assert "submit()" in script.text


async def test_security_headers_on_every_page(provider: Provider) -> None:
    """OIDC Core §3.1.2.3; RFC 6749 §10.12, §10.13:
    no framing (clickjacking), no referrer leaking codes.
    """
    for response in (
        await provider.browser.get("/authorize", params=query()),
        await provider.browser.get("/authorize", params={"client_id": "nobody"}),
    ):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "default-src 'self'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


async def test_login_hint_prefills_username(provider: Provider) -> None:
    shown = await open_interaction(provider.browser, query(login_hint="alice"))
    username = next(i for i in shown.form("password")["inputs"] if i.get("name") == "username")
    assert username["value"] == "alice"


async def test_claims_request_is_kept_for_the_token_endpoint(provider: Provider) -> None:
    claims = {"id_token": {"auth_time": {"essential": True}}, "userinfo": {"name": None}}
    result = await sign_in(provider.browser, query(claims=json.dumps(claims)))
    assert (await code_payload(provider, result["code"]))["claims"] == claims


async def test_registered_query_is_kept_when_the_code_is_added(tmp_path: Path) -> None:
    """RFC 6749 §3.1.2: the redirection URI's query component is retained as registered
    when the response parameters are added (and the response carries iss, RFC 9207)."""
    from tests.helpers.harness import SECRET, running_provider

    registered = "https://rp.example/cb?tenant=a%2Fb&empty="
    clients = [{"client_id": "q-client", "client_secret": SECRET, "redirect_uris": [registered]}]
    async with running_provider(tmp_path, clients=clients) as running:
        await running.create_user()
        _, challenge = pkce_pair()
        query = {
            "response_type": "code",
            "client_id": "q-client",
            "redirect_uri": registered,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s1",
        }
        response = await running.browser.get("/authorize", params=query)
        while response.status_code in (302, 303) and not response.headers["location"].startswith(
            "https://rp.example/"
        ):
            response = await running.browser.get(response.headers["location"])
        if response.status_code == 200:  # the sign-in page
            response = await running._submit_login(running.browser, response, USERNAME, PASSWORD)
            while not response.headers["location"].startswith("https://rp.example/"):
                response = await running.browser.get(response.headers["location"])
        location = response.headers["location"]
        assert location.startswith(registered + "&code=")
        params = parse_qs(urlsplit(location).query, keep_blank_values=True)
        assert params["tenant"] == ["a/b"]
        assert params["empty"] == [""]
        assert params["state"] == ["s1"]
        assert params["iss"] == [running.issuer]
