"""Signed request objects (RFC 9101, JAR): the ``request`` parameter at PAR and /authorize.

:func:`verify_request_object` turns a client's signed Request Object into the
authorization request parameters, in the order of RFC 9101 §6.2 and §6.3:

1. the compact JWS is bounded in size and nesting before anything parses it;
2. it is verified with the client's registered keys — the same ``jwks`` and the same
   verifier (:mod:`stepauth.sdk.jose`) as its ``private_key_jwt`` assertions — under an
   ``alg`` the client may use: its ``request_object_signing_alg`` when registered, the
   FAPI 2.0 algorithms for a fapi2 client, else any of
   :data:`REQUEST_OBJECT_ALGS`; ``none`` and ``HS*`` never (RFC 8725 §3.1);
3. ``typ``, when present, is ``oauth-authz-req+jwt`` (RFC 9101 §4, §10.8) or ``JWT``
   (``application/jwt``, which RFC 9101 §4 notes existing deployments use); any other type
   is another kind of JWT and is refused (RFC 8725 §3.11);
4. ``iss`` is the client, ``aud`` the issuer (a string, or an array holding it), the
   inner ``client_id`` the outer one (RFC 9101 §4, §5, §6.3), and ``sub`` is not the
   client: such an object would also pass as its ``private_key_jwt`` assertion
   (RFC 9101 §10.8);
5. ``exp`` is required and in the future; ``exp - nbf`` (or ``exp - now``) at most 60
   minutes and ``nbf`` at most 60 minutes old (FAPI 2.0 Message Signing, "Signing
   Authorization Requests"); a fapi2 client must send ``nbf``; no ``iat``/``nbf`` in the
   future beyond the clock leeway (FAPI 2.0 Security Profile §5.3.2.1 item 14);
6. it carries no ``request`` or ``request_uri`` of its own (RFC 9101 §4, §10.7);
7. it is used once: its ``jti`` (or, without one, its digest) is recorded by one atomic
   insert-if-absent until it expires, so a replayed request object is refused.

Every failure is ``invalid_request_object`` (RFC 9101 §6.2, §7). Only the
request object's parameters are used (RFC 9101 §6.3); the caller drops the outer ones.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from stepauth.provider.client_auth import LEEWAY, bounded_jws_claims, registered_keys
from stepauth.provider.compare import sha256hex
from stepauth.provider.errors import InvalidRequestObject
from stepauth.provider.profiles.fapi2 import FAPI2, FAPI2_ALGS
from stepauth.sdk.errors import SDKError
from stepauth.sdk.jose import ALGORITHMS, verify_compact

if TYPE_CHECKING:
    from stepauth.provider.config import ClientConfig
    from stepauth.provider.state import ProviderState

__all__ = [
    "JTI_KIND",
    "MAX_LIFETIME",
    "REQUEST_OBJECT_ALGS",
    "REQUEST_OBJECT_TYPES",
    "verify_request_object",
]

#: Every JWS algorithm of the verifier's registry: asymmetric only, no ``none``, no ``HS*``.
REQUEST_OBJECT_ALGS: Final = tuple(ALGORITHMS)
#: ``typ`` values accepted (lower case, without ``application/``, RFC 7515 §4.1.9).
REQUEST_OBJECT_TYPES: Final = frozenset({"oauth-authz-req+jwt", "jwt"})
#: FAPI 2.0 Message Signing: ``exp - nbf`` at most 60 minutes, ``nbf`` at most 60 minutes old.
MAX_LIFETIME: Final = 3600
#: Store kind of the request objects already used (kept until they expire).
JTI_KIND: Final = "request_object_jti"
#: Registered JWT claims (RFC 7519 §4.1) that are not authorization request parameters.
_JWT_CLAIMS: Final = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})


def _allowed_algs(client: ClientConfig) -> tuple[str, ...]:
    if client.request_object_signing_alg is not None:
        return (client.request_object_signing_alg,)
    if client.profile == FAPI2:
        return FAPI2_ALGS  # FAPI 2.0 Security Profile §5.4
    return REQUEST_OBJECT_ALGS


def _typ_allowed(typ: str | None) -> bool:
    if typ is None:
        return True
    media = typ.lower()
    return media.removeprefix("application/") in REQUEST_OBJECT_TYPES


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestObject(f"request object {name} is not a number")
    return float(value)


def _check_audience(claims: dict[str, Any], issuer: str) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if issuer not in audiences:
        raise InvalidRequestObject("request object aud is not this provider")


def _check_times(claims: dict[str, Any], *, fapi2: bool, now: float) -> float:
    """The request object's ``exp`` once its times hold."""
    exp = _number(claims, "exp")
    if exp is None:
        raise InvalidRequestObject("request object has no exp")
    if exp <= now - LEEWAY:
        raise InvalidRequestObject("request object expired")
    nbf = _number(claims, "nbf")
    if nbf is None and fapi2:
        raise InvalidRequestObject("request object has no nbf")
    if nbf is not None:
        if nbf > now + LEEWAY:
            raise InvalidRequestObject("request object nbf is in the future")
        if nbf < now - MAX_LIFETIME:
            raise InvalidRequestObject("request object nbf is more than 60 minutes old")
    if exp - (nbf if nbf is not None else now) > MAX_LIFETIME:
        raise InvalidRequestObject("request object lives longer than 60 minutes")
    iat = _number(claims, "iat")
    if iat is not None and iat > now + LEEWAY:
        raise InvalidRequestObject("request object iat is in the future")
    return exp


