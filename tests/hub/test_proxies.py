"""What a member may declare as its reverse proxies, and how the hub's guards read it.

Hostile declarations first: the whole Internet, a /8, more networks than proxies
could be, host bits, names, garbage, text the size of a body. A declaration only
ever touches its own member's reports (hub/proxies.py), and the bounds keep it a
list of proxies.
"""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.errors import SignalError
from shieldwall.hub.intake import member_guards
from shieldwall.hub.ledger.storage import MemberRecord
from shieldwall.hub.proxies import MAX_PROXIES, WIDEST, ProxyDeclaration, check_declaration, guard_ranges


def test_a_declaration_is_stored_canonical_sorted_and_once() -> None:
    declared = check_declaration([
        "2001:db8:1::/48", "45.13.9.80", "45.13.9.80/32", "::ffff:45.13.9.81", "104.16.0.0/13",
    ])
    assert declared == ("45.13.9.80", "45.13.9.81", "104.16.0.0/13", "2001:db8:1::/48")


def test_an_empty_declaration_withdraws_and_is_allowed() -> None:
    assert check_declaration([]) == ()


@pytest.mark.parametrize("hostile", [
    "0.0.0.0/0", "::/0", "10.0.0.0/8", "0.0.0.0/1", "128.0.0.0/1", "2000::/3", "2001:db0::/28",
    f"100.64.0.0/{WIDEST[4] - 1}",
])
def test_a_network_wider_than_a_cdns_is_refused(hostile: str) -> None:
    with pytest.raises(SignalError, match="wider than") as refused:
        check_declaration(["45.13.9.80", hostile])
    assert refused.value.reason == "invalid" and "proxy 1" in str(refused.value)


@pytest.mark.parametrize("garbage", [
    "proxy.example.com", "", " ", "1.2.3.4/24", "1.2.3.4/33", "::ffff:0.0.0.0/96", "1.2.3.4/-1",
    "999.1.1.1", "1.2.3.4\x00", "9" * 5000, "1.2.3.4, 5.6.7.8",
])
def test_what_is_not_a_network_is_refused_with_its_place(garbage: str) -> None:
    with pytest.raises(SignalError) as refused:
        check_declaration([garbage])
    assert refused.value.reason == "invalid" and "proxy 0" in str(refused.value)


def test_more_networks_than_a_member_has_proxies_are_refused() -> None:
    many = [f"45.13.{i // 250}.{i % 250}" for i in range(MAX_PROXIES + 1)]
    assert len(check_declaration(many[:MAX_PROXIES])) == MAX_PROXIES
    with pytest.raises(SignalError, match=f"at most {MAX_PROXIES}"):
        check_declaration(many)


def test_the_body_refuses_unknown_fields_too_many_entries_and_long_text() -> None:
    decode = msgspec.json.Decoder(ProxyDeclaration).decode
    assert decode(b'{"proxies": ["45.13.9.80"]}').proxies == ["45.13.9.80"]
    for body in (
        b'{"proxies": [], "for_everyone": true}',
        b'{"proxies": "45.13.9.80"}',
        b'{"proxies": [1]}',
        b"{}",
        b'{"proxies": [' + b",".join([b'"45.13.9.80"'] * (MAX_PROXIES + 1)) + b"]}",
        b'{"proxies": ["' + b"1" * 65 + b'"]}',
    ):
        with pytest.raises(msgspec.ValidationError):
            decode(body)


def test_the_guards_hold_each_members_own_proxies_and_skip_what_no_longer_parses() -> None:
    members = [
        MemberRecord("alice", "k1", b"", (), 0.0),
        MemberRecord("bob", "k2", b"", (), 0.0),
    ]
    ranges = guard_ranges({"alice": ("45.13.9.80", "not-a-network"), "bob": ("bad",)})
    assert set(ranges) == {"alice"}
    guards = member_guards(members, ranges)
    assert guards["alice"].refusal("45.13.9.80") == "declared proxy"
    # bob's guard knows nothing of alice's proxy: his reports of it are the policy's to judge.
    assert guards["bob"].refusal("45.13.9.80") is None
