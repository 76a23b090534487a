"""What the bound-route tests of every adapter share: the payment binding, the API's
resource server and bearer tokens signed for it (RFC 9068), as the Provider mints them
for a bound step-up (RFC 9396 §9, §9.1, §9.2: granted ``authorization_details`` and a ``txn``)."""

from __future__ import annotations

import json
from typing import Any

from examples._payment import payment

from stepauth.sdk import JWKSCache, ProviderMetadata, RelyingParty, ResourceServer
from stepauth.sdk.binding import Binding
from tests.helpers.payments import NOW, claims_for
from tests.sdk.conftest import ISSUER, Keys, sign

API = "https://api.bank.example"
IBAN = "DE89370400440532013000"
#: The payment the user approved at the OP, as the /pay form names it.
FIELDS = {"amount": "99999.00", "creditor": "Mallory", "iban": IBAN}
PAY = Binding(payment)
#: The same form with the field a view reads first repeated (Werkzeug: first, Django: last).
REPEATED = f"amount=20.00&creditor=Mallory&iban={IBAN}&amount=99999.00"


def resource_server(keys: Keys) -> ResourceServer:
    return ResourceServer(
        issuer=ISSUER, audience=API, jwks=JWKSCache(keys=keys.key_set()), clock=lambda: NOW
    )


def browser_rp() -> RelyingParty:
    """An RP of the OP's metadata (no network is used before a step-up begins)."""
    metadata = ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        jwks_uri=f"{ISSUER}/jwks",
    )
    return RelyingParty(metadata, client_id="c", redirect_uri="http://testserver/stepauth/cb")


def bearer(keys: Keys, fields: dict[str, str] | None = FIELDS, **overrides: Any) -> str:
    """``Authorization`` of a phr token; bound to ``fields`` (``None``: a plain phr token)."""
    details = None
    if fields is None:
        overrides.setdefault("txn", None)
    else:
        details = payment(fields)
    claims = claims_for(details, **{"aud": API, **overrides})
    return f"Bearer {sign(claims, keys.rsa, typ='at+jwt')}"


def error_of(body: bytes | str) -> str:
    """The ``error`` code of a JSON refusal (RFC 6749 §5.2 shape)."""
    text = body.decode() if isinstance(body, bytes) else body
    return str(json.loads(text)["error"])
