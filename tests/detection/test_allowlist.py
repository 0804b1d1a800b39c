"""The detection allowlist: addresses and ranges that are never detected."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.detection.allowlist import Allowlist
from shieldwall.errors import ConfigError


def test_addresses_and_ranges_are_allowed() -> None:
    allow = Allowlist.from_strings(["192.0.2.0/24", "198.51.100.7", "2001:db8::/32"])
    assert allow.allows("192.0.2.200")
    assert allow.allows("198.51.100.7")
    assert not allow.allows("198.51.100.8")
    assert allow.allows("2001:db8:1:2::/64")
    assert not allow.allows("2001:db9::/64")
    assert len(allow) == 3


def test_allowing_one_ipv6_host_protects_its_prefix_key() -> None:
    allow = Allowlist.from_strings(["2001:db8:1:2::7"])
    assert allow.allows("2001:db8:1:2::/64")
    assert not allow.allows("2001:db8:1:3::/64")


def test_comments_blank_lines_and_adjacent_ranges() -> None:
    allow = Allowlist.from_strings(["# office", "", "192.0.2.0/25  # first half", "192.0.2.128/25"])
    assert len(allow) == 1  # merged
    assert allow.allows("192.0.2.0") and allow.allows("192.0.2.255")


def test_an_empty_family_or_a_non_address_key_is_not_allowed() -> None:
    allow = Allowlist.from_strings(["192.0.2.0/24"])
    assert not allow.allows("2001:db8::/64")
    assert not allow.allows("not-an-address")
    assert not Allowlist().allows("192.0.2.1")


def test_a_bad_entry_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--allow:2: not a valid CIDR"):
        Allowlist.from_strings(["192.0.2.1", "192.0.2.1/24"], "--allow")
    path = tmp_path / "allow.txt"
    path.write_text("192.0.2.1\nexample.com\n")
    with pytest.raises(ConfigError, match=rf"{path}:2: not an IP address"):
        Allowlist.from_file(path)


def test_allowlist_file_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "allow.txt"
    path.write_text("192.0.2.0/24\n")
    assert Allowlist.from_file(path).allows("192.0.2.9")
    with pytest.raises(ConfigError, match="cannot read allowlist"):
        Allowlist.from_file(tmp_path / "missing.txt")


def test_lookup_cache_is_bounded() -> None:
    allow = Allowlist.from_strings(["10.0.0.0/8"])
    for i in range(100_050):
        allow.allows(f"11.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
    assert len(allow._cache) <= 100_001
