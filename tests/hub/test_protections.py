"""Protected ranges: overlap lookups and the operator's never-block list format."""

from __future__ import annotations

import ipaddress

import pytest

from shieldwall.addresses import parse_ranges
from shieldwall.errors import ConfigError
from shieldwall.hub.protections import Protected, Protections
from tests.conftest import shared_data


def never_block(text: str, label: str) -> list[Protected]:
    return list(parse_ranges(text, label).entries)


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def test_list_format_allows_comments_and_notes() -> None:
    entries = never_block("# c\n8.8.8.8\tgoogle\n\n2001:db8::/32 # doc\n", "dns")
    assert [str(e.network) for e in entries] == ["8.8.8.8/32", "2001:db8::/32"]
    assert entries[0].label == "dns (google)"


def test_bad_line_names_the_list_and_line() -> None:
    with pytest.raises(ConfigError, match="dns:2: "):
        never_block("8.8.8.8\nnot-an-ip\n", "dns")


def test_overlap_is_found_inside_outside_and_across_ranges() -> None:
    p = Protections(never_block("45.13.7.0/24 a\n45.13.9.9 b\n2a01::/32 c\n", "t"))
    assert p.protecting(net("45.13.7.200/32")) == "t (a)"
    assert p.protecting(net("45.13.0.0/16")) is not None
    assert p.protecting(net("45.13.8.1/32")) is None
    assert p.protecting(net("2a01:0:1::/48")) == "t (c)"
    assert p.protecting(net("2a02::/32")) is None


def test_nested_ranges_are_merged_without_losing_coverage() -> None:
    p = Protections(never_block("10.0.0.0/8\n10.1.0.0/16\n11.0.0.5\n", "t"))
    assert p.protecting(net("10.255.255.255/32")) is not None
    assert p.protecting(net("11.0.0.4/32")) is None


def test_shared_allowlists_protect_crawlers_and_resolvers() -> None:
    entries = []
    for path in sorted(shared_data("ipranges-allowlist").glob("*.txt")):
        entries += never_block(path.read_text(), path.name)
    entries += never_block(
        shared_data("public-dns-resolvers", "public_dns_resolvers.txt").read_text(), "dns"
    )
    p = Protections(entries)
    assert len(p) > 10_000
    assert p.protecting(net("8.8.8.8/32")) is not None
    assert p.protecting(net("2606:4700:4700::1111/128")) is not None
    first_google = next(e for e in entries if "googlebot_ipv4" in e.label)
    assert p.protecting(first_google.network) is not None
