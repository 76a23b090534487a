"""What a client computes, made with joserfc independently of the Provider's own code.

PKCE pairs (RFC 7636 §4.2, S256), token request bodies (RFC 6749 §4.1.3, §6), compact JWS
(request objects, RFC 9101), private_key_jwt client assertions (RFC 7523 §2.2), DPoP proofs
(RFC 9449 §4.2), and unverified reads of the JWTs a client receives. A test then checks the
Provider against an independent reading of each format.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from tests.helpers.provider_config import CLIENT_KEY, ISSUER, JWT_CLIENT, REDIRECT_URI

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_URL = ISSUER + "/token"


def b64(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Mapping[str, Any]) -> str:
    """A JOSE header or payload segment: compact JSON, base64url."""
    return b64(json.dumps(value, separators=(",", ":")).encode())


def pkce_pair() -> tuple[str, str]:
    """A code_verifier and its S256 code_challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, b64(digest)


def code_grant(code: str, verifier: str) -> dict[str, str]:
    """The token request redeeming ``code`` (RFC 6749 §4.1.3, with RFC 7636 §4.5's verifier)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }


def refresh_grant(token: str) -> dict[str, str]:
    """The token request refreshing with ``token`` (RFC 6749 §6)."""
    return {"grant_type": "refresh_token", "refresh_token": token}


def sign(claims: dict[str, Any], key: Any, *, alg: str = "ES256", **header: Any) -> str:
    """A compact JWS of ``claims`` with ``key`` (its ``kid`` in the header)."""
    kid = key.as_dict().get("kid")
    protected = {"alg": alg, **({"kid": kid} if kid else {}), **header}
    return jwt.encode(protected, claims, key, algorithms=[alg])


def assertion_claims(
    client_id: str,
    audience: str,
    *,
    now: float,
    lifetime: int = 60,
    jti: str | None = None,
    **claims: Any,
) -> dict[str, Any]:
    """The claims of an RFC 7523 §3 client assertion: iss = sub = the client."""
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": jti or secrets.token_urlsafe(12),
        **claims,
    }


def client_assertion(
    *,
    client_id: str = JWT_CLIENT,
    audience: str = ISSUER + "/token",
    now: float,
    lifetime: int = 60,
    jti: str | None = None,
    key: Any = CLIENT_KEY,
    alg: str = "ES256",
    **claims: Any,
) -> str:
    """An RFC 7523 client assertion signed with ``key``, always naming the harness's
    ``rp-key-1`` (so a foreign key is a wrong signature, not an unknown kid)."""
    payload = assertion_claims(client_id, audience, now=now, lifetime=lifetime, jti=jti, **claims)
    return sign(payload, key, alg=alg, kid="rp-key-1")


def assertion_form(
    client_id: str, audience: str, key: Any, *, now: float, alg: str = "ES256"
) -> dict[str, str]:
    """private_key_jwt client authentication (RFC 7523 §2.2) as form fields."""
    assertion = sign(assertion_claims(client_id, audience, now=now), key, alg=alg)
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


class DPoPKey:
    """A client's DPoP key pair (a fresh one, or ``key``); :meth:`proof` signs a proof for
    one request."""

    def __init__(self, alg: str = "ES256", *, rsa_bits: int = 2048, key: Any = None) -> None:
        self.alg = alg
        if key is not None:
            self.key: Any = key
        elif alg == "ES256":
            self.key = ECKey.generate_key("P-256", private=True)
        elif alg in ("RS256", "PS256"):
            self.key = RSAKey.generate_key(rsa_bits, private=True)
        else:
            self.key = OKPKey.generate_key("Ed25519", private=True)

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(self.key.as_dict(private=False))

    @property
    def thumbprint(self) -> str:
        """RFC 7638 thumbprint, as joserfc computes it."""
        return str(self.key.thumbprint())

    def claims(
        self,
        *,
        now: float,
        htm: str = "POST",
        htu: str = TOKEN_URL,
        nonce: str | None = None,
        access_token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": htm,
            "htu": htu,
            "iat": int(now),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = b64(hashlib.sha256(access_token.encode()).digest())
        claims.update(extra)
        return claims

    def sign(self, claims: Mapping[str, Any], *, header: Mapping[str, Any] | None = None) -> str:
        full = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.public_jwk, **(header or {})}
        return jwt.encode(full, dict(claims), self.key, algorithms=[self.alg])

    def proof(self, *, now: float, **claims: Any) -> str:
        return self.sign(self.claims(now=now, **claims))


def decode_header(token: str) -> dict[str, Any]:
    """A JWT's header, unverified."""
    return _b64json(token.split(".")[0])


def decode_unverified(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified."""
    return _b64json(token.split(".")[1])


def _b64json(payload: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data
