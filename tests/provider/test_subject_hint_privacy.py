"""A ``sub`` in the request reveals nothing without that user's session (OIDC Core
§3.1.2.1 ``id_token_hint``, §5.5.1 ``claims``).

Any relying party may hold a user's ``sub`` or an old ID token. Asked for that subject by
a browser with no session, the Provider shows the same sign-in page, the same passkey
options (discoverable: empty ``allowCredentials``) and the same errors whether the
subject exists or not: no username, no list of that user's factors, no credential ID.
The subject is enforced after a factor has identified the user: another user's passkey
is refused with the generic message, the right user's passkey signs in.
"""

from __future__ import annotations

import json
import re
from typing import Any

from stepauth.provider.factors.webauthn import b64url
from tests.helpers.frontchannel import (
    Page,
    open_interaction,
    page,
    query,
    session_cookie,
    sign_in,
    submit,
)
from tests.helpers.harness import (
    ISSUER,
    PASSWORD,
    PUBLIC,
    USERNAME,
    Provider,
    check_id_token,
    pkce_pair,
    provider,
)
from tests.helpers.passkeys import (
    enrol_passkey,
    passkey_options,
    refused,
    rp_params,
    unb64url,
    use_passkey,
    use_passkeys,
)
from tests.helpers.soft_authenticator import SoftAuthenticator

__all__ = ["provider"]

PHR = "phr"


def _sub_claims(sub: str) -> str:
    return json.dumps({"id_token": {"sub": {"value": sub}}})


def _normalized(shown: Page, text: str) -> str:
    """``text`` without this interaction's random values (its id and csrf token)."""
    uid = str(shown.response.url.path).rsplit("/", 1)[-1]
    csrf = next(i["value"] for f in shown.forms for i in f["inputs"] if i.get("name") == "csrf")
    return text.replace(uid, "UID").replace(csrf, "CSRF")


async def _alice_id_token(provider: Provider) -> str:
    """alice's ID token, as any relying party she signed in to holds it."""
    browser = provider.new_browser()
    verifier, challenge = pkce_pair()
    params = await sign_in(browser, query(code_challenge=challenge, nonce="n"))
    body = await provider.exchange(params["code"], verifier, client_id=PUBLIC, secret=None)
    token: str = body["id_token"]
    return token


async def _seen(provider: Provider, **params: str) -> dict[str, Any]:
    """What a browser with no session sees for ``params``: page, options, an error."""
    browser = provider.new_browser()
    shown = await open_interaction(browser, query(acr_values=PHR, **params))
    options = await passkey_options(browser, shown)
    stranger = SoftAuthenticator(rp_id="localhost", origin=ISSUER)
    credential = stranger.get(unb64url(options.pop("challenge")))
    error = await submit(browser, shown, "webauthn", credential=json.dumps(credential))
    assert refused(error)
    again = page(error)
    return {
        "page": _normalized(shown, shown.text),
        "options": json.dumps(options, sort_keys=True),
        "error": _normalized(again, again.text),
        "kinds": shown.kinds(),
    }


async def test_sub_hint_without_session_reveals_nothing_about_the_subject(
    provider: Provider,
) -> None:
    """Known ``claims`` sub, unknown ``claims`` sub, ``id_token_hint`` of a known user:
    page, options JSON and error page are identical; no username, factor list or
    credential ID of the subject appears."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    passkey = await enrol_passkey(provider, alice.id)
    hint = await _alice_id_token(provider)

    known = await _seen(provider, claims=_sub_claims(alice.id))
    unknown = await _seen(provider, claims=_sub_claims("no-such-subject"))
    hinted = await _seen(provider, id_token_hint=hint)

    assert known == unknown == hinted
    assert known["kinds"] == ["webauthn"]
    assert json.loads(known["options"])["allowCredentials"] == []
    credential_id = b64url(passkey.credential_id)
    for seen in (known["page"], known["options"], known["error"]):
        assert credential_id not in seen
        assert alice.id not in seen
        assert not re.search(r'value="alice"', seen)
    assert "Confirm it is you" not in known["page"]


async def test_another_users_passkey_is_refused_when_a_subject_is_expected(
    provider: Provider,
) -> None:
    """A discoverable assertion of bob's verifies, but the request is for alice: the
    generic failure, no code, no session; alice's own passkey then signs her in."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    bob = await provider.create_user("bob", "bob's password is long enough")
    alices = await enrol_passkey(provider, alice.id)
    bobs = await enrol_passkey(provider, bob.id)

    browser = provider.new_browser()
    verifier, challenge = pkce_pair()
    params = query(claims=_sub_claims(alice.id), code_challenge=challenge, nonce="n")
    shown = await open_interaction(browser, params)
    assert shown.kinds() == ["webauthn", "password"]
    assert (await passkey_options(browser, shown))["allowCredentials"] == []  # discoverable
    response = await use_passkey(browser, shown, bobs)
    assert refused(response)
    assert "location" not in response.headers
    assert "bob" not in response.text
    assert session_cookie(browser) is None
    # nor does bob's password answer for alice
    shown = page(response)
    response = await submit(
        browser, shown, "password", username="bob", password="bob's password is long enough"
    )
    assert refused(response)
    assert session_cookie(browser) is None

    result = rp_params(await use_passkey(browser, page(response), alices))
    body = await provider.exchange(result["code"], verifier, client_id=PUBLIC, secret=None)
    claims = await check_id_token(provider, body["id_token"], client_id=PUBLIC, nonce="n")
    assert claims["sub"] == alice.id
    assert claims["acr"] == PHR


async def test_signed_in_user_asked_for_another_subject_sees_no_factors_of_it(
    provider: Provider,
) -> None:
    """alice's session with bob's ``sub``: the page is the anonymous sign-in page (bob's
    factors and credential IDs are not shown to alice); alice's passkey is refused."""
    use_passkeys(provider)
    alice = await provider.store.get_user_by_username(USERNAME)
    bob = await provider.create_user("bob", "bob's password is long enough")
    alices = await enrol_passkey(provider, alice.id)
    bobs = await enrol_passkey(provider, bob.id)
    await sign_in(provider.browser, query(), password=PASSWORD)

    shown = await open_interaction(
        provider.browser, query(acr_values=PHR, claims=_sub_claims(bob.id))
    )
    assert shown.kinds() == ["webauthn"]
    assert "bob" not in shown.text
    options = await passkey_options(provider.browser, shown)
    assert options["allowCredentials"] == []
    assert b64url(bobs.credential_id) not in json.dumps(options)
    assert refused(await use_passkey(provider.browser, shown, alices))
