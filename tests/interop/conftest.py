"""A real ``stepauth serve`` process for the third-party peers (openid-client).

The server is started from a generated TOML config (SQLite in a temporary directory, a free
loopback port, one confidential client) with a password user added through the CLI
(``stepauth users add NAME --password-stdin``), and stopped after the module.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bench._servers import Client, Server, stepauth_server

from tests.conftest import run_node


@dataclass(frozen=True)
class Provider:
    server: Server
    client: Client
    public_client: Client
    username: str
    password: str

    @property
    def issuer(self) -> str:
        return self.server.issuer


@pytest.fixture(scope="module")
def stepauth_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """``stepauth serve`` on SQLite: confidential client ``rp`` (client_secret_basic), public
    client ``spa`` (none + PKCE) and the password user ``alice``."""
    client = Client(client_id="rp", redirect_uri="http://127.0.0.1:9/callback")
    public = Client(client_id="spa", redirect_uri="http://127.0.0.1:9/spa", public=True)
    password = secrets.token_urlsafe(12)
    directory = tmp_path_factory.mktemp("stepauth-serve")
    with stepauth_server(
        directory, client=client, extra_clients=[public], users=[("alice", password)]
    ) as server:
        yield Provider(server, client, public, "alice", password)


def run_peer_rp(
    script: Path, provider: Provider, *args: str, client: Client | None = None
) -> dict[str, Any]:
    """A relying party script of ``peers/`` for ``client`` (the confidential one unless
    given) signing in as the provider's user; its JSON result."""
    client = client or provider.client
    secret = [] if client.public else [f"--client-secret={client.client_secret}"]
    out = run_node(
        script,
        "--issuer",
        provider.issuer,
        "--client-id",
        client.client_id,
        *secret,
        "--redirect-uri",
        client.redirect_uri,
        "--username",
        provider.username,
        *args,
        env={"RP_PASSWORD": provider.password},
    )
    result: dict[str, Any] = json.loads(out)
    return result
