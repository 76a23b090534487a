"""Step-up through the interaction: ask only for the missing factor, never answer lower.

The assurance model of docs/concepts.md;
OpenID Connect unmet_authentication_requirements 1.0 §1; OIDC Core §5.5.1.1.
"""

from __future__ import annotations

import json

from tests.helpers.bound import passkey_payer
from tests.helpers.frontchannel import (
    TOTP,
    code_payload,
    enrol_totp,
    open_interaction,
    page,
    query,
    rp_params,
    session_cookie,
    sign_in,
    submit,
    totp_code,
    use_factors,
)
from tests.helpers.harness import ACR_1FA, ACR_2FA, ISSUER, PASSWORD, USERNAME, Provider
from tests.helpers.passkeys import use_passkey


async def test_1fa_session_asked_for_2fa_is_prompted_acr_not_met(provider: Provider) -> None:
    """A 1fa session asked for 2fa is stepped up (reason acr_not_met), never answered at 1fa.

    Only the missing factor is offered (the password is fresh); afterwards the sub is the
    same, the session id has changed and acr=2fa with amr pwd+otp+mfa.
    """
    use_factors(provider, totp=True)
    user = await provider.store.get_user_by_username(USERNAME)
    params = await enrol_totp(provider, user.id)
    first = await sign_in(provider.browser, query())
    before = await code_payload(provider, first["code"])
    assert before["acr"] == ACR_1FA
    cookie_1fa = session_cookie(provider.browser)

    provider.clock.advance(60)
    silent = rp_params(
        await provider.browser.get("/authorize", params=query(acr_values=ACR_2FA, prompt="none"))
    )
    assert silent["error"] == "interaction_required"
    assert "code" not in silent

    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA, state="up"))
    assert shown.reasons() == ["acr_not_met"]
    assert shown.kinds() == [TOTP]  # the password is not asked again
    assert "One-time code" in shown.labels
    code = totp_code(provider, params)
    result = rp_params(await submit(provider.browser, shown, TOTP, code=code))
    assert result["state"] == "up"
    assert result["iss"] == ISSUER
    after = await code_payload(provider, result["code"])
    assert after["acr"] == ACR_2FA
    assert set(after["amr"]) == {"pwd", "otp", "mfa"}  # type: ignore[arg-type]
    assert after["sub"] == before["sub"] == user.id
    # auth_time is the oldest factor behind 2fa: the password (docs/concepts.md)
    assert after["auth_time"] == before["auth_time"]
    assert session_cookie(provider.browser) != cookie_1fa
    assert await provider.store.get_session(cookie_1fa, now=provider.clock()) is None


async def test_step_up_with_max_age_asks_for_every_stale_factor(provider: Provider) -> None:
    """max_age with 2fa: a stale password is asked again, so auth_time moves forward."""
    use_factors(provider, totp=True)
    user = await provider.store.get_user_by_username(USERNAME)
    params = await enrol_totp(provider, user.id)
    first = await sign_in(provider.browser, query())
    before = await code_payload(provider, first["code"])
    provider.clock.advance(600)
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA, max_age="300"))
    assert "max_age" in shown.reasons() or "acr_not_met" in shown.reasons()
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    assert response.status_code == 303
    again = await provider.browser.get(response.headers["location"])
    second_page = page(again)
    assert second_page.kinds() == [TOTP]
    code = totp_code(provider, params)
    result = rp_params(await submit(provider.browser, second_page, TOTP, code=code))
    after = await code_payload(provider, result["code"])
    assert after["acr"] == ACR_2FA
    assert int(after["auth_time"]) > int(before["auth_time"])  # type: ignore[call-overload]


async def test_required_acr_the_user_cannot_meet_is_unmet(provider: Provider) -> None:
    """No enrolled factor can reach 2fa → unmet_authentication_requirements
    (OpenID Connect unmet_authentication_requirements 1.0 §1)."""
    use_factors(provider, totp=True)  # the Provider offers TOTP, but alice has none
    await sign_in(provider.browser, query())
    response = await provider.browser.get("/authorize", params=query(acr_values=ACR_2FA, state="u"))
    result = rp_params(response)
    assert result["error"] == "unmet_authentication_requirements"
    assert result["state"] == "u"
    assert result["iss"] == ISSUER


async def test_essential_acr_unmeetable_is_unmet_value_form(provider: Provider) -> None:
    """OIDC Core §5.5.1.1 / OpenID Connect unmet_authentication_requirements
    1.0 §1 with the ``value`` form.
    """
    use_factors(provider)
    await sign_in(provider.browser, query())
    claims = {"id_token": {"acr": {"essential": True, "value": "phrh"}}}
    result = rp_params(
        await provider.browser.get("/authorize", params=query(claims=json.dumps(claims)))
    )
    assert result["error"] == "unmet_authentication_requirements"


