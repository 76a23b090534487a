"""Vendor profiles: one :class:`Requirement`, expressed for each IdP and checked on its tokens.

A profile does two translations and no decision of its own:

* **outbound** - the requirement becomes request parameters in the IdP's vocabulary
  (``acr_values``, or an essential ``acr`` / ``acrs`` in the ``claims`` parameter);
* **inbound** - the IdP's claims become stepauth claims (``acr`` in the stepauth
  vocabulary), which :func:`stepauth.assurance.evaluate` then decides on, like any other
  token. An IdP value that has no stepauth meaning maps to nothing, so it can never satisfy
  a requirement (fail closed).

An API behind a profile writes its RFC 9470 challenge in the IdP's vocabulary
(:meth:`Profile.challenge`); its client reads it back with :meth:`Profile.requirement`
into the stepauth :class:`Requirement` that ``RelyingParty.authorization_request`` takes
(and translates out again) - the round trip of one requirement through both sides.

Profiles: :data:`STEPAUTH` (default), :func:`keycloak`, :func:`auth0`, :func:`okta`,
:func:`entra_id`, :func:`generic_oidc`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from stepauth.assurance import (
    DEFAULT_LADDER,
    Challenge,
    InvalidChallenge,
    Ladder,
    Requirement,
    StepUp,
    build_challenge,
)
from stepauth.assurance.requirement import MAX_AGE_LEEWAY
from stepauth.sdk.errors import InvalidAuthorizationRequest
from stepauth.sdk.validate import check_requirement

__all__ = [
    "AUTH0_MFA_POLICY",
    "STEPAUTH",
    "STEPAUTH_ACR",
    "Profile",
    "auth0",
    "entra_id",
    "generic_oidc",
    "keycloak",
    "okta",
]

ACR_1FA: Final = "urn:stepauth:acr:1fa"
ACR_2FA: Final = "urn:stepauth:acr:2fa"
AUTH0_MFA_POLICY: Final = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
#: The claim a ``ResourceServer`` with a vendor profile adds for its routes: the token's
#: level in the stepauth vocabulary, next to the IdP's own ``acr``.
STEPAUTH_ACR: Final = "stepauth_acr"

AcrMode = Literal["acr_values", "claims"]


@dataclass(frozen=True)
class Profile:
    """How one IdP spells assurance. ``acr_map``: stepauth acr -> IdP acr (identity if empty)."""

    name: str
    acr_map: Mapping[str, str] = field(default_factory=dict)
    mode: AcrMode = "acr_values"
    ladder: Ladder = DEFAULT_LADDER
    identity: bool = True  # unmapped acr values pass through unchanged

    # -- outbound --------------------------------------------------------------------------

    def vendor_acr_values(self, requirement: Requirement) -> list[str]:
        out: list[str] = []
        for acr in requirement.acr_values:
            vendor = self.acr_map.get(acr, acr if self.identity else None)
            if vendor is None:
                raise InvalidAuthorizationRequest(f"{self.name} cannot express acr {acr!r}")
            if vendor not in out:
                out.append(vendor)
        return out

    def authorization_params(
        self, requirement: Requirement, *, mode: AcrMode | None = None
    ) -> dict[str, str]:
        """``acr_values`` or an essential ``acr`` claim, never both (OIDC Core §5.5.1.1)."""
        values = self.vendor_acr_values(requirement)
        if not values:
            return {}
        if (mode or self.mode) == "acr_values":
            return {"acr_values": " ".join(values)}
        id_token: dict[str, Any] = {"acr": {"essential": True, "values": values}}
        if requirement.max_age is not None:
            id_token["auth_time"] = {"essential": True}  # OIDC Core §5.5
        return {"claims": json.dumps({"id_token": id_token}, separators=(",", ":"))}

    def challenge(
        self,
        step_up: StepUp,
        *,
        description: str | None = None,
        scheme: str = "Bearer",
        params: Mapping[str, str] | None = None,
    ) -> str:
        """The RFC 9470 ``WWW-Authenticate`` value asking for ``step_up`` (in IdP terms);
        ``scheme="DPoP"`` and ``params={"algs": ...}`` for a DPoP-bound token (RFC 9470 §3
        names DPoP among the schemes that carry the error; RFC 9449 §7.1)."""
        values = self.vendor_acr_values(Requirement(step_up.acr_values, step_up.max_age))
        return build_challenge(
            acr_values=tuple(values),
            max_age=step_up.max_age,
            error_description=description,
            scheme=scheme,
            params=params,
        )

    # -- inbound ---------------------------------------------------------------------------

    def stepauth_acr_values(self, vendor_values: Sequence[str]) -> tuple[str, ...]:
        """IdP acr values back in the stepauth vocabulary; one with no stepauth meaning is
        an :class:`~stepauth.assurance.InvalidChallenge` (never dropped: a challenge read
        wrongly would ask for less than the API wants)."""
        reverse = {v: k for k, v in self.acr_map.items()}
        out: list[str] = []
        for value in vendor_values:
            ours = reverse.get(value, value if self.identity else None)
            if ours is None:
                raise InvalidChallenge(f"{self.name} acr {value!r} has no stepauth meaning")
            if ours not in out:
                out.append(ours)
        return tuple(out)

    def requirement(self, challenge: Challenge) -> Requirement:
        """The requirement an RFC 9470 challenge written by :meth:`challenge` asks for.

        ``rp.authorization_request(profile.requirement(challenge))`` then asks the IdP for
        exactly that, in its own vocabulary again."""
        return Requirement(self.stepauth_acr_values(challenge.acr_values), challenge.max_age)

    def normalize(self, claims: Mapping[str, Any]) -> Mapping[str, Any]:
        """The token's claims with ``acr`` translated into the stepauth vocabulary."""
        acr = claims.get("acr")
        if not self.acr_map or not isinstance(acr, str):
            return claims  # nothing to translate: no copy on the hot path
        out = dict(claims)
        reverse = {v: k for k, v in self.acr_map.items()}
        mapped = reverse.get(acr, acr if self.identity else None)
        if mapped is None:
            out.pop("acr", None)
        else:
            out["acr"] = mapped
        return out

    def check(
        self,
        claims: Mapping[str, Any],
        requirement: Requirement | None,
        *,
        max_age: int | None = None,
        now: float,
        leeway: float = 0,
        max_age_leeway: float = MAX_AGE_LEEWAY,
        not_before: float | None = None,
    ) -> None:
        """Steps 12-13 on the IdP's claims; raises ``InsufficientAuthentication``."""
        check_requirement(
            self.normalize(claims),
            requirement,
            max_age=max_age,
            now=now,
            leeway=leeway,
            ladder=self.ladder,
            max_age_leeway=max_age_leeway,
            not_before=not_before,
        )


