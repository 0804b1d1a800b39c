"""The one labelled interval set: detection exemptions, never-block lists, protections."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from shieldwall.addresses import Labelled, Ranges, load_ranges, parse_ranges
from shieldwall.addresses.ranges import KEY_MEMO
from shieldwall.errors import ConfigError


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


# -- as detection exemptions (``detection.allow``, ``replay --allow``): strict entries ----------


def test_addresses_and_ranges_are_exempt() -> None:
    exempt = parse_ranges(["192.0.2.0/24", "198.51.100.7", "2001:db8::/32"], "allow", widen=False)
    assert exempt.covers("192.0.2.200")
    assert exempt.covers("198.51.100.7")
    assert not exempt.covers("198.51.100.8")
    assert exempt.covers("2001:db8:1:2::/64")
    assert not exempt.covers("2001:db9::/64")
    assert len(exempt) == 3


def test_exempting_one_ipv6_host_protects_its_prefix_key() -> None:
    exempt = parse_ranges(["2001:db8:1:2::7"], "allow", widen=False)
    assert exempt.covers("2001:db8:1:2::/64")
    assert not exempt.covers("2001:db8:1:3::/64")


def test_comments_blank_lines_and_adjacent_ranges() -> None:
    exempt = parse_ranges(["# office", "", "192.0.2.0/25  # first half", "192.0.2.128/25"], "a")
    assert exempt.covers("192.0.2.0") and exempt.covers("192.0.2.255")
    assert exempt.protecting(net("192.0.2.0/24")) == "a"  # one merged interval covers both halves


def test_an_empty_family_or_a_non_address_key_is_not_covered() -> None:
    exempt = parse_ranges(["192.0.2.0/24"], "allow")
    assert not exempt.covers("2001:db8::/64")
    assert not exempt.covers("not-an-address")
    assert not Ranges().covers("192.0.2.1")


def test_a_bad_entry_names_its_list_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--allow:2: not a valid CIDR"):
        parse_ranges(["192.0.2.1", "192.0.2.1/24"], "--allow", widen=False)
    path = tmp_path / "allow.txt"
    path.write_text("192.0.2.1\nexample.com\n")
    with pytest.raises(ConfigError, match=r"allow.txt:2: not an IP address"):
        load_ranges([path])


def test_the_key_memo_is_bounded() -> None:
    exempt = parse_ranges(["10.0.0.0/8"], "allow")
    for i in range(KEY_MEMO + 50):
        exempt.covers(f"11.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
    assert len(exempt._memo) <= KEY_MEMO


# -- as never-block lists (``enforce.allow``, ``--never-block``, the hub's lists) ----------------


def test_protection_applies_to_ranges_touching_a_protected_host() -> None:
    listed = parse_ranges("198.51.100.7\n2001:db8::/32 # ours\n", "mine")
    assert listed.protecting(net("198.51.100.0/24")) == "mine"
    assert listed.protecting(net("198.51.100.7/32")) == "mine"
    assert listed.protecting(net("198.51.100.8/32")) is None
    assert listed.protecting(net("2001:db8:1::/48")) == "mine"
    assert listed.protecting(net("2001:db9::/32")) is None


def test_extra_columns_are_a_note_and_host_bits_are_widened() -> None:
    listed = parse_ranges("8.8.8.8\tgoogle\n192.0.2.7/24\n", "dns")
    assert listed.protecting(net("8.8.8.8/32")) == "dns (google)"
    assert listed.protecting(net("192.0.2.200/32")) == "dns"


def test_garbage_line_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"list\.txt:2"):
        parse_ranges("192.0.2.1\nnot-an-address\n", "list.txt")


def test_files_and_folders_are_labelled_by_file_name(tmp_path: Path) -> None:
    a = tmp_path / "monitors.txt"
    a.write_text("192.0.2.1\n")
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "crawlers.txt").write_text("198.51.100.0/24\n")
    listed = load_ranges([a, folder])
    assert listed.protecting(net("198.51.100.9/32")) == "crawlers.txt"
    assert listed.protecting(net("192.0.2.1/32")) == "monitors.txt"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_ranges([tmp_path / "nope.txt"])


def test_spans_labels_and_every_overlapping_label() -> None:
    listed = Ranges([Labelled(net("10.0.0.0/8"), "a"), Labelled(net("10.1.0.0/16"), "b"),
                     Labelled(net("11.0.0.5/32"), "c")])
    low = int(net("10.1.2.3/32").network_address)
    assert listed.protecting_span(4, low, low) == "a"  # a merged interval keeps its first label
    assert listed.touches(4, low, low) and not listed.touches(4, low + 2**24, low + 2**24)
    assert listed.all_protecting(net("10.1.2.3/32")) == ["a", "b"]
    assert (listed + Ranges([Labelled(net("12.0.0.0/8"), "d")])).protecting(net("12.1.1.1/32")) == "d"
    assert listed.with_entries([Labelled(net("::1/128"), "e")]).protecting(net("::/64")) == "e"
