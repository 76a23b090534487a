"""Where a key is in a TOML file: ``tomllib`` keeps no positions, so scan the text.

``key_lines(text)`` maps key paths (``("actions", "transfer", "acr")``, with list indices
for arrays of tables: ``("rules", 2, "signal")``) to their 1-based line; ``line_of`` finds
the line of a path or of its nearest recorded ancestor. The scan follows TOML's line-level
grammar (table headers, ``key = value`` lines, dotted and quoted keys) and skips the inside
of multi-line strings and arrays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["Path", "format_path", "key_lines", "line_of"]

Path = tuple[str | int, ...]

_BARE_OR_QUOTED = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_KEY = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
_ARRAY_HEADER = re.compile(rf"\[\[\s*({_KEY})\s*\]\]")
_TABLE_HEADER = re.compile(rf"\[\s*({_KEY})\s*\]")
_KEY_VALUE = re.compile(rf"({_KEY})\s*=(.*)")
_PART = re.compile(_BARE_OR_QUOTED)


def _split_key(key: str) -> tuple[str, ...]:
    parts = []
    for part in _PART.findall(key):
        if part[:1] in ('"', "'"):
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _depth(text: str, depth: int) -> int:
    """Bracket depth after ``text``, ignoring strings and comments."""
    in_string: str | None = None
    for ch in text:
        if in_string:
            if ch == in_string:
                in_string = None
        elif ch in ('"', "'"):
            in_string = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def key_lines(text: str) -> dict[Path, int]:
    """Map every key path and table header in ``text`` to its line number (1-based)."""
    lines: dict[Path, int] = {}
    table: Path = ()
    array_counts: dict[tuple[str, ...], int] = {}
    quote: str | None = None  # inside a multi-line string closed by this
    depth = 0  # inside a multi-line array or inline table
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if quote is not None:
            if quote in line:
                quote = None
            continue
        if depth > 0:
            depth = _depth(line, depth)
            continue
        if not line or line.startswith("#"):
            continue
        if match := _ARRAY_HEADER.match(line):
            name = _split_key(match.group(1))
            index = array_counts.get(name, 0)
            array_counts[name] = index + 1
            table = (*_with_indices(name, array_counts), index)
            lines.setdefault(table[:-1], number)
            lines[table] = number
            continue
        if match := _TABLE_HEADER.match(line):
            table = _with_indices(_split_key(match.group(1)), array_counts)
            lines[table] = number
            continue
        if match := _KEY_VALUE.match(line):
            lines[(*table, *_split_key(match.group(1)))] = number
            value = match.group(2).strip()
            for token in ('"""', "'''"):
                if value.startswith(token) and value.count(token) == 1:
                    quote = token
            if quote is None:
                depth = max(_depth(value, 0), 0)
    return lines


def _with_indices(name: tuple[str, ...], array_counts: dict[tuple[str, ...], int]) -> Path:
    """``[rules.x]`` after two ``[[rules]]`` headers is ``("rules", 1, "x")``; the last part
    never gets an index here (an array-of-tables header adds its own)."""
    path: list[str | int] = []
    last = len(name) - 1
    for i, part in enumerate(name):
        path.append(part)
        count = array_counts.get(name[: i + 1])
        if count and i < last:
            path.append(count - 1)
    return tuple(path)


def line_of(lines: dict[Path, int], path: Sequence[str | int]) -> int | None:
    """The line of ``path``, else of its nearest ancestor that has one."""
    for end in range(len(path), 0, -1):
        found = lines.get(tuple(path[:end]))
        if found is not None:
            return found
    return None


def format_path(path: Sequence[str | int]) -> str:
    """``("rules", 2, "signal")`` → ``rules[2].signal``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
