"""msgspec's :class:`~msgspec.ValidationError` → :class:`~stepauth.errors.ConfigError`.

msgspec says ``Expected `int` <= 65535 - at `$.server.port```; the Provider says
``server.port: must be between 1 and 65535``. The path becomes the key (a list of tables
keeps its index, ``clients[0].redirect_uris``; a list of values is named as a whole), and
what was expected is read from the schema's own types (:func:`msgspec.inspect.type_info`),
so the message states the range or the choices the key allows.
"""

from __future__ import annotations

import re
from functools import cache

import msgspec
from msgspec import inspect as mi

from stepauth.errors import ConfigError

__all__ = ["config_error"]

_AT = re.compile(r"^(?P<what>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.S)
_KEY_IN = re.compile(r"^Expected `str` - at `key` in `(?P<path>\$[^`]*)`$")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>.*)`$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<name>.*)`$", re.S)
_ENUM = re.compile(r"^Invalid enum value (?P<got>.*)$", re.S)

Step = str | int


@cache
def _info(schema: type[msgspec.Struct]) -> mi.Type:
    return mi.type_info(schema)


def _steps(path: str | None) -> list[Step]:
    if not path:
        return []
    return [int(index) if index else name for name, index in _STEP.findall(path[1:])]


def _key(steps: list[Step]) -> str:
    key = ""
    for step in steps:
        key += f"[{step}]" if isinstance(step, int) else (f".{step}" if key else step)
    return key


def _plain(node: mi.Type) -> mi.Type:
    """A union with ``None`` (an optional table or value) is what it holds."""
    if isinstance(node, mi.UnionType):
        members = [t for t in node.types if not isinstance(t, mi.NoneType)]
        if len(members) == 1:
            return members[0]
    return node


def _child(node: mi.Type, step: Step) -> mi.Type | None:
    node = _plain(node)
    if isinstance(step, int):
        if isinstance(node, mi.VarTupleType | mi.ListType):
            return node.item_type
        return None
    if isinstance(node, mi.StructType):
        for field in node.fields:
            if field.encode_name == step:
                return field.type
    return None


def _items(node: mi.Type) -> str:
    """How a list's items are called in a message."""
    node = _plain(node)
    if isinstance(node, mi.IntType):
        return "integers"
    if isinstance(node, mi.StrType):
        return "non-empty strings"
    if isinstance(node, mi.StructType | mi.DictType):
        return "tables"
    return "values"


def _bounds(node: mi.IntType) -> str:
    if node.ge is not None and node.le is not None:
        return f"between {node.ge} and {node.le}"
    if node.ge is not None:
        return f"at least {node.ge}"
    return f"at most {node.le}"


def _choices(node: mi.LiteralType) -> str:
    values = [str(v) for v in node.values]
    if len(values) == 1:
        return f'"{values[0]}"'
    if len(values) == 2:
        return f'"{values[0]}" or "{values[1]}"'
    return f"one of {', '.join(values)}"


def _expected(node: mi.Type, what: str, key: str) -> str:
    """What a value of type ``node`` must be, given msgspec's complaint ``what``."""
    node = _plain(node)
    wrong_type = ", got `" in what
    if isinstance(node, mi.IntType):
        return "must be an integer" if wrong_type else f"must be {_bounds(node)}"
    if isinstance(node, mi.BoolType):
        return "must be true or false"
    if isinstance(node, mi.StrType):
        return "must be a non-empty string"
    if isinstance(node, mi.LiteralType):
        got = _ENUM.match(what)
        return f"must be {_choices(node)}" + (f" (got {got['got']})" if got else "")
    if isinstance(node, mi.VarTupleType | mi.ListType):
        if isinstance(_plain(node.item_type), mi.StructType):
            return f"must be an array of tables ([[{key}]])"
        if not wrong_type and "length" in what:
            return f"must be a non-empty list of {_items(node.item_type)}"
        return f"must be a list of {_items(node.item_type)}"
    if isinstance(node, mi.StructType | mi.DictType):
        return "must be a table"
    return what[:1].lower() + what[1:]


def config_error(exc: msgspec.ValidationError, schema: type[msgspec.Struct]) -> ConfigError:
    """The :class:`ConfigError` for msgspec's ``exc`` raised while converting to ``schema``."""
    text = str(exc)
    if bad_key := _KEY_IN.match(text):
        key = _key(_steps(bad_key["path"]))
        return ConfigError("keys must be strings", key=key or "config")
    parts = _AT.match(text)
    assert parts is not None  # the pattern matches any text
    what, steps = parts["what"], _steps(parts["path"])
    if named := _UNKNOWN.match(what) or _MISSING.match(what):
        description = "unknown key" if named.re is _UNKNOWN else "is required"
        return ConfigError(description, key=_key([*steps, named["name"]]))
    node: mi.Type | None = _info(schema)
    nodes = [node]
    for step in steps:
        node = _child(node, step) if node is not None else None
        nodes.append(node)
    if node is None:
        return ConfigError(what[:1].lower() + what[1:], key=_key(steps) or "config")
    if steps and isinstance(steps[-1], int) and not isinstance(_plain(node), mi.StructType):
        # One value of a list of values: the key is the list's ("each" of them is meant).
        parent = nodes[-2]
        assert parent is not None
        key = _key(steps[:-1])
        item = _plain(node)
        if isinstance(item, mi.IntType) and ", got `" not in what:
            return ConfigError(f"each must be {_bounds(item)}", key=key)
        return ConfigError(_expected(parent, what, key), key=key)
    key = _key(steps) or "config"
    return ConfigError(_expected(node, what, key), key=key)
