"""One-time codes on the step-up page: SMS is a restricted factor, email is none.

NIST SP 800-63B-4 §3.1.3.1: "Email SHALL NOT be used for out-of-band authentication";
§3.1.3.3: SMS is a restricted authenticator (it may complete 2fa with a password, never
a phishing-resistant level).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from stepauth.provider.notices import read_outbox
from tests.helpers.frontchannel import (
    TOTP,
    code_payload,
    enrol_totp,
    open_interaction,
    page,
    query,
    rp_params,
    sign_in,
    submit,
    totp_code,
)
from tests.helpers.harness import ACR_1FA, ACR_2FA, USERNAME, Provider

OOB = "oob"


#: The codes and notices go to a dev outbox of each test.
pytestmark = pytest.mark.usefixtures("outbox_path")


async def enrol(provider: Provider, channel: str, to: str) -> Any:
    user = await provider.store.get_user_by_username(USERNAME)
    data = {"channel": channel, "to": to}
    await provider.store.add_factor(user.id, OOB, data, label=channel, now=provider.clock())
    return user


def codes_sent() -> list[dict[str, Any]]:
    return [m for m in read_outbox() if "code:" in str(m.get("message", ""))]


async def test_password_and_emailed_code_do_not_reach_2fa(provider: Provider) -> None:
    """An account whose second "factor" is a code by email cannot reach 2fa: the required
    acr is unmet instead of being met by password + email code, and no code is sent."""
    await enrol(provider, "email", "alice@example.org")
    first = await sign_in(provider.browser, query())
    assert (await code_payload(provider, first["code"]))["acr"] == ACR_1FA
    provider.clock.advance(60)
    response = await provider.browser.get("/authorize", params=query(acr_values=ACR_2FA))
    assert rp_params(response)["error"] == "unmet_authentication_requirements"
    assert codes_sent() == []


async def test_step_up_to_2fa_does_not_offer_the_emailed_code(provider: Provider) -> None:
    """With TOTP and an email factor, an ``acr_values=2fa`` step-up offers TOTP only; a
    forged submission of the email factor is refused and sends nothing."""
    user = await enrol(provider, "email", "alice@example.org")
    params = await enrol_totp(provider, user.id)
    await sign_in(provider.browser, query())
    provider.clock.advance(60)
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA))
    assert shown.reasons() == ["acr_not_met"]
    assert shown.kinds() == [TOTP]
    assert "alice@example.org" not in shown.text
    form = shown.form(TOTP)
    data = {i["name"]: i.get("value", "") for i in form["inputs"] if i.get("name")}
    data.update(factor=OOB, oob_code="")
    forged = await provider.browser.post(str(shown.response.url.join(form["action"])), data=data)
    assert rp_params(forged)["error"] == "invalid_request"  # not offered here
    assert codes_sent() == []
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA))
    code = totp_code(provider, params)
    result = rp_params(await submit(provider.browser, shown, TOTP, code=code))
    claims = await code_payload(provider, result["code"])
    assert claims["acr"] == ACR_2FA
    assert set(claims["amr"]) == {"pwd", "otp", "mfa"}  # type: ignore[arg-type]


async def test_sms_code_completes_2fa_but_never_phr(provider: Provider) -> None:
    """SMS stays a restricted factor: password + SMS code is 2fa (amr pwd sms mfa); a
    phishing-resistant level is unmet for an account with nothing stronger."""
    await enrol(provider, "sms", "+15550100")
    await sign_in(provider.browser, query())
    provider.clock.advance(60)
    shown = await open_interaction(provider.browser, query(acr_values=ACR_2FA))
    assert shown.kinds() == [OOB]
    sent = await submit(provider.browser, shown, OOB, oob_code="")
    assert sent.status_code == 200
    (message,) = codes_sent()
    assert (message["channel"], message["to"]) == ("sms", "+15550100")
    code = re.search(r"code: (\d{6})", str(message["message"]))
    assert code is not None
    result = rp_params(await submit(provider.browser, page(sent), OOB, oob_code=code.group(1)))
    claims = await code_payload(provider, result["code"])
    assert claims["acr"] == ACR_2FA
    assert set(claims["amr"]) == {"pwd", "sms", "mfa"}  # type: ignore[arg-type]
    response = await provider.browser.get("/authorize", params=query(acr_values="phr"))
    assert rp_params(response)["error"] == "unmet_authentication_requirements"
