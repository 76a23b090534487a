"""The FAPI 2.0 Security Profile as a client setting: ``[[clients]] profile = "fapi2"``.

FAPI 2.0 Security Profile (Final) §5.3.2.1 and §5.3.2.2 (the authorization server), §5.4
(cryptography), and FAPI 2.0 Message Signing, "Signing Authorization Requests" (request
objects at the PAR endpoint). A client with this profile is held to all of them; other
clients are untouched, so one Provider can serve FAPI 2.0 and ordinary clients side by
side (the profile is a client setting, not a server one).

What is static is refused when the configuration loads (:func:`check_client`,
:func:`check_par_lifetime`), naming the client and the rule:

* client authentication ``private_key_jwt`` only: a confidential client, no shared secret
  (§5.3.2.1 items 3 and 6; ``client_secret_*`` and ``none`` are refused);
* redirect URIs ``https``, or ``http`` on the loopback literals ``127.0.0.1`` / ``[::1]``
  for native apps (§5.3.2.2 item 8, RFC 8252 §7.3; ``localhost`` is not a literal,
  RFC 8252 §8.3);
* ID tokens and request objects signed with PS256, ES256 or EdDSA (§5.4);
* a ``request_uri`` lifetime below 600 seconds (§5.3.2.2 item 12).

What depends on the request is refused where it is handled: an authorization request
that did not come through PAR (:func:`require_pushed`, §5.3.2.2 item 3), a pushed request
without the signed request object the client registered an algorithm for
(:func:`require_request_object`), request objects without ``nbf`` (Message Signing).
The token side reads the client: ``ClientConfig.requires_dpop`` (sender-constrained
tokens, §5.3.2.1: a DPoP proof on every token request) and
``ClientConfig.rotates_refresh_tokens`` (off unless the client opts in) are true/false for
every fapi2 client, and :func:`code_lifetime` caps its authorization codes at 60 seconds.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from stepauth.errors import ConfigError
from stepauth.provider.errors import InvalidRequest

if TYPE_CHECKING:
    from stepauth.provider.config import ClientConfig, ProviderConfig

__all__ = [
    "FAPI2",
    "FAPI2_ALGS",
    "FAPI2_MAX_CODE_LIFETIME",
    "MAX_PAR_TTL",
    "PROFILES",
    "check_client",
    "check_par_lifetime",
    "code_lifetime",
    "require_pushed",
    "require_request_object",
]

FAPI2: Final = "fapi2"
PROFILES: Final = (FAPI2,)
#: §5.4 item 1.2: "use PS256, ES256, or EdDSA (using the Ed25519 subtype)"; ``Ed25519`` is
#: the fully-specified name of that subtype (RFC 9864 §2).
FAPI2_ALGS: Final = ("PS256", "ES256", "EdDSA", "Ed25519")
#: Authorization codes of a fapi2 client live at most this long (§5.3.2.1: "shall issue
#: authorization codes with a maximum lifetime of 60 seconds").
FAPI2_MAX_CODE_LIFETIME: Final = 60
#: §5.3.2.2 item 12: ``request_uri`` ``expires_in`` values "of less than 600 seconds".
MAX_PAR_TTL: Final = 599
#: RFC 8252 §7.3: the loopback IP literals a native app listens on (no ``localhost``).
_LOOPBACK_LITERALS: Final = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def _refuse(client: ClientConfig, rule: str, *, key: str) -> ConfigError:
    return ConfigError(f"fapi2 client {client.client_id!r}: {rule}", key=key)


def _loopback_literal(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host) in _LOOPBACK_LITERALS
    except ValueError:
        return False


def check_client(client: ClientConfig, where: str) -> None:
    """Refuse a fapi2 client whose registration breaks a static rule of the profile."""
    if client.profile != FAPI2:
        return
    if client.token_endpoint_auth_method != "private_key_jwt":
        raise _refuse(
            client,
            "must authenticate with private_key_jwt, a confidential client without a shared "
            "secret (FAPI 2.0 Security Profile §5.3.2.1)",
            key=f"{where}.token_endpoint_auth_method",
        )
    for uri in client.redirect_uris:
        parts = urlsplit(uri)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and _loopback_literal(parts.hostname)
        ):
            raise _refuse(
                client,
                f"redirect URIs must be https, or http on 127.0.0.1 / [::1] for a native app "
                f"(FAPI 2.0 Security Profile §5.3.2.2, RFC 8252 §7.3; got {uri!r})",
                key=f"{where}.redirect_uris",
            )
    if client.id_token_signed_response_alg not in FAPI2_ALGS:
        raise _refuse(
            client,
            f"ID tokens must be signed with {', '.join(FAPI2_ALGS)} "
            "(FAPI 2.0 Security Profile §5.4)",
            key=f"{where}.id_token_signed_response_alg",
        )
    alg = client.request_object_signing_alg
    if alg is not None and alg not in FAPI2_ALGS:
        raise _refuse(
            client,
            f"request objects must be signed with {', '.join(FAPI2_ALGS)} "
            "(FAPI 2.0 Security Profile §5.4)",
            key=f"{where}.request_object_signing_alg",
        )


def check_par_lifetime(clients: tuple[ClientConfig, ...], par_ttl: int) -> None:
    """With a fapi2 client, ``ttl.par`` must stay below 600 seconds (§5.3.2.2 item 12)."""
    for client in clients:
        if client.profile == FAPI2 and par_ttl > MAX_PAR_TTL:
            raise _refuse(
                client,
                f"request_uri lifetimes must be below 600 seconds, so ttl.par at most "
                f"{MAX_PAR_TTL} (FAPI 2.0 Security Profile §5.3.2.2)",
                key="ttl.par",
            )


def require_pushed(client: ClientConfig, *, pushed: bool) -> None:
    """§5.3.2.2 item 3: "shall reject authorization requests sent without [RFC9126]"."""
    if client.profile == FAPI2 and not pushed:
        raise InvalidRequest("this client must push its authorization requests (PAR)")


def require_request_object(client: ClientConfig, params: dict[str, str]) -> None:
    """A fapi2 client that registered ``request_object_signing_alg`` signs every pushed
    request (FAPI 2.0 Message Signing, "Signing Authorization Requests"; RFC 9101 §10.5
    ``require_signed_request_object``)."""
    if client.require_signed_request_object and "request" not in params:
        raise InvalidRequest("this client must send a signed request object")


def code_lifetime(config: ProviderConfig, client: ClientConfig | None) -> int:
    """Seconds an authorization code for ``client`` stays redeemable: ``[ttl] code``, and
    at most :data:`FAPI2_MAX_CODE_LIFETIME` for a fapi2 client, §5.3.2.1)."""
    ttl = int(config.ttl.code)
    if client is not None and client.profile == FAPI2:
        return min(ttl, FAPI2_MAX_CODE_LIFETIME)
    return ttl
