"""The client side of DPoP (RFC 9449): ``StepUpAuth`` and ``RelyingParty`` sign proofs with the
app's key, follow a server's nonce exactly once (§8, §9), and compose with the RFC 9470 step-up.

The resource server is a Starlette app guarded by the SDK and the token endpoint a Starlette app
checking proofs with the SDK's checker, both served by uvicorn (real HTTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from stepauth.assurance import Challenge, Requirement
from stepauth.sdk import JWKSCache, ProviderMetadata, RelyingParty, ResourceServer, StepUpAuth
from stepauth.sdk.dpop import DPoPSigner, ECDPoPKey
from stepauth.sdk.dpop_check import DPoPChecker, DPoPNonces, split_dpop_headers
from stepauth.sdk.errors import AuthorizationFailed, InvalidDPoPProof, UseDPoPNonce
from stepauth.sdk.ledger import MemoryLedger
from stepauth.sdk.starlette import StepAuth, require
from tests.helpers.served import ServedApp
from tests.sdk.conftest import API, CLIENT_ID, ISSUER, NOW, Keys, id_claims, sign, token

Serve = Callable[[Any], ServedApp]


def bound(keys: Keys, signer: DPoPSigner, acr: str) -> str:
    return token(keys, acr, cnf={"jkt": signer.jkt})


class Counter:
    """Every response the client receives, in order (httpx event hook)."""

    def __init__(self) -> None:
        self.seen: list[httpx.Response] = []

    def __call__(self, response: httpx.Response) -> None:
        self.seen.append(response)

    @property
    def statuses(self) -> list[int]:
        return [r.status_code for r in self.seen]


def api_app(keys: Keys, *, nonces: DPoPNonces | None) -> Starlette:
    async def transfer(request: Request) -> JSONResponse:
        claims = request.state.stepauth_claims
        return JSONResponse({"acr": claims["acr"], "jkt": claims["cnf"]["jkt"]})

    guarded = require("phr", max_age=300)(transfer)
    app = Starlette(routes=[Route("/transfer", guarded, methods=["POST"])])
    app.state.stepauth = StepAuth(
        resource_server=ResourceServer(
            issuer=ISSUER,
            audience=API,
            jwks=JWKSCache(keys=keys.jwks("rsa")),
            dpop=DPoPChecker(ledger=MemoryLedger(), nonces=nonces),
            require_dpop=True,
        )
    )
    return app


def test_nonce_required_client_retries_once_and_succeeds(keys: Keys, serve: Serve) -> None:
    api = serve(api_app(keys, nonces=DPoPNonces()))
    signer = DPoPSigner()
    counter = Counter()
    auth = StepUpAuth(bound(keys, signer, "phr"), lambda c: "", dpop=signer)
    with httpx.Client(auth=auth, event_hooks={"response": [counter]}) as client:
        response = client.post(f"{api.url}/transfer?amount=10")
        assert response.status_code == 200
        assert response.json()["jkt"] == signer.jkt
        first = counter.seen[0]
        assert first.status_code == 401
        assert 'DPoP error="use_dpop_nonce"' in first.headers["www-authenticate"]
        assert first.headers["dpop-nonce"]
        assert counter.statuses == [401, 200]
        # The origin's nonce is remembered: the next call needs no retry.
        assert client.post(f"{api.url}/transfer").status_code == 200
    assert counter.statuses == [401, 200, 200]


def test_client_does_not_loop_on_repeated_use_dpop_nonce(serve: Serve) -> None:
    async def always(request: Request) -> PlainTextResponse:
        return PlainTextResponse(
            "use_dpop_nonce",
            401,
            headers={
                "WWW-Authenticate": 'DPoP error="use_dpop_nonce", algs="ES256"',
                "DPoP-Nonce": f"n-{time.monotonic_ns()}",
            },
        )

    api = serve(Starlette(routes=[Route("/transfer", always, methods=["POST"])]))
    signer = DPoPSigner()
    counter = Counter()
    auth = StepUpAuth("opaque-token", lambda c: "", dpop=signer)
    with httpx.Client(auth=auth, event_hooks={"response": [counter]}) as client:
        response = client.post(f"{api.url}/transfer")
    assert response.status_code == 401
    assert counter.statuses == [401, 401]


def test_step_up_with_dpop_composes_with_the_nonce(keys: Keys, serve: Serve) -> None:
    """401 use_dpop_nonce → retry → 401 DPoP insufficient_user_authentication → step-up →
    the stepped-up token (bound to the same key) with a fresh proof → 200."""
    api = serve(api_app(keys, nonces=DPoPNonces()))
    signer = DPoPSigner()
    seen: list[Challenge] = []

    def step_up(challenge: Challenge) -> str:
        seen.append(challenge)
        return bound(keys, signer, "phr")

    counter = Counter()
    auth = StepUpAuth(bound(keys, signer, "urn:stepauth:acr:1fa"), step_up, dpop=signer)
    with httpx.Client(auth=auth, event_hooks={"response": [counter]}) as client:
        response = client.post(f"{api.url}/transfer")
    assert response.status_code == 200
    assert response.json() == {"acr": "phr", "jkt": signer.jkt}
    assert counter.statuses == [401, 401, 200]
    (challenge,) = seen
    assert challenge.scheme == "DPoP"
    assert challenge.error == "insufficient_user_authentication"
    assert (challenge.acr_values, challenge.max_age) == (("phr",), 300)
    assert challenge.params["algs"].startswith("ES256")


def test_bearer_client_against_a_dpop_only_api_gets_a_dpop_challenge(
    keys: Keys, serve: Serve
) -> None:
    api = serve(api_app(keys, nonces=None))
    response = httpx.post(
        f"{api.url}/transfer", headers={"Authorization": f"Bearer {token(keys, 'phr')}"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


async def test_async_client_follows_the_nonce_too(keys: Keys, serve: Serve) -> None:
    api = serve(api_app(keys, nonces=DPoPNonces()))
    signer = DPoPSigner(ECDPoPKey())
    auth = StepUpAuth(bound(keys, signer, "phr"), lambda c: "", dpop=signer)
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.post(f"{api.url}/transfer")
    assert response.status_code == 200


# -- the token endpoint ---------------------------------------------------------------------


class TokenEndpoint:
    """A token endpoint that requires DPoP proofs with its nonce (RFC 9449 §5, §8)."""

    def __init__(self, keys: Keys, *, always_nonce: bool = False) -> None:
        self.keys = keys
        self.nonce_for_id_token = ""
        self.checker = DPoPChecker(ledger=MemoryLedger(), nonces=DPoPNonces())
        self.always_nonce = always_nonce
        self.grants: list[tuple[str, str]] = []  # (grant_type, jkt) of the accepted requests
        self.statuses: list[int] = []

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        proofs = split_dpop_headers(request.headers.getlist("dpop"))
        try:
            if self.always_nonce:
                raise UseDPoPNonce("always", nonce=self.checker.nonces.issue())  # type: ignore[union-attr]
            checked = self.checker.check(
                proofs, method=request.method, url=str(request.url), access_token=None
            )
            await self.checker.aconsume(checked)
        except UseDPoPNonce as exc:
            self.statuses.append(400)
            return JSONResponse(
                {"error": "use_dpop_nonce", "error_description": "nonce required"},
                400,
                headers={"DPoP-Nonce": exc.nonce},
            )
        except InvalidDPoPProof:
            self.statuses.append(400)
            return JSONResponse({"error": "invalid_dpop_proof"}, 400)
        grant = str(form["grant_type"])
        self.grants.append((grant, checked.jkt))
        self.statuses.append(200)
        body: dict[str, Any] = {"access_token": "at-1", "token_type": "DPoP", "expires_in": 300}
        if grant == "authorization_code":
            claims = id_claims(nonce=self.nonce_for_id_token)
            body["id_token"] = sign(claims, self.keys.rsa)
            body["refresh_token"] = "rt-1"
        return JSONResponse(body)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/token", self.token, methods=["POST"])])


def rp_for(keys: Keys, url: str, signer: DPoPSigner, **kw: Any) -> RelyingParty:
    metadata = ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{url}/token",
        jwks_uri=f"{ISSUER}/jwks",
        pushed_authorization_request_endpoint=f"{url}/par",
    )
    return RelyingParty(
        metadata,
        client_id=CLIENT_ID,
        redirect_uri="https://rp.example/cb",
        jwks=JWKSCache(keys=keys.jwks("rsa"), clock=lambda: NOW),
        clock=lambda: NOW,
        dpop=signer,
        **kw,
    )


def test_code_and_refresh_grants_carry_proofs_and_follow_the_nonce_once(
    keys: Keys, serve: Serve
) -> None:
    endpoint = TokenEndpoint(keys)
    served = serve(endpoint.app())
    signer = DPoPSigner()
    rp = rp_for(keys, served.url, signer)
    request = rp.authorization_request(Requirement(("phr",), None))
    endpoint.nonce_for_id_token = request.nonce
    tokens = rp.finish({"code": "c-1", "state": request.state}, request)
    assert tokens.token_type == "DPoP"
    assert endpoint.statuses == [400, 200]  # use_dpop_nonce, then the one retry
    refreshed = rp.refresh("rt-1")
    assert (refreshed.access_token, refreshed.token_type) == ("at-1", "DPoP")
    assert endpoint.statuses == [400, 200, 200]  # the nonce was remembered for the origin
    assert endpoint.grants == [
        ("authorization_code", signer.jkt),
        ("refresh_token", signer.jkt),
    ]


def test_token_endpoint_that_keeps_asking_for_a_nonce_is_not_looped_on(
    keys: Keys, serve: Serve
) -> None:
    endpoint = TokenEndpoint(keys, always_nonce=True)
    served = serve(endpoint.app())
    rp = rp_for(keys, served.url, DPoPSigner())
    with pytest.raises(AuthorizationFailed) as caught:
        rp.refresh("rt-1")
    assert caught.value.error == "use_dpop_nonce"
    assert endpoint.statuses == [400, 400]


def test_rp_sends_dpop_jkt_in_the_authorization_request_and_par(keys: Keys) -> None:
    """RFC 9449 §10: ``dpop_jkt`` binds the authorization code to the client's key."""
    signer = DPoPSigner()
    rp = rp_for(keys, "https://op.example.com", signer, dpop_jkt=True)
    request = rp.authorization_request(Requirement(("phr",), None))
    assert dict(parse_qsl(urlsplit(request.url).query))["dpop_jkt"] == signer.jkt
    from stepauth.sdk.authorize import par_body

    assert par_body(request)["dpop_jkt"] == signer.jkt
    plain = rp_for(keys, "https://op.example.com", signer)
    assert "dpop_jkt" not in plain.authorization_request(None).params
