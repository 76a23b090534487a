"""A one-file Django project whose wire transfer needs a fresh phishing-resistant sign-in.

    STEPAUTH_ISSUER=... STEPAUTH_CLIENT_ID=... STEPAUTH_CLIENT_SECRET=... \
    STEPAUTH_REDIRECT_URI=http://127.0.0.1:5000/stepauth/callback \
    python -m examples.django_app runserver 127.0.0.1:5000

Shows the decorator on a sync view (``/login``) and on an async view (``/api/balance``)
and the middleware guarding ``/transfer`` and every path under ``/admin-area``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Collection
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from examples._payment import payment

from stepauth.assurance import Requirement
from stepauth.sdk import BrowserStepUp, JWKSCache, RelyingParty, ResourceServer
from stepauth.sdk.binding import Binding
from stepauth.sdk.django import DjangoStepAuth, callback_view, require
from stepauth.sdk.ledger import SyncLedger


def settings_for(
    rp: RelyingParty,
    *,
    secret_key: str,
    api_audience: str | None = None,
    api_clients: Collection[str] | None = None,
    txn_ledger: SyncLedger | None = None,
    transfer_acr: str = "phr",
) -> Any:
    """The Django settings of this example (pass them to ``settings.configure``).

    ``transfer_acr``: the level a transfer needs (``phr`` unless the IdP offers less);
    ``txn_ledger`` records the bound payments API calls run (without it they are refused).
    """
    resource_server = None
    if api_audience is not None:
        # The API accepts tokens for its own resource (aud, RFC 8707) issued to the clients
        # it serves (client_id, RFC 9068 §2.2): by default this app only.
        resource_server = ResourceServer(
            issuer=rp.metadata.issuer,
            audience=api_audience,
            jwks=JWKSCache(rp.metadata.jwks_uri),
            allowed_clients=api_clients if api_clients is not None else (rp.client_id,),
        )
    return {
        "DEBUG": False,
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost", "testserver"],
        "ROOT_URLCONF": __name__,
        "INSTALLED_APPS": ["django.contrib.sessions"],
        "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
        "MIDDLEWARE": [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "stepauth.sdk.django.StepUpMiddleware",
        ],
        "STEPAUTH": DjangoStepAuth(
            browser=BrowserStepUp(rp), resource_server=resource_server, txn_ledger=txn_ledger
        ),
        "STEPAUTH_RULES": {
            "/transfer": Requirement((transfer_acr,), 300),
            "/admin-area": Requirement(("phr",), 300),
        },
    }


@require("urn:stepauth:acr:1fa")
def login(request: HttpRequest) -> HttpResponse:
    claims = request.stepauth_claims  # type: ignore[attr-defined]
    return JsonResponse({"signed_in": claims["sub"], "acr": claims["acr"]})


@csrf_exempt  # the example has no CSRF middleware; a real project keeps it on
def transfer(request: HttpRequest) -> HttpResponse:
    # Guarded by StepUpMiddleware (STEPAUTH_RULES["/transfer"]).
    if request.method != "POST":
        return HttpResponse(
            '<form method="post"><input name="amount" value="100">'
            '<input name="iban" value="DE89370400440532013000"><button>Send</button></form>'
        )
    acr = request.stepauth_claims["acr"]  # type: ignore[attr-defined]
    amount, iban = escape(request.POST["amount"]), escape(request.POST["iban"])
    return HttpResponse(f"<p>Sent {amount} EUR to {iban} ({acr})</p>")


@csrf_exempt  # the example has no CSRF middleware; a real project keeps it on
@require("phr", max_age=300, bind=Binding(payment))
def pay(request: HttpRequest) -> HttpResponse:
    # Bound: this exact payment was approved at the OP, and the approval is now used up.
    amount, creditor = escape(request.POST["amount"]), escape(request.POST["creditor"])
    return HttpResponse(f"<p>Paid {amount} EUR to {creditor}</p>")


@require("phr", max_age=300)
async def balance(request: HttpRequest) -> HttpResponse:
    claims = request.stepauth_claims  # type: ignore[attr-defined]
    return HttpResponse(json.dumps({"sub": claims["sub"], "balance": "1250.00"}))


def admin_area(request: HttpRequest) -> HttpResponse:
    return HttpResponse("admin area")


urlpatterns = [
    path("login", login),
    path("transfer", transfer),
    path("pay", pay),
    path("api/balance", balance),
    path("admin-area/keys", admin_area),
    path("stepauth/callback", callback_view),
]


if __name__ == "__main__":
    from django.conf import settings
    from django.core.management import execute_from_command_line
    from examples._config import api_clients_from_env, rp_from_env, sync_ledger_from_env

    settings.configure(
        **settings_for(
            rp_from_env(),
            secret_key=secrets.token_hex(32),
            api_audience=os.environ.get("STEPAUTH_API_AUDIENCE"),
            api_clients=api_clients_from_env(),
            txn_ledger=sync_ledger_from_env(),
        )
    )
    execute_from_command_line(sys.argv)
