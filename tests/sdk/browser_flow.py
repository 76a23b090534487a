"""Helpers for browser-app round trips through the node OP with in-process test clients."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.sdk.conftest import drive


def authorize_params(location: str) -> dict[str, str]:
    query = parse_qs(urlsplit(location).query)
    assert all(len(v) == 1 for v in query.values()), "no parameter may be sent twice"
    return {k: v[0] for k, v in query.items()}


def through_op(ua: httpx.Client, location: str, redirect_uri: str) -> dict[str, str]:
    """The browser at the OP: returns the callback query the OP redirects back with."""
    return drive(ua, location, redirect_uri)


def confirm_fields(page: str) -> dict[str, str]:
    """Hidden fields of the confirmation form (what the Confirm button would post)."""
    fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    assert 'type="submit">Confirm</button>' in page
    return dict(fields)


def essential_acr(params: dict[str, str]) -> Any:
    return json.loads(params["claims"])["id_token"]["acr"]
