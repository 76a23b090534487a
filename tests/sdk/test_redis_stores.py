"""Pending actions and transaction grants on the real Redis: shared by instances, single use
under concurrency, dropped at their TTL.

Standards: RFC 6749 §10.12 / OIDC Core §3.1.2.2 (a callback's state is used once), PSD2 RTS
Art. 5(1) and RFC 9396 §2 (an approved transaction runs once, for exactly its details).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from stepauth.assurance import Requirement
from stepauth.sdk import BrowserStepUp
from stepauth.sdk.authorize import build_authorization_request
from stepauth.sdk.binding import Binding
from stepauth.sdk.browser import SESSION_KEY
from stepauth.sdk.pending import PendingAction
from stepauth.sdk.redis_stores import RedisPendingStore, SyncRedisLedger
from stepauth.sdk.starlette import StepAuth, require
from tests.sdk.bound_flow import browser_rp as op_rp_offline
from tests.sdk.browser_flow import confirm_fields, through_op
from tests.sdk.conftest import OP, op_rp

pytestmark = pytest.mark.redis

PAYMENT = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "250.00"},
        "creditorName": "Max Mustermann",
        "creditorAccount": {"iban": "DE89370400440532013000"},
    }
]
OTHER = [{**PAYMENT[0], "instructedAmount": {"currency": "EUR", "amount": "251.00"}}]


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis[Any]]:
    c: redis.Redis[Any] = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def pending_action(now: float, *, binding: Binding | None = None) -> PendingAction:
    request = build_authorization_request(
        authorization_endpoint="https://op.example/authorize",
        client_id="c",
        redirect_uri="https://rp.example/cb",
        requirement=Requirement(("phr",), 0),
        authorization_details=PAYMENT if binding is not None else None,
    )
    return PendingAction(
        request=request,
        method="POST",
        path="/transfer?x=1",
        form=(("amount", "250"), ("iban", "DE89370400440532013000")),
        subject="user-42",
        created_at=now,
        binding=binding,
    )


def test_pending_action_round_trips_and_is_taken_once(
    redis_url: str, client: redis.Redis[Any], redis_prefix: str
) -> None:
    """OIDC Core §3.1.2.2: a state finds its action once (on another connection, as another instance
    would); the second take finds nothing."""
    store = RedisPendingStore(client, prefix=redis_prefix)
    now = time.time()
    action = pending_action(now)
    store.put(action.request.state, action, expires_at=now + 600)
    with redis.Redis.from_url(redis_url) as other:
        taken = RedisPendingStore(other, prefix=redis_prefix).take(
            action.request.state, now=now + 1
        )
    assert taken == action
    assert taken is not None
    assert taken.request.requirement == Requirement(("phr",), 0)
    assert taken.binding is None
    assert store.take(action.request.state, now=now + 1) is None


def test_pending_action_has_a_ttl_and_expires(client: redis.Redis[Any], redis_prefix: str) -> None:
    """The key carries its TTL in Redis; past expires_at the app's clock refuses it too."""
    store = RedisPendingStore(client, prefix=redis_prefix)
    now = time.time()
    action = pending_action(now)
    store.put(action.request.state, action, expires_at=now + 600)
    ttl = client.pttl(f"{redis_prefix}pending:{action.request.state}")
    assert 590_000 < ttl <= 600_000
    assert store.take(action.request.state, now=now + 601) is None
    assert client.exists(f"{redis_prefix}pending:{action.request.state}") == 0  # consumed
    born_expired = pending_action(now)
    store.put(born_expired.request.state, born_expired, expires_at=now - 1)
    assert client.exists(f"{redis_prefix}pending:{born_expired.request.state}") == 0


def test_pending_action_with_a_binding_comes_back_with_the_store_registry(
    client: redis.Redis[Any], redis_prefix: str
) -> None:
    store = RedisPendingStore(client, prefix=redis_prefix)
    now = time.time()
    action = pending_action(now, binding=Binding(lambda fields: PAYMENT))
    store.put(action.request.state, action, expires_at=now + 60)
    taken = store.take(action.request.state, now=now)
    assert taken is not None
    assert taken.binding is not None
    assert taken.binding.registry is store.registry
    assert taken.binding.details({}) == ()  # the function is code: not stored, not replayed
    assert taken.request.authorization_details == tuple(PAYMENT)
    taken.binding.check_granted(PAYMENT, taken.request.authorization_details)


def _race(workers: int, attempt: Callable[[], object]) -> list[object]:
    barrier = threading.Barrier(workers)
    results: list[object] = [None] * workers

    def run(i: int) -> None:
        barrier.wait()
        results[i] = attempt()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_callbacks_with_one_state_exactly_one_wins(
    redis_url: str, client: redis.Redis[Any], redis_prefix: str
) -> None:
    """A replayed callback racing the real one: GETDEL hands the action to exactly one."""
    now = time.time()
    action = pending_action(now)
    RedisPendingStore(client, prefix=redis_prefix).put(
        action.request.state, action, expires_at=now + 60
    )
    clients = [redis.Redis.from_url(redis_url) for _ in range(8)]
    stores = iter([RedisPendingStore(c, prefix=redis_prefix) for c in clients])
    lock = threading.Lock()

    def attempt() -> object:
        with lock:
            store = next(stores)
        return store.take(action.request.state, now=now)

    results = _race(8, attempt)
    for c in clients:
        c.close()
    assert sum(r is not None for r in results) == 1


