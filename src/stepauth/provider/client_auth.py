"""Client authentication at the back-channel endpoints (token, PAR, introspection, revocation).

Methods (OIDC Core §9, RFC 6749 §2.3, RFC 7523 §2.2):

* ``client_secret_basic`` — HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1);
* ``client_secret_post`` — ``client_id`` + ``client_secret`` in the body;
* ``none`` — a public client: ``client_id`` only; such a client is held to PKCE at the token
  endpoint, which every client is here anyway;
* ``private_key_jwt`` — a JWT signed with a key from the client's registered ``jwks``:
  ``iss`` = ``sub`` = ``client_id``, ``aud`` our issuer or the endpoint URL, ``exp`` required,
  ``jti`` single use (one insert-if-absent in the store), asymmetric algorithms only.

A client uses exactly the method it registered; more than one method in a request is
``invalid_request`` (RFC 6749 §2.3). Every failure of an *authentication* is
``invalid_client`` with status 401, and ``WWW-Authenticate: Basic`` when the client tried
Basic (RFC 6749 §5.2). Secrets are compared in constant time and never logged.
"""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, unquote

from starlette.datastructures import FormData
from starlette.requests import Request

from stepauth.encoding import b64url_decode
from stepauth.provider import jsonlimits
from stepauth.provider.authorize.context import find_client
from stepauth.provider.compare import constant_time_equal, sha256hex
from stepauth.provider.errors import InvalidClient, InvalidRequest
from stepauth.provider.profiles.fapi2 import FAPI2, FAPI2_ALGS
from stepauth.provider.state import get_state
from stepauth.sdk.errors import SDKError
from stepauth.sdk.jose import KeySet, Verifier

if TYPE_CHECKING:
    from stepauth.provider.config import ClientConfig
    from stepauth.provider.state import ProviderState

__all__ = [
    "ASSERTION_ALGS",
    "CLIENT_ASSERTION_TYPE",
    "CLIENT_AUTH_PARAMS",
    "TOKEN_ENDPOINT_AUTH_METHODS",
    "AuthenticatedClient",
    "authenticate_client",
    "bounded_jws_claims",
    "form_params",
    "registered_keys",
    "single_params",
]

TOKEN_ENDPOINT_AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
)
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Asymmetric only: ``none`` and the HMAC family are refused (a public JWKS cannot hold a
#: shared secret, and ``none`` is no authentication at all).
ASSERTION_ALGS = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"),
    *("EdDSA", "Ed25519"),  # Ed25519: the fully-specified name (RFC 9864 §2)
)
_ASSERTIONS: Final = Verifier(ASSERTION_ALGS)
#: Longest lifetime accepted for a client assertion, and clock skew tolerated.
MAX_ASSERTION_LIFETIME = 300
LEEWAY = 30
#: Store kind of the seen-``jti`` records (kept until the assertion expires).
JTI_KIND = "client_jti"
#: Body parameters that belong to client authentication, not to the request itself.
CLIENT_AUTH_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


@dataclass(frozen=True)
class AuthenticatedClient:
    """A client that proved who it is, and how."""

    client: ClientConfig
    method: str

    @property
    def client_id(self) -> str:
        return str(self.client.client_id)


def single_params(form: FormData) -> dict[str, str]:
    """The form as a dict; a repeated parameter is ``invalid_request`` (RFC 6749 §3.2)."""
    params: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise InvalidRequest("every parameter must be a string")
        if name in params:
            raise InvalidRequest("a parameter must not be repeated")
        params[name] = value
    return params


FORM_URLENCODED = "application/x-www-form-urlencoded"
#: Most fields in one form body (Starlette's own limit for parsed forms).
MAX_FORM_FIELDS = 1000


