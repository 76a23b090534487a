"""Hostile HTTP requests: query, form, JSON and raw bodies, headers and cookies."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.helpers.harness import (
    CONFIDENTIAL,
    JWT_CLIENT,
    PUBLIC,
    REDIRECT_URI,
    SECRET,
)

#: Deeper than any recursion limit (Hypothesis raises it while a test runs).
BOMBS = ("[" * 8000, '{"":[' * 2500, "[" * 4000 + "]" * 4000)

SPECIAL = (
    "",
    " ",
    "é" * 43,
    "１２３４５６",
    "١٢٣٤٥٦",
    "123456",
    "\x00",
    "%00",
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "NaN",
    "[]",
    "{}",
    '{"id_token": {"acr": {"essential": true, "values": ["x"]}}}',
    '[{"type": "payment_initiation"}]',
    "a" * 5000,
    "../../etc/passwd",
    "https://evil.example/",
    "javascript:alert(1)",
    "<script>x</script>",
    "openid offline_access",
    "code",
    "S256",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "urn:ietf:params:oauth:request_uri:x",
    "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
    "eyJhbGciOiJFUzI1NiJ9." + base64.urlsafe_b64encode(("[" * 8000).encode()).decode() + ".AA",
    CONFIDENTIAL,
    PUBLIC,
    JWT_CLIENT,
    SECRET,
    REDIRECT_URI,
    *BOMBS,
)

#: Parameter names of every endpoint (OAuth 2.0, OIDC Core, RFC 7636, 9126, 9396, 7523,
#: 7662, 7009, OIDC RP-Initiated Logout) and of the interaction and account forms.
NAMES = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "claims",
    "authorization_details",
    "request_uri",
    "request",
    "prompt",
    "max_age",
    "acr_values",
    "login_hint",
    "id_token_hint",
    "resource",
    "ui_locales",
    "response_mode",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "token",
    "token_type_hint",
    "post_logout_redirect_uri",
    "logout_hint",
    "csrf",
    "factor",
    "username",
    "password",
    "code",
    "oob_code",
    "recovery_code",
    "credential",
    "ceremony",
    "type",
    "label",
    "next",
    "mode",
    "pending",
    "approve",
    "decline",
    "txn",
]

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
values = st.one_of(_text, st.sampled_from(SPECIAL))
params = st.dictionaries(st.one_of(st.sampled_from(NAMES), _text), values, max_size=8)

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), values),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.one_of(st.sampled_from(NAMES), _text), children, max_size=4)
    ),
    max_leaves=12,
)

#: The parameters whose value is JSON (OIDC Core §5.5, RFC 9396 §2, WebAuthn L3 §5.1).
JSON_PARAMS = ("claims", "authorization_details", "credential", "client_assertion")
json_texts = st.one_of(st.sampled_from(BOMBS + SPECIAL[-5:]), json_values.map(json.dumps))

_header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=60,
)
content_types = (
    st.sampled_from(
        (
            None,
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "application/json",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/jwt",
        )
    )
    | _header_text
)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


authorizations = st.one_of(
    st.none(),
    st.just(_basic(CONFIDENTIAL, SECRET)),
    st.builds(_basic, values, values),
    st.builds(lambda t: "Bearer " + t, values),
    st.sampled_from(("Basic", "Basic é", "Bearer", "DPoP x", "Basic !!!")),
    _header_text,
)


AUTHORIZE = {
    "response_type": "code",
    "client_id": CONFIDENTIAL,
    "redirect_uri": REDIRECT_URI,
    "scope": "openid",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
}
CLIENT = {"client_id": CONFIDENTIAL, "client_secret": SECRET}
ASSERTION = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}

#: Valid requests to start from, per path, so mutated ones get past the first checks.
BASES: dict[str, tuple[dict[str, str], ...]] = {
    "/authorize": ({}, AUTHORIZE),
    "/par": ({}, {**AUTHORIZE, **CLIENT}, {**AUTHORIZE, **ASSERTION}),
    "/token": (
        {},
        {"grant_type": "refresh_token", **CLIENT},
        {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI, **CLIENT},
        {"grant_type": "authorization_code", **ASSERTION},
    ),
    "/introspect": ({}, CLIENT, ASSERTION),
    "/revoke": ({}, CLIENT, ASSERTION),
}


@dataclass
class FuzzRequest:
    method: str
    path: str
    query: dict[str, str]
    body: bytes | None
    headers: dict[str, bytes] = field(default_factory=dict)


def _body(kind: str, form: dict[str, str], data: Any, raw: bytes) -> bytes | None:
    if kind == "form":
        from urllib.parse import urlencode

        return urlencode(form).encode()
    if kind == "json":
        return json.dumps(data).encode()
    if kind == "raw":
        return raw
    return None


@st.composite
def requests(
    draw: st.DrawFn,
    path: str,
    *,
    methods: tuple[str, ...] = ("GET", "POST"),
    cookies: dict[str, str],
    known: dict[str, str],
) -> FuzzRequest:
    """One request to ``path``; ``known`` live values (csrf, tokens) may be used."""
    value = st.one_of(values, st.sampled_from(sorted(known.values())))
    names = st.one_of(st.sampled_from(NAMES), _text)
    base = draw(st.sampled_from(BASES.get(path, ({},))))
    if draw(st.booleans()):
        base = {**base, draw(st.sampled_from(JSON_PARAMS)): draw(json_texts)}
    form = {**base, **draw(st.dictionaries(names, value, max_size=6))}
    if draw(st.booleans()) and "csrf" in known:
        form["csrf"] = known["csrf"]
    kind = draw(st.sampled_from(("none", "form", "json", "raw")))
    body = _body(
        kind, form, draw(st.one_of(json_values, st.just(form))), draw(st.binary(max_size=200))
    )
    headers: dict[str, bytes] = {}
    content_type = draw(content_types)
    if content_type is not None:
        headers["content-type"] = content_type.encode("latin-1")
    elif kind in ("form", "raw"):
        headers["content-type"] = b"application/x-www-form-urlencoded"
    elif kind == "json":
        headers["content-type"] = b"application/json"
    authorization = draw(authorizations)
    if authorization is not None:
        headers["authorization"] = authorization.encode("latin-1", "replace")
    jar = draw(
        st.dictionaries(
            st.sampled_from(sorted(cookies)),
            st.one_of(st.sampled_from(sorted(cookies.values())), _header_text),
            max_size=len(cookies),
        )
    )
    if jar:
        cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
        headers["cookie"] = cookie.encode("latin-1", "replace")
    return FuzzRequest(
        method=draw(st.sampled_from(methods)),
        path=path,
        query={**base, **draw(st.dictionaries(names, value, max_size=6))},
        body=body,
        headers=headers,
    )
