"""The policy with trust: probation, canaries, quarantine, weighted quorums, blast radius."""

from __future__ import annotations

from dataclasses import replace

from shieldwall.addresses import parse_ranges
from shieldwall.decisions.decision import Decision
from shieldwall.hub.canaries import parse_canaries
from shieldwall.hub.ledger.storage import StoredDecision
from shieldwall.hub.policy import Block, Contribution, Policy, ScenarioRule, load_policy
from shieldwall.hub.policy_view import PolicyRows
from shieldwall.hub.trust import Trust, TrustEvent
from shieldwall.signals.signal import Signal

NOW = 1_764_380_000.0
DAY = 86400.0
ATTACKER = "45.13.7.9"
CANARY = "198.51.100.77"
JOINED = {"founder": NOW - 30 * DAY, "founder2": NOW - 30 * DAY,
          "old": NOW - 10 * DAY, "new": NOW - 60, "new2": NOW - 60, "liar": NOW - 60}


def detection(target: str = ATTACKER, scenario: str = "ssh-bruteforce") -> Signal:
    return Signal(kind="detection", target=target, scenario=scenario)


def policy(**limits: object) -> Policy:
    config = load_policy()
    # The trust rules that hold with or without provisional blocks (test_policy_solo.py).
    config = replace(config, trust=replace(config.trust, solo_duration=0.0, solo_quorum=False))
    config = replace(config, allow_reserved=True, **limits)  # type: ignore[arg-type]
    config = replace(config, canaries=parse_canaries(CANARY))
    return Policy(config, parse_ranges("192.0.2.10 owned", "test"),
                  trust=Trust(config.trust, joined=JOINED))


def earn(p: Policy, member: str, times: int) -> None:
    for _ in range(times):
        p.trust.corroborated(["founder", member])


def test_a_newcomers_word_waits_for_a_trusted_members_corroboration() -> None:
    p = policy()
    first = p.decide("new", detection(), NOW)
    assert first.decision is None and first.kind == "probation"
    assert "on probation" in first.detail
    second = p.decide("founder", detection(), NOW + 5)
    assert isinstance(second.decision, Block)
    assert {c.member for c in second.decision.evidence} == {"new", "founder"}
    assert p.trust.standing("new").credit == 1.0  # corroborated by a full-weight founder


def test_newcomers_colluding_never_block_alliance_wide() -> None:
    p = policy()
    outcomes = [p.decide(m, detection(), NOW + i) for i, m in enumerate(["new", "new2", "liar"])]
    assert [o.kind for o in outcomes] == ["probation"] * 3
    assert not p.active


def test_a_newcomers_burst_of_ten_thousand_addresses_blocks_nothing_alliance_wide() -> None:
    p = policy()
    kinds = {p.decide("new", detection(f"23.{i // 65536}.{i // 256 % 256}.{i % 256}"),
                      NOW + i / 100).kind for i in range(10_000)}
    assert kinds == {"probation"} and not p.active


def test_a_trusted_members_confirmed_word_still_decides_at_once() -> None:
    p = policy()
    earn(p, "old", 2)
    assert isinstance(p.decide("old", detection(), NOW).decision, Block)


def test_reporting_a_canary_quarantines_the_member_and_tells_the_council() -> None:
    p = policy()
    p.decide("liar", detection("45.13.7.10"), NOW)
    assert p.sizes()["sightings"] == 1
    outcome = p.decide("liar", detection(CANARY), NOW + 1)
    assert outcome.decision is None and outcome.kind == "canary"
    assert p.sizes()["sightings"] == 0  # what it had reported no longer counts
    [event] = p.take_events()
    assert (event.act, event.member, event.reason) == ("quarantine", "liar", f"reported canary {CANARY}")
    assert p.take_events() == []
    later = p.decide("liar", detection(), NOW + 2)
    assert later.kind == "quarantined" and "quarantined" in later.detail
    assert p.release("liar", NOW + 3) is not None
    assert p.decide("liar", detection(), NOW + 4).kind == "probation"


def test_a_canary_is_never_blocked_even_by_a_founder_nor_with_trust_off() -> None:
    p = policy()
    assert p.decide("founder", detection(CANARY), NOW).kind == "canary"
    off = policy(trust=replace(load_policy().trust, enabled=False))
    outcome = off.decide("founder", detection(CANARY), NOW)
    assert (outcome.kind, outcome.detail) == ("protected", "canary")
    assert not p.active and not off.active


def test_an_operators_signal_is_not_judged_by_trust() -> None:
    p = policy()
    ban = Signal(kind="ban", target=ATTACKER, scenario="manual")
    assert isinstance(p.decide("new", ban, NOW, operator=True).decision, Block)


def test_a_member_not_ready_does_not_decide_on_its_own_word() -> None:
    p = policy()
    p.discounted = frozenset({"founder"})
    waiting = p.decide("founder", detection(), NOW)
    assert (waiting.kind, waiting.detail) == ("quorum", "0/1 members (1 not ready, not counted),"
                                                        " waiting for more")
    p.discounted = frozenset()
    assert isinstance(p.decide("founder2", detection(), NOW + 1).decision, Block)


