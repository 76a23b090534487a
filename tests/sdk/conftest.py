"""Fixtures of the SDK tests: signing keys, token factories and the third-party OP."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from stepauth.sdk.jose import KeySet
from tests.conftest import free_port
from tests.helpers.served import serve as serve  # the fixture, for the SDK tests

ISSUER = "https://op.example.com"
CLIENT_ID = "client-1"
NOW = 1_764_000_000.0
API = "https://api.example.com"
OP_REDIRECT_URI = "http://127.0.0.1:9/cb"
#: The callback URLs of the in-process test clients (Starlette/FastAPI, Django: testserver).
APP_REDIRECT_URIS = (
    "http://testserver/stepauth/callback",
    "http://localhost/stepauth/callback",
)


@dataclass(frozen=True)
class Keys:
    rsa: RSAKey
    rsa2: RSAKey
    ec: ECKey
    ed: OKPKey

    def jwks(self, *which: str) -> dict[str, Any]:
        chosen = which or ("rsa", "ec", "ed")
        return {"keys": [getattr(self, n).as_dict(private=False) for n in chosen]}

    def key_set(self, *which: str) -> KeySet:
        return KeySet.from_jwks(self.jwks(*which))


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rsa=RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"}),
        rsa2=RSAKey.generate_key(2048, parameters={"kid": "rsa-2", "use": "sig"}),
        ec=ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"}),
        ed=OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1", "use": "sig"}),
    )


def sign(claims: Mapping[str, Any], key: Any, alg: str = "RS256", **header: Any) -> str:
    """A JWT signed by joserfc (an implementation independent of the SDK's)."""
    hdr: dict[str, Any] = {"alg": alg, "kid": key.kid, **header}
    hdr = {k: v for k, v in hdr.items() if v is not None}
    return jwt.encode(hdr, dict(claims), key, algorithms=[alg])


def id_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-42",
        "aud": CLIENT_ID,
        "exp": NOW + 300,
        "iat": NOW - 5,
        "nonce": "n-0S6_WzA2Mj",
        "acr": "phr",
        "amr": ["pop", "user", "mfa"],
        "auth_time": NOW - 60,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def at_claims(**overrides: Any) -> dict[str, Any]:
    """RFC 9068 access-token claims for :data:`API` after a ``phr`` step-up."""
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-42",
        "aud": API,
        "client_id": "client-1",
        "exp": NOW + 300,
        "iat": NOW - 5,
        "jti": "at-1",
        "acr": "phr",
        "amr": ["pop", "user"],
        "auth_time": NOW - 60,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


# -- the third-party OP (node oidc-provider) -----------------------------------------------------


@dataclass
class OP:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str


@pytest.fixture(scope="session")
def node_op(node_peers: Path) -> Iterator[OP]:
    """peers/op.mjs on a free port; stopped at the end of the session."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "node",
            "op.mjs",
            "--port",
            str(port),
            *(a for uri in (OP_REDIRECT_URI, *APP_REDIRECT_URIS) for a in ("--redirect-uri", uri)),
        ],
        cwd=node_peers,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("ready "):
            raise AssertionError(f"op.mjs did not start: {line!r}")
        yield OP(line.split()[1], "sdk", "sdk-secret", OP_REDIRECT_URI)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def op_rp(op: OP, *, redirect_uri: str = OP_REDIRECT_URI, **kw: Any) -> Any:
    """A RelyingParty for the node OP, from its discovery document."""
    from stepauth.sdk import ProviderMetadata, RelyingParty

    with httpx.Client() as client:
        metadata = ProviderMetadata.discover(op.issuer, client)
    return RelyingParty(
        metadata,
        client_id=op.client_id,
        client_secret=op.client_secret,
        redirect_uri=redirect_uri,
        **kw,
    )


def drive(client: httpx.Client, url: str, redirect_uri: str) -> dict[str, str]:
    """Follow the OP's redirects (cookies kept) until it redirects to ``redirect_uri``."""
    for _ in range(20):
        response = client.get(url)
        if response.status_code not in (302, 303, 307):
            raise AssertionError(f"OP answered {response.status_code}: {response.text[:300]}")
        url = urljoin(url, response.headers["location"])
        if url.startswith(redirect_uri):
            return dict(parse_qsl(urlsplit(url).query))
    raise AssertionError("too many redirects")


def sign_raw(header: Mapping[str, Any], claims: Mapping[str, Any], key: RSAKey) -> str:
    """RS256 over an arbitrary header (for headers a JOSE library refuses to produce)."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    import json

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    private = key.private_key
    assert private is not None
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
    return f"{signing_input}.{b64(signature)}"


class JWKSServer:
    """A real HTTP server publishing a JWK Set that a test can change (and count hits on)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.jwks: dict[str, Any] = {"keys": []}
        self.status = 200
        self.cache_control: str | None = None
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps(server.jwks).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                if server.cache_control:
                    self.send_header("Cache-Control", server.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    yield server
    server.stop()


def token(keys: Keys, acr: str, age: float = 10, **extra: Any) -> str:
    """An RFC 9068 access token for :data:`API` at ``acr``, authenticated ``age`` seconds ago."""
    now = time.time()
    claims = {
        "iss": ISSUER,
        "sub": "user-42",
        "aud": API,
        "client_id": "cli",
        "iat": int(now),
        "exp": int(now) + 300,
        "jti": f"at-{acr}-{age}",
        "acr": acr,
        "auth_time": int(now - age),
        **extra,
    }
    return sign(claims, keys.rsa, typ="at+jwt")
