"""docs/fapi.md: its example configuration loads, and its client is a FAPI 2.0 client."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import ProviderConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "fapi.md"


def _example() -> dict[str, object]:
    match = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert match, "docs/fapi.md has no TOML example"
    return tomllib.loads(match.group(1))


def test_the_docs_example_configuration_loads(tmp_path: Path) -> None:
    config = ProviderConfig.from_dict(_example(), base_dir=tmp_path)
    client = config.client("budget-app")
    assert client is not None
    assert client.profile == "fapi2"
    assert client.token_endpoint_auth_method == "private_key_jwt"
    assert client.requires_dpop
    assert client.require_signed_request_object
    assert config.ttl.code <= 60


def test_the_docs_error_example_is_the_real_message(tmp_path: Path) -> None:
    data = _example()
    client = data["clients"][0]  # type: ignore[index]
    client["token_endpoint_auth_method"] = "client_secret_basic"
    client["client_secret"] = "s" * 32
    client.pop("jwks")
    client.pop("request_object_signing_alg")
    with pytest.raises(ConfigError) as caught:
        ProviderConfig.from_dict(data, base_dir=tmp_path)
    shown = " ".join(DOC.read_text(encoding="utf-8").split())
    assert " ".join(str(caught.value).split()) in shown
