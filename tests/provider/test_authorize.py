"""The authorization endpoint over HTTP: parameters, responses and the session behaviours.

Black-box against a running Provider (SQLite, injectable clock).
Tests cite the specification section they check.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from stepauth.provider.authorize import STEPS
from tests.helpers.frontchannel import (
    Page,
    code_payload,
    open_interaction,
    page,
    query,
    rp_params,
    session_cookie,
    sign_in,
    submit,
)
from tests.helpers.harness import (
    ACR_1FA,
    ACR_2FA,
    CONFIDENTIAL,
    ISSUER,
    PASSWORD,
    PUBLIC,
    REDIRECT_URI,
    USERNAME,
    Provider,
    check_id_token,
    pkce_pair,
)


async def _password(provider: Provider, shown: Page) -> httpx.Response:
    """Answer the shown login page with the test user's password."""
    return await submit(provider.browser, shown, "password", username=USERNAME, password=PASSWORD)


async def _exchange(provider: Provider, params: dict[str, str], verifier: str) -> dict[str, object]:
    body = await provider.exchange(params["code"], verifier, client_id=PUBLIC, secret=None)
    return await check_id_token(provider, str(body["id_token"]), client_id=PUBLIC, nonce="n-1")


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
    response = await _password(provider, shown)
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
    claims = await _exchange(provider, result, verifier)
    user = await provider.store.get_user_by_username(USERNAME)
    assert claims["sub"] == user.id
    assert claims["acr"] == ACR_1FA
    assert claims["amr"] == ["pwd"]


async def test_session_cookie_attributes(provider: Provider) -> None:
    """NIST SP 800-63B-4 §5.1, §5.1.1: opaque id, HttpOnly,
    SameSite=Lax, Path=/; expiry not trusted.
    """
    shown = await open_interaction(provider.browser, query())
    response = await _password(provider, shown)
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


