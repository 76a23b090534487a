"""Build and parse RFC 9470 ``WWW-Authenticate`` challenges.

Grammar (RFC 9110 §11.6.1, §5.6.2–5.6.4)::

    WWW-Authenticate = #challenge
    challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param = token BWS "=" BWS ( token / quoted-string )
    token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="

One header may carry several challenges. Parameter names are case-insensitive and
occur at most once per challenge. When building, ``error``, ``error_description`` and
``scope`` keep to the RFC 6750 §3 character sets (printable ASCII without a double
quote or backslash); other values are escaped as quoted-strings.

RFC 9470 §3 adds ``error="insufficient_user_authentication"``, ``acr_values``
— space-separated, in preference order (RFC 9470 §3) — and ``max_age``, a token or
quoted-string that represents a non-negative integer (RFC 9470 §3).
:func:`build_challenge` writes the single-line form of the RFC §3 examples (RFC 9470 §3)::

    Bearer error="insufficient_user_authentication", error_description="A different
    authentication level is required", acr_values="myACR"

Anything malformed raises :class:`InvalidChallenge` (``error="invalid_challenge"``).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from stepauth.assurance.errors import InvalidChallenge

__all__ = [
    "INSUFFICIENT_USER_AUTHENTICATION",
    "Challenge",
    "build_challenge",
    "parse_challenges",
]

INSUFFICIENT_USER_AUTHENTICATION = "insufficient_user_authentication"

_TCHAR = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)
_TOKEN68 = frozenset("-._~+/" + string.ascii_letters + string.digits)
_DIGITS = frozenset(string.digits)
# qdtext and quoted-pair (RFC 9110 §5.6.4): HTAB, SP, VCHAR and obs-text; never CTLs.
_QUOTABLE = frozenset(chr(c) for c in (9, *range(0x20, 0x7F), *range(0x80, 0x100))) - {"\x7f"}
_PRINTABLE_ASCII = frozenset(chr(c) for c in (9, *range(0x20, 0x7F)))
_WS = " \t"
# RFC 6750 §3: error and error_description are NQSCHAR, scope tokens NQCHAR.
_NQCHAR = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"', "\\"}
_NQSCHAR = _NQCHAR | {" "}
_KNOWN = ("realm", "error", "error_description", "scope", "acr_values", "max_age")
_MAX_AGE_DIGITS = 12  # ~31 700 years: longer values are garbage, not a freshness bound


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge; ``params`` holds the auth-params not given their own field."""

    scheme: str = "Bearer"
    error: str | None = None
    error_description: str | None = None
    acr_values: tuple[str, ...] = ()
    max_age: int | None = None
    scope: str | None = None
    realm: str | None = None
    params: Mapping[str, str] = field(default_factory=_empty, hash=False)
    token68: str | None = None

    def __post_init__(self) -> None:
        # Freeze what callers pass as list / dict so an equal challenge stays equal.
        object.__setattr__(self, "acr_values", tuple(self.acr_values))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def is_step_up(self) -> bool:
        """True for an RFC 9470 ``insufficient_user_authentication`` challenge."""
        return self.error == INSUFFICIENT_USER_AUTHENTICATION

    def __str__(self) -> str:
        return _serialize(self)


def _quote(value: str, name: str) -> str:
    if not _PRINTABLE_ASCII.issuperset(value):
        # Header injection (CR/LF) and non-ASCII are refused, not escaped.
        raise InvalidChallenge(f"{name} must be printable ASCII")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_token(value: str) -> bool:
    return bool(value) and _TCHAR.issuperset(value)


def _serialize(challenge: Challenge) -> str:
    if not _is_token(challenge.scheme):
        raise InvalidChallenge("auth-scheme must be a token")
    if challenge.token68 is not None:
        value = challenge.token68
        body = value.rstrip("=")
        if not body or any(c not in _TOKEN68 for c in body) or challenge.params:
            raise InvalidChallenge("token68 is malformed or mixed with auth-params")
        return f"{challenge.scheme} {value}"
    pairs: list[tuple[str, str]] = []
    if challenge.realm is not None:
        pairs.append(("realm", challenge.realm))
    for name in ("error", "error_description"):
        value = getattr(challenge, name)
        if value is not None:
            if not _NQSCHAR.issuperset(value):
                raise InvalidChallenge(f"{name} allows printable ASCII except '\"' and '\\'")
            pairs.append((name, value))
    if challenge.scope is not None:
        if any(not t or not _NQCHAR.issuperset(t) for t in challenge.scope.split(" ")):
            raise InvalidChallenge("scope must be scope-tokens separated by single spaces")
        pairs.append(("scope", challenge.scope))
    if challenge.acr_values:
        for acr in challenge.acr_values:
            if not acr or any(c.isspace() for c in acr):
                raise InvalidChallenge("acr_values entries must be non-empty, without spaces")
        pairs.append(("acr_values", " ".join(challenge.acr_values)))
    if challenge.max_age is not None:
        max_age = challenge.max_age
        if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0:
            raise InvalidChallenge("max_age must be a non-negative integer")
        pairs.append(("max_age", str(max_age)))
    for name, value in challenge.params.items():
        if not _is_token(name) or name.lower() in _KNOWN:
            raise InvalidChallenge(f"auth-param name {name!r} is not a free token")
        pairs.append((name, value))
    if not pairs:
        return challenge.scheme
    return challenge.scheme + " " + ", ".join(f"{n}={_quote(v, n)}" for n, v in pairs)