#: The stepauth Provider: the ladder's own names, essential ``acr`` by default in browsers.
STEPAUTH: Final = Profile("stepauth")


def generic_oidc(*, mode: AcrMode = "acr_values", ladder: Ladder = DEFAULT_LADDER) -> Profile:
    """Any OpenID Provider: values pass through; the RP's ladder decides."""
    return Profile("oidc", mode=mode, ladder=ladder)


@dataclass(frozen=True)
class _Keycloak(Profile):
    loa_map: Mapping[str, int] = field(default_factory=dict)

    def normalize(self, claims: Mapping[str, Any]) -> Mapping[str, Any]:
        # Keycloak returns the acr name from acr.loa.map, or the bare LoA number when the
        # level has no name: map both back to the stepauth acr of that LoA.
        out = dict(claims)
        acr = claims.get("acr")
        by_loa = {self.loa_map[v]: k for k, v in self.acr_map.items() if v in self.loa_map}
        mapped: str | None = None
        if isinstance(acr, str):
            if acr in self.loa_map:
                mapped = by_loa.get(self.loa_map[acr])
            elif acr.isdigit():
                mapped = by_loa.get(int(acr))
        if mapped is None:
            out.pop("acr", None)
        else:
            out["acr"] = mapped
        return out


def keycloak(
    loa_map: Mapping[str, int],
    acr_map: Mapping[str, str] | None = None,
    *,
    mode: AcrMode = "claims",
) -> Profile:
    """Keycloak: ``loa_map`` is the client's ``acr.loa.map`` (name -> LoA level).

    ``acr_map`` says which Keycloak name stands for each stepauth acr; by default the
    stepauth names are used as the Keycloak names (configure ``acr.loa.map`` with them).
    Keycloak enforces an essential ``acr`` claim, so that is the default mode.
    """
    if acr_map is None:
        acr_map = {name: name for name in loa_map}
    missing = [v for v in acr_map.values() if v not in loa_map]
    if missing:
        raise InvalidAuthorizationRequest(f"acr names {missing!r} are not in acr.loa.map")
    return _Keycloak(
        "keycloak", acr_map=dict(acr_map), mode=mode, identity=False, loa_map=dict(loa_map)
    )


@dataclass(frozen=True)
class _Auth0(Profile):
    def normalize(self, claims: Mapping[str, Any]) -> Mapping[str, Any]:
        # Auth0 signals completed MFA by amr containing "mfa" (and acr = the PAPE MFA policy
        # when it was requested). Anything else is one factor at best.
        out = dict(claims)
        amr = claims.get("amr")
        if isinstance(amr, list) and "mfa" in amr:
            out["acr"] = ACR_2FA
        elif "acr" in out or amr:
            out["acr"] = ACR_1FA
        return out