def _parameter(name: str, value: Any) -> str:
    """A claim as the string an authorization parameter is (RFC 9101 §4: JSON values)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # e.g. max_age
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))  # claims, authorization_details
    raise InvalidRequestObject(f"request object parameter {name} has an unsupported type")


async def _use_once(
    state: ProviderState, client_id: str, replay_id: str, *, expires_at: float, now: float
) -> None:
    """One insert-if-absent records the request object until it expires: of two uses,
    concurrent or not, exactly one inserts it."""
    key = sha256hex(f"{client_id}\x00{replay_id}")
    added = await state.store.add(
        JTI_KIND, key, expires_at=expires_at, now=now, data={"client_id": client_id}
    )
    if not added:
        raise InvalidRequestObject("request object was already used")


async def verify_request_object(
    state: ProviderState,
    client: ClientConfig,
    request_object: str,
    *,
    expected_client_id: str,
    now: float,
) -> dict[str, str]:
    """The authorization parameters of ``client``'s signed request object (RFC 9101 §6)."""
    try:
        bounded_jws_claims(request_object)
    except ValueError as exc:
        raise InvalidRequestObject("request is not a signed JWT (compact JWS)") from exc
    keys = registered_keys(client)
    if keys is None:
        raise InvalidRequestObject("client has no registered keys for request objects")
    try:
        header, claims = verify_compact(request_object, keys, allowed_algs=_allowed_algs(client))
    except SDKError as exc:
        raise InvalidRequestObject(
            "request object signature or algorithm is not acceptable"
        ) from exc
    if not _typ_allowed(header.typ):
        raise InvalidRequestObject("request object typ is not oauth-authz-req+jwt")
    if claims.get("iss") != client.client_id:
        raise InvalidRequestObject("request object iss is not the client")
    _check_audience(claims, str(state.config.issuer))
    if claims.get("client_id") != expected_client_id:
        raise InvalidRequestObject("request object client_id does not match the request")
    if claims.get("sub") == client.client_id:
        raise InvalidRequestObject("request object sub must not be the client_id")
    exp = _check_times(claims, fapi2=client.profile == FAPI2, now=now)
    if "request" in claims or "request_uri" in claims:
        raise InvalidRequestObject("a request object must not hold request or request_uri")
    params = {
        name: _parameter(name, value)
        for name, value in claims.items()
        if name not in _JWT_CLAIMS and value is not None
    }
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or not jti):
        raise InvalidRequestObject("request object jti is not a string")
    replay_id = f"jti:{jti}" if jti else f"sha256:{sha256hex(request_object)}"
    await _use_once(state, client.client_id, replay_id, expires_at=exp + LEEWAY, now=now)
    return params
