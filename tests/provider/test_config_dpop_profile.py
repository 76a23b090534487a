"""The client ``profile``, ``dpop_bound_access_tokens``, ``request_object_signing_alg`` and
the ``[dpop]`` table: defaults that keep today's behaviour, and one error per bad value."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import DPoPConfig, ProviderConfig
from tests.helpers.config_dicts import base, set_path
from tests.provider.fapi import fapi_clients


def _load(tmp_path: Path, **changes: Any) -> ProviderConfig:
    data = copy.deepcopy(base())
    for path, value in changes.items():
        set_path(data, path.replace("__", "."), value)
    return ProviderConfig.from_dict(data, base_dir=tmp_path)


def test_defaults_keep_todays_behaviour(tmp_path: Path) -> None:
    config = _load(tmp_path)
    assert config.dpop == DPoPConfig(nonce_lifetime=300, require_nonce=False, proof_max_age=60)
    for client in config.clients:
        assert client.profile is None
        assert client.dpop_bound_access_tokens is False
        assert client.request_object_signing_alg is None


def test_values_are_read(tmp_path: Path) -> None:
    data = copy.deepcopy(base())
    data["dpop"] = {"nonce_lifetime": 120, "require_nonce": True, "proof_max_age": 30}
    data["clients"][0] |= {"dpop_bound_access_tokens": True}
    data["clients"].append(fapi_clients()[0] | {"request_object_signing_alg": "PS256"})
    config = ProviderConfig.from_dict(data, base_dir=tmp_path)
    assert config.dpop == DPoPConfig(nonce_lifetime=120, require_nonce=True, proof_max_age=30)
    bank, spa, fapi = config.clients
    assert (bank.profile, bank.dpop_bound_access_tokens, bank.requires_dpop) == (None, True, True)
    assert (fapi.profile, fapi.dpop_bound_access_tokens, fapi.requires_dpop) == (
        "fapi2",
        False,
        True,
    )
    assert fapi.request_object_signing_alg == "PS256"
    assert (spa.profile, spa.dpop_bound_access_tokens, spa.requires_dpop) == (None, False, False)


BAD = [
    ("clients[0].profile", "fapi1", 'must be "fapi2"'),
    ("clients[0].profile", "FAPI2", 'must be "fapi2"'),
    ("clients[0].profile", True, 'must be "fapi2"'),
    ("clients[0].dpop_bound_access_tokens", "yes", "must be true or false"),
    ("clients[0].dpop_bound_access_tokens", 1, "must be true or false"),
    ("clients[0].request_object_signing_alg", "none", 'must not be "none"'),
    ("clients[0].request_object_signing_alg", "None", 'must not be "none"'),
    ("clients[0].request_object_signing_alg", "HS256", "must be one of RS256, "),
    ("clients[0].request_object_signing_alg", "rs256", "must be one of RS256, "),
    ("clients[0].request_object_signing_alg", "", "must be a non-empty string"),
    ("clients[0].request_object_signing_alg", ["ES256"], "must be a non-empty string"),
    ("dpop.nonce_lifetime", 0, "must be between 1 and 86400"),
    ("dpop.nonce_lifetime", -300, "must be between 1 and 86400"),
    ("dpop.nonce_lifetime", "300", "must be an integer"),
    ("dpop.nonce_lifetime", True, "must be an integer"),
    ("dpop.nonce_lifetime", 1.5, "must be an integer"),
    ("dpop.require_nonce", "false", "must be true or false"),
    ("dpop.require_nonce", 0, "must be true or false"),
    ("dpop.proof_max_age", 0, "must be between 1 and 3600"),
    ("dpop.proof_max_age", 3601, "must be between 1 and 3600"),
    ("dpop.proof_max_age", "60s", "must be an integer"),
    ("dpop.nonce_ttl", 300, "unknown key"),
    ("dpop", [300], "must be a table"),
]


@pytest.mark.parametrize(("path", "value", "says"), BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_values_name_their_key(path: str, value: Any, says: str, tmp_path: Path) -> None:
    data = copy.deepcopy(base())
    set_path(data, path, value)
    with pytest.raises(ConfigError) as caught:
        ProviderConfig.from_dict(data, base_dir=tmp_path)
    assert caught.value.key == path
    assert str(caught.value).startswith(f"{path}: {says}")


def test_an_unsigned_request_object_is_refused(tmp_path: Path) -> None:
    """OIDC Core §6.1: ``none`` would accept a request object anyone can write."""
    data = copy.deepcopy(base())
    data["clients"][1]["request_object_signing_alg"] = "none"
    with pytest.raises(ConfigError, match=r"^clients\[1\]\.request_object_signing_alg: must not"):
        ProviderConfig.from_dict(data, base_dir=tmp_path)
