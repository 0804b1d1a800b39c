import ipaddress
from pathlib import Path

import pytest

from shieldwall.enforcers.allowlist import load_allowlists, parse_allowlist
from shieldwall.errors import ConfigError


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def test_protection_applies_to_ranges_touching_a_protected_host() -> None:
    allow = parse_allowlist("198.51.100.7\n2001:db8::/32 # ours\n", "mine")
    assert allow.protects(net("198.51.100.0/24")) == "mine"
    assert allow.protects(net("198.51.100.7/32")) == "mine"
    assert allow.protects(net("198.51.100.8/32")) is None
    assert allow.protects(net("2001:db8:1::/48")) == "mine"
    assert allow.protects(net("2001:db9::/32")) is None


def test_extra_columns_and_host_bits_are_tolerated() -> None:
    allow = parse_allowlist("8.8.8.8\tgoogle\n192.0.2.7/24\n", "dns")
    assert allow.protects(net("8.8.8.8/32")) == "dns"
    assert allow.protects(net("192.0.2.200/32")) == "dns"


def test_garbage_line_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"list\.txt:2"):
        parse_allowlist("192.0.2.1\nnot-an-address\n", "list.txt")


def test_files_are_labelled_by_name(tmp_path: Path) -> None:
    a = tmp_path / "monitors.txt"
    a.write_text("192.0.2.1\n")
    b = tmp_path / "crawlers.txt"
    b.write_text("198.51.100.0/24\n")
    allow = load_allowlists([a, b])
    assert allow.protects(net("198.51.100.9/32")) == "crawlers.txt"
    assert allow.protects(net("192.0.2.1/32")) == "monitors.txt"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_allowlists([tmp_path / "nope.txt"])