async def form_params(request: Request) -> dict[str, str]:
    """The request's form as a dict; a repeated parameter is ``invalid_request``.

    The back-channel endpoints take ``application/x-www-form-urlencoded`` (RFC 6749 §3.2),
    parsed here directly (strict UTF-8, at most :data:`MAX_FORM_FIELDS` fields); any other
    body goes through Starlette's form parser.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM_URLENCODED:
        return single_params(await request.form())
    body = await request.body()
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("the form body is not valid") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise InvalidRequest("a parameter must not be repeated")
        params[name] = value
    return params


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _basic_failure("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _basic_failure("malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def _basic_failure(description: str) -> InvalidClient:
    return InvalidClient(description, headers={"WWW-Authenticate": 'Basic realm="stepauth"'})


def _secret_matches(client: ClientConfig, presented: str) -> bool:
    expected = client.client_secret
    if not expected:
        return False
    return constant_time_equal(expected, presented)


async def authenticate_client(
    request: Request, params: Mapping[str, str], *, endpoint: str
) -> AuthenticatedClient:
    """Authenticate the client of a back-channel request; ``endpoint`` is its path ("/token").

    Raises :class:`InvalidClient` (401) for an unknown client, a wrong secret or assertion,
    or a method other than the one registered.
    """
    state = get_state(request)
    basic = _basic_credentials(request)
    body_id = params.get("client_id")
    present = [
        name
        for name, used in (
            ("client_secret_basic", basic is not None),
            ("client_secret_post", "client_secret" in params),
            ("private_key_jwt", "client_assertion" in params),
        )
        if used
    ]
    if len(present) > 1:
        raise InvalidRequest("more than one client authentication method was used")
    method = present[0] if present else "none"
    fail = _basic_failure if method == "client_secret_basic" else InvalidClient

    if method == "client_secret_basic":
        assert basic is not None
        client_id, secret = basic
        if body_id is not None and body_id != client_id:
            raise fail("client_id does not match the authenticated client")
    elif method == "private_key_jwt":
        client_id = body_id or _assertion_issuer(params.get("client_assertion", ""))
    else:
        if not body_id:
            raise InvalidClient("client authentication is required")
        client_id = body_id

    client = find_client(state, client_id)
    if client is None:
        raise fail("unknown client or bad credentials")
    if client.token_endpoint_auth_method != method:
        raise fail(f"client is not registered for {method}")

    if method in {"client_secret_basic", "client_secret_post"}:
        presented = secret if method == "client_secret_basic" else params["client_secret"]
        if not _secret_matches(client, presented):
            raise fail("unknown client or bad credentials")
    elif method == "private_key_jwt":
        await verify_client_assertion(
            state,
            client,
            assertion_type=params.get("client_assertion_type"),
            assertion=params.get("client_assertion", ""),
            expected_audiences=_audiences(state, endpoint),
            now=state.clock(),
        )
    elif client.client_secret:
        # A confidential client must never pass as public (RFC 6749 §3.2.1).
        raise InvalidClient("client authentication is required")
    return AuthenticatedClient(client=client, method=method)


def _audiences(state: ProviderState, endpoint: str) -> frozenset[str]:
    issuer = str(state.config.issuer)
    base = issuer.rstrip("/")
    # RFC 7523 §3 (aud = the authorization server, the token endpoint URL may be used);
    # RFC 9126 §2 and RFC 7662 accept the issuer for the other endpoints too.
    return frozenset({issuer, base + "/token", base + endpoint})


def bounded_jws_claims(token: str) -> Any:
    """A compact JWS's claims, its header and payload first bounded in size and nesting
    (RFC 8259 §9), so no JSON library recurses into a deeply nested text. Unverified: only
    to refuse a malformed token early. Raises :class:`ValueError`."""
    try:
        parts = token.split(".")
        if len(parts) != 3:
            raise ValueError("a compact JWS has three parts")
        jsonlimits.loads(b64url_decode(parts[0]))
        return jsonlimits.loads(b64url_decode(parts[1]))
    except (ValueError, TypeError) as exc:
        raise ValueError("not a compact JWS within the JSON limits") from exc


def _bounded_claims(assertion: str) -> Any:
    try:
        return bounded_jws_claims(assertion)
    except ValueError as exc:
        raise InvalidClient("client_assertion is malformed") from exc


def registered_keys(client: ClientConfig) -> KeySet | None:
    """The client's registered public keys (its ``jwks``), parsed strictly; ``None`` when
    it registered none. They verify its client assertions and its request objects."""
    jwks = getattr(client, "jwks", None)
    if not jwks:
        return None
    return KeySet.from_jwks(jwks, strict=True)


def _assertion_issuer(assertion: str) -> str:
    """Read ``iss`` from an assertion before its key is known (only to find the client)."""
    claims = _bounded_claims(assertion)
    iss = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(iss, str) or not iss:
        raise InvalidClient("client_assertion does not name its client")
    return iss


async def verify_client_assertion(
    state: ProviderState,
    client: ClientConfig,
    *,
    assertion_type: str | None,
    assertion: str,
    expected_audiences: frozenset[str],
    now: float,
) -> dict[str, Any]:
    """Verify a ``private_key_jwt`` client assertion (RFC 7523 §3, OIDC Core §9)."""
    if assertion_type != CLIENT_ASSERTION_TYPE:
        raise InvalidClient("client_assertion_type must be jwt-bearer")
    keys = registered_keys(client)
    if keys is None:
        raise InvalidClient("client has no registered jwks")
    _bounded_claims(assertion)
    try:
        header, claims = _ASSERTIONS.verify(assertion, keys)
    except SDKError as exc:
        raise InvalidClient("client_assertion signature is invalid") from exc
    if (header.typ or "").lower().removeprefix("application/") == "oauth-authz-req+jwt":
        # RFC 9101 §10.8: a request object is never a client assertion
        raise InvalidClient("client_assertion is a request object")
    if client.profile == FAPI2 and header.alg not in FAPI2_ALGS:
        raise InvalidClient("client_assertion alg is not allowed by FAPI 2.0 (§5.4)")
    client_id = client.client_id
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("client_assertion iss and sub must be the client_id")
    aud = claims.get("aud")
    audiences = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
    if not audiences & expected_audiences:
        raise InvalidClient("client_assertion aud is not this provider")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise InvalidClient("client_assertion has no exp")
    if exp <= now - LEEWAY:
        raise InvalidClient("client_assertion expired")
    if exp > now + MAX_ASSERTION_LIFETIME + LEEWAY:
        raise InvalidClient("client_assertion lives too long")
    for name in ("iat", "nbf"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, int | float) or value > now + LEEWAY):
            raise InvalidClient(f"client_assertion {name} is in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidClient("client_assertion has no jti")
    await _use_jti_once(state, client_id, jti, expires_at=float(exp) + LEEWAY, now=now)
    return claims


async def _use_jti_once(
    state: ProviderState, client_id: str, jti: str, *, expires_at: float, now: float
) -> None:
    """Accept an assertion ``jti`` once (RFC 7523 §3 item 7).

    One insert-if-absent statement (:meth:`~stepauth.store.Store.add`) records the
    ``jti`` until the assertion expires: of two concurrent uses exactly one inserts it.
    """
    key = sha256hex(f"{client_id}\x00{jti}")
    added = await state.store.add(
        JTI_KIND, key, expires_at=expires_at, now=now, data={"client_id": client_id}
    )
    if not added:
        raise InvalidClient("client_assertion was already used")
