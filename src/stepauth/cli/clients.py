"""``stepauth clients list``: the registered clients of the config file."""

from __future__ import annotations

import argparse
from typing import Any

from stepauth.cli import add_action, add_command_group, load_cli_config

__all__ = ["register"]


def register(subparsers: Any) -> None:
    commands = add_command_group(subparsers, "clients", "show the configured clients")
    add_action(commands, "list", "list the configured clients", _list)


def _list(args: argparse.Namespace) -> int:
    config = load_cli_config(args)
    if not config.clients:
        print("no clients configured")
        return 0
    for client in config.clients:
        kind = "public" if client.public else "confidential"
        print(
            f"{client.client_id}\t{kind}\t{client.token_endpoint_auth_method}\t"
            f"acr_values={client.acr_values}\t{client.id_token_signed_response_alg}\t"
            f"{' '.join(client.redirect_uris)}"
        )
    return 0