async def test_essential_acr_unmeetable_is_unmet_values_form(provider: Provider) -> None:
    """OIDC Core §5.5.1.1 with the ``values`` form, before anyone signed in; and an unknown acr."""
    use_factors(provider)
    for values in (["phr", "phrh"], ["urn:example:unknown"]):
        claims = {"id_token": {"acr": {"essential": True, "values": values}}}
        result = rp_params(
            await provider.browser.get("/authorize", params=query(claims=json.dumps(claims)))
        )
        assert result["error"] == "unmet_authentication_requirements", values


async def test_essential_acr_met_is_returned(provider: Provider) -> None:
    """OpenID conformance suite: ValidateIdTokenACRClaimAgainstRequest:
    acr is one of the requested values.
    """
    await sign_in(provider.browser, query())
    claims = {"id_token": {"acr": {"essential": True, "values": [ACR_1FA]}}}
    result = rp_params(
        await provider.browser.get(
            "/authorize", params=query(claims=json.dumps(claims), prompt="none")
        )
    )
    payload = await code_payload(provider, result["code"])
    assert payload["acr"] == ACR_1FA
    assert payload["acr_requested"] is True


async def test_essential_acr_unmet_under_voluntary_client(provider: Provider) -> None:
    """Essential acr is enforced even when the client's acr_values are voluntary."""
    use_factors(provider)
    await sign_in(provider.browser, query())
    claims = {"id_token": {"acr": {"essential": True, "value": ACR_2FA}}}
    result = rp_params(
        await provider.browser.get(
            "/authorize",
            params=query(client_id="bank-app", claims=json.dumps(claims)),
        )
    )
    assert result["error"] == "unmet_authentication_requirements"


async def test_unmet_after_sign_in_redirects_with_the_new_session(provider: Provider) -> None:
    """No session, acr 2fa: the password page is shown (TOTP exists on this Provider), then
    the user turns out to have no second factor → unmet_authentication_requirements; the
    password event still counts, under a new session id."""
    use_factors(provider, totp=True)
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA, state="x"))
    assert shown.reasons()[0] == "no_session"
    assert shown.kinds() == ["password"]
    response = await submit(
        provider.browser, shown, "password", username=USERNAME, password=PASSWORD
    )
    result = rp_params(response)
    assert result["error"] == "unmet_authentication_requirements"
    assert result["state"] == "x"
    assert session_cookie(provider.browser) is not None
    silent = rp_params(await provider.browser.get("/authorize", params=query(prompt="none")))
    assert "code" in silent


async def test_authentication_attempts_are_audited_without_secrets(provider: Provider) -> None:
    """ASVS 5.0 16.3.1: each attempt logged with its factor; the password never."""
    shown = await open_interaction(provider.browser, query())
    failed = await submit(provider.browser, shown, "password", username=USERNAME, password="nope")
    await submit(provider.browser, page(failed), "password", username=USERNAME, password=PASSWORD)
    events = [e for e in await provider.store.tail_audit(10) if e.get("event") == "authentication"]
    assert [e["result"] for e in events] == ["failure", "success"]
    assert all(e["factor"] == "password" for e in events)
    assert PASSWORD not in json.dumps(events)
    assert "nope" not in json.dumps(events)


async def test_pushed_authorization_details_are_shown_and_confirmed(provider: Provider) -> None:
    """RFC 9396 + PSD2 dynamic linking: a session never grants details silently; the page
    shows them from the Provider's own copy, and the code carries them."""
    import secrets

    authenticator = await passkey_payer(provider)
    details = [
        {
            "type": "payment_initiation",
            "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
            "creditorName": "Merchant A",
            "creditorAccount": {"iban": "DE02100100109307118603"},
        }
    ]
    request_uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(16)
    await provider.store.put(
        "par",
        request_uri,
        {"client_id": "spa", "params": query(authorization_details=json.dumps(details))},
        expires_at=provider.clock() + 60,
    )
    front = {"client_id": "spa", "request_uri": request_uri}
    shown = await open_interaction(provider.browser, front)
    assert shown.reasons() == ["binding_required"]
    assert "Merchant A" in shown.text
    assert "1,250.00" in shown.text
    assert "DE02100100109307118603" not in shown.text  # masked IBAN
    assert shown.kinds() == ["webauthn"]  # only an approval over the details binds them
    result = rp_params(await use_passkey(provider.browser, shown, authenticator))
    payload = await code_payload(provider, result["code"])
    granted = payload["authorization_details"]
    assert isinstance(granted, list)
    assert granted[0]["creditorName"] == "Merchant A"
