"""Policy rules: confirmed vs quorum, protections, limits, escalation, retraction, lifts."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from shieldwall.addresses import parse_ranges
from shieldwall.decisions.decision import Decision
from shieldwall.errors import ConfigError
from shieldwall.hub.ledger.storage import StoredDecision
from shieldwall.hub.policy import (
    Block,
    Lift,
    Policy,
    PolicyConfig,
    ScenarioRule,
    load_policy,
)
from shieldwall.hub.policy_view import PolicyRows
from shieldwall.signals.signal import Signal

NOW = 1_764_380_000.0
ATTACKER = "45.13.7.9"


def detection(target: str = ATTACKER, scenario: str = "ssh-bruteforce", **kw: object) -> Signal:
    return Signal(kind="detection", target=target, scenario=scenario, **kw)  # type: ignore[arg-type]


def policy(protected: str = "", **config: object) -> Policy:
    # The rules as they stand without provisional blocks (tests/hub/test_policy_solo.py
    # covers those: one member's word first blocks for [trust] solo_duration).
    base = load_policy()
    base = replace(base, trust=replace(base.trust, solo_duration=0.0, solo_quorum=False))
    if config:
        fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
        fields.update(config)
        base = PolicyConfig(**fields)  # type: ignore[arg-type]
    return Policy(base, parse_ranges(protected, "test"))


def test_default_policy_lists_every_detection_scenario() -> None:
    config = load_policy()
    for name in ("ssh-bruteforce", "ssh-slow-bruteforce", "ssh-credential-stuffing",
                 "http-probing", "http-4xx-burst", "http-scanner-ua", "mail-auth-bruteforce",
                 "ftp-auth-bruteforce", "manual"):
        assert name in config.scenarios


def test_confirmed_scenario_blocks_on_one_members_word_for_its_duration() -> None:
    outcome = policy().decide("alice", detection(), NOW)
    assert isinstance(outcome.decision, Block)
    assert outcome.decision.until == NOW + 14400
    assert outcome.decision.evidence[0].member == "alice"


def test_quorum_scenario_waits_for_a_second_distinct_member() -> None:
    p = policy()
    first = p.decide("alice", detection(scenario="http-probing"), NOW)
    again = p.decide("alice", detection(scenario="http-probing"), NOW + 1)
    second = p.decide("bob", detection(scenario="http-probing"), NOW + 2)
    assert first.decision is None and (first.kind, first.detail[:3]) == ("quorum", "1/2")
    assert again.decision is None
    assert isinstance(second.decision, Block)
    assert {c.member for c in second.decision.evidence} == {"alice", "bob"}


def test_quorum_sightings_outside_the_window_do_not_count() -> None:
    p = policy()
    p.decide("alice", detection(scenario="http-probing"), NOW)
    late = p.decide("bob", detection(scenario="http-probing"), NOW + 3601)
    assert late.decision is None


def test_unknown_scenario_needs_three_members() -> None:
    p = policy()
    assert p.decide("a", detection(scenario="weird"), NOW).detail.startswith("1/3")
    assert p.decide("b", detection(scenario="weird"), NOW).detail.startswith("2/3")
    assert isinstance(p.decide("c", detection(scenario="weird"), NOW).decision, Block)


@pytest.mark.parametrize("target", ["10.0.0.5", "127.0.0.1", "169.254.1.1", "192.168.1.0/24",
                                    "fe80::1", "::1", "fc00::/64", "100.64.0.1"])
def test_reserved_addresses_are_never_alliance_wide(target: str) -> None:
    outcome = policy().decide("alice", detection(target=target), NOW)
    assert outcome.decision is None and outcome.kind == "reserved"


def test_reserved_addresses_can_be_allowed_by_the_operator() -> None:
    outcome = policy(allow_reserved=True).decide("alice", detection(target="10.0.0.5"), NOW)
    assert isinstance(outcome.decision, Block)


def test_protected_address_is_never_blocked() -> None:
    outcome = policy("45.13.7.0/24 member-range").decide("alice", detection(), NOW)
    assert outcome.decision is None
    assert outcome.kind == "protected" and "member-range" in outcome.detail


def test_range_overlapping_a_protected_address_is_never_blocked() -> None:
    p = policy("45.13.7.200")
    outcome = p.decide("alice", Signal(kind="ban", target="45.13.7.0/24", scenario="manual"), NOW)
    assert outcome.kind == "protected"


def test_protections_and_canaries_replaced_later_screen_the_next_signal() -> None:
    # The policy screens targets against one merged index of canaries, protections and
    # reserved space: replacing either set (members join, the council's policy) must
    # reach the next signal, never be answered from the index built before.
    p = policy()
    assert p.decide("alice", detection(target="45.13.7.1"), NOW).kind == "decided"
    p.protections = parse_ranges("45.13.7.9 joined-member", "test")
    outcome = p.decide("alice", detection(), NOW)
    assert outcome.kind == "protected" and "joined-member" in outcome.detail
    p.canaries = parse_ranges("45.13.8.8 canary", "canaries")
    assert p.decide("mallory", detection(target="45.13.8.8"), NOW).kind == "canary"
    assert p.decide("alice", detection(target="45.13.8.9"), NOW).kind == "decided"
    p.protections = parse_ranges("", "test")
    assert p.decide("alice", detection(), NOW).kind == "decided"


def test_a_target_next_to_a_protected_or_reserved_range_is_decided() -> None:
    # Edges of the merged screen: the neighbours of a listed range are not in it.
    p = policy("45.13.7.8/30 member-range")
    assert p.decide("alice", detection(target="45.13.7.7"), NOW).kind == "decided"
    assert p.decide("alice", detection(target="45.13.7.8"), NOW).kind == "protected"
    assert p.decide("alice", detection(target="45.13.7.11"), NOW).kind == "protected"
    assert p.decide("alice", detection(target="45.13.7.12"), NOW).kind == "decided"
    assert p.decide("alice", detection(target="9.255.255.255"), NOW).kind == "decided"
    assert p.decide("alice", detection(target="10.0.0.0"), NOW).kind == "reserved"
    assert p.decide("alice", detection(target="11.0.0.0"), NOW).kind == "decided"


def test_operator_ban_cannot_override_protection() -> None:
    p = policy("8.8.8.8 dns")
    outcome = p.decide("op", Signal(kind="ban", target="8.8.8.8", scenario="manual"), NOW,
                       operator=True)
    assert outcome.decision is None and outcome.kind == "protected"


def test_range_wider_than_slash_24_is_never_decided_by_members_however_many() -> None:
    p = policy()
    wide = Signal(kind="ban", target="45.13.0.0/16", scenario="manual")
    assert p.decide("alice", wide, NOW).kind == "too-wide"
    assert p.decide("bob", wide, NOW).kind == "too-wide"
    assert isinstance(p.decide("op", wide, NOW, operator=True).decision, Block)


@pytest.mark.parametrize("target", ["64.0.0.0/3", "45.0.0.0/8", "2a00::/12"])
def test_no_member_or_pair_of_members_can_block_a_huge_range(target: str) -> None:
    p = policy()
    outcomes = [p.decide(m, detection(target=target, scenario="http-probing"), NOW + i)
                for i, m in enumerate(("alice", "bob", "carol"))]
    assert [o.kind for o in outcomes] == ["too-wide"] * 3
    assert not p.active and not p.sightings


def test_slash_24_is_allowed_on_one_members_word() -> None:
    ban = Signal(kind="ban", target="45.13.7.0/24", scenario="manual")
    assert isinstance(policy().decide("alice", ban, NOW).decision, Block)


def test_ipv6_range_wider_than_slash_48_is_never_decided_by_members() -> None:
    wide = detection(target="2a01:4f8::/32")
    assert policy().decide("alice", wide, NOW).kind == "too-wide"
    assert isinstance(policy().decide("alice", detection(target="2a01:4f8:1::/48"), NOW).decision,
                      Block)


def test_member_rate_limit_caps_new_decisions_per_hour() -> None:
    p = policy(member_decisions_per_hour=2)
    notes = [p.decide("alice", detection(target=f"45.13.7.{i}"), NOW + i).kind for i in range(3)]
    assert notes == ["decided", "decided", "rate-limited"]
    assert p.decide("bob", detection(target="45.13.7.50"), NOW).kind == "decided"
    assert p.decide("alice", detection(target="45.13.7.51"), NOW + 3601).kind == "decided"


def test_active_block_is_not_decided_twice() -> None:
    p = policy()
    p.decide("alice", detection(), NOW)
    assert p.decide("bob", detection(), NOW + 5).kind == "already-blocked"


def test_repeat_offender_gets_a_longer_block() -> None:
    p = policy()
    first = p.decide("alice", detection(), NOW).decision
    second = p.decide("alice", detection(), NOW + 20000).decision
    third = p.decide("alice", detection(), NOW + 80000).decision
    assert isinstance(first, Block) and isinstance(second, Block) and isinstance(third, Block)
    assert (first.until - NOW, second.until - NOW - 20000, third.until - NOW - 80000) == (
        14400, 28800, 57600)


def test_escalation_is_capped_and_old_offenses_are_forgotten() -> None:
    p = policy(max_duration=20000.0, offense_memory=100000.0)
    p.decide("alice", detection(), NOW)
    second = p.decide("alice", detection(), NOW + 20000).decision
    assert isinstance(second, Block) and second.until == NOW + 20000 + 20000
    later = p.decide("alice", detection(), NOW + 20000 + 200000).decision
    assert isinstance(later, Block) and later.offense == 1


def test_member_can_retract_its_own_signal_and_lift_its_block() -> None:
    p = policy()
    p.decide("alice", detection(), NOW)
    outcome = p.decide("alice", Signal(kind="retract", target=ATTACKER, scenario="ssh-bruteforce"),
                       NOW + 1)
    assert isinstance(outcome.decision, Lift)


def test_retraction_by_another_member_does_not_lift() -> None:
    p = policy()
    p.decide("alice", detection(), NOW)
    outcome = p.decide("bob", Signal(kind="retract", target=ATTACKER, scenario="x"), NOW + 1)
    assert outcome.decision is None and outcome.kind == "nothing-to-retract"


def test_retracted_sighting_no_longer_counts_towards_quorum() -> None:
    p = policy()
    p.decide("alice", detection(scenario="http-probing"), NOW)
    p.decide("alice", Signal(kind="retract", target=ATTACKER, scenario="http-probing"), NOW + 1)
    assert p.decide("bob", detection(scenario="http-probing"), NOW + 2).decision is None


def test_operator_lift_removes_blocks_covering_the_address() -> None:
    p = policy()
    p.decide("alice", Signal(kind="ban", target="45.13.7.0/24", scenario="manual"), NOW)
    lifts = p.operator_lift(ATTACKER, NOW + 1)
    assert [lift.target for lift in lifts] == ["45.13.7.0/24"]
    assert p.decide("bob", detection(), NOW + 2).kind == "decided"


def test_operator_ban_duration_wins_and_is_not_escalated() -> None:
    p = policy()
    p.decide("alice", detection(), NOW)
    ban = Signal(kind="ban", target="45.13.8.1", scenario="manual", duration=90 * 86400.0)
    decision = p.decide("op", ban, NOW, operator=True).decision
    assert isinstance(decision, Block) and decision.until == NOW + 30 * 86400
    assert decision.origin == "operator"


def test_a_members_ban_is_its_own_word_and_follows_the_scenarios_quorum() -> None:
    p = policy()
    ban = Signal(kind="ban", target=ATTACKER, scenario="http-probing", duration=90 * 86400.0)
    first = p.decide("alice", ban, NOW)
    assert first.decision is None and first.kind == "quorum"
    second = p.decide("bob", detection(scenario="http-probing"), NOW + 1).decision
    assert isinstance(second, Block) and second.origin == "alice,bob"


def test_a_member_may_ask_for_a_shorter_ban_never_a_longer_one() -> None:
    p = policy()
    short = Signal(kind="ban", target="45.13.8.1", scenario="ssh-bruteforce", duration=600.0)
    long = Signal(kind="ban", target="45.13.8.2", scenario="ssh-bruteforce", duration=1e7)
    a, b = p.decide("alice", short, NOW).decision, p.decide("alice", long, NOW).decision
    assert isinstance(a, Block) and a.until == NOW + 600
    assert isinstance(b, Block) and b.until == NOW + 14400


def test_an_operator_lift_sticks_one_members_next_signal_does_not_reblock() -> None:
    p = policy()
    p.decide("alice", detection(), NOW)
    p.operator_lift(ATTACKER, NOW + 10)
    again = p.decide("alice", detection(), NOW + 20)
    assert again.decision is None and again.kind == "quorum"
    assert p.decide("alice", detection(), NOW + 30).decision is None  # same member, still no
    confirmed = p.decide("bob", detection(), NOW + 40).decision
    assert isinstance(confirmed, Block)


def test_after_the_cooldown_one_members_word_is_enough_again() -> None:
    p = policy()
    p.decide("alice", detection(), NOW)
    p.operator_lift(ATTACKER, NOW + 10)
    p.sweep(NOW + 10 + 86401)
    assert isinstance(p.decide("alice", detection(), NOW + 10 + 86401).decision, Block)


def test_a_lifted_block_is_not_counted_as_an_offense() -> None:
    p = policy()
    p.decide("alice", detection(), NOW)
    p.operator_lift(ATTACKER, NOW + 10)
    p.decide("alice", detection(), NOW + 20)
    block = p.decide("bob", detection(), NOW + 30).decision
    assert isinstance(block, Block) and block.offense == 1 and block.until == NOW + 30 + 14400


def test_the_lift_and_its_forgiveness_are_rebuilt_from_the_ledger() -> None:
    block = Decision(cursor=1, action="block", target=ATTACKER, until=NOW + 14400,
                     scenario="ssh-bruteforce", origin="alice", created=NOW)
    lift = Decision(cursor=2, action="lift", target=ATTACKER, until=NOW + 10,
                    scenario="operator-lift", origin="operator", created=NOW + 10)
    rows = PolicyRows(decisions=[StoredDecision(block, "alice", b"[]"),
                                 StoredDecision(lift, "", b"[]")], charges=[], signals=[])
    p = policy()
    p.restore(rows, NOW + 20)
    assert p.decide("alice", detection(), NOW + 20).kind == "quorum"
    assert ATTACKER not in p.offenses


def test_host_route_is_canonicalised_to_the_address() -> None:
    decision = policy().decide("alice", detection(target="45.13.7.9/32"), NOW).decision
    assert isinstance(decision, Block) and decision.target == ATTACKER


def test_policy_memory_is_rebuilt_from_ledger_rows() -> None:
    block = Decision(cursor=1, action="block", target=ATTACKER, until=NOW + 100,
                     scenario="ssh-bruteforce", origin="alice", created=NOW - 10)
    rows = PolicyRows(
        decisions=[StoredDecision(block, "alice", b'[{"member":"alice","scenario":"ssh-bruteforce",'
                                  b'"count":1,"first_seen":0,"last_seen":0,"received":0}]')],
        charges=[("alice", NOW - 10)],
        signals=[],
    )
    p, q = policy(), policy()
    p.restore(rows, NOW)
    q.restore(rows, NOW)
    assert q.decide("bob", detection(), NOW).kind == "already-blocked"
    retract = Signal(kind="retract", target=ATTACKER, scenario="ssh-bruteforce")
    assert isinstance(p.decide("alice", retract, NOW).decision, Lift)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[scenarios.x]\nduration = -1", "scenarios.x.duration"),
        ("[scenarios.x]\nconfirmed = 'yes'", "scenarios.x.confirmed"),
        ("[scenarios.x]\nquorum = 0", "scenarios.x.quorum"),
        ("[scenarios.x]\ncolour = 1", "unknown key"),
        ("[limits]\nmax_prefix_v4 = 'a'", "limits.max_prefix_v4"),
        ("scenarios = 1", "scenarios: must be a table"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_policy_file_names_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_policy(text, "policy.toml")


def test_operator_can_override_a_scenario() -> None:
    config = load_policy("[scenarios.http-probing]\nconfirmed = true\nduration = 60\n")
    assert config.rule("http-probing") == ScenarioRule("http-probing", 60.0, confirmed=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[limit]\nallow_reserved = true", "limit: unknown key, did you mean `limits`?"),
        ("[limits]\nallow_reservd = true",
         "limits.allow_reservd: unknown key, did you mean `allow_reserved`?"),
        ("[scenarios.ssh-bruteforce]\nquorom = 1",
         "scenarios.ssh-bruteforce.quorom: unknown key, did you mean `quorum`?"),
        ("[escalation]\nfactor = 0.5", "escalation.factor: must be a number >= 1.0, got 0.5"),
        ("[limits]\nmax_prefix_v4 = 33", "limits.max_prefix_v4: must be a whole number <= 32, got 33"),
        ("[unknown]\nwindow = 'an hour'", "unknown.window: expected a duration"),
    ],
)
def test_a_typo_in_the_policy_is_an_error_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(f"policy.toml: {message}")):
        load_policy(text, "policy.toml")


def test_policy_durations_are_written_like_everywhere_else_and_seconds_still_work() -> None:
    spelled = load_policy("[scenarios.x]\nduration = '4h'\nwindow = '10m'\n[escalation]\nmemory = '7d'\n")
    seconds = load_policy("[scenarios.x]\nduration = 14400\nwindow = 600\n[escalation]\nmemory = 604800\n")
    assert spelled == seconds
    assert spelled.rule("x") == ScenarioRule("x", 14400.0, window=600.0)
    assert spelled.offense_memory == 7 * 86400.0
