"""Against a third-party OP: node's oidc-provider (peers/op.mjs), code flow driven by httpx.

oidc-provider treats ``acr_values`` as voluntary: a session with a lower acr is reused and
that acr returned (PEERS.md). The SDK must get ``phr`` by *essential* acr and must refuse the
lower acr answer to a voluntary request - never a silent downgrade (OIDC Core §5.5.1.1, §3.1.3.7
step 12; RFC 9470 §5, OIDC Core §3.1.3.7 step 12).
"""

from __future__ import annotations

import time

import httpx
import pytest

from stepauth.assurance import Challenge, Requirement
from stepauth.sdk import InsufficientAuthentication, JWKSCache, ResourceServer, StepUpAuth
from stepauth.sdk.errors import InvalidToken, StateMismatch
from tests.helpers.served import ServedApp
from tests.sdk.conftest import OP, drive, op_rp

pytestmark = pytest.mark.node

PHR = Requirement(("phr",), 300)
LOW = Requirement(("urn:stepauth:acr:1fa",))


def login_low(op: OP, ua: httpx.Client) -> None:
    """An ordinary sign-in first: the OP session now holds urn:stepauth:acr:1fa."""
    rp = op_rp(op)
    request = rp.authorization_request(LOW)
    tokens = rp.finish(drive(ua, rp.begin(request), rp.redirect_uri), request)
    assert tokens.claims["acr"] == "urn:stepauth:acr:1fa"


def test_essential_acr_gets_phr(node_op: OP) -> None:
    """OIDC Core §5.5.1.1: essential acr in claims makes oidc-provider step the session up."""
    rp = op_rp(node_op, acr_mode="claims")
    with httpx.Client() as ua:
        login_low(node_op, ua)
        request = rp.authorization_request(PHR)
        params = drive(ua, rp.begin(request), rp.redirect_uri)
        assert params["iss"] == node_op.issuer  # RFC 9207
        tokens = rp.finish(params, request)
    assert tokens.claims["acr"] == "phr"
    assert "mfa" in tokens.claims["amr"]
    assert time.time() - tokens.claims["auth_time"] < 60


def test_voluntary_lower_acr_from_an_existing_session_is_refused(node_op: OP) -> None:
    """OIDC Core §5.5.1.1, §3.1.3.7 step 12; RFC 9470 §5:
    acr_values=phr answered with the session's 1fa → StepUp, not a login.
    """
    rp = op_rp(node_op, acr_mode="acr_values")
    with httpx.Client() as ua:
        login_low(node_op, ua)
        request = rp.authorization_request(PHR)
        assert request.params["acr_values"] == "phr"
        params = drive(ua, rp.begin(request), rp.redirect_uri)
        with pytest.raises(InsufficientAuthentication) as info:
            rp.finish(params, request)
    assert info.value.step_up.reason == "acr_not_met"
    assert info.value.step_up.acr_values == ("phr",)


def test_voluntary_lower_acr_at_login_is_refused(node_op: OP) -> None:
    """The user could only present a password (login_acr flag): the OP says 1fa, SDK refuses."""
    rp = op_rp(node_op, acr_mode="acr_values")
    request = rp.authorization_request(PHR)
    url = rp.begin(request) + "&login_acr=urn%3Astepauth%3Aacr%3A1fa"
    with httpx.Client() as ua:
        params = drive(ua, url, rp.redirect_uri)
    with pytest.raises(InsufficientAuthentication):
        rp.finish(params, request)


def test_par_and_async_finish(node_op: OP) -> None:
    """RFC 9126 push, then the async driver of the same flow."""
    import asyncio

    rp = op_rp(node_op, acr_mode="claims", use_par=True)
    request = rp.authorization_request(PHR)
    url = rp.begin(request)
    assert "request_uri=" in url
    assert "claims=" not in url
    with httpx.Client() as ua:
        params = drive(ua, url, rp.redirect_uri)
    tokens = asyncio.run(rp.afinish(params, request))
    assert tokens.claims["acr"] == "phr"


def test_a_code_cannot_be_redeemed_with_another_state(node_op: OP) -> None:
    rp = op_rp(node_op, acr_mode="claims")
    first = rp.authorization_request(PHR)
    other = rp.authorization_request(PHR)
    with httpx.Client() as ua:
        params = drive(ua, rp.begin(first), rp.redirect_uri)
    with pytest.raises(StateMismatch):
        rp.finish(params, other)


def test_step_up_for_another_subject_is_refused(node_op: OP) -> None:
    """OIDC Core §3.1.2.2: the stepped-up token must be for the same user."""
    rp = op_rp(node_op, acr_mode="claims")
    request = rp.authorization_request(PHR)
    with httpx.Client() as ua:
        params = drive(ua, rp.begin(request) + "&login_hint=mallory", rp.redirect_uri)
    with pytest.raises(InvalidToken, match="different subject"):
        rp.finish(params, request, expected_subject="alice")


def test_api_flow_401_new_token_200_old_token_401(node_op: OP, serve: object) -> None:
    """RFC 9470 end to end: the OP's JWT access tokens, the SDK's RS and StepUpAuth."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from stepauth.sdk.starlette import StepAuth, require

    rp = op_rp(node_op, acr_mode="claims")
    rs = ResourceServer(
        issuer=node_op.issuer,
        audience=f"{node_op.issuer}/api",
        jwks=JWKSCache(rp.metadata.jwks_uri),
    )

    async def transfer(request: Request) -> JSONResponse:
        return JSONResponse({"acr": request.state.stepauth_claims["acr"]})

    app = Starlette(routes=[Route("/transfer", require("phr", max_age=300)(transfer))])
    app.state.stepauth = StepAuth(resource_server=rs)
    api: ServedApp = serve(app)  # type: ignore[operator]

    with httpx.Client() as ua:
        low = rp.authorization_request(Requirement(("urn:stepauth:acr:1fa",)))
        weak = rp.finish(drive(ua, rp.begin(low), rp.redirect_uri), low).access_token
        assert weak is not None

        def step_up(challenge: Challenge) -> str:
            request = rp.authorization_request(Requirement(challenge.acr_values, challenge.max_age))
            tokens = rp.finish(drive(ua, rp.begin(request), rp.redirect_uri), request)
            assert tokens.access_token is not None
            return tokens.access_token

        with httpx.Client(auth=StepUpAuth(weak, step_up)) as client:
            response = client.get(f"{api.url}/transfer")
        assert response.status_code == 200
        assert response.json() == {"acr": "phr"}
        old = httpx.get(f"{api.url}/transfer", headers={"Authorization": f"Bearer {weak}"})
        assert old.status_code == 401
        assert 'acr_values="phr"' in old.headers["www-authenticate"]
