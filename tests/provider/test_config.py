"""Provider configuration: defaults, and one clear error naming the key."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from stepauth.errors import ConfigError
from stepauth.provider.config import (
    ProviderConfig,
    default_config_text,
    load_config,
)
from tests.helpers.config_dicts import DELETE, base, set_path

PUBLIC_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    "kid": "rp-1",
}


def test_defaults(tmp_path: Path) -> None:
    config = ProviderConfig.from_dict(base(), base_dir=tmp_path)
    assert config.database.url == f"sqlite+aiosqlite:///{tmp_path / 'stepauth.db'}"
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)
    assert config.webauthn.rp_id == "op.example"
    assert config.webauthn.origins == ("https://op.example",)
    assert config.secrets.key_env == "STEPAUTH_SECRET_KEY"
    assert (config.ttl.code, config.ttl.par, config.ttl.refresh_token) == (60, 60, 86400)
    assert (config.ttl.access_token, config.ttl.id_token) == (300, 300)
    assert (config.sessions.idle_timeout, config.sessions.absolute_timeout) == (1800, 43200)
    assert config.redis is None
    assert config.levels is None
    bank, spa = config.clients
    assert bank.token_endpoint_auth_method == "client_secret_basic"
    assert bank.id_token_signed_response_alg == "RS256"
    assert bank.acr_values == "required"
    assert spa.token_endpoint_auth_method == "none"
    assert spa.public
    assert spa.client_secret is None
    assert config.client("spa") is spa
    assert config.client("nobody") is None


def test_full_config_file(tmp_path: Path) -> None:
    path = tmp_path / "stepauth.toml"
    path.write_text(
        """
issuer = "https://login.example.com"
[server]
host = "0.0.0.0"
port = 9000
[database]
url = "data/op.db"
[webauthn]
rp_id = "example.com"
rp_name = "Example"
origins = ["https://login.example.com", "https://app.example.com"]
[ttl]
code = 30
[redis]
url = "redis://localhost:6379/1"
[[clients]]
client_id = "api"
token_endpoint_auth_method = "private_key_jwt"
redirect_uris = ["https://api.example.com/cb"]
id_token_signed_response_alg = "EdDSA"
acr_values = "voluntary"
require_par_for_authorization_details = true
[[clients.jwks.keys]]
kty = "EC"
crv = "P-256"
x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.database.url == f"sqlite+aiosqlite:///{tmp_path / 'data/op.db'}"
    assert config.server.port == 9000
    assert config.ttl.code == 30
    assert config.redis is not None
    assert config.redis.prefix == "stepauth:"
    (api,) = config.clients
    assert api.jwks is not None
    assert api.require_par_for_authorization_details
    assert api.acr_values == "voluntary"


def test_postgres_url_is_read_as_psycopg(tmp_path: Path) -> None:
    data = {**base(), "database": {"url": "postgresql://op@db/op"}}
    config = ProviderConfig.from_dict(data, base_dir=tmp_path)
    assert config.database.url == "postgresql+psycopg://op@db/op"


@pytest.mark.parametrize(
    ("levels", "key"),
    [
        ({"base": "nonsense"}, "levels.base"),
        ({"levels": []}, "levels.levels"),
        ({"base": "default", "levels": [{"acr": "x y"}]}, "levels.levels[0].acr"),
        ({"base": "default", "levels": [{"acr": "x", "bogus": 1}]}, "levels.levels[0].bogus"),
        (["not", "a", "table"], "levels"),
    ],
)
def test_levels_are_validated_by_the_ladder(levels: Any, key: str, tmp_path: Path) -> None:
    data = {**base(), "levels": levels}
    with pytest.raises(ConfigError) as caught:
        ProviderConfig.from_dict(data, base_dir=tmp_path)
    assert caught.value.key == key


def test_valid_levels_are_kept(tmp_path: Path) -> None:
    from stepauth.assurance import DEFAULT_LADDER, ladder_from_data

    levels: dict[str, Any] = {"base": "default", "levels": []}
    config = ProviderConfig.from_dict({**base(), "levels": levels}, base_dir=tmp_path)
    assert config.levels == levels
    assert ladder_from_data(config.levels).levels == DEFAULT_LADDER.levels


