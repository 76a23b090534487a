"""The FAPI 2.0 end-to-end setting: ``stepauth serve``, an SDK-protected API, the node RP.

* The Provider is a real ``stepauth serve`` process (SQLite in a temporary directory) with
  one fapi2 client (``private_key_jwt`` with an ES256 key made here, ES256 ID tokens,
  ``request_object_signing_alg = "ES256"`` so every pushed request is a signed request
  object, RFC 9101) and ``[dpop] require_nonce = true`` (RFC 9449 §8). The user ``alice``
  has a password and a TOTP authenticator (``stepauth users add-totp --secret``).
* The API is a Starlette app guarded by the SDK (``ResourceServer(require_dpop=True)``)
  served by uvicorn on a thread: ``POST /transfer`` needs ``urn:stepauth:acr:2fa``.
* ``peers/rp-fapi2.mjs`` (openid-client v6) is the RP; it gets the private client and DPoP
  keys as JWKs in its environment and prints what happened as JSON.

The token and PAR requests the misuse tests make are built with joserfc
(:mod:`tests.helpers.client_side`), independent of both openid-client and the SDK.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bench._servers import free_port, stepauth_command, stepauth_config
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stepauth.sdk import JWKSCache, ResourceServer
from stepauth.sdk.dpop_check import DPoPChecker
from stepauth.sdk.ledger import MemoryLedger
from stepauth.sdk.starlette import StepAuth, require
from tests.conftest import run_node
from tests.helpers.client_side import DPoPKey, assertion_form
from tests.helpers.served import ServedApp

CLIENT_ID = "budget-app"
REDIRECT_URI = "https://budget.example/callback"  # never fetched: the user agent stops there
USERNAME = "alice"
ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"


def _toml(value: Any) -> str:
    """A TOML value (inline tables for dicts) of JSON-like data."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


@dataclass
class Setting:
    """The running Provider and API, and every secret the RP holds."""

    issuer: str
    api: str  # the API's resource identifier (RFC 8707) and base URL
    client_key: ECKey  # private_key_jwt and request objects (ES256)
    dpop_key: ECKey  # the RP's DPoP key (ES256)
    password: str
    totp_secret: str

    @property
    def transfer_url(self) -> str:
        return f"{self.api}/transfer"


def client_table(api: str, key: ECKey) -> str:
    table = {
        "client_id": CLIENT_ID,
        "client_name": "Budget App Ltd",
        "profile": "fapi2",
        "token_endpoint_auth_method": "private_key_jwt",
        "redirect_uris": [REDIRECT_URI],
        "id_token_signed_response_alg": "ES256",
        "request_object_signing_alg": "ES256",
        "resources": [api],
        "acr_values": "required",
        "jwks": {"keys": [key.as_dict(private=False)]},
    }
    return "[[clients]]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in table.items()) + "\n"


def _cli(args: list[str], directory: Path, env: dict[str, str], stdin: str = "") -> None:
    """A ``stepauth`` command run in ``directory`` (where its outbox file goes)."""
    proc = subprocess.run(
        [*stepauth_command(), *args],
        cwd=directory,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"stepauth {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")


@contextmanager
def provider_process(directory: Path, setting: Setting, port: int) -> Iterator[None]:
    """``stepauth serve`` with the fapi2 client; alice gets her password and TOTP first."""
    extra = "[dpop]\nrequire_nonce = true\n\n" + client_table(setting.api, setting.client_key)
    config = stepauth_config(directory, port=port, clients=[], extra_toml=extra)
    env = {"STEPAUTH_CONFIG": str(config), "STEPAUTH_SECRET_KEY": secrets.token_urlsafe(32)}
    _cli(["users", "add", USERNAME, "--password-stdin"], directory, env, setting.password + "\n")
    _cli(["users", "add-totp", USERNAME, "--secret", setting.totp_secret], directory, env)
    log_path = directory / "stepauth-serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*stepauth_command(), "serve", "--config", str(config), "--log-level", "warning"],
            cwd=directory,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(f"{setting.issuer}/.well-known/openid-configuration", process, log_path)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 90  # a busy 2-CPU machine can take a while
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"stepauth serve exited:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"stepauth serve not ready:\n{log_path.read_text()[-4000:]}")


