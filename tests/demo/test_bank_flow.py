"""Acme Bank against the real Provider over HTTP: sign in, then what each action asks for.

The Provider's login form is filled like a browser would (the OIDC Core §3.1.2 code flow with
PKCE); the step-ups are checked at the source: the pushed authorization request (RFC 9126) the
bank sends for each one (``acr_values``, RFC 9470 §4; ``max_age``, OIDC Core §3.1.2.1;
``authorization_details``, RFC 9396 §2).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.demo.conftest import BankStack, bank_csrf, essential_or_values, sign_in

PAYMENT_1250 = [
    {
        "type": "payment_initiation",
        "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
        "creditorName": "Jane Doe",
        "creditorAccount": {"iban": "DE89370400440532013000"},
        "remittanceInformationUnstructured": "Invoice 2026-117",
    }
]


def _to_provider(response: httpx.Response, stack: BankStack) -> dict[str, list[str]]:
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"{stack.issuer}/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert "request_uri" in query, "step-ups are pushed (PAR), never sent in the front channel"
    return query


def test_sign_in_dashboard_pii_and_transfers(bank_stack: BankStack) -> None:
    """RFC 9470 §4/OIDC Core §3.1.2.1 (max_age): PII asks phr
    with max_age=900; €20 is exempt; €1,250.00 is bound.
    """
    stack = bank_stack
    with httpx.Client(timeout=10) as ua:
        dashboard = sign_in(ua, stack, "alice")
        assert dashboard.status_code == 200
        assert "Hello, Alice Martin" in dashboard.text
        # Two apps on one host (ports do not separate cookies): two different cookie names.
        assert "acme_session" in ua.cookies
        assert "stepauth_session" in ua.cookies
        login_push = stack.pushed[-1]
        assert essential_or_values(login_push) == ("urn:stepauth:acr:1fa",)

        # Dashboard and statements: a signed-in session is enough.
        pushes = len(stack.pushed)
        for path in ("/dashboard", "/statements"):
            page = ua.get(f"{stack.bank_url}{path}")
            assert page.status_code == 200, path
        assert len(stack.pushed) == pushes

        # Full personal data: the policy's view_pii, phr within 15 minutes.
        pii = ua.get(f"{stack.bank_url}/profile/full")
        _to_provider(pii, stack)
        pushed = stack.pushed[-1]
        assert essential_or_values(pushed) == ("phr",)
        assert pushed["max_age"] == "900"
        assert "id_token_hint" in pushed, (
            "the step-up is for the signed-in subject (OIDC Core §3.1.2.2)"
        )
        assert "authorization_details" not in pushed

        # €20: low-value exemption (PSD2 RTS Art. 16), no step-up at all.
        form = ua.get(f"{stack.bank_url}/transfer")
        csrf = bank_csrf(form.text)
        pushes = len(stack.pushed)
        small = ua.post(
            f"{stack.bank_url}/transfer",
            data={"payee": "py-1", "amount": "20", "reference": "", "csrf": csrf},
        )
        assert small.status_code == 200
        assert "Sent €20.00 to Jane Doe" in small.text
        assert "exempt under low_value" in small.text
        assert len(stack.pushed) == pushes

        # €1,250.00: a step-up bound to exactly this payment, pushed with PAR.
        large = ua.post(
            f"{stack.bank_url}/transfer",
            data={
                "payee": "py-1",
                "amount": "1,250.00",
                "reference": "Invoice 2026-117",
                "csrf": csrf,
            },
        )
        _to_provider(large, stack)
        pushed = stack.pushed[-1]
        assert essential_or_values(pushed) == ("phr",)
        assert json.loads(pushed["authorization_details"]) == PAYMENT_1250

        # The dashboard shows the exempt payment only: the large one has not run.
        dashboard = ua.get(f"{stack.bank_url}/dashboard")
        assert "low_value exemption" in dashboard.text
        assert "€1,250.00" not in dashboard.text
