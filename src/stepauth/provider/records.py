"""The payloads of the Provider's main store items, as typed records.

Each record is a frozen dataclass that is stored as its JSON object
(:meth:`to_payload`) and read back from it (:meth:`from_payload`); the JSON keys are the
ones stored before these records existed, so items written by an older Provider read
as they always did.

* :class:`Interaction` (kind ``interaction``): a pending sign-in or step-up prompt;
* :class:`AuthorizationCode` (kind ``code``, keyed by the code's SHA-256): what the
  token endpoint needs to issue tokens (RFC 6749 §4.1.3, RFC 7636 §4.6);
* :class:`WebAuthnChallenge` (kind ``webauthn_challenge``): the server-held challenge of
  one ceremony (WebAuthn L3 §13.4.3: single use, checked server-side);
* :class:`TxnRecord` (kind ``txn_record``): the approval of ``authorization_details``,
  kept to be re-verified later
  (:func:`~stepauth.provider.factors.webauthn.transaction_audit.verify_transaction`).

``from_payload`` of :class:`Interaction` and :class:`AuthorizationCode` raises
:class:`~stepauth.store.StoreError` on a payload without its required members (the
Provider wrote it; anything else is a broken store); :meth:`WebAuthnChallenge.from_payload`
returns ``None`` for one that does not read (the ceremony then fails, closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from stepauth.store import StoreError

__all__ = ["AuthorizationCode", "Interaction", "TxnRecord", "WebAuthnChallenge"]


def _required(payload: Mapping[str, Any], name: str, kind: str) -> Any:
    try:
        return payload[name]
    except KeyError:
        raise StoreError(f"a stored {kind} lacks {name!r}") from None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Interaction:
    """A pending interaction (``/interaction/{uid}``)."""

    KIND: ClassVar[str] = "interaction"

    #: The authorization request (:meth:`AuthorizationContext.request_json`).
    request: dict[str, Any]
    created_at: float
    #: The session's events when the interaction started: ``prompt=login`` and bound
    #: requests need events beyond these.
    before: list[dict[str, Any]]
    csrf: str
    #: SHA-256 (hex) of the browser's interaction cookie.
    browser: str
    #: A verified approval of the request's ``authorization_details`` (a ``txn_record``).
    txn: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "request": self.request,
            "created_at": self.created_at,
            "before": self.before,
            "csrf": self.csrf,
            "browser": self.browser,
        }
        if self.txn is not None:
            payload["txn"] = self.txn
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Interaction:
        return cls(
            request=dict(_required(payload, "request", cls.KIND)),
            created_at=float(_required(payload, "created_at", cls.KIND)),
            before=[dict(e) for e in _required(payload, "before", cls.KIND)],
            csrf=str(_required(payload, "csrf", cls.KIND)),
            browser=str(_required(payload, "browser", cls.KIND)),
            txn=str(payload["txn"]) if payload.get("txn") else None,
        )

    def with_request(self, request: dict[str, Any]) -> Interaction:
        return replace(self, request=request)

    def with_txn(self, txn: str) -> Interaction:
        return replace(self, txn=txn)


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """What an authorization code stands for (the front channel's contract with the
    token endpoint; :class:`stepauth.provider.grant_record.Grant` is built from it)."""

    KIND: ClassVar[str] = "code"

    client_id: str | None
    redirect_uri: str | None
    code_challenge: str | None
    code_challenge_method: str
    scope: str
    nonce: str | None
    sub: str
    sid: str | None
    acr: str | None
    amr: list[str]
    auth_time: int | None
    claims: dict[str, Any] | None
    authorization_details: list[dict[str, Any]] | None
    max_age_requested: bool
    acr_requested: bool
    grant_id: str
    resource: str | None
    #: The stored approval of ``authorization_details``; the tokens' ``txn`` claim.
    txn: str | None = None
    #: RFC 9449 §10: the DPoP key (RFC 7638 thumbprint) that alone may redeem the code.
    dpop_jkt: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
            "scope": self.scope,
            "nonce": self.nonce,
            "sub": self.sub,
            "sid": self.sid,
            "acr": self.acr,
            "amr": list(self.amr),
            "auth_time": self.auth_time,
            "claims": self.claims,
            "authorization_details": self.authorization_details,
            "max_age_requested": self.max_age_requested,
            "acr_requested": self.acr_requested,
            "grant_id": self.grant_id,
            "resource": self.resource,
        }
        if self.txn is not None:
            payload["txn"] = self.txn
        if self.dpop_jkt is not None:
            payload["dpop_jkt"] = self.dpop_jkt
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AuthorizationCode:
        auth_time = payload.get("auth_time")
        details = payload.get("authorization_details")
        return cls(
            client_id=_str_or_none(payload.get("client_id")),
            redirect_uri=_str_or_none(payload.get("redirect_uri")),
            code_challenge=_str_or_none(payload.get("code_challenge")),
            code_challenge_method=str(payload.get("code_challenge_method") or ""),
            scope=str(payload.get("scope") or ""),
            nonce=_str_or_none(payload.get("nonce")),
            sub=str(_required(payload, "sub", cls.KIND)),
            sid=_str_or_none(payload.get("sid")),
            acr=_str_or_none(payload.get("acr")),
            amr=[str(m) for m in payload.get("amr") or ()],
            auth_time=int(auth_time) if isinstance(auth_time, int | float) else None,
            claims=dict(payload["claims"]) if payload.get("claims") else None,
            authorization_details=[dict(d) for d in details] if details else None,
            max_age_requested=bool(payload.get("max_age_requested")),
            acr_requested=bool(payload.get("acr_requested")),
            grant_id=str(_required(payload, "grant_id", cls.KIND)),
            resource=_str_or_none(payload.get("resource")),
            txn=str(payload["txn"]) if payload.get("txn") else None,
            dpop_jkt=_str_or_none(payload.get("dpop_jkt")),
        )


@dataclass(frozen=True, slots=True)
class WebAuthnChallenge:
    """The server-held challenge of one WebAuthn ceremony.

    ``purpose`` is ``authenticate`` (keyed by the interaction id; with the credentials it
    allows and, for a transaction, its nonce and details) or ``register`` (keyed by a
    ceremony id; with the authenticator ``type`` asked for).
    """

    KIND: ClassVar[str] = "webauthn_challenge"

    purpose: str
    #: The challenge, base64url.
    challenge: str
    user_id: str | None
    interaction: str | None = None
    #: The transaction nonce (base64url) the challenge was derived from.
    nonce: str | None = None
    allow: list[str] = field(default_factory=list)
    authorization_details: list[dict[str, Any]] | None = None
    #: ``passkey`` or ``security-key`` (registration).
    type: str | None = None

    def to_payload(self) -> dict[str, Any]:
        if self.purpose == "register":
            return {
                "challenge": self.challenge,
                "user_id": self.user_id,
                "purpose": self.purpose,
                "type": self.type,
            }
        return {
            "purpose": self.purpose,
            "interaction": self.interaction,
            "challenge": self.challenge,
            "nonce": self.nonce,
            "user_id": self.user_id,
            "allow": list(self.allow),
            "authorization_details": self.authorization_details,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> WebAuthnChallenge | None:
        """The challenge, or ``None`` when ``payload`` is not one (fail closed)."""
        if payload is None:
            return None
        purpose, challenge = payload.get("purpose"), payload.get("challenge")
        user_id = payload.get("user_id")
        details = payload.get("authorization_details")
        allow = payload.get("allow") or []
        if (
            not isinstance(purpose, str)
            or not isinstance(challenge, str)
            or not (user_id is None or isinstance(user_id, str))
            or not isinstance(allow, list)
            or not (details is None or isinstance(details, list))
        ):
            return None
        return cls(
            purpose=purpose,
            challenge=challenge,
            user_id=user_id,
            interaction=_str_or_none(payload.get("interaction")),
            nonce=_str_or_none(payload.get("nonce")),
            allow=[str(c) for c in allow],
            authorization_details=details,
            type=_str_or_none(payload.get("type")),
        )


@dataclass(frozen=True, slots=True)
class TxnRecord:
    """The approval of ``authorization_details`` by a WebAuthn assertion: everything
    needed to re-verify the assertion later against the details it approved (binary
    values base64url)."""

    KIND: ClassVar[str] = "txn_record"

    txn: str
    user_id: str
    client_id: str | None
    authorization_details: list[dict[str, Any]]
    nonce: str
    rp_id: str
    origin: str | None
    credential_id: str
    credential_public_key: str
    client_data_json: str
    authenticator_data: str
    signature: str
    user_handle: str | None
    verified_at: float

    def to_payload(self) -> dict[str, Any]:
        return {
            "txn": self.txn,
            "user_id": self.user_id,
            "client_id": self.client_id,
            "authorization_details": [dict(d) for d in self.authorization_details],
            "nonce": self.nonce,
            "rp_id": self.rp_id,
            "origin": self.origin,
            "credential_id": self.credential_id,
            "credential_public_key": self.credential_public_key,
            "client_data_json": self.client_data_json,
            "authenticator_data": self.authenticator_data,
            "signature": self.signature,
            "user_handle": self.user_handle,
            "verified_at": self.verified_at,
        }
