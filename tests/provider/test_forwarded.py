"""``client_address``: the right-most untrusted hop behind trusted proxies (RFC 7239)."""

from __future__ import annotations

import ipaddress

import pytest

from stepauth.provider.forwarded import client_address, forwarded_for, x_forwarded_for

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48"))


def resolve(peer: str | None, *values: str, header: str = "x-forwarded-for") -> str | None:
    return client_address(peer, list(values), trusted_proxies=PROXIES, header=header)


def test_rfc7239_section_4_examples_parse() -> None:
    assert forwarded_for(['for="_gazonk"']) == ["_gazonk"]
    assert forwarded_for(['For="[2001:db8:cafe::17]:4711"']) == ["[2001:db8:cafe::17]:4711"]
    assert forwarded_for(["for=192.0.2.60;proto=http;by=203.0.113.43"]) == ["192.0.2.60"]
    assert forwarded_for(["for=192.0.2.43, for=198.51.100.17"]) == ["192.0.2.43", "198.51.100.17"]
    # several header lines are one list, in order (RFC 7239 §4, RFC 7230 §3.2.2)
    assert forwarded_for(["for=192.0.2.43", "for=198.51.100.17"]) == [
        "192.0.2.43",
        "198.51.100.17",
    ]


@pytest.mark.parametrize(
    "value",
    ['for="unterminated', "for=1.2.3.4;for=5.6.7.8", "proto=https", "for=1.2.3.4,", "for 1.2.3.4"],
)
def test_malformed_forwarded_is_refused(value: str) -> None:
    assert forwarded_for([value]) is None


def test_x_forwarded_for_hops() -> None:
    assert x_forwarded_for(["198.51.100.7, 10.0.0.2", "10.0.0.3"]) == [
        "198.51.100.7",
        "10.0.0.2",
        "10.0.0.3",
    ]
    assert x_forwarded_for(["198.51.100.7,,10.0.0.2"]) is None


def test_untrusted_peer_keeps_its_own_address() -> None:
    assert resolve("192.0.2.1", "198.51.100.7") == "192.0.2.1"
    assert resolve("192.0.2.1", "for=198.51.100.7", header="forwarded") == "192.0.2.1"
    assert resolve(None, "198.51.100.7") is None
    assert resolve("10.0.0.1") == "10.0.0.1"  # no header


def test_right_most_untrusted_hop_is_the_client() -> None:
    assert resolve("10.0.0.1", "203.0.113.1, 198.51.100.7, 10.0.0.2") == "198.51.100.7"
    assert resolve("10.0.0.1", "198.51.100.7:5123") == "198.51.100.7"
    assert resolve("10.0.0.1", "[2001:db8::1]:443") == "2001:db8::1"
    assert resolve("10.0.0.1", "2001:db8::1") == "2001:db8::1"
    # every hop a proxy: the left-most (the first one that connected)
    assert resolve("10.0.0.1", "10.0.0.7, 10.0.0.2") == "10.0.0.7"
    # an IPv4-mapped peer is the IPv4 proxy; a mapped client is named as IPv4
    assert resolve("::ffff:10.0.0.1", "::ffff:198.51.100.7") == "198.51.100.7"
    # an IPv6 proxy network
    assert resolve("2001:db8:ffff::5", "198.51.100.7") == "198.51.100.7"
    forwarded = 'for=198.51.100.7, for="[2001:db8:ffff::9]:80";proto=https'
    assert resolve("10.0.0.1", forwarded, header="forwarded") == "198.51.100.7"


@pytest.mark.parametrize(
    "value",
    ["unknown", "_hidden", "198.51.100.7, nonsense", "300.1.1.1", "1.2.3.4:99999", "[1.2.3.4]"],
)
def test_undecidable_hop_falls_back_to_the_peer(value: str) -> None:
    assert resolve("10.0.0.1", value) == "10.0.0.1"


def test_garbage_left_of_the_deciding_hop_is_never_read() -> None:
    assert resolve("10.0.0.1", "<script>, 198.51.100.7") == "198.51.100.7"
