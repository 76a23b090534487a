"""The values and limits the configuration allows: data, read by the schema and the rules."""

from __future__ import annotations

import ipaddress
from typing import Final, Literal, get_args

__all__ = [
    "ALGORITHMS",
    "AUTH_METHODS",
    "DEFAULT_KEY_ENV",
    "FORWARDED_HEADERS",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "MAX_CODE_TTL",
    "MAX_CONSECUTIVE_FAILURES",
    "MIN_CLIENT_SECRET",
    "PROFILES",
    "UI_LOCALES",
    "Algorithm",
    "AuthMethod",
    "Network",
    "Profile",
    "UILocale",
]

#: The algorithms the Provider signs ID Tokens with.
Algorithm = Literal["RS256", "ES256", "EdDSA", "Ed25519"]
ALGORITHMS: Final = get_args(Algorithm)
#: RFC 8414 §2 ``token_endpoint_auth_methods_supported``, as far as the Provider has them.
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
AUTH_METHODS: Final = get_args(AuthMethod)
#: The security profiles a client may be held to (FAPI 2.0 Security Profile).
Profile = Literal["fapi2"]
PROFILES: Final = get_args(Profile)
#: The languages the hosted pages have a catalogue for (``stepauth/provider/locales``),
#: as BCP 47 primary language subtags (OIDC Core §3.1.2.1 ``ui_locales``).
UILocale = Literal["en", "de", "fr", "es", "it"]
UI_LOCALES: Final = get_args(UILocale)

DEFAULT_KEY_ENV = "STEPAUTH_SECRET_KEY"
MIN_CLIENT_SECRET = 16
#: RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED."
MAX_CODE_TTL = 600
LOG_FORMATS: Final = ("json", "text")
LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
#: The headers a trusted proxy may name the client in (RFC 7239 §4; the de facto
#: ``X-Forwarded-For``).
FORWARDED_HEADERS: Final = ("x-forwarded-for", "forwarded")
#: NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failed attempts on one account.
MAX_CONSECUTIVE_FAILURES = 100

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
