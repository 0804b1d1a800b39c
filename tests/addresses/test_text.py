"""Addresses as text: strict, normalised, aggregated, never resolved."""

from __future__ import annotations

import ipaddress

import pytest

from shieldwall.addresses import (
    blame_key,
    blame_key_from_text,
    canonical_target,
    is_public,
    parse_address,
    parse_network,
    widen_network,
)
from shieldwall.errors import AddressError


def test_ipv4_mapped_ipv6_is_normalised() -> None:
    assert parse_address("::ffff:198.51.100.7") == ipaddress.IPv4Address("198.51.100.7")
    assert blame_key_from_text("::ffff:198.51.100.7") == "198.51.100.7"


def test_brackets_and_zones_are_dropped() -> None:
    assert str(parse_address("[2001:db8::1]")) == "2001:db8::1"
    assert str(parse_address("fe80::1%eth0")) == "fe80::1"


@pytest.mark.parametrize("text", ["example.com", "1.2.3", "256.1.1.1", "1.2.3.4/32", "", "::g"])
def test_anything_but_an_address_is_refused(text: str) -> None:
    with pytest.raises(AddressError, match="not an IP address"):
        parse_address(text)


def test_ipv6_sources_aggregate_per_64() -> None:
    a = blame_key(parse_address("2001:db8:1:2::7"))
    b = blame_key(parse_address("2001:db8:1:2:ffff:1:2:3"))
    assert a == b == "2001:db8:1:2::/64"
    assert blame_key(parse_address("2001:db8:1:3::7")) != a


def test_ipv6_prefix_is_configurable() -> None:
    addr = parse_address("2001:db8:1:2::7")
    assert blame_key(addr, 48) == "2001:db8:1::/48"
    assert blame_key(addr, 128) == "2001:db8:1:2::7"
    assert blame_key_from_text("2001:db8:1:2::7", 56) == "2001:db8:1::/56"


def test_ipv4_is_counted_per_address_whatever_the_ipv6_prefix() -> None:
    assert blame_key(parse_address("192.0.2.1"), 48) == "192.0.2.1"


def test_blame_key_from_text_is_none_for_names() -> None:
    assert blame_key_from_text("attacker.example.net") is None


def test_parse_network_accepts_addresses_and_cidrs() -> None:
    assert str(parse_network("192.0.2.7")) == "192.0.2.7/32"
    assert str(parse_network("2001:db8::/32")) == "2001:db8::/32"
    assert str(parse_network("::ffff:192.0.2.0/24")) == "192.0.2.0/24"


@pytest.mark.parametrize("text", ["192.0.2.7/24", "192.0.2.0/33", "192.0.2.0/x"])
def test_parse_network_refuses_ranges_with_host_bits_or_bad_lengths(text: str) -> None:
    with pytest.raises(AddressError, match="not a valid CIDR"):
        parse_network(text)


def test_is_public_excludes_private_reserved_and_multicast() -> None:
    assert is_public(parse_address("8.8.8.8"))
    assert not is_public(parse_address("10.0.0.1"))
    assert not is_public(parse_address("192.0.2.1"))
    assert not is_public(parse_address("ff02::1"))


def test_never_block_entries_widen_host_bits_instead_of_refusing() -> None:
    assert str(widen_network("192.0.2.7/24")) == "192.0.2.0/24"
    assert str(widen_network("::ffff:192.0.2.7")) == "192.0.2.7/32"
    assert str(widen_network("2001:db8::1/32")) == "2001:db8::/32"
    with pytest.raises(AddressError):
        widen_network("resolver.example")
    with pytest.raises(AddressError):
        widen_network("192.0.2.7/33")


def test_canonical_target_folds_host_routes_mapped_addresses_and_case() -> None:
    assert canonical_target("192.0.2.7/32") == "192.0.2.7"
    assert canonical_target("::ffff:192.0.2.7") == "192.0.2.7"
    assert canonical_target("2001:DB8::/32") == "2001:db8::/32"
