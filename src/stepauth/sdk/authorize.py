"""Authorization requests for step-up (OIDC Core §3.1.2.1, RFC 7636, RFC 9126, RFC 9396).

:func:`build_authorization_request` turns a :class:`Requirement` into the parameters the OP
needs, with fresh ``state``, ``nonce`` and a PKCE S256 pair. Two rules from the specs are
enforced rather than documented:

* ``acr_values`` *or* an essential ``acr`` in ``claims``, never both (OIDC Core §5.5.1.1);
* never ``max_age=0`` together with ``prompt=none`` (the OpenID conformance suite's
  ``DisallowMaxAgeEqualsZeroAndPromptNone`` condition).

With PAR the same parameters are pushed (:func:`par_body`) and the browser gets only
``client_id`` and ``request_uri`` (:func:`par_redirect_url`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from stepauth.assurance import Requirement
from stepauth.sdk.errors import InvalidAuthorizationRequest
from stepauth.sdk.jose import b64url_encode
from stepauth.sdk.profiles import STEPAUTH, AcrMode, Profile

__all__ = [
    "AuthorizationRequest",
    "build_authorization_request",
    "code_challenge_s256",
    "par_body",
    "par_redirect_url",
]


def code_challenge_s256(code_verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return b64url_encode(hashlib.sha256(code_verifier.encode("ascii")).digest())


def _token(randbytes: Callable[[int], bytes]) -> str:
    return b64url_encode(randbytes(32))


@dataclass(frozen=True)
class AuthorizationRequest:
    """What to send, and what to remember (by ``state``) until the callback."""

    authorization_endpoint: str
    params: Mapping[str, str]
    state: str
    nonce: str
    code_verifier: str
    max_age: int | None
    requirement: Requirement | None
    authorization_details: tuple[Mapping[str, Any], ...] = field(default=())

    @property
    def url(self) -> str:
        """The front-channel URL carrying every parameter (without PAR)."""
        sep = "&" if urlsplit(self.authorization_endpoint).query else "?"
        return f"{self.authorization_endpoint}{sep}{urlencode(dict(self.params))}"


def build_authorization_request(
    *,
    authorization_endpoint: str,
    client_id: str,
    redirect_uri: str,
    scope: str = "openid",
    requirement: Requirement | None = None,
    profile: Profile = STEPAUTH,
    acr_mode: AcrMode | None = None,
    max_age: int | None = None,
    prompt: str | None = None,
    id_token_hint: str | None = None,
    login_hint: str | None = None,
    authorization_details: Sequence[Mapping[str, Any]] | None = None,
    extra: Mapping[str, str] | None = None,
    randbytes: Callable[[int], bytes] = secrets.token_bytes,
) -> AuthorizationRequest:
    """Build a code-flow request asking for ``requirement`` (RFC 9470 §4).

    ``acr_values``, ``max_age`` and ``id_token_hint`` follow OIDC Core §3.1.2.1, an essential
    ``acr`` OIDC Core §5.5.1.1. ``max_age`` defaults to the requirement's; ``id_token_hint``
    makes the OP step up the same subject (OIDC Core §3.1.2.2). ``authorization_details``
    (RFC 9396) binds the step-up to one transaction. ``randbytes`` is injectable for tests.
    """
    if "openid" not in scope.split():
        raise InvalidAuthorizationRequest("scope must contain openid")
    if max_age is None and requirement is not None:
        max_age = requirement.max_age
    if max_age is not None and (isinstance(max_age, bool) or max_age < 0):
        raise InvalidAuthorizationRequest("max_age must be a non-negative integer")
    prompts = set((prompt or "").split())
    if "none" in prompts and max_age == 0:
        raise InvalidAuthorizationRequest("max_age=0 must not be combined with prompt=none")
    state = _token(randbytes)
    nonce = _token(randbytes)
    code_verifier = _token(randbytes) + _token(randbytes)[:11]  # 54 chars, RFC 7636 §4.1
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": code_challenge_s256(code_verifier),
        "code_challenge_method": "S256",
    }
    extra = dict(extra or {})
    if requirement is not None and requirement.acr_values:
        acr_params = profile.authorization_params(requirement, mode=acr_mode)
        clash = set(acr_params) & set(extra)
        if clash or ("acr_values" in extra and "claims" in acr_params):
            raise InvalidAuthorizationRequest(
                f"{sorted(clash or {'acr_values'})} would be sent twice (OIDC Core §5.5.1.1)"
            )
        if "claims" in extra and "acr_values" in acr_params:
            try:
                claims = json.loads(extra["claims"])
            except ValueError as exc:
                raise InvalidAuthorizationRequest("claims is not JSON") from exc
            if isinstance(claims, dict) and "acr" in claims.get("id_token", {}):
                raise InvalidAuthorizationRequest(
                    "acr_values and a claims acr request (OIDC Core §5.5.1.1)"
                )
        params.update(acr_params)
    params.update(extra)
    if max_age is not None:
        params["max_age"] = str(int(max_age))
    if prompt:
        params["prompt"] = prompt
    if id_token_hint:
        params["id_token_hint"] = id_token_hint
    if login_hint:
        params["login_hint"] = login_hint
    details = tuple(authorization_details or ())
    if details:
        params["authorization_details"] = json.dumps(list(details), separators=(",", ":"))
    return AuthorizationRequest(
        authorization_endpoint=authorization_endpoint,
        params=params,
        state=state,
        nonce=nonce,
        code_verifier=code_verifier,
        max_age=max_age,
        requirement=requirement,
        authorization_details=details,
    )


def par_body(request: AuthorizationRequest) -> dict[str, str]:
    """The form body to POST to the PAR endpoint (RFC 9126 §2.1), client auth excluded."""
    return dict(request.params)


def par_redirect_url(request: AuthorizationRequest, *, request_uri: str) -> str:
    """The short front-channel URL after a successful push (RFC 9126 §4)."""
    query = urlencode({"client_id": request.params["client_id"], "request_uri": request_uri})
    sep = "&" if urlsplit(request.authorization_endpoint).query else "?"
    return f"{request.authorization_endpoint}{sep}{query}"