def _bound_session(expires_at: float) -> dict[str, Any]:
    """A session after a bound step-up: phr claims and the grant the OP returned."""
    return {
        SESSION_KEY: {"claims": {"sub": "u1", "acr": "phr", "auth_time": int(time.time())}},
        "stepauth_grants": [{"id": "g-1", "details": PAYMENT, "expires_at": expires_at}],
    }


def test_grant_is_consumed_once_for_exactly_its_details(
    client: redis.Redis[Any], redis_prefix: str
) -> None:
    """RFC 9396 §2; PSD2 RTS Art. 5(1)(d): another amount finds no
    grant; the grant runs once, whichever instance (sharing
    the Redis ledger) the copies of the session reach."""
    ledger = SyncRedisLedger(client, prefix=redis_prefix)
    flow = BrowserStepUp(op_rp_offline(), ledger=ledger)
    binding = Binding(lambda fields: PAYMENT)
    phr = Requirement(("phr",), None)
    session = _bound_session(time.time() + 300)
    copied = {**session, "stepauth_grants": list(session["stepauth_grants"])}
    assert flow.check_bound(session, phr, binding, OTHER) is not None
    assert flow.check_bound(session, phr, binding, PAYMENT) is None
    assert 290_000 < client.pttl(f"{redis_prefix}txn:grant:g-1") <= 300_000
    other_instance = BrowserStepUp(
        op_rp_offline(), ledger=SyncRedisLedger(client, prefix=redis_prefix)
    )
    assert other_instance.check_bound(copied, phr, binding, PAYMENT) is not None


def test_grant_past_its_expiry_is_refused(client: redis.Redis[Any], redis_prefix: str) -> None:
    now = time.time()
    ledger = SyncRedisLedger(client, prefix=redis_prefix, clock=lambda: now)
    assert ledger.consume("grant:g-dead", expires_at=now - 1) is False
    assert ledger.consume("grant:g-now", expires_at=now) is False
    assert client.exists(f"{redis_prefix}txn:grant:g-dead") == 0
    assert ledger.consume("grant:g-live", expires_at=now + 60) is True
    assert 0 < client.pttl(f"{redis_prefix}txn:grant:g-live") <= 60_000


def test_concurrent_double_consume_of_a_grant_exactly_one_wins(
    redis_url: str, client: redis.Redis[Any], redis_prefix: str
) -> None:
    """Two requests for the same approved payment at once: one SET NX wins."""
    now = time.time()
    clients = [redis.Redis.from_url(redis_url) for _ in range(8)]
    ledgers = iter([SyncRedisLedger(c, prefix=redis_prefix) for c in clients])
    lock = threading.Lock()

    def attempt() -> object:
        with lock:
            ledger = next(ledgers)
        return ledger.consume("grant:g-race", expires_at=now + 60)

    results = _race(8, attempt)
    for c in clients:
        c.close()
    assert results.count(True) == 1
    assert results.count(False) == 7


# -- two instances of one app, one Redis ---------------------------------------------------

CALLBACK = "http://testserver/stepauth/callback"


def instance(op: OP, client: redis.Redis[Any], prefix: str, *, shared: bool) -> Starlette:
    rp = op_rp(op, redirect_uri=CALLBACK, acr_mode="claims")
    if shared:
        flow = BrowserStepUp(
            rp,
            pending=RedisPendingStore(client, prefix=prefix),
            ledger=SyncRedisLedger(client, prefix=prefix),
        )
    else:
        flow = BrowserStepUp(rp)
    stepauth = StepAuth(browser=flow)

    @require("phr", max_age=300)
    async def transfer(request: Request) -> Response:
        form = await request.form()
        return PlainTextResponse(f"sent {form['amount']}")

    app = Starlette(
        routes=[Route("/transfer", transfer, methods=["POST"]), *stepauth.routes()],
        middleware=[Middleware(SessionMiddleware, secret_key="shared-" * 8)],
    )
    app.state.stepauth = stepauth
    return app


@pytest.mark.node
def test_step_up_begun_on_one_instance_finishes_on_another(
    node_op: OP, client: redis.Redis[Any], redis_prefix: str
) -> None:
    """No sticky sessions: instance A redirects to the OP, instance B takes the callback."""
    a = TestClient(instance(node_op, client, redis_prefix, shared=True), follow_redirects=False)
    b = TestClient(instance(node_op, client, redis_prefix, shared=True), follow_redirects=False)
    with httpx.Client() as ua:
        response = a.post("/transfer", data={"amount": "250"})
        assert response.status_code == 303
        params = through_op(ua, response.headers["location"], CALLBACK)
    b.cookies = a.cookies  # the same browser, routed to the other instance
    page = b.get("/stepauth/callback", params=params)
    assert page.status_code == 200, page.text
    a.cookies = b.cookies
    done = a.post("/transfer", data=confirm_fields(page.text))
    assert done.text == "sent 250"
    assert b.get("/stepauth/callback", params=params).status_code == 400  # used once


@pytest.mark.node
def test_process_local_stores_cannot_finish_on_another_instance(node_op: OP) -> None:
    """Why the shared store exists: with in-memory stores instance B knows no such state."""
    dummy: Any = None
    a = TestClient(instance(node_op, dummy, "", shared=False), follow_redirects=False)
    b = TestClient(instance(node_op, dummy, "", shared=False), follow_redirects=False)
    with httpx.Client() as ua:
        response = a.post("/transfer", data={"amount": "250"})
        params = through_op(ua, response.headers["location"], CALLBACK)
    b.cookies = a.cookies
    assert b.get("/stepauth/callback", params=params).status_code == 400
