"""A real ``stepauth serve`` process for the third-party peers (openid-client).

The server is started from a generated TOML config (SQLite in a temporary directory, a free
loopback port, one confidential client) with a password user added through the CLI
(``stepauth users add NAME --password-stdin``), and stopped after the module.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from bench._servers import Client, Server, stepauth_server


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
