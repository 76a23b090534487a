"""The harness Provider's fixed world: issuer, registered clients, test user and clock.

:func:`config_data` is the configuration every black-box Provider test starts from
(:mod:`tests.helpers.harness` runs it): a confidential client (client_secret_basic), a
public one, a private_key_jwt one (RFC 7523) and a client_secret_post one, all redirecting
to :data:`REDIRECT_URI`; the clock only moves when a test advances it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import ECKey

ISSUER = "http://localhost:8080"
REDIRECT_URI = "https://rp.example/callback"
LOGOUT_REDIRECT_URI = "https://rp.example/signed-out"
CONFIDENTIAL = "bank-app"
SECRET = "s3cr3t-" + "x" * 24
PUBLIC = "spa"
USERNAME = "alice"
PASSWORD = "correct horse battery staple"
ACR_1FA = "urn:stepauth:acr:1fa"
ACR_2FA = "urn:stepauth:acr:2fa"
JWT_CLIENT = "api-client"
POST_CLIENT = "form-client"
#: The private_key_jwt client's signing key (RFC 7523); only its public half is registered.
CLIENT_KEY = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1"}, private=True)


class Clock:
    """An injectable wall clock that only moves when a test says so."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(start if start is not None else time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def config_data(db_path: Path, *, issuer: str = ISSUER, **overrides: Any) -> dict[str, Any]:
    host = urlsplit(issuer).hostname or "localhost"
    data: dict[str, Any] = {
        "issuer": issuer,
        "database": {"url": f"sqlite+aiosqlite:///{db_path}"},
        "webauthn": {"rp_id": host, "rp_name": "stepauth test", "origins": [issuer]},
        "clients": [
            {
                "client_id": CONFIDENTIAL,
                "client_secret": SECRET,
                "redirect_uris": [REDIRECT_URI],
                "post_logout_redirect_uris": [LOGOUT_REDIRECT_URI],
                "acr_values": "voluntary",
            },
            {
                "client_id": PUBLIC,
                "redirect_uris": [REDIRECT_URI],
                "post_logout_redirect_uris": [LOGOUT_REDIRECT_URI],
                "id_token_signed_response_alg": "ES256",
            },
            {
                "client_id": JWT_CLIENT,
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [CLIENT_KEY.as_dict(private=False)]},
                "redirect_uris": [REDIRECT_URI],
                "id_token_signed_response_alg": "EdDSA",
            },
            {
                "client_id": POST_CLIENT,
                "client_secret": SECRET,
                "token_endpoint_auth_method": "client_secret_post",
                "redirect_uris": [REDIRECT_URI],
            },
        ],
    }
    data.update(overrides)
    return data
