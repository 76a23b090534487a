"""Helpers of the DPoP tests: proofs signed by joserfc (independent of the SDK's signer),
DPoP-bound access tokens and a resource server with a DPoP checker on a fixed clock."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from stepauth.assurance import Requirement
from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.api import ResourceRequest
from stepauth.sdk.dpop_check import DPoPChecker, DPoPNonces
from stepauth.sdk.ledger import AnyLedger, MemoryLedger
from tests.sdk.conftest import API, NOW, Keys, at_claims, sign

URL = f"{API}/transfers"
PHR = Requirement(("phr",), 300)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode()).digest())


def client_key() -> ECKey:
    return ECKey.generate_key("P-256")


def proof(
    key: ECKey | RSAKey | OctKey,
    *,
    htm: str = "POST",
    htu: str = URL,
    iat: float = NOW,
    token: str | None = None,
    nonce: str | None = None,
    jti: str | None = None,
    alg: str = "ES256",
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    """A DPoP proof (RFC 9449 §4.2) signed by joserfc; ``header``/``claims`` override."""
    hdr: dict[str, Any] = {"typ": "dpop+jwt", "alg": alg}
    if not isinstance(key, OctKey):
        hdr["jwk"] = key.as_dict(private=False)
    hdr.update(header or {})
    body: dict[str, Any] = {"jti": jti or secrets.token_urlsafe(12), "htm": htm, "htu": htu}
    body["iat"] = int(iat)
    if token is not None:
        body["ath"] = ath(token)
    if nonce is not None:
        body["nonce"] = nonce
    body.update(claims or {})
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(hdr, body, key, algorithms=[alg])


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """An ``alg: none`` JWS (no signature), which joserfc refuses to produce."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def bound_token(keys: Keys, jkt: str | None, **overrides: Any) -> str:
    """An RFC 9068 access token with ``cnf.jkt`` (RFC 9449 §6.1); ``None``: a bearer one."""
    cnf = {"cnf": {"jkt": jkt}} if jkt is not None else {}
    return sign(at_claims(**cnf, **overrides), keys.rsa, typ="at+jwt")


def resource_server(
    keys: Keys,
    *,
    ledger: AnyLedger | None = None,
    nonces: DPoPNonces | None = None,
    require_dpop: bool = False,
    now: float = NOW,
) -> ResourceServer:
    def clock() -> float:
        return now

    checker = DPoPChecker(
        ledger=ledger if ledger is not None else MemoryLedger(clock=clock),
        nonces=nonces,
        clock=clock,
    )
    return ResourceServer(
        issuer="https://op.example.com",
        audience=API,
        jwks=JWKSCache(keys=keys.jwks("rsa"), clock=clock),
        clock=clock,
        dpop=checker,
        require_dpop=require_dpop,
    )


def dpop_request(
    token: str, *proofs: str, method: str = "POST", url: str = URL, scheme: str = "DPoP"
) -> ResourceRequest:
    return ResourceRequest(
        method=method, url=url, authorization=f"{scheme} {token}", dpop=tuple(proofs)
    )
