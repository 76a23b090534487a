"""The Provider's side of a ceremony: the server-held challenge and the transaction
approval record, kept in the store.

* ``webauthn_challenge`` (:data:`CHALLENGE_KIND`), keyed by the interaction: one live,
  single-use challenge per interaction (WebAuthn L3 §13.5.3), consumed by
  verification, expiring with the ceremony timeout (§15.1).
* ``txn_record`` (:data:`TXN_RECORD_KIND`): an approved transaction, with the assertion
  exactly as signed, re-verifiable later (:mod:`.transaction_audit`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from stepauth.provider import jsonlimits
from stepauth.provider.factors.webauthn.encoding import (
    b64url,
    field_bytes,
    member,
    optional_bytes,
    unb64url,
)
from stepauth.provider.factors.webauthn.options import (
    DEFAULT_TIMEOUT_MS,
    CeremonyOptions,
    authentication_options,
)
from stepauth.provider.factors.webauthn.records import StoredCredential
from stepauth.provider.records import TxnRecord, WebAuthnChallenge
from stepauth.rar import transaction_challenge

if TYPE_CHECKING:
    from stepauth.provider.factors.webauthn.attestation import TrustStore
    from stepauth.provider.state import ProviderState
    from stepauth.store import Factor, User

__all__ = [
    "CHALLENGE_KIND",
    "CHALLENGE_TTL",
    "TXN_RECORD_KIND",
    "begin_authentication",
    "trust_for",
    "txn_record",
    "user_credentials",
]

#: Store kind of the server-held challenge of a ceremony (single use, §13.5.3).
CHALLENGE_KIND = "webauthn_challenge"
#: Lifetime of an authentication challenge: the ceremony timeout (§15.1).
CHALLENGE_TTL = DEFAULT_TIMEOUT_MS // 1000
#: Store kind of a transaction approval record (re-verifiable later, PSD2 RTS Art. 5).
TXN_RECORD_KIND = "txn_record"


def trust_for(state: ProviderState) -> TrustStore | None:
    """The attestation trust anchors, built once at start-up (``state.trust``; see
    :func:`stepauth.provider.factors.webauthn.mds.load_trust`) and refreshed in the
    background.

    Without them, no credential is hardware-bound: every passkey is at most ``phr``.
    """
    return state.trust


def user_credentials(user: User | None, factors: Sequence[Factor]) -> list[Factor]:
    """The enabled WebAuthn credentials of ``user`` among ``factors``."""
    if user is None:
        return []
    return [
        f
        for f in factors
        if f.kind == "webauthn" and not f.disabled and f.credential_id and f.user_id == user.id
    ]


async def begin_authentication(
    state: ProviderState,
    *,
    interaction_id: str,
    user: User | None,
    factors: Sequence[Factor],
    authorization_details: Sequence[Mapping[str, Any]] | None,
    now: float,
) -> CeremonyOptions:
    """Options for ``navigator.credentials.get()`` in interaction ``interaction_id``.

    One live challenge per interaction, kept server-side (``webauthn_challenge`` keyed by
    the interaction id; a new request replaces it). ``userVerification`` is always
    ``"required"`` (§5.8.6); ``allowCredentials`` lists the known user's credentials only,
    or none for discoverable passkey sign-in. With ``authorization_details`` the
    challenge is ``transaction_challenge(nonce, details)`` over the Provider's own copy
    with a fresh 32-byte nonce (PSD2 RTS Art. 5(1)(b): the code is specific to the
    amount and the payee).
    """
    allow = [str(f.credential_id) for f in user_credentials(user, factors)]
    details = [dict(d) for d in authorization_details] if authorization_details else None
    nonce: bytes | None = None
    if details:
        nonce = secrets.token_bytes(32)
        challenge = transaction_challenge(nonce, details)
    else:
        challenge = secrets.token_bytes(32)
    options = authentication_options(
        rp_id=state.config.webauthn.rp_id,
        allow_credentials=[unb64url(c) for c in allow],
        user_verification="required",
        challenge=challenge,
    )
    ceremony = WebAuthnChallenge(
        purpose="authenticate",
        interaction=interaction_id,
        challenge=b64url(challenge),
        nonce=b64url(nonce) if nonce is not None else None,
        user_id=user.id if user is not None else None,
        allow=allow,
        authorization_details=details,
    )
    await state.store.put(
        CHALLENGE_KIND,
        interaction_id,
        ceremony.to_payload(),
        expires_at=now + CHALLENGE_TTL,
        user_id=user.id if user is not None else None,
    )
    return options


def _client_origin(client_data_json: bytes) -> str | None:
    try:
        origin = jsonlimits.loads(client_data_json.lstrip(b"\xef\xbb\xbf")).get("origin")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    return origin if isinstance(origin, str) else None


def txn_record(
    *,
    txn: str,
    user_id: str,
    client_id: str | None,
    authorization_details: Sequence[Mapping[str, Any]],
    nonce: bytes,
    rp_id: str,
    credential: Mapping[str, Any],
    stored: StoredCredential,
    verified_at: float,
) -> TxnRecord:
    """The transaction approval record: everything needed to re-verify the assertion
    later against the details it approved (:mod:`.transaction_audit`)."""
    response = member(credential.get("response"), "response")
    client_data_json = field_bytes(response, "clientDataJSON")
    user_handle = optional_bytes(response, "userHandle")
    return TxnRecord(
        txn=txn,
        user_id=user_id,
        client_id=client_id,
        authorization_details=[dict(d) for d in authorization_details],
        nonce=b64url(nonce),
        rp_id=rp_id,
        origin=_client_origin(client_data_json),
        credential_id=b64url(stored.credential_id),
        credential_public_key=b64url(stored.public_key),
        client_data_json=b64url(client_data_json),
        authenticator_data=b64url(field_bytes(response, "authenticatorData")),
        signature=b64url(field_bytes(response, "signature")),
        user_handle=b64url(user_handle) if user_handle is not None else None,
        verified_at=verified_at,
    )
