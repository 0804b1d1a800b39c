"""One table of reserved space, and every place that screens an address uses it."""

from __future__ import annotations

import ipaddress

import pytest

from shieldwall.addresses import (
    RESERVED,
    Ranges,
    is_drill_target,
    is_public,
    is_reserved,
    parse_address,
    parse_network,
)
from shieldwall.enforcers.imports import REASON_RESERVED, screen_blocklist
from shieldwall.hub.policy import Policy, load_policy
from shieldwall.signals.signal import Signal

NOW = 1_800_000_000.0

#: An address inside each reserved range (its first and its last one).
INSIDE = [
    str(address)
    for entry in RESERVED.entries
    for address in (entry.network.network_address, entry.network.broadcast_address)
]


def test_the_table_holds_nat64_and_the_ranges_the_old_tables_disagreed_on() -> None:
    for text in ("64:ff9b::203.0.113.9", "64:ff9b:1::1", "5f00::1", "100::1", "fc00::1"):
        assert is_reserved(ipaddress.ip_network(text)), text
    assert RESERVED.protecting(ipaddress.ip_network("64:ff9b::1")) is not None


@pytest.mark.parametrize("text", INSIDE)
def test_import_screening_the_hub_policy_and_the_cli_note_agree_on_every_reserved_range(
    text: str,
) -> None:
    report = screen_blocklist([text], Ranges())
    assert report.accepted == () and report.refused == {REASON_RESERVED: 1}
    outcome = Policy(load_policy(), Ranges()).decide(
        "alice", Signal(kind="detection", target=text, scenario="ssh-bruteforce"), NOW
    )
    assert outcome.decision is None and outcome.kind == "reserved"
    assert not is_public(parse_address(text))


@pytest.mark.parametrize("text", ["8.8.8.8", "45.13.7.9", "2a00:1450::1", "2606:4700:4700::1111"])
def test_public_addresses_pass_every_screen(text: str) -> None:
    assert screen_blocklist([text], Ranges()).accepted == (text,)
    assert is_public(parse_address(text))


@pytest.mark.parametrize("text", ["192.0.2.7", "198.51.100.0/24", "203.0.113.255", "2001:db8::7",
                                  "2001:db8:ffff::/48"])
def test_a_drill_may_name_only_the_four_documentation_ranges(text: str) -> None:
    assert is_drill_target(parse_network(text))


@pytest.mark.parametrize("text", ["8.8.8.8", "192.0.3.1", "192.0.2.0/23", "10.0.0.1", "0.0.0.0/0",
                                  "2001:db8::/31", "3fff::1", "::/0", "64:ff9b::192.0.2.7"])
def test_anything_wider_or_elsewhere_is_no_drill_target(text: str) -> None:
    assert not is_drill_target(parse_network(text))
