"""The client's address behind trusted reverse proxies (RFC 7239; ``X-Forwarded-For``).

The per-address throttle, the audit log and the server's access log all key on the
client address, so it is resolved once per request, here, and nowhere else:

* the TCP peer (the ASGI server's ``scope["client"]``) is the address, unless it lies
  inside one of ``[server] trusted_proxies``;
* behind a trusted peer, the one configured header (``[server] forwarded_header``:
  ``X-Forwarded-For`` or RFC 7239 ``Forwarded``) is read from the right: every hop that
  is itself a trusted proxy is skipped and the first one that is not is the client.
  Entries left of it were written by the client and are never believed (a proxy
  appends the address it saw, RFC 7239 §5.2 / §8.1). When every hop is a trusted
  proxy, the left-most one is the client;
* the other header is ignored: the proxy writes only one, so the other is the
  client's to forge;
* a header that does not parse, or whose deciding hop is no IP address (``unknown``,
  an obfuscated identifier, RFC 7239 §6.2–6.3), leaves the peer as the address — never
  an error page, and never an address the client chose.

:class:`TrustedProxies` is the ASGI middleware that writes the result into
``scope["client"]`` (so ``request.client``, :func:`stepauth.audit.client_of` and the
server's access log agree); :func:`client_address` is the pure function behind it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from stepauth.provider.config import Network

__all__ = [
    "TrustedProxies",
    "client_address",
    "forwarded_for",
    "x_forwarded_for",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 7239 §4: forwarded-pair = token "=" value; value = token / quoted-string
# (RFC 7230 §3.2.6 tchar, qdtext and quoted-pair).
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_PAIR = re.compile(rf"[ \t]*({_TOKEN})=({_TOKEN}|{_QUOTED})[ \t]*")
_PORT = re.compile(r"[0-9]{1,5}")
#: A header longer than this is refused (a proxy chain is a handful of hops).
MAX_HEADER = 4096


def _port(text: str) -> bool:
    return _PORT.fullmatch(text) is not None and int(text) <= 65535


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _node(text: str) -> IPAddress | None:
    """An address with an optional port: ``192.0.2.1``, ``192.0.2.1:80``, ``2001:db8::1``,
    ``[2001:db8::1]`` or ``[2001:db8::1]:80`` (RFC 7239 §6). ``None``: not an address."""
    address: IPAddress | None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest[0] == ":" and _port(rest[1:]))):
            return None
        address = _ip(host)
        if not isinstance(address, ipaddress.IPv6Address):
            return None
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        if not _port(port):
            return None
        address = _ip(host)
        if not isinstance(address, ipaddress.IPv4Address):
            return None
    else:
        address = _ip(text)
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return None  # a zone index names a link of the proxy, not a client
    return address


def x_forwarded_for(values: Iterable[str]) -> list[str] | None:
    """The hops of ``X-Forwarded-For`` header lines, left to right (``None``: malformed)."""
    hops = [hop.strip() for value in values for hop in value.split(",")]
    if not hops or any(not hop for hop in hops):
        return None
    return hops


def forwarded_for(values: Iterable[str]) -> list[str] | None:
    """The ``for=`` node of every element of ``Forwarded`` header lines, left to right
    (RFC 7239 §4, §5.2); ``None`` when the header does not follow the grammar or an
    element has no single ``for=``."""
    nodes: list[str] = []
    for value in values:
        position, end = 0, len(value)
        while True:
            found: str | None = None
            names: set[str] = set()
            while True:
                match = _PAIR.match(value, position)
                if match is None:
                    return None
                name, raw = match.group(1).lower(), match.group(2)
                if name in names:
                    return None  # RFC 7239 §4: a parameter MUST NOT occur twice
                names.add(name)
                if name == "for":
                    found = _unquote(raw) if raw.startswith('"') else raw
                position = match.end()
                if position < end and value[position] == ";":
                    position += 1
                    continue
                break
            if found is None:
                return None
            nodes.append(found)
            if position == end:
                break
            if value[position] != ",":
                return None
            position += 1
    return nodes or None


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _trusted(address: IPAddress, proxies: Sequence[Network]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in proxies)


def client_address(
    peer: str | None,
    header_values: Sequence[str],
    *,
    trusted_proxies: Sequence[Network],
    header: str,
) -> str | None:
    """The client's address: ``peer``, or — when ``peer`` is a trusted proxy — the
    right-most hop of the forwarded ``header`` (its ``header_values``, one per header
    line, in order) that is not itself a trusted proxy."""
    peer_address = _ip(peer) if peer else None
    if peer_address is None or not header_values or not _trusted(peer_address, trusted_proxies):
        return peer
    if sum(len(v) for v in header_values) > MAX_HEADER:
        return peer
    hops = forwarded_for(header_values) if header == "forwarded" else x_forwarded_for(header_values)
    if hops is None:
        return peer
    for hop in reversed(hops):
        address = _node(hop)
        if address is None:
            return peer  # unknown / obfuscated / malformed: never guess
        if not _trusted(address, trusted_proxies):
            return _normal(address)
    address = _node(hops[0])
    return _normal(address) if address is not None else peer


def _normal(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


class TrustedProxies:
    """ASGI middleware: ``scope["client"]`` becomes :func:`client_address` of the request.

    Installed by :func:`stepauth.provider.app.create_app` only when
    ``[server] trusted_proxies`` is set. The scope is updated in place, so the ASGI
    server's access log shows the same address as the audit log.
    """

    def __init__(self, app: ASGIApp, *, trusted_proxies: Sequence[Network], header: str) -> None:
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)
        self.name = header.lower()
        self.header = self.name.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and client:
            values = [
                value.decode("latin-1")
                for name, value in scope.get("headers", ())
                if name.lower() == self.header
            ]
            address = client_address(
                client[0], values, trusted_proxies=self.trusted_proxies, header=self.name
            )
            if address is not None and address != client[0]:
                scope["client"] = (address, 0)
        await self.app(scope, receive, send)
