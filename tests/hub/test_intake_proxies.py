"""The hub refuses a member's detections that blame its declared proxies or its own addresses.

The agent refuses them first (detection/proxies.py); these tests play a member
that did not (an old agent, a tampered one, a hostile one) and check that the
hub's intake records such signals as ``protected`` and decides nothing on them,
while every other signal of the same envelope is judged as usual.
"""

from __future__ import annotations

from shieldwall.addresses import parse_ranges
from shieldwall.detection.proxies import ProxyGuard
from shieldwall.hub.intake import Intake, member_guards
from shieldwall.hub.ledger.storage import MemberRecord
from shieldwall.hub.policy import Policy, load_policy
from shieldwall.hub.protections import Protections
from tests.hub.test_intake import NOW, envelope, unsigned

PROXY = "45.13.9.80"
OWN = "45.13.10.0/28"


def guarded() -> Intake:
    guards = {"alice": ProxyGuard(parse_ranges([PROXY], "proxies", widen=False),
                                  parse_ranges([OWN], "own", widen=False))}
    return Intake(Policy(load_policy(), Protections([])), {}, declared=guards)


def test_a_detection_blaming_the_members_declared_proxy_is_refused_and_decides_nothing() -> None:
    step = guarded().take([envelope("alice", 1, PROXY, "45.13.7.1")], {}, NOW)
    assert [(s.signal.target, s.outcome) for s in step.group.signals] == [
        (PROXY, "protected"), ("45.13.7.1", "decided"),
    ]
    assert "declared proxy" in step.group.signals[0].note
    assert [d.target for d in step.group.decisions] == ["45.13.7.1"]


def test_hostile_spellings_of_the_members_own_addresses_are_refused_too() -> None:
    # Other spellings of the same networks: an IPv4-mapped IPv6 address, a wider CIDR
    # that contains the member's range, a single address inside it.
    for target in ("::ffff:45.13.10.3", "45.13.10.0/24", "45.13.10.7", f"{PROXY}/32"):
        step = guarded().take([envelope("alice", 1, target)], {}, NOW)
        assert [s.outcome for s in step.group.signals] == ["protected"], target
        assert step.group.decisions == [], target


def test_garbage_targets_do_not_break_the_check_and_reach_the_policys_own_judgement() -> None:
    for target in ("not-an-address", "", "1.2.3.4/99", "\x00" * 64, "9" * 5000):
        step = guarded().take([unsigned("alice", 1, [target], "ssh-bruteforce", NOW, ())], {}, NOW)
        assert [s.outcome for s in step.group.signals] == ["invalid"], target
        assert step.group.decisions == [], target


def test_another_members_proxy_is_not_this_members_to_refuse() -> None:
    # bob declared nothing: his detection of alice's proxy is the policy's to judge.
    step = guarded().take([envelope("bob", 1, PROXY)], {}, NOW)
    assert [s.outcome for s in step.group.signals] == ["decided"]


def test_member_guards_hold_each_active_members_owned_ranges_and_declared_proxies() -> None:
    members = [
        MemberRecord("alice", "k1", b"", ("198.51.100.0/28",), NOW),
        MemberRecord("bob", "k2", b"", ("192.0.2.0/24", "not-a-range"), NOW),
        MemberRecord("gone", "k3", b"", ("192.0.2.128/25",), NOW, revoked_at=NOW),
    ]
    guards = member_guards(members, {"alice": parse_ranges([PROXY], "p", widen=False)})
    assert set(guards) == {"alice", "bob"}
    assert guards["alice"].refusal(PROXY) == "declared proxy"
    assert guards["alice"].refusal("198.51.100.9") == "this host's own address"
    assert guards["bob"].refusal("192.0.2.200") == "this host's own address"
    assert guards["bob"].refusal("45.13.7.1") is None
