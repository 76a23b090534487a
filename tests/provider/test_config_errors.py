"""A config error names the key with its full path, says what the key expects, and (from
:func:`load_config`) names the file; msgspec's own wording never reaches the user."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import ProviderConfig, load_config
from tests.helpers.config_dicts import DELETE, base, set_path


@pytest.mark.parametrize(
    ("line", "key", "says"),
    [
        ("[server]\nport = 70000", "server.port", "must be between 1 and 65535"),
        ("[server]\nport = true", "server.port", "must be an integer"),
        ("[sessions]\nmax_age = 5", "sessions.max_age", "unknown key"),
        ("[purge]\nvacuum = 1", "purge.vacuum", "must be true or false"),
        ('[logging]\nformat = "xml"', "logging.format", 'must be "json" or "text" (got \'xml\')'),
        (
            "[throttle]\nblock_delays = [60, 0]",
            "throttle.block_delays",
            "each must be between 1 and 604800",
        ),
        ("[[clients]]\nclient_id = 7", "clients[0].client_id", "must be a non-empty string"),
        (
            "[[clients]]\nclient_id = 'a'",
            "clients[0].redirect_uris",
            "must be a non-empty list of URLs",
        ),
        (
            "[[clients]]\nclient_id = 'a'\nredirect_uris = ['https://a.example/cb', 3]",
            "clients[0].redirect_uris",
            "must be a list of non-empty strings",
        ),
        ("clients = 3", "clients", "must be an array of tables ([[clients]])"),
        ("server = 3", "server", "must be a table"),
        ("[dpop]\nproof_max_age = 0", "dpop.proof_max_age", "must be between 1 and 3600"),
        ("[[clients]]\nprofile = 'fapi1'", "clients[0].profile", "must be \"fapi2\" (got 'fapi1')"),
    ],
)
def test_a_file_error_names_key_expectation_and_file(
    tmp_path: Path, line: str, key: str, says: str
) -> None:
    path = tmp_path / "stepauth.toml"
    path.write_text(f'issuer = "https://op.example"\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert caught.value.file == str(path)
    assert str(caught.value) == f"{key}: {says} (in {path})"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("clients[1].client_id", DELETE, "clients[1].client_id: is required"),
        ("issuer", DELETE, "issuer: is required"),
        ("redis", {"prefix": "x"}, "redis.url: is required"),
    ],
)
def test_a_missing_required_key_is_named(
    tmp_path: Path, path: str, value: Any, message: str
) -> None:
    data = copy.deepcopy(base())
    set_path(data, path, value)
    with pytest.raises(ConfigError) as caught:
        ProviderConfig.from_dict(data, base_dir=tmp_path)
    assert str(caught.value) == message
    assert caught.value.file is None


@pytest.mark.parametrize("data", [["issuer"], {3: "x"}])
def test_data_that_is_not_a_table_of_named_keys_is_refused(data: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        ProviderConfig.from_dict(data, base_dir=tmp_path)
    assert caught.value.key == "config"
