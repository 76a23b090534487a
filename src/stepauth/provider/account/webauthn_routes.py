"""Passkey and security-key registration on ``/account`` (WebAuthn L3 §7.1).

``POST /account/webauthn/options`` returns ``PublicKeyCredentialCreationOptions`` and
keeps the challenge server-side (store kind ``webauthn_challenge``, single use, 5
minutes, bound to the user). ``POST /account/webauthn/register`` consumes it in one
atomic statement and verifies the response with
:func:`stepauth.provider.factors.webauthn.verify_registration`:

* **passkey** — ``residentKey: "required"``, ``userVerification: "required"``,
  ``attestation: "none"`` (WebAuthn L3 §5.4.7): a ``pop`` credential, at most ``phr``;
* **security key** — ``attestation: "direct"``, verified against the deployment's
  :class:`~stepauth.provider.factors.webauthn.attestation.TrustStore` when one is configured
  (:func:`~stepauth.provider.factors.webauthn.trust_for`: ``state.trust``, or
  ``webauthn.mds_blob`` + ``webauthn.mds_root``); otherwise it is
  kept as an untrusted key that never reaches ``phrh`` (fail closed).

The user handle is the user's opaque id (no personal data, WebAuthn L3 §14.6.1).
Both endpoints speak JSON, need the account ``csrf`` token and a step-up at the account's
binding level, or the recovery path (``401 {"reauth": url}`` otherwise, NIST SP
800-63B-4 §6.1.2.1); a key added by the recovery path or by a one-factor account is on
hold (:mod:`stepauth.provider.factors.hold`).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stepauth import audit
from stepauth.errors import FactorError, StepAuthError
from stepauth.provider import jsonlimits
from stepauth.provider.account.binding import Authority, authority, snapshot
from stepauth.provider.account.changes import record_change
from stepauth.provider.account.fresh import ACCOUNT_FORMS, reauth_url
from stepauth.provider.factors.webauthn import (
    CHALLENGE_KIND,
    CHALLENGE_TTL,
    b64url,
    ensure_new_credential_id,
    registration_options,
    trust_for,
    verify_registration,
)
from stepauth.provider.factors.webauthn.encoding import unb64url
from stepauth.provider.i18n import N_, gettext
from stepauth.provider.records import WebAuthnChallenge
from stepauth.provider.sessions import load_session
from stepauth.provider.state import ProviderState, get_state
from stepauth.store import Session, User

__all__ = ["CHALLENGE_KIND", "CHALLENGE_TTL", "options", "register"]

TYPES = ("passkey", "security-key")


def _error(message: str, status: int = 400) -> JSONResponse:
    """A refusal account.js shows in its status line: in the page's language."""
    return JSONResponse({"error": gettext(message)}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await jsonlimits.request_json(request)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _fresh_request(
    request: Request,
) -> tuple[ProviderState, dict[str, Any], Session, User, Authority] | Response:
    """The JSON body of a CSRF-checked request from a session allowed to add a factor
    (ASVS 5.0 7.5.1, NIST SP 800-63B-4 §6.1.2.1), or the 401 that sends the browser to
    the step-up."""
    state = get_state(request)
    body = await _body(request)
    ACCOUNT_FORMS.check_csrf(state, request, str(body.get("csrf", "")))
    loaded = await load_session(request, state)
    if loaded is None:
        return JSONResponse({"reauth": reauth_url()}, status_code=401)
    allowed = await authority(state, loaded[0], loaded[1])
    if not allowed.allows(adds=True):
        return JSONResponse({"reauth": reauth_url()}, status_code=401)
    return state, body, loaded[0], loaded[1], allowed


async def options(request: Request) -> Response:
    checked = await _fresh_request(request)
    if isinstance(checked, Response):
        return checked
    state, body, _, user, _ = checked
    now = state.clock()
    kind = str(body.get("type", "passkey"))
    if kind not in TYPES:
        return _error(N_("unknown authenticator type"))
    existing = [
        f.credential_id
        for f in await state.store.list_factors(user.id)
        if f.kind == "webauthn" and f.credential_id
    ]
    ceremony = registration_options(
        rp_id=state.config.webauthn.rp_id,
        rp_name=state.config.webauthn.rp_name,
        user_id=user.id.encode(),
        user_name=user.username,
        exclude_credentials=[unb64url(c) for c in existing],
        attestation="none" if kind == "passkey" else "direct",
        authenticator_attachment="cross-platform" if kind == "security-key" else None,
        resident_key="required" if kind == "passkey" else "preferred",
        user_verification="required",
    )
    ceremony_id = secrets.token_urlsafe(16)
    challenge = WebAuthnChallenge(
        purpose="register", challenge=b64url(ceremony.challenge), user_id=user.id, type=kind
    )
    await state.store.put(
        CHALLENGE_KIND,
        ceremony_id,
        challenge.to_payload(),
        expires_at=now + CHALLENGE_TTL,
        user_id=user.id,
    )
    return JSONResponse({"ceremony": ceremony_id, "publicKey": ceremony.public_key})


async def register(request: Request) -> Response:
    checked = await _fresh_request(request)
    if isinstance(checked, Response):
        return checked
    state, body, session, user, allowed = checked
    now = state.clock()
    consumed = await state.store.consume(CHALLENGE_KIND, str(body.get("ceremony", "")), now=now)
    challenge = WebAuthnChallenge.from_payload(consumed.payload) if consumed.ok else None
    if challenge is None or challenge.user_id != user.id or challenge.purpose != "register":
        return _error(N_("this registration has expired; please try again"))
    kind = challenge.type or "passkey"
    credential = body.get("credential")
    if not isinstance(credential, dict):
        return _error(N_("no credential was sent"))
    try:
        verified = verify_registration(
            credential=credential,
            expected_challenge=unb64url(challenge.challenge),
            expected_rp_id=state.config.webauthn.rp_id,
            expected_origins=state.config.webauthn.origins,
            require_user_verification=True,
            trust=trust_for(state) if kind == "security-key" else None,
            now=now,
        )
        await ensure_new_credential_id(
            verified.credential_id, lookup=state.store.get_factor_by_credential_id
        )
    except FactorError:
        return _error(N_("the authenticator's response could not be verified"))
    stored = verified.to_stored(user.id.encode())
    data = {**stored.to_data(), "type": kind, "fmt": verified.fmt, **allowed.hold(state)}
    label = str(body.get("label") or "").strip()[:64] or (
        gettext("Passkey") if kind == "passkey" else gettext("Security key")
    )
    before = await snapshot(state, user.id)
    try:
        factor = await state.store.add_factor(
            user.id,
            "webauthn",
            data,
            label=label,
            credential_id=b64url(verified.credential_id),
            now=now,
        )
    except StepAuthError:
        return _error(N_("this credential is already registered"), 409)
    await record_change(
        state,
        user_id=user.id,
        action="add",
        kind=kind,
        client=audit.client_of(request),
        credential=factor.id,
        session=session,
        before=before,
    )
    added = "/account?" + urlencode({"added": factor.id})
    return JSONResponse({"ok": True, "redirect": added, "factor": factor.id})
