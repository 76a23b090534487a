"""What the Flask and Starlette example-app tests share: the browser at the OP, the payee
account, the exact RFC 9470 challenge and a single-factor access token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from stepauth.assurance import Requirement
from tests.sdk.browser_flow import through_op
from tests.sdk.conftest import OP, op_rp

IBAN = "DE89370400440532013000"

#: The ``WWW-Authenticate`` an API route answers a 1fa token with (RFC 9470 §3).
STEP_UP_CHALLENGE = (
    'Bearer error="insufficient_user_authentication", '
    'error_description="A different authentication level is required", '
    'acr_values="phr", max_age="300"'
)


@pytest.fixture
def ua() -> Iterator[httpx.Client]:
    """The browser at the OP (its cookies are the OP session)."""
    with httpx.Client() as client:
        yield client


def weak_access_token(op: OP, ua: httpx.Client) -> str:
    """An access token from a single-factor (``urn:stepauth:acr:1fa``) sign-in at ``op``."""
    rp = op_rp(op)
    request = rp.authorization_request(Requirement(("urn:stepauth:acr:1fa",)))
    token: str = rp.finish(through_op(ua, rp.begin(request), rp.redirect_uri), request).access_token
    return token
