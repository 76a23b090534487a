"""Browser step-up with ``max_age=0``, the session's access token, and RP-Initiated Logout,
against node's oidc-provider.

``max_age=0`` means "authenticated after the request was made" (OIDC Core §3.1.2.1 (max_age)):
the step-up passes however long the user then took, answers
exactly one action, and the next one asks again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from stepauth.assurance import Requirement
from stepauth.assurance.requirement import MAX_AGE_LEEWAY
from stepauth.sdk import BrowserStepUp, JWKSCache, ProviderMetadata, RelyingParty, ResourceServer
from stepauth.sdk.errors import SDKError
from stepauth.sdk.starlette import StepAuth, require
from tests.sdk.browser_flow import authorize_params, confirm_fields, through_op
from tests.sdk.conftest import OP, op_rp

pytestmark = pytest.mark.node

CALLBACK = "http://testserver/stepauth/callback"


class Clock:
    """Real time plus an offset a test moves forward (the user taking their time)."""

    def __init__(self) -> None:
        import time

        self._time = time.time
        self.offset = 0.0

    def __call__(self) -> float:
        return self._time() + self.offset


@pytest.fixture
def ua() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def make_app(op: OP, clock: Clock, **browser: Any) -> tuple[TestClient, BrowserStepUp]:
    rp = op_rp(op, redirect_uri=CALLBACK, acr_mode="claims", clock=clock)
    flow = BrowserStepUp(rp, **browser)
    stepauth = StepAuth(browser=flow)

    @require("urn:stepauth:acr:1fa")
    async def login(request: Request) -> Response:
        return PlainTextResponse("signed in")

    @require("phr", max_age=300)
    async def view(request: Request) -> Response:
        return PlainTextResponse("details")

    @require("phr", max_age=0)
    async def payout(request: Request) -> Response:
        form = await request.form()
        return PlainTextResponse(f"payout changed to {form['iban']}")

    async def token(request: Request) -> Response:
        return JSONResponse({"access_token": BrowserStepUp.access_token(request.session)})

    app = Starlette(
        routes=[
            Route("/login", login),
            Route("/view", view),
            Route("/payout", payout, methods=["POST"]),
            Route("/token", token),
            *stepauth.routes(),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="fresh-" * 8)],
    )
    app.state.stepauth = stepauth
    return TestClient(app, follow_redirects=False), flow


def sign_in(client: TestClient, ua: httpx.Client) -> None:
    response = client.get("/login")
    assert response.status_code == 303
    params = through_op(ua, response.headers["location"], CALLBACK)
    assert client.get("/stepauth/callback", params=params).status_code == 303


def step_up_payout(client: TestClient, ua: httpx.Client, clock: Clock) -> dict[str, str]:
    response = client.post("/payout", data={"iban": "DE89370400440532013000"})
    assert response.status_code == 303
    params = authorize_params(response.headers["location"])
    assert (
        params["max_age"] == "0"
    )  # the real requirement, sent as it is (OIDC Core §3.1.2.1 (max_age))
    page = client.get(
        "/stepauth/callback", params=through_op(ua, response.headers["location"], CALLBACK)
    )
    assert page.status_code == 200, page.text
    return confirm_fields(page.text)


def test_max_age_zero_is_met_by_an_authentication_after_the_request(
    node_op: OP, ua: httpx.Client
) -> None:
    """OIDC Core §3.1.2.1 (max_age): the user reads the confirmation page for 30 s (well past
    the leeway); the authentication still answers the request it was made for."""
    clock = Clock()
    client, _ = make_app(node_op, clock)
    sign_in(client, ua)
    fields = step_up_payout(client, ua, clock)
    clock.offset = 30.0
    assert MAX_AGE_LEEWAY < 30.0
    done = client.post("/payout", data=fields)
    assert done.status_code == 200
    assert done.text == "payout changed to DE89370400440532013000"


def test_max_age_zero_answers_one_action_then_asks_again(node_op: OP, ua: httpx.Client) -> None:
    """A second "authenticate now" action is never met by the first one's step-up."""
    clock = Clock()
    client, _ = make_app(node_op, clock)
    sign_in(client, ua)
    fields = step_up_payout(client, ua, clock)
    clock.offset = 30.0
    assert client.post("/payout", data=fields).status_code == 200
    again = client.post("/payout", data=fields)
    assert again.status_code == 303
    assert authorize_params(again.headers["location"])["max_age"] == "0"


def test_max_age_zero_mark_lapses_after_fresh_ttl(node_op: OP, ua: httpx.Client) -> None:
    """A step-up left unconfirmed is not kept for later: past fresh_ttl it asks again."""
    clock = Clock()
    client, _ = make_app(node_op, clock, fresh_ttl=60)
    sign_in(client, ua)
    fields = step_up_payout(client, ua, clock)
    clock.offset = 61.0
    late = client.post("/payout", data=fields)
    assert late.status_code == 303


def test_an_earlier_session_never_meets_max_age_zero(node_op: OP, ua: httpx.Client) -> None:
    """Signed in a minute ago, even at phr, is not "now": the action steps up."""
    clock = Clock()
    client, _ = make_app(node_op, clock)
    sign_in(client, ua)
    response = client.get("/view")
    assert response.status_code == 303
    params = through_op(ua, response.headers["location"], CALLBACK)
    assert client.get("/stepauth/callback", params=params).status_code == 303
    assert client.get("/view").status_code == 200
    clock.offset = 60.0
    stale = client.post("/payout", data={"iban": "DE89370400440532013000"})
    assert stale.status_code == 303