BAD = [
    ("issuer", DELETE, "issuer"),
    ("issuer", "http://op.example", "issuer"),
    ("issuer", "https://op.example?x=1", "issuer"),
    ("issuer", 42, "issuer"),
    ("isuer", "https://typo.example", "isuer"),
    ("server.port", 70000, "server.port"),
    ("server.port", "8080", "server.port"),
    ("server.hots", "x", "server.hots"),
    ("database.url", "mysql://x/y", "database.url"),
    ("database.url", "postgresql+asyncpg://x/y", "database.url"),
    ("webauthn.origins", ["https://evil.example"], "webauthn.origins"),
    ("webauthn.origins", ["https://op.example/path"], "webauthn.origins"),
    ("secrets.key_env", "NOT A NAME", "secrets.key_env"),
    ("sessions.idle_timeout", 0, "sessions.idle_timeout"),
    ("sessions.idle_timeout", 50000, "sessions.idle_timeout"),
    ("ttl.code", 3600, "ttl.code"),
    ("ttl.access_token", True, "ttl.access_token"),
    ("ttl.refresh", 5, "ttl.refresh"),
    ("redis.url", "http://x", "redis.url"),
    ("clients", {"client_id": "x"}, "clients"),
    ("clients[0].client_id", "", "clients[0].client_id"),
    ("clients[1].client_id", "bank", "clients[1].client_id"),
    ("clients[0].redirect_uris", [], "clients[0].redirect_uris"),
    ("clients[0].redirect_uris", ["http://rp.example/cb"], "clients[0].redirect_uris"),
    ("clients[0].redirect_uris", ["/relative"], "clients[0].redirect_uris"),
    ("clients[0].redirect_uris", ["https://rp.example/cb#frag"], "clients[0].redirect_uris"),
    ("clients[0].redirect_uris", "https://rp.example/cb", "clients[0].redirect_uris"),
    (
        "clients[1].post_logout_redirect_uris",
        ["javascript:alert(1)"],
        "clients[1].post_logout_redirect_uris",
    ),
    ("clients[0].client_secret", "short", "clients[0].client_secret"),
    ("clients[0].id_token_signed_response_alg", "none", "clients[0].id_token_signed_response_alg"),
    ("clients[0].id_token_signed_response_alg", "HS256", "clients[0].id_token_signed_response_alg"),
    ("clients[0].acr_values", "sometimes", "clients[0].acr_values"),
    (
        "clients[0].token_endpoint_auth_method",
        "tls_client_auth",
        "clients[0].token_endpoint_auth_method",
    ),
    ("clients[0].token_endpoint_auth_method", "none", "clients[0].token_endpoint_auth_method"),
    (
        "clients[1].token_endpoint_auth_method",
        "client_secret_post",
        "clients[1].token_endpoint_auth_method",
    ),
    (
        "clients[1].token_endpoint_auth_method",
        "private_key_jwt",
        "clients[1].token_endpoint_auth_method",
    ),
    ("clients[1].jwks", {"keys": [{**PUBLIC_JWK, "d": "private"}]}, "clients[1].jwks.keys[0]"),
    ("clients[1].jwks", {"keys": [{"kty": "EC"}]}, "clients[1].jwks"),
    ("clients[1].jwks", [PUBLIC_JWK], "clients[1].jwks"),
    (
        "clients[1].require_par_for_authorization_details",
        "yes",
        "clients[1].require_par_for_authorization_details",
    ),
    ("clients[1].scope", "openid", "clients[1].scope"),
    ("server.trusted_proxies", "10.0.0.0/8", "server.trusted_proxies"),
    ("server.trusted_proxies", ["10.0.0.1/8"], "server.trusted_proxies"),
    ("server.trusted_proxies", ["proxy.internal"], "server.trusted_proxies"),
    ("server.trusted_proxies", ["10.0.0.0/8"], "server.forwarded_header"),
    ("server.forwarded_header", "x-real-ip", "server.forwarded_header"),
    ("throttle.max_failures", 6, "throttle.max_failures"),
    ("throttle.max_failures", 0, "throttle.max_failures"),
    ("throttle.block_delays", [], "throttle.block_delays"),
    ("throttle.block_delays", [60, 60], "throttle.block_delays"),
    ("throttle.block_delays", [300, 60], "throttle.block_delays"),
    ("throttle.block_delays", [0, 60], "throttle.block_delays"),
    ("throttle.block_delays", [60, "300"], "throttle.block_delays"),
    ("throttle.block_delays", list(range(1, 21)), "throttle.block_delays"),
    ("throttle.ip_limit", 0, "throttle.ip_limit"),
    ("throttle.ip_window", 30, "throttle.ip_window"),
    ("throttle.ip_windw", 900, "throttle.ip_windw"),
]