def test_a_quorum_needs_a_trusted_member_among_its_heads() -> None:
    p = policy()
    assert p.decide("new", detection(scenario="http-probing"), NOW).kind == "quorum"
    assert p.decide("new2", detection(scenario="http-probing"), NOW + 1).kind == "probation"
    assert isinstance(p.decide("founder", detection(scenario="http-probing"), NOW + 2).decision,
                      Block)


def test_a_weighted_quorum_counts_trust_not_heads() -> None:
    p = policy()
    rule = ScenarioRule("scan", 3600.0, confirmed=False, quorum=3, weight=1.5)
    p.config = replace(p.config, scenarios={**p.config.scenarios, "scan": rule})
    earn(p, "old", 5)  # weight 0.5
    assert p.decide("founder", detection(scenario="scan"), NOW).detail.startswith("weight 1.00/1.5")
    assert isinstance(p.decide("old", detection(scenario="scan"), NOW + 1).decision, Block)


def test_quota_duration_and_width_scale_with_the_weight_of_the_most_trusted_supporter() -> None:
    p = policy(member_decisions_per_hour=10)
    earn(p, "old", 5)  # weight 0.5: 5 decisions an hour, a /28 at most, 15 days at most
    kinds = [p.decide("old", detection(f"45.13.9.{i}"), NOW + i).kind for i in range(7)]
    assert kinds == ["decided"] * 5 + ["rate-limited"] * 2
    wide = p.decide("old", detection("45.14.0.0/24"), NOW + 10)
    assert wide.kind == "too-wide" and "/28" in wide.detail
    assert p.decide("old", detection("45.14.0.0/28"), NOW + 3700).kind == "decided"
    assert p.decide("founder", detection("45.15.0.0/24"), NOW).kind == "decided"
    p.offenses["45.13.1.1"] = (20, NOW)  # a repeat offender: escalation would reach 30 days
    block = p.decide("old", detection("45.13.1.1"), NOW + 3700).decision
    assert isinstance(block, Block) and block.until - (NOW + 3700) == 15 * DAY


def test_without_single_word_even_a_founder_needs_a_second_member() -> None:
    p = policy(trust=replace(load_policy().trust, single_word=False))
    first = p.decide("founder", detection(), NOW)
    assert first.kind == "quorum" and first.detail.startswith("1/2")
    assert isinstance(p.decide("new", detection(), NOW + 1).decision, Block)


def test_a_probationer_completing_a_founders_quorum_is_not_the_one_charged() -> None:
    p = policy()
    p.decide("founder", detection(scenario="http-probing"), NOW)
    block = p.decide("new", detection(scenario="http-probing"), NOW + 1).decision
    assert isinstance(block, Block) and block.charged == "founder"


def test_an_operators_lift_costs_the_deciders_their_weight() -> None:
    p = policy()
    earn(p, "old", 3)
    p.decide("old", detection(), NOW)
    p.operator_lift(ATTACKER, NOW + 10)
    assert p.trust.standing("old").lifted == 1 and not p.trust.trusted("old", NOW + 10)


def test_trust_is_rebuilt_from_the_decisions_and_the_journal() -> None:
    def stored(cursor: int, action: str, scenario: str, members: list[str],
               drill: str = "") -> StoredDecision:
        evidence = [Contribution(m, scenario, 1, NOW, NOW, NOW) for m in members]
        import msgspec

        return StoredDecision(
            Decision(cursor=cursor, action=action, target=ATTACKER,  # type: ignore[arg-type]
                     until=NOW + 3600 * (action == "block"), scenario=scenario,
                     origin=",".join(members), created=NOW + cursor, drill=drill),
            ",".join(members[:1]), msgspec.json.encode(evidence))

    rows = PolicyRows(
        decisions=[stored(1, "block", "ssh-bruteforce", ["founder", "old"]),
                   stored(2, "block", "ssh-bruteforce", ["founder", "old"]),
                   stored(3, "block", "ssh-bruteforce", ["founder", "old"]),
                   stored(4, "lift", "operator-lift", []),
                   stored(5, "block", "ssh-bruteforce", ["founder", "old"], drill="d-1")],
        charges=[], signals=[])
    p = policy()
    p.restore(rows, NOW + 10, [TrustEvent("quarantine", "new", NOW + 5, "canary")])
    # "old" earned 1 from the founder three times and lost 3 to the lift
    assert p.trust.standing("old").credit == 0.0 and p.trust.standing("old").lifted == 1
    # the founder, at full weight, banks nothing of what "old" gave it, and answers for the lift
    assert p.trust.standing("founder").credit == -3.0
    assert p.trust.standing("new").quarantined == "canary"
    assert not p.active  # the drill's decision is no real block and earned nothing


def test_the_trust_table_and_weighted_quorums_are_read_and_checked() -> None:
    import pytest

    from shieldwall.errors import ConfigError

    config = load_policy("[trust]\nprobation = '7d'\nvouched = ['ops']\n"
                         "[scenarios.scan]\nquorum = 3\nweight = 1.5\n")
    assert config.trust.probation == 7 * DAY and config.trust.vouched == ("ops",)
    assert config.rule("scan").weight == 1.5
    assert load_policy().trust.probation == DAY  # the shipped default
    with pytest.raises(ConfigError, match=r"trust\.earnn"):
        load_policy("[trust]\nearnn = 3\n")
    with pytest.raises(ConfigError, match=r"trust\.trusted"):
        load_policy("[trust]\ntrusted = 2\n")