def api_app(issuer: str, audience: str) -> Starlette:
    """The bank's API: DPoP-bound tokens of the fapi2 client only (RFC 9449 §7, RFC 9068
    §2.2); a transfer needs two factors (RFC 9470 step-up otherwise)."""
    resource_server = ResourceServer(
        issuer=issuer,
        audience=audience,
        jwks=JWKSCache(f"{issuer}/jwks"),
        allowed_clients=(CLIENT_ID,),
        dpop=DPoPChecker(ledger=MemoryLedger()),
        require_dpop=True,
    )

    @require(ACR_2FA)
    async def transfer(request: Request) -> JSONResponse:
        claims = request.state.stepauth_claims
        order = await request.json()
        return JSONResponse({"sent": order["amount"], "sub": claims["sub"], "acr": claims["acr"]})

    app = Starlette(routes=[Route("/transfer", transfer, methods=["POST"])])
    app.state.stepauth = StepAuth(resource_server=resource_server)
    return app


@contextmanager
def api_server(app: Starlette, port: int) -> Iterator[None]:
    """uvicorn on a thread (no signal handlers off the main thread)."""
    served = ServedApp(app, port=port, lifespan="off")
    try:
        yield
    finally:
        served.stop()


@contextmanager
def fapi2_setting(directory: Path) -> Iterator[Setting]:
    """The Provider and the API on free loopback ports, with fresh keys and secrets."""
    provider_port, api_port = free_port(), free_port()
    setting = Setting(
        issuer=f"http://127.0.0.1:{provider_port}",
        api=f"http://127.0.0.1:{api_port}",
        client_key=ECKey.generate_key("P-256", parameters={"kid": "budget-1"}, private=True),
        dpop_key=ECKey.generate_key("P-256", private=True),
        password=secrets.token_urlsafe(12),
        totp_secret=base64.b32encode(secrets.token_bytes(20)).decode(),
    )
    with (
        provider_process(directory, setting, provider_port),
        api_server(api_app(setting.issuer, setting.api), api_port),
    ):
        yield setting


def run_rp(node_peers: Path, setting: Setting, *args: str) -> dict[str, Any]:
    """``peers/rp-fapi2.mjs`` against the setting; its JSON report."""
    out = run_node(
        node_peers / "rp-fapi2.mjs",
        "--issuer",
        setting.issuer,
        "--client-id",
        CLIENT_ID,
        "--redirect-uri",
        REDIRECT_URI,
        "--username",
        USERNAME,
        "--resource",
        setting.api,
        "--api",
        setting.transfer_url,
        *args,
        env={
            "RP_PASSWORD": setting.password,
            "RP_TOTP_SECRET": setting.totp_secret,
            "RP_CLIENT_JWK": json.dumps(setting.client_key.as_dict(private=True)),
            "RP_DPOP_JWK": json.dumps(setting.dpop_key.as_dict(private=True)),
        },
    )
    result: dict[str, Any] = json.loads(out)
    return result


# ---------------------------------------------------------------- requests built here
def dpop_proof(
    key: ECKey,
    htm: str,
    htu: str,
    *,
    token: str | None = None,
    nonce: str | None = None,
) -> str:
    """An RFC 9449 §4.2 proof signed by joserfc."""
    return DPoPKey(key=key).proof(
        now=time.time(), htm=htm, htu=htu, access_token=token, nonce=nonce
    )


def client_assertion(setting: Setting) -> dict[str, str]:
    """private_key_jwt client authentication (RFC 7523 §2.2), ``aud`` the issuer."""
    return assertion_form(CLIENT_ID, setting.issuer, setting.client_key, now=time.time())


def post_with_dpop(
    setting: Setting, path: str, data: dict[str, str], key: ECKey | None
) -> httpx.Response:
    """POST to the Provider with a proof by ``key`` (none without one); a use_dpop_nonce
    answer (RFC 9449 §8) is retried once with the nonce and a fresh proof."""
    url = f"{setting.issuer}{path}"

    def send(nonce: str | None) -> httpx.Response:
        headers = {} if key is None else {"DPoP": dpop_proof(key, "POST", url, nonce=nonce)}
        return httpx.post(url, data=data, headers=headers)

    response = send(None)
    nonce = response.headers.get("dpop-nonce")
    if key is not None and nonce is not None and response.status_code == 400:
        retry = response.json().get("error") == "use_dpop_nonce"
        response = send(nonce) if retry else response
    return response
