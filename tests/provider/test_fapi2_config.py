"""FAPI 2.0 Security Profile: the static rules, refused when the configuration loads.

Each rule has its own test: the error names the client, the setting (its key) and the
rule (FAPI 2.0 Security Profile §5.3.2.1, §5.3.2.2, §5.4).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import ProviderConfig
from tests.helpers.harness import SECRET
from tests.provider.fapi import FAPI, FAPI_PAR, JAR, fapi_config


def _load(tmp_path: Path, data: dict[str, Any]) -> ProviderConfig:
    return ProviderConfig.from_dict(data, base_dir=tmp_path)


def _with_fapi_client(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    """The FAPI test configuration with ``changes`` applied to the fapi2 client (a value
    of ``None`` removes the setting)."""
    data = copy.deepcopy(fapi_config(tmp_path))
    client = next(c for c in data["clients"] if c["client_id"] == FAPI)
    for name, value in changes.items():
        if value is None:
            client.pop(name, None)
        else:
            client[name] = value
    return data


def _refused(tmp_path: Path, key: str, rule: str, **changes: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, _with_fapi_client(tmp_path, **changes))
    message = str(caught.value)
    assert caught.value.key is not None
    assert caught.value.key.endswith(key), message
    assert repr(FAPI) in message, message
    assert rule in message, message


def test_fapi2_clients_load(tmp_path: Path) -> None:
    config = _load(tmp_path, fapi_config(tmp_path))
    client = config.client(FAPI)
    assert client is not None
    assert client.profile == "fapi2"
    assert client.request_object_signing_alg == "ES256"


def test_fapi2_client_secret_basic_is_refused(tmp_path: Path) -> None:
    """§5.3.2.1: private_key_jwt (or MTLS) only; a shared secret is not allowed."""
    _refused(
        tmp_path,
        "token_endpoint_auth_method",
        "private_key_jwt",
        token_endpoint_auth_method="client_secret_basic",
        client_secret=SECRET,
        jwks=None,
        request_object_signing_alg=None,
    )


def test_fapi2_client_secret_post_is_refused(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        "token_endpoint_auth_method",
        "private_key_jwt",
        token_endpoint_auth_method="client_secret_post",
        client_secret=SECRET,
    )


def test_fapi2_public_client_is_refused(tmp_path: Path) -> None:
    """§5.3.2.1: "shall only support confidential clients"."""
    _refused(
        tmp_path,
        "token_endpoint_auth_method",
        "private_key_jwt",
        token_endpoint_auth_method="none",
        request_object_signing_alg=None,
        jwks=None,
    )


def test_fapi2_http_redirect_uri_is_refused(tmp_path: Path) -> None:
    """§5.3.2.2: no authorization response over an unencrypted connection: http only on
    the loopback literals, so not on another 127.0.0.0/8 address (nor on a web host, which
    no client may register)."""
    _refused(tmp_path, "redirect_uris", "must be https", redirect_uris=["http://127.0.0.5/cb"])
    with pytest.raises(ConfigError, match="https"):
        _load(tmp_path, _with_fapi_client(tmp_path, redirect_uris=["http://rp.example/cb"]))


def test_fapi2_localhost_redirect_uri_is_refused(tmp_path: Path) -> None:
    """RFC 8252 §8.3: "localhost" is not the loopback literal a native app listens on."""
    _refused(tmp_path, "redirect_uris", "127.0.0.1", redirect_uris=["http://localhost:8000/cb"])


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8000/cb", "http://[::1]:8000/cb"])
def test_fapi2_loopback_literal_redirect_uri_is_accepted(tmp_path: Path, uri: str) -> None:
    """§5.3.2.2, RFC 8252 §7.3: native apps on the loopback interface."""
    config = _load(tmp_path, _with_fapi_client(tmp_path, redirect_uris=[uri]))
    client = config.client(FAPI)
    assert client is not None
    assert client.redirect_uris == (uri,)


def test_fapi2_rs256_id_tokens_are_refused(tmp_path: Path) -> None:
    """§5.4: PS256, ES256 or EdDSA; the default RS256 must be changed for a fapi2 client."""
    _refused(
        tmp_path,
        "id_token_signed_response_alg",
        "ES256",
        id_token_signed_response_alg=None,
    )


def test_fapi2_rs256_request_objects_are_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "request_object_signing_alg", "PS256", request_object_signing_alg="RS256")


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_request_object_alg_none_or_hmac_is_refused_for_every_client(
    tmp_path: Path, alg: str
) -> None:
    """RFC 8725 §3.1: never ``none``, never a MAC keyed with a public key."""
    data = copy.deepcopy(fapi_config(tmp_path))
    next(c for c in data["clients"] if c["client_id"] == JAR)["request_object_signing_alg"] = alg
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, data)
    assert caught.value.key is not None
    assert caught.value.key.endswith("request_object_signing_alg")


def test_request_object_alg_without_keys_is_refused(tmp_path: Path) -> None:
    """Request objects are verified with the client's jwks: without one, fail at load."""
    data = copy.deepcopy(fapi_config(tmp_path))
    data["clients"][0]["request_object_signing_alg"] = "ES256"  # bank-app: a secret client
    with pytest.raises(ConfigError, match="jwks"):
        _load(tmp_path, data)


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    data = _with_fapi_client(tmp_path, profile="fapi1")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, data)
    assert caught.value.key is not None
    assert caught.value.key.endswith(".profile")


def test_fapi2_request_uri_lifetime_of_600_seconds_is_refused(tmp_path: Path) -> None:
    """§5.3.2.2: request_uri expires_in "of less than 600 seconds"."""
    data = fapi_config(tmp_path)
    data["ttl"] = {"par": 600}
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, data)
    assert caught.value.key == "ttl.par"
    assert "less than 600" in str(caught.value) or "below 600" in str(caught.value)
    data["ttl"] = {"par": 599}
    assert _load(tmp_path, data).ttl.par == 599


def test_fapi2_clients_require_dpop(tmp_path: Path) -> None:
    """§5.3.2.1: only sender-constrained access tokens; the token side reads
    ``requires_dpop``, true for fapi2 clients and for those that ask for it."""
    data = fapi_config(tmp_path)
    data["clients"][0]["dpop_bound_access_tokens"] = True
    config = _load(tmp_path, data)
    by_id = {c.client_id: c for c in config.clients}
    assert by_id[FAPI].requires_dpop
    assert by_id[FAPI_PAR].requires_dpop
    assert by_id[FAPI_PAR].dpop_bound_access_tokens is False
    assert by_id["bank-app"].requires_dpop
    assert not by_id[JAR].requires_dpop


def test_fapi2_with_request_object_alg_requires_signed_request_objects(tmp_path: Path) -> None:
    """fapi2 + request_object_signing_alg: every pushed request is a signed request object."""
    config = _load(tmp_path, fapi_config(tmp_path))
    by_id = {c.client_id: c for c in config.clients}
    assert by_id[FAPI].require_signed_request_object
    assert not by_id[FAPI_PAR].require_signed_request_object
    assert not by_id[JAR].require_signed_request_object
