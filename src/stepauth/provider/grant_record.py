"""The grant behind a family of tokens, and the claims it lets them carry.

A :class:`Grant` is what the user authorised at the authorization endpoint. It travels
unchanged from the code to every token of the grant: a refresh copies ``acr``, ``amr`` and
``auth_time`` verbatim and never creates an authentication event (OIDC Core §12.2).
``jkt`` binds the grant's refresh tokens to a DPoP key (RFC 9449 §5: public clients only).

The claims helpers pick what an ID Token or the UserInfo response may say about the user
(OIDC Core §5.4 scope ``profile``, §5.5 the ``claims`` request).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stepauth.provider.records import AuthorizationCode
    from stepauth.store import User

__all__ = [
    "PROFILE_CLAIMS",
    "PROTOCOL_CLAIMS",
    "Grant",
    "claims_member",
    "requested_claims",
    "user_claims",
]

#: Claims a user record can supply (per OIDC Core §5.4 scope ``profile``).
PROFILE_CLAIMS = ("preferred_username",)
#: Claims the token minting sets itself; a ``claims`` request never overrides them.
PROTOCOL_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "acr", "amr", "nonce", "sid", "azp"}
)


@dataclass(frozen=True)
class Grant:
    """What the user authorised once; shared by every token issued from one code."""

    grant_id: str
    client_id: str
    sub: str
    scope: str
    auth_time: float | None
    acr: str | None
    amr: tuple[str, ...] = ()
    sid: str | None = None
    claims: Mapping[str, Any] | None = None
    authorization_details: tuple[Mapping[str, Any], ...] | None = None
    txn: str | None = None
    resource: str | None = None
    expires_at: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The DPoP key (RFC 7638 thumbprint) the grant's refresh tokens are bound to.
    jkt: str | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())

    @classmethod
    def from_code(cls, payload: Mapping[str, Any], *, txn: str | None = None) -> Grant:
        """The grant behind an authorization code payload (the front channel's contract)."""
        details = payload.get("authorization_details")
        return cls.from_json(
            {
                **payload,
                "claims": payload.get("claims") or None,
                "authorization_details": details or None,
                "txn": payload.get("txn") or (txn if details else None),
                "expires_at": None,
                "extra": {},
                "jkt": None,
            }
        )

    @classmethod
    def from_code_record(cls, code: AuthorizationCode, *, txn: str | None = None) -> Grant:
        """``from_code(code.to_payload(), txn=txn)`` without the payload in between (the
        token endpoint decodes the code's record first)."""
        details = code.authorization_details
        return cls(
            grant_id=str(code.grant_id),
            client_id=str(code.client_id),
            sub=str(code.sub),
            scope=str(code.scope or ""),
            auth_time=_number_or_none(code.auth_time),
            acr=code.acr,
            amr=tuple(code.amr or ()),
            sid=code.sid,
            claims=code.claims or None,
            authorization_details=tuple(details) if details else None,
            txn=code.txn or (txn if details else None),
            resource=code.resource,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["amr"] = list(self.amr)
        data["authorization_details"] = (
            list(self.authorization_details) if self.authorization_details is not None else None
        )
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Grant:
        details = data.get("authorization_details")
        return cls(
            grant_id=str(data["grant_id"]),
            client_id=str(data["client_id"]),
            sub=str(data["sub"]),
            scope=str(data.get("scope") or ""),
            auth_time=_number_or_none(data.get("auth_time")),
            acr=data.get("acr"),
            amr=tuple(data.get("amr") or ()),
            sid=data.get("sid"),
            claims=data.get("claims"),
            authorization_details=tuple(details) if details is not None else None,
            txn=data.get("txn"),
            resource=data.get("resource"),
            expires_at=_number_or_none(data.get("expires_at")),
            extra=dict(data.get("extra") or {}),
            jkt=_str_or_none(data.get("jkt")),
        )

    def narrowed(self, scope: str) -> Grant:
        """The same grant with a subset of its scope (RFC 6749 §6)."""
        return replace(self, scope=scope)

    def with_details(self, details: tuple[Mapping[str, Any], ...]) -> Grant:
        """The same grant carrying only ``details`` (RFC 9396 §6)."""
        return replace(self, authorization_details=details)

    def bound_to(self, jkt: str | None) -> Grant:
        """The same grant with its refresh tokens bound to the DPoP key ``jkt``."""
        return replace(self, jkt=jkt)

    def without_details(self) -> Grant:
        """The same grant without ``authorization_details`` and ``txn``: what is left of
        it once the one access token that carries an approval has been issued."""
        return replace(self, authorization_details=None, txn=None)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def user_claims(user: User | None, names: set[str]) -> dict[str, Any]:
    """The user's claims among ``names`` that this Provider can vouch for."""
    if user is None:
        return {}
    available: dict[str, Any] = {"preferred_username": user.username}
    return {name: value for name, value in available.items() if name in names}


def requested_claims(
    member: Mapping[str, Any] | None, user: User | None, *, scopes: frozenset[str]
) -> dict[str, Any]:
    """Claims for one member (``id_token`` or ``userinfo``) of the ``claims`` request.

    OIDC Core §5.5.1: a member is ``null`` or ``{essential, value, values}``; a value that
    does not equal ``value`` / one of ``values`` is left out, never an error (§5.5, §5.5.1). Scope
    ``profile`` adds the profile claims (§5.4).
    """
    wanted: dict[str, Any] = {}
    if "profile" in scopes:
        wanted.update(dict.fromkeys(PROFILE_CLAIMS))
    if isinstance(member, Mapping):
        for name, spec in member.items():
            if isinstance(name, str) and name not in PROTOCOL_CLAIMS:
                wanted[name] = spec
    values = user_claims(user, set(wanted))
    result: dict[str, Any] = {}
    for name, value in values.items():
        spec = wanted[name]
        if isinstance(spec, Mapping):
            if "value" in spec and spec["value"] != value:
                continue
            if isinstance(spec.get("values"), list) and value not in spec["values"]:
                continue
        result[name] = value
    return result


def claims_member(grant: Grant, member: str) -> Mapping[str, Any] | None:
    if not isinstance(grant.claims, Mapping):
        return None
    value = grant.claims.get(member)
    return value if isinstance(value, Mapping) else None