async def test_oidcc_prompt_none_not_logged_in_returns_state(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-none-not-logged-in: no session + prompt=none →
    login_required, 128-character state intact.
    """
    state = secrets.token_urlsafe(96)[:128]
    assert len(state) == 128
    response = await provider.browser.get("/authorize", params=query(prompt="none", state=state))
    result = rp_params(response)
    assert result["error"] == "login_required"
    assert result["state"] == state
    assert result["iss"] == ISSUER
    assert "code" not in result


async def test_oidcc_prompt_none_logged_in(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-none-logged-in: prompt=none with a session answers
    silently with the same sub/auth_time.
    """
    first = await sign_in(provider.browser, query())
    provider.clock.advance(5)
    response = await provider.browser.get("/authorize", params=query(prompt="none"))
    second = rp_params(response)
    assert second["code"] != first["code"]
    a = await code_payload(provider, first["code"])
    b = await code_payload(provider, second["code"])
    assert a["sub"] == b["sub"]
    assert a["auth_time"] == b["auth_time"]


async def test_oidcc_prompt_login_reprompts(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-prompt-login / OIDC Core §3.1.2.3: prompt=login shows the
    login page again; auth_time strictly later.
    """
    first = await sign_in(provider.browser, query())
    provider.clock.advance(1)
    shown = await open_interaction(provider.browser, query(prompt="login"))
    assert shown.reasons() == ["prompt_login"]
    second = rp_params(await _password(provider, shown))
    a = await code_payload(provider, first["code"])
    b = await code_payload(provider, second["code"])
    assert int(b["auth_time"]) > int(a["auth_time"])  # type: ignore[call-overload]
    assert a["sub"] == b["sub"]


async def test_max_age_zero_reprompts(provider: Provider) -> None:
    """OIDC Core §3.1.2.1 (max_age): max_age=0 is prompt=login; the ID token must carry auth_time
    (OIDC Core §3.1.2.1 (max_age)).
    """
    await sign_in(provider.browser, query())
    provider.clock.advance(1)
    shown = await open_interaction(provider.browser, query(max_age="0"))
    assert shown.reasons() == ["prompt_login"]
    result = rp_params(await _password(provider, shown))
    payload = await code_payload(provider, result["code"])
    assert payload["max_age_requested"] is True
    assert payload["auth_time"] == int(provider.clock())


async def test_oidcc_max_age_1(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-max-age-1: max_age=1 after
    2 s → login again; the new auth_time is strictly later.
    """
    verifier1, challenge1 = pkce_pair()
    first = await sign_in(provider.browser, query(code_challenge=challenge1, nonce="n-1"))
    provider.clock.advance(2)
    verifier2, challenge2 = pkce_pair()
    shown = await open_interaction(
        provider.browser, query(code_challenge=challenge2, nonce="n-1", max_age="1")
    )
    assert shown.reasons() == ["max_age"]
    second = rp_params(await _password(provider, shown))
    one = await _exchange(provider, first, verifier1)
    two = await _exchange(provider, second, verifier2)
    assert "auth_time" in two
    assert int(two["auth_time"]) > int(one["auth_time"])  # type: ignore[call-overload]
    assert abs(int(two["auth_time"]) - provider.clock()) <= 1  # type: ignore[call-overload]


async def test_oidcc_max_age_10000_does_not_prompt(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-max-age-10000: a fresh enough
    session answers without a login page; same auth_time.
    """
    first = await sign_in(provider.browser, query(max_age="15000"))
    provider.clock.advance(30)
    second = rp_params(await provider.browser.get("/authorize", params=query(max_age="10000")))
    a = await code_payload(provider, first["code"])
    b = await code_payload(provider, second["code"])
    assert a["auth_time"] == b["auth_time"]
    assert b["max_age_requested"] is True


async def test_unknown_parameter_and_unknown_acr_are_ignored(provider: Provider) -> None:
    """OIDC Core §3.1.2.2, §15.1 (oidcc-ensure-request-with-unknown-parameter-succeeds)."""
    result = await sign_in(
        provider.browser,
        query(extra_param="foobar", acr_values="urn:example:unknown " + ACR_1FA, ui_locales="xx"),
    )
    payload = await code_payload(provider, result["code"])
    assert payload["acr"] == ACR_1FA
    assert payload["acr_requested"] is True


async def test_only_unknown_acr_values_still_succeed(provider: Provider) -> None:
    """OpenID conformance suite: oidcc-ensure-request-with-acr-values-succeeds: acr_values the
    Provider does not know never cause an error.
    """
    result = await sign_in(provider.browser, query(acr_values="1 2"))
    assert "code" in result


async def test_acr_values_met_by_session(provider: Provider) -> None:
    await sign_in(provider.browser, query())
    result = rp_params(
        await provider.browser.get("/authorize", params=query(acr_values=ACR_1FA, prompt="none"))
    )
    assert (await code_payload(provider, result["code"]))["acr"] == ACR_1FA


async def test_malformed_parameters_are_invalid_request(provider: Provider) -> None:
    """Malformed claims, max_age and prompt → invalid_request, redirected with state + iss."""
    for bad in (
        {"claims": "{not json"},
        {"claims": json.dumps(["id_token"])},
        {"claims": json.dumps({"id_token": {"acr": {"essential": "yes"}}})},
        {"max_age": "ten"},
        {"max_age": "-1"},
        {"max_age": "1.5"},
        {"prompt": "none login"},
    ):
        response = await provider.browser.get("/authorize", params=query(state="s", **bad))
        result = rp_params(response)
        assert result["error"] == "invalid_request", bad
        assert result["state"] == "s"
        assert result["iss"] == ISSUER


async def test_repeated_parameter_is_invalid_request(provider: Provider) -> None:
    """RFC 6749 §3.1: a repeated parameter fails before anything, redirect_uri included, is
    trusted, so the answer is the error page."""
    params = [*list(query(state="s").items()), ("scope", "openid profile")]
    response = await provider.browser.get("/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_request" in response.text


async def test_response_type_other_than_code(provider: Provider) -> None:
    response = await provider.browser.get("/authorize", params=query(response_type="token"))
    assert rp_params(response)["error"] == "unsupported_response_type"


async def test_unsupported_response_mode_is_not_redirected(provider: Provider) -> None:
    """OIDC Core §3.1.2.6: an unsupported response_mode gets a 400 without redirect."""
    response = await provider.browser.get("/authorize", params=query(response_mode="fragment"))
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_login_hint_prefills_username(provider: Provider) -> None:
    shown = await open_interaction(provider.browser, query(login_hint="alice"))
    username = next(i for i in shown.form("password")["inputs"] if i.get("name") == "username")
    assert username["value"] == "alice"


async def test_voluntary_client_gets_the_session_acr(provider: Provider) -> None:
    """OIDC Core §5.5.1.1: a client with acr_values="voluntary"
    gets the session's acr, never a higher one.
    """
    await sign_in(provider.browser, query())
    response = await provider.browser.get(
        "/authorize", params=query(client_id=CONFIDENTIAL, acr_values=ACR_2FA, prompt="none")
    )
    result = rp_params(response)
    assert (await code_payload(provider, result["code"]))["acr"] == ACR_1FA


async def test_claims_request_is_kept_for_the_token_endpoint(provider: Provider) -> None:
    claims = {"id_token": {"auth_time": {"essential": True}}, "userinfo": {"name": None}}
    result = await sign_in(provider.browser, query(claims=json.dumps(claims)))
    assert (await code_payload(provider, result["code"]))["claims"] == claims


async def _pushed(provider: Provider, item: dict[str, object]) -> str:
    """A request pushed straight into the store (RFC 9126), live for 60 s; its request_uri."""
    request_uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(16)
    await provider.store.put("par", request_uri, item, expires_at=provider.clock() + 60)
    return request_uri


async def test_pushed_request_uri_is_single_use(provider: Provider) -> None:
    """RFC 9126 §4: the pushed parameters are used once, by the client that pushed them."""
    await sign_in(provider.browser, query())
    request_uri = await _pushed(
        provider, {"client_id": PUBLIC, "params": query(state="pushed", prompt="none")}
    )
    front = {"client_id": PUBLIC, "request_uri": request_uri}
    result = rp_params(await provider.browser.get("/authorize", params=front))
    assert result["state"] == "pushed"
    assert result["code"]
    replay = await provider.browser.get("/authorize", params=front)
    assert replay.status_code == 400
    assert "invalid_request_uri" in replay.text


async def test_pushed_request_uri_of_another_client(provider: Provider) -> None:
    request_uri = await _pushed(
        provider, {"client_id": CONFIDENTIAL, "params": query(client_id=CONFIDENTIAL)}
    )
    response = await provider.browser.get(
        "/authorize", params={"client_id": PUBLIC, "request_uri": request_uri}
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_request_uri" in response.text


async def test_expired_pushed_request_uri(provider: Provider) -> None:
    request_uri = await _pushed(provider, {"client_id": PUBLIC, "params": query()})
    provider.clock.advance(61)
    response = await provider.browser.get(
        "/authorize", params={"client_id": PUBLIC, "request_uri": request_uri}
    )
    assert response.status_code == 400
    assert "invalid_request_uri" in response.text


async def test_claims_sub_value_for_another_user_is_never_answered(provider: Provider) -> None:
    """OIDC Core §3.1.2.2, §5.5.1: a requested sub that is not the session's → no silent token."""
    await sign_in(provider.browser, query())
    claims = {"id_token": {"sub": {"value": "someone-else"}}}
    result = rp_params(
        await provider.browser.get(
            "/authorize", params=query(prompt="none", claims=json.dumps(claims))
        )
    )
    assert result["error"] == "login_required"


async def test_request_object_error_goes_back_to_the_client_with_state(
    provider: Provider,
) -> None:
    """OIDC Core §3.1.2.6: with a registered outer redirect_uri, an invalid request object
    (RFC 9101 §6.2) is an authorization error response (with ``state`` and ``iss``)."""
    response = await provider.browser.get(
        "/authorize", params=query(request="e30.e30.", state="ro-1")
    )
    result = rp_params(response)
    assert result["error"] == "invalid_request_object"
    assert result["state"] == "ro-1"
    assert result["iss"] == ISSUER


async def test_foreign_request_uri_error_goes_back_to_the_client_with_state(
    provider: Provider,
) -> None:
    """OIDC Core §6.2: a ``request_uri`` not from our PAR endpoint is never fetched; the
    client hears ``request_uri_not_supported`` at its verified redirect_uri."""
    response = await provider.browser.get(
        "/authorize",
        params=query(request_uri="https://attacker.example/request.jwt", state="ru-1"),
    )
    result = rp_params(response)
    assert result["error"] == "request_uri_not_supported"
    assert result["state"] == "ru-1"
    assert result["iss"] == ISSUER


async def test_request_object_with_an_unregistered_redirect_uri_is_never_redirected(
    provider: Provider,
) -> None:
    response = await provider.browser.get(
        "/authorize",
        params=query(request="e30.e30.", redirect_uri="https://attacker.example/cb"),
    )
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_another_client_cannot_burn_a_pushed_request_uri(provider: Provider) -> None:
    """RFC 9126 §4: the request_uri is checked against the presenting client *before* it is
    consumed; another client's attempt leaves it usable by the client that pushed it."""
    await sign_in(provider.browser, query())
    request_uri = await _pushed(
        provider, {"client_id": PUBLIC, "params": query(state="mine", prompt="none")}
    )
    stolen = await provider.browser.get(
        "/authorize", params={"client_id": CONFIDENTIAL, "request_uri": request_uri}
    )
    assert stolen.status_code == 400
    assert "invalid_request_uri" in stolen.text
    front = {"client_id": PUBLIC, "request_uri": request_uri}
    result = rp_params(await provider.browser.get("/authorize", params=front))
    assert result["state"] == "mine"
    assert result["code"]


async def test_oversized_parameter_is_refused(provider: Provider) -> None:
    response = await provider.browser.get("/authorize", params=query(claims="x" * 20_000))
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_form_post_error_response(provider: Provider) -> None:
    """Errors use the requested response_mode too: a form with error, state and iss."""
    response = await provider.browser.get(
        "/authorize", params=query(response_mode="form_post", prompt="none", state="fpe")
    )
    assert response.status_code == 200
    shown = page(response)
    assert shown.forms[0]["action"] == REDIRECT_URI
    fields = {i["name"]: i["value"] for i in shown.forms[0]["inputs"]}
    assert fields == {
        "error": "login_required",
        "error_description": fields["error_description"],
        "state": "fpe",
        "iss": ISSUER,
    }


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


async def test_redirected_error_description_never_echoes_raw_input(provider: Provider) -> None:
    """RFC 6749 §4.1.2.1 / §5.2: the error_description sent back to the client stays
    within %x20-21 / %x23-5B / %x5D-7E and does not repeat the request's text."""
    name = 'na"me\\\u00e9\u2603'
    claims = json.dumps({"id_token": {name: 5}}, ensure_ascii=False)
    result = rp_params(await provider.browser.get("/authorize", params=query(claims=claims)))
    assert result["error"] == "invalid_request"
    description = result["error_description"]
    assert re.fullmatch(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+", description), description
    assert name not in description