def build_challenge(
    *,
    acr_values: Iterable[str] = (),
    max_age: int | None = None,
    error: str | None = INSUFFICIENT_USER_AUTHENTICATION,
    error_description: str | None = None,
    scope: str | None = None,
    realm: str | None = None,
    scheme: str = "Bearer",
    params: Mapping[str, str] | None = None,
) -> str:
    """One ``WWW-Authenticate`` challenge, every value a quoted-string (RFC 9470 §3)."""
    return _serialize(
        Challenge(
            scheme=scheme,
            error=error,
            error_description=error_description,
            acr_values=tuple(acr_values),
            max_age=max_age,
            scope=scope,
            realm=realm,
            params=MappingProxyType(dict(params or {})),
        )
    )


class _Parser:
    def __init__(self, header: str) -> None:
        self.s = header
        self.i = 0

    def fail(self, what: str) -> InvalidChallenge:
        return InvalidChallenge(f"{what} at offset {self.i}")

    def skip(self, chars: str = _WS) -> None:
        s, i, n = self.s, self.i, len(self.s)
        while i < n and s[i] in chars:
            i += 1
        self.i = i

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def token(self) -> str:
        s, start, n = self.s, self.i, len(self.s)
        i = start
        while i < n and s[i] in _TCHAR:
            i += 1
        self.i = i
        return s[start:i]

    def quoted(self) -> str:
        s, n = self.s, len(self.s)
        i = self.i + 1  # past the opening DQUOTE
        end = s.find('"', i)
        if end >= 0 and "\\" not in s[i:end] and _QUOTABLE.issuperset(s[i:end]):
            self.i = end + 1  # common case: no quoted-pair, nothing to unescape
            return s[i:end]
        out: list[str] = []
        while i < n:
            c = s[i]
            if c == '"':
                self.i = i + 1
                return "".join(out)
            if c == "\\":
                i += 1
                if i >= n or s[i] not in _QUOTABLE:
                    break
                c = s[i]
            elif c not in _QUOTABLE:
                self.i = i
                raise self.fail("control character in quoted-string")
            out.append(c)
            i += 1
        self.i = i
        raise self.fail("unterminated quoted-string")

    def starts_param(self) -> bool:
        """At a list element: is it ``token BWS "=" BWS value`` (not a new challenge)?"""
        start = self.i
        name = self.token()
        self.skip()
        is_param = bool(name) and self.peek() == "="
        if is_param:
            self.i += 1
            self.skip()
            nxt = self.peek()
            is_param = nxt == '"' or nxt in _TCHAR
        self.i = start
        return is_param

    def challenge(self) -> Challenge:
        scheme = self.token()
        if not scheme:
            raise self.fail("expected an auth-scheme")
        after_scheme = self.i
        self.skip(" ")
        if self.i == len(self.s) or self.peek() == ",":
            return Challenge(scheme=scheme)
        if self.i == after_scheme:
            raise self.fail("expected SP after the auth-scheme")
        if not self.starts_param():
            return self.token68_challenge(scheme)
        return self.params_challenge(scheme)

    def token68_challenge(self, scheme: str) -> Challenge:
        s, start, n = self.s, self.i, len(self.s)
        i = start
        while i < n and s[i] in _TOKEN68:
            i += 1
        if i == start:
            self.i = i
            raise self.fail("expected token68 or auth-params")
        while i < n and s[i] == "=":
            i += 1
        self.i = i
        self.skip()
        if self.peek() not in ("", ","):
            raise self.fail("unexpected text after token68")
        return Challenge(scheme=scheme, token68=s[start:i])

    def params_challenge(self, scheme: str) -> Challenge:
        params: dict[str, str] = {}
        while True:
            name = self.token().lower()
            self.skip()
            self.i += 1  # "=" (checked by starts_param)
            self.skip()
            value = self.quoted() if self.peek() == '"' else self.token()
            if name in params:
                raise self.fail(f"duplicate auth-param {name!r}")
            params[name] = value
            self.skip()
            if self.peek() == "":
                break
            if self.peek() != ",":
                raise self.fail("expected ',' between auth-params")
            self.skip(_WS + ",")
            if self.peek() == "" or not self.starts_param():
                break
        return _from_params(scheme, params)

    def challenges(self) -> tuple[Challenge, ...]:
        found: list[Challenge] = []
        while True:
            self.skip(_WS + ",")
            if self.i >= len(self.s):
                break
            found.append(self.challenge())
        if not found:
            raise InvalidChallenge("no challenge in the header")
        return tuple(found)


def _parse_max_age(value: str) -> int:
    # RFC 9470 §3: token or quoted-string, "it has to represent a non-negative integer".
    if not value or len(value) > _MAX_AGE_DIGITS or any(c not in _DIGITS for c in value):
        raise InvalidChallenge(f"max_age must be a non-negative integer, got {value!r}")
    return int(value)


def _from_params(scheme: str, params: dict[str, str]) -> Challenge:
    max_age = params.pop("max_age", None)
    acr_values = params.pop("acr_values", None)
    return Challenge(
        scheme=scheme,
        realm=params.pop("realm", None),
        error=params.pop("error", None),
        error_description=params.pop("error_description", None),
        scope=params.pop("scope", None),
        acr_values=tuple(v for v in acr_values.split(" ") if v) if acr_values else (),
        max_age=None if max_age is None else _parse_max_age(max_age),
        params=MappingProxyType(params),
    )


def parse_challenges(header: str) -> tuple[Challenge, ...]:
    """Every challenge in one ``WWW-Authenticate`` field value (RFC 9110 §11.6.1)."""
    if not isinstance(header, str):
        raise InvalidChallenge("the header value must be a string")
    return _Parser(header).challenges()
