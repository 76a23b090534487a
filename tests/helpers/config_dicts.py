"""Provider configuration as plain data, for the configuration tests."""

from __future__ import annotations

from typing import Any

__all__ = ["DELETE", "base", "set_path"]

#: ``set_path(data, path, DELETE)`` removes the key.
DELETE = object()


def base() -> dict[str, Any]:
    """The smallest valid file: an issuer, a confidential client and a public one."""
    return {
        "issuer": "https://op.example",
        "clients": [
            {
                "client_id": "bank",
                "client_secret": "s" * 32,
                "redirect_uris": ["https://rp.example/cb"],
            },
            {"client_id": "spa", "redirect_uris": ["http://localhost:3000/cb"]},
        ],
    }


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b[0].c`` in nested data (``value is DELETE`` removes the key)."""
    node: Any = data
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