def auth0() -> Profile:
    """Auth0: the MFA policy URI in ``acr_values``; proof is ``mfa`` in ``amr``.

    Auth0 has no phishing-resistant acr of its own: asking it for ``phr``/``phrh`` is refused
    here rather than silently downgraded to "some MFA".
    """
    return _Auth0("auth0", acr_map={ACR_2FA: AUTH0_MFA_POLICY}, mode="acr_values", identity=False)


def okta() -> Profile:
    """Okta: ``urn:okta:loa:*`` plus the EAP ``phr``/``phrh`` values.

    ``urn:okta:loa:2fa:any:ifpossible`` is never sent and never accepted: it lets the IdP
    fall back to one factor.
    """
    return Profile(
        "okta",
        acr_map={
            ACR_1FA: "urn:okta:loa:1fa:any",
            ACR_2FA: "urn:okta:loa:2fa:any",
            "phr": "phr",
            "phrh": "phrh",
        },
        mode="acr_values",
        identity=False,
    )


@dataclass(frozen=True)
class _Entra(Profile):
    issued_at_is_auth_time: bool = False

    def authorization_params(
        self, requirement: Requirement, *, mode: AcrMode | None = None
    ) -> dict[str, str]:
        values = self.vendor_acr_values(requirement)
        if not values:
            return {}
        return {"claims": json.dumps(self.claims_request(values), separators=(",", ":"))}

    @staticmethod
    def claims_request(context_ids: Sequence[str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"essential": True}
        if len(context_ids) == 1:
            entry["value"] = context_ids[0]
        else:
            entry["values"] = list(context_ids)
        return {"id_token": {"acrs": entry}, "access_token": {"acrs": entry}}

    def challenge(
        self,
        step_up: StepUp,
        *,
        description: str | None = None,
        scheme: str = "Bearer",
        params: Mapping[str, str] | None = None,
    ) -> str:
        # Entra ID's claims challenge: error="insufficient_claims" and the claims request,
        # base64-encoded, for the client to send back to the authorization endpoint.
        values = self.vendor_acr_values(Requirement(step_up.acr_values, step_up.max_age))
        access_token_only = {"access_token": self.claims_request(values)["access_token"]}
        request = json.dumps(access_token_only, separators=(",", ":"))
        encoded = base64.b64encode(request.encode()).decode()
        return build_challenge(
            error="insufficient_claims",
            error_description=description,
            scheme=scheme,
            params={**(params or {}), "claims": encoded},
        )

    def requirement(self, challenge: Challenge) -> Requirement:
        # The claims challenge: base64 of {"access_token": {"acrs": {"essential": true,
        # "value": "c1"}}} (or "values"); it carries no max_age.
        encoded = challenge.params.get("claims")
        if challenge.error != "insufficient_claims" or encoded is None:
            raise InvalidChallenge("not an Entra ID claims challenge")
        try:
            request = json.loads(base64.b64decode(encoded, validate=True))
            entry = request["access_token"]["acrs"]
            values = [entry["value"]] if "value" in entry else entry["values"]
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidChallenge("the claims challenge is not an acrs request") from exc
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidChallenge("the claims challenge's acrs are not strings")
        return Requirement(self.stepauth_acr_values(values), None)

    def normalize(self, claims: Mapping[str, Any]) -> Mapping[str, Any]:
        # Entra ID carries satisfied authentication contexts in "acrs" (a list); its "acr"
        # ("1") says nothing about them. The strongest satisfied context becomes the acr.
        out = dict(claims)
        out.pop("acr", None)
        if self.issued_at_is_auth_time and "auth_time" not in out and "iat" in out:
            out["auth_time"] = out["iat"]
        acrs = claims.get("acrs")
        if isinstance(acrs, list):
            satisfied = [ours for ours, ctx in self.acr_map.items() if ctx in acrs]
            if satisfied:
                out["acr"] = max(satisfied, key=self._rank)
        return out

    def _rank(self, acr: str) -> int:
        rank = self.ladder.rank(acr)
        return -1 if rank is None else int(rank)


def entra_id(auth_contexts: Mapping[str, str], *, issued_at_is_auth_time: bool = False) -> Profile:
    """Microsoft Entra ID: ``auth_contexts`` maps a stepauth acr to a Conditional Access
    authentication context id (``"c1"`` ... ``"c99"``), requested as an essential ``acrs``
    claim and found in the ``acrs`` claim of the tokens.

    Entra access tokens carry no ``auth_time``, so by default they never meet a requirement
    (fail closed). ``issued_at_is_auth_time=True`` is an explicit opt-in for tenants whose
    Conditional Access policy for the context sets a sign-in frequency: Entra re-evaluates
    it at every issuance, so ``iat`` bounds the authentication's age there - and only there.
    """
    return _Entra(
        "entra_id",
        acr_map=dict(auth_contexts),
        mode="claims",
        identity=False,
        issued_at_is_auth_time=issued_at_is_auth_time,
    )