def test_session_keeps_the_access_token_for_api_calls(node_op: OP, ua: httpx.Client) -> None:
    """The callback keeps the token response's access token with the ID token: the API of
    the OP's resource accepts it (RFC 9068) as this user's, at the session's level."""
    client, flow = make_app(node_op, Clock())
    assert client.get("/token").json() == {"access_token": None}
    sign_in(client, ua)
    token = client.get("/token").json()["access_token"]
    assert isinstance(token, str)
    assert token
    rp = op_rp(node_op)
    api = ResourceServer(
        issuer=node_op.issuer,
        audience=f"{node_op.issuer}/api",
        jwks=JWKSCache(rp.metadata.jwks_uri),
    )
    claims = api.verify(token, Requirement(("urn:stepauth:acr:1fa",)))
    assert claims["acr"] == "urn:stepauth:acr:1fa"
    assert claims["sub"]
    assert flow.access_token({}) is None
    assert flow.access_token({"stepauth": {"access_token": 42}}) is None


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_logout_url_carries_hint_redirect_and_state(node_op: OP) -> None:
    """RP-Initiated Logout 1.0 §2: id_token_hint, post_logout_redirect_uri with client_id,
    state; the OP's discovery names end_session_endpoint."""
    rp = op_rp(node_op)
    endpoint = rp.metadata.end_session_endpoint
    assert isinstance(endpoint, str)
    assert endpoint.startswith(node_op.issuer)
    url = rp.logout_url(
        id_token_hint="h.p.s", post_logout_redirect_uri="https://rp.example/bye", state="s-1"
    )
    assert url.startswith(endpoint + "?")
    assert _query(url) == {
        "id_token_hint": ["h.p.s"],
        "post_logout_redirect_uri": ["https://rp.example/bye"],
        "client_id": [node_op.client_id],
        "state": ["s-1"],
    }
    assert _query(rp.logout_url(id_token_hint="h.p.s")) == {"id_token_hint": ["h.p.s"]}
    assert _query(rp.logout_url()) == {"client_id": [node_op.client_id]}
    with pytest.raises(SDKError):
        rp.logout_url(state="s-1")  # state comes back only on a post_logout_redirect_uri


def test_logout_url_is_accepted_by_the_op(node_op: OP, ua: httpx.Client) -> None:
    """The OP answers the built URL with its logout confirmation, not an error."""
    clock = Clock()
    client, _ = make_app(node_op, clock)
    sign_in(client, ua)
    rp = op_rp(node_op)
    page = ua.get(rp.logout_url())
    assert page.status_code == 200
    assert "logout" in page.text.lower()


def test_logout_url_needs_an_end_session_endpoint() -> None:
    metadata = ProviderMetadata.from_dict(
        {
            "issuer": "https://op.example.com",
            "authorization_endpoint": "https://op.example.com/authorize?tenant=1",
            "token_endpoint": "https://op.example.com/token",
            "jwks_uri": "https://op.example.com/jwks",
        },
        expected_issuer="https://op.example.com",
    )
    assert metadata.end_session_endpoint is None
    rp = RelyingParty(metadata, client_id="c", redirect_uri="https://rp.example/cb")
    with pytest.raises(SDKError):
        rp.logout_url()
    with_query = ProviderMetadata.from_dict(
        {
            "issuer": "https://op.example.com",
            "authorization_endpoint": "https://op.example.com/authorize",
            "token_endpoint": "https://op.example.com/token",
            "jwks_uri": "https://op.example.com/jwks",
            "end_session_endpoint": "https://op.example.com/logout?tenant=1",
        },
        expected_issuer="https://op.example.com",
    )
    rp = RelyingParty(with_query, client_id="c", redirect_uri="https://rp.example/cb")
    assert rp.logout_url() == "https://op.example.com/logout?tenant=1&client_id=c"


@pytest.fixture(params=["memory", "redis"])
def pending_store(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The pending store the freshness mark is recorded in: process memory, or a real Redis
    shared by every instance."""
    if request.param == "memory":
        yield {}
        return
    import redis

    from stepauth.sdk.redis_stores import RedisPendingStore

    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    yield {"pending": RedisPendingStore(client, prefix=request.getfixturevalue("redis_prefix"))}
    client.close()


def test_max_age_zero_mark_replayed_from_an_older_session_cookie_is_refused(
    node_op: OP, ua: httpx.Client, pending_store: dict[str, Any]
) -> None:
    """OIDC Core §3.1.2.1 (max_age), one action per "authenticate now": a cookie session
    copied before the mark was used (or a second request sent at once with it) finds the mark spent
    on the server,
    within fresh_ttl and past the 5 s leeway."""
    clock = Clock()
    client, _ = make_app(node_op, clock, **pending_store)
    sign_in(client, ua)
    fields = step_up_payout(client, ua, clock)
    clock.offset = 30.0
    copied = httpx.Cookies(client.cookies)  # the session as it was before the action
    assert client.post("/payout", data=fields).status_code == 200
    client.cookies = copied
    replayed = client.post("/payout", data=fields)
    assert replayed.status_code == 303
    assert authorize_params(replayed.headers["location"])["max_age"] == "0"
