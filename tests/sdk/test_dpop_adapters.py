"""DPoP through the Flask and Django adapters (RFC 9449 §7.1): the adapters hand the ``DPoP``
headers and the absolute request URL to the resource server, and answer in the DPoP scheme.

Django's settings are process-wide, so its scenario runs in a fresh interpreter (as in
``test_transaction_django``)."""

from __future__ import annotations

from typing import Any

import flask
import pytest
from joserfc.jwk import ECKey

from stepauth.assurance import parse_challenges
from stepauth.sdk.errors import SDKError
from stepauth.sdk.flask import FlaskStepAuth
from tests.helpers.django_script import DJANGO_SETUP, run_django
from tests.sdk.conftest import API, NOW, Keys
from tests.sdk.dpop_flow import bound_token, client_key, proof, resource_server


def flask_client(keys: Keys) -> Any:
    app = flask.Flask(__name__)
    stepauth = FlaskStepAuth(resource_server=resource_server(keys))

    @app.post("/transfer")
    @stepauth.require("phr", max_age=300)
    def transfer() -> Any:
        return {"jkt": flask.g.stepauth_claims["cnf"]["jkt"]}

    return app.test_client()


def test_flask_accepts_a_dpop_bound_call_once(keys: Keys) -> None:
    key = client_key()
    token = bound_token(keys, key.thumbprint())
    client = flask_client(keys)
    once = proof(key, htu="http://localhost/transfer", token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": once}
    ok = client.post("/transfer?ref=1", headers=headers)
    assert ok.status_code == 200
    assert ok.get_json() == {"jkt": key.thumbprint()}
    replay = client.post("/transfer", headers=headers)
    assert replay.status_code == 401
    (challenge,) = parse_challenges(replay.headers["WWW-Authenticate"])
    assert (challenge.scheme, challenge.error) == ("DPoP", "invalid_dpop_proof")


def test_flask_refuses_two_dpop_headers(keys: Keys) -> None:
    key = client_key()
    token = bound_token(keys, key.thumbprint())
    two = [proof(key, htu="http://localhost/transfer", token=token) for _ in range(2)]
    headers = [("Authorization", f"DPoP {token}"), ("DPoP", two[0]), ("DPoP", two[1])]
    response = flask_client(keys).post("/transfer", headers=headers)
    assert response.status_code == 401
    assert 'DPoP error="invalid_dpop_proof"' in response.headers["WWW-Authenticate"]


PROJECT = (
    DJANGO_SETUP
    + r"""
from stepauth.sdk import DPoPChecker, JWKSCache, ResourceServer
from stepauth.sdk.django import DjangoStepAuth, require
from stepauth.sdk.jose import KeySet
from stepauth.sdk.ledger import MemoryLedger

NOW = job["now"]
settings.STEPAUTH = DjangoStepAuth(resource_server=ResourceServer(
    issuer="https://op.example.com", audience=job["audience"],
    jwks=JWKSCache(keys=KeySet.from_jwks(job["jwks"])), clock=lambda: NOW,
    dpop=DPoPChecker(ledger=MemoryLedger(clock=lambda: NOW), clock=lambda: NOW),
))


@require("phr")
def transfer(request):
    return JsonResponse({"jkt": request.stepauth_claims["cnf"]["jkt"]})


urlpatterns = [path("transfer", transfer)]
answers = []
for step in job["steps"]:
    response = Client().post(
        "/transfer?ref=1", HTTP_AUTHORIZATION="DPoP " + job["token"], HTTP_DPOP=step
    )
    answers.append([response.status_code, response.get("WWW-Authenticate")])
print(json.dumps(answers))
"""
)


def test_django_accepts_a_dpop_bound_call_once(keys: Keys) -> None:
    key: ECKey = client_key()
    token = bound_token(keys, key.thumbprint())
    once = proof(key, htu="http://testserver/transfer", token=token)
    elsewhere = proof(key, htu="http://testserver/other", token=token)
    job = {
        "now": NOW,
        "audience": API,
        "jwks": keys.jwks("rsa"),
        "token": token,
        "steps": [once, once, elsewhere],
    }
    (ok, replay, wrong_htu) = run_django(PROJECT, job)
    assert ok == [200, None]
    assert replay[0] == wrong_htu[0] == 401
    assert replay[1].startswith('DPoP error="invalid_dpop_proof"')
    assert wrong_htu[1].startswith('DPoP error="invalid_dpop_proof"')


class AsyncOnlyLedger:
    """A ledger with an async ``consume`` only (what a sync adapter cannot await)."""

    async def consume(self, key: str, *, expires_at: float) -> bool:
        return True


def test_flask_refuses_an_async_dpop_ledger_at_configuration(keys: Keys) -> None:
    with pytest.raises(SDKError, match="sync ledger for DPoP"):
        FlaskStepAuth(resource_server=resource_server(keys, ledger=AsyncOnlyLedger()))