@pytest.mark.parametrize(("path", "value", "key"), BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_values_name_their_key(path: str, value: Any, key: str, tmp_path: Path) -> None:
    """Every wrong value is rejected with its key path named."""
    data = copy.deepcopy(base())
    set_path(data, path, value)
    with pytest.raises(ConfigError) as caught:
        ProviderConfig.from_dict(data, base_dir=tmp_path)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_redirect_uri_message_says_what_is_allowed(tmp_path: Path) -> None:
    data = copy.deepcopy(base())
    data["clients"][0]["redirect_uris"] = ["http://rp.example/cb"]
    with pytest.raises(ConfigError, match=r"must be absolute https URLs or http://localhost"):
        ProviderConfig.from_dict(data, base_dir=tmp_path)


def test_private_key_jwt_client_is_accepted(tmp_path: Path) -> None:
    data = copy.deepcopy(base())
    data["clients"][1]["token_endpoint_auth_method"] = "private_key_jwt"
    data["clients"][1]["jwks"] = {"keys": [PUBLIC_JWK]}
    config = ProviderConfig.from_dict(data, base_dir=tmp_path)
    assert config.clients[1].jwks == {"keys": [PUBLIC_JWK]}


@pytest.mark.parametrize(
    ("text", "message"),
    [("issuer = ", "invalid TOML"), ("\xff", "not UTF-8")],
)
def test_unreadable_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "stepauth.toml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match=message):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_default_config_text_loads(tmp_path: Path) -> None:
    text = default_config_text(tmp_path, port=9999, client_secret="c" * 32)
    config = ProviderConfig.from_dict(tomllib.loads(text), base_dir=tmp_path)
    assert config.issuer == "http://localhost:9999"
    assert config.default_resource == "http://localhost:8000/api"
    assert config.client("demo") is not None
    assert config.database.url.endswith(f"{tmp_path}/stepauth.db")


def test_throttle_defaults_are_todays_limits(tmp_path: Path) -> None:
    """PSD2 RTS Art. 4(3)(b): five failures; blocks of 1 min, 5 min, 15 min, 1 h; 30
    failures per address every 15 minutes."""
    limits = ProviderConfig.from_dict(base(), base_dir=tmp_path).throttle
    assert (limits.max_failures, limits.block_delays) == (5, (60, 300, 900, 3600))
    assert (limits.ip_limit, limits.ip_window) == (30, 900)
    data = {**base(), "throttle": {"max_failures": 3, "block_delays": [30, 600], "ip_limit": 10}}
    limits = ProviderConfig.from_dict(data, base_dir=tmp_path).throttle
    assert (limits.max_failures, limits.block_delays, limits.ip_limit) == (3, (30, 600), 10)
    assert limits.ip_window == 900


def test_trusted_proxies_are_networks(tmp_path: Path) -> None:
    data = {
        **base(),
        "server": {
            "trusted_proxies": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"],
            "forwarded_header": "Forwarded",
        },
    }
    server = ProviderConfig.from_dict(data, base_dir=tmp_path).server
    assert [str(n) for n in server.trusted_proxies] == [
        "10.0.0.0/8",
        "2001:db8::/32",
        "192.0.2.7/32",
    ]
    assert server.forwarded_header == "forwarded"
    assert ProviderConfig.from_dict(base(), base_dir=tmp_path).server.trusted_proxies == ()
