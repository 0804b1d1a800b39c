"""Provisional blocks: one member's word blocks briefly, corroboration makes it last;
trust is not banked; newcomers with a corroborated record are vetted (issue 16)."""

from __future__ import annotations

from dataclasses import replace

import msgspec
from pytest import approx

from shieldwall.addresses import parse_ranges
from shieldwall.decisions.decision import Decision
from shieldwall.hub.disputes import Dispute, dispute
from shieldwall.hub.ledger.storage import StoredDecision
from shieldwall.hub.policy import Block, Contribution, Policy, load_policy
from shieldwall.hub.policy_view import PolicyRows
from shieldwall.hub.trust import Trust
from shieldwall.signals.signal import Signal

NOW = 1_764_380_000.0
DAY = 86400.0
HOURS4 = 4 * 3600.0
ATTACKER = "45.13.7.9"
JOINED = {"founder": NOW - 30 * DAY, "founder2": NOW - 30 * DAY, "turncoat": NOW - 30 * DAY,
          "old": NOW - 10 * DAY, "new": NOW - 60, "liar": NOW - 60}


def detection(target: str = ATTACKER, scenario: str = "ssh-bruteforce") -> Signal:
    return Signal(kind="detection", target=target, scenario=scenario)


def policy(**trust: object) -> Policy:
    config = load_policy()  # the shipped [trust], with the provisional blocks' figures fixed
    settings: dict[str, object] = {"solo_duration": 900.0, "solo_penalty": 0.2, "solo_open": 10,
                                   "solo_quorum": True, "vet_reports": 5, "vet_precision": 0.25,
                                   "vet_open": 0.0, "vet_after": 0.0, "dispute_penalty": 10.0,
                                   **trust}
    config = replace(config, trust=replace(config.trust, **settings))  # type: ignore[arg-type]
    return Policy(config, parse_ranges("192.0.2.10 owned", "test"),
                  trust=Trust(config.trust, joined=JOINED))


def test_one_trusted_members_word_blocks_provisionally_and_pays_until_corroborated() -> None:
    p = policy()
    outcome = p.decide("founder", detection(), NOW)
    assert isinstance(outcome.decision, Block) and outcome.decision.until == NOW + 900
    assert "provisional until corroborated (then 14400s)" in outcome.detail
    assert p.trust.weight("founder") == approx(0.98)  # solo_penalty 0.2 of earn 10
    assert p.active[ATTACKER].full == HOURS4


def test_a_second_deciding_member_extends_it_to_its_full_duration_and_repays_the_maker() -> None:
    p = policy()
    p.decide("founder", detection(), NOW)
    outcome = p.decide("founder2", detection(), NOW + 30)
    block = outcome.decision
    assert isinstance(block, Block) and block.until == NOW + HOURS4
    assert block.charged == "" and block.offense == 1  # an extension, not a second offense
    assert {c.member for c in block.evidence} == {"founder", "founder2"}
    assert p.trust.weight("founder") == 1.0 and p.trust.standing("founder").hits == 1
    assert p.offenses[ATTACKER][0] == 1 and not p.provisional


def test_a_newcomer_echoing_a_published_block_neither_extends_it_nor_earns_by_it() -> None:
    p = policy()
    p.decide("founder", detection(), NOW)
    outcome = p.decide("new", detection(), NOW + 30)
    assert outcome.kind == "already-blocked" and p.active[ATTACKER].until == NOW + 900
    assert p.trust.standing("new").credit == 0.0 and p.trust.standing("new").hits == 0


def test_an_uncorroborated_provisional_block_runs_out_and_its_cost_stays() -> None:
    p = policy()
    p.decide("founder", detection(), NOW)
    p.sweep(NOW + 901)
    assert ATTACKER not in p.active and not p.provisional
    standing = p.trust.standing("founder")
    assert (standing.solo, standing.misses) == (0, 1)
    assert p.trust.weight("founder") == approx(0.98)


def test_a_member_holds_only_so_many_provisional_blocks_open_then_waits_for_a_second() -> None:
    p = policy(solo_open=3)
    kinds = [p.decide("founder", detection(f"45.13.9.{i}"), NOW + i).kind for i in range(5)]
    assert kinds == ["decided"] * 3 + ["unconfirmed"] * 2
    held = p.decide("founder", detection("45.13.9.4"), NOW + 6)
    assert "provisional blocks of this member await corroboration (at most 3" in held.detail
    second = p.decide("founder2", detection("45.13.9.4"), NOW + 7).decision
    assert isinstance(second, Block) and second.until == NOW + 7 + HOURS4  # corroborated


def test_a_turncoats_burst_of_lies_gets_few_short_blocks() -> None:
    p = policy()
    decided = [o.decision for o in (p.decide("turncoat", detection(f"45.14.{i // 250}.{i % 250}"),
                                            NOW + i / 100) for i in range(1000))]
    blocks = [d for d in decided if isinstance(d, Block)]
    # solo_open 10 x its weight, which each open provisional block lowers by 0.02: 8 blocks,
    # then every other lie waits for a second member
    assert len(blocks) == 8 and all(b.until <= NOW + 10 + 900 for b in blocks)
    assert p.trust.weight("turncoat") == approx(0.84)


def test_trust_is_not_banked_one_upheld_dispute_costs_a_veteran_its_word() -> None:
    p = policy()
    for i in range(100):  # a long, corroborated record
        p.decide("founder", detection(f"45.15.0.{i}"), NOW + i)
        p.decide("founder2", detection(f"45.15.0.{i}"), NOW + i)
    assert p.trust.weight("founder") == 1.0 and p.trust.standing("founder").credit == 0.0
    p.decide("founder", detection("45.16.0.1"), NOW + 200)
    _, lifts = dispute(p, "founder2", Dispute("45.16.0.1", "customer"), NOW + 300)
    assert lifts and p.trust.weight("founder") < 0.2  # dispute_penalty 10: nothing in reserve
    assert p.decide("founder", detection("45.16.0.2"), NOW + 301).kind == "probation"


def test_a_trusted_members_first_report_of_a_listed_quorum_scenario_blocks_provisionally() -> None:
    p = policy()
    first = p.decide("founder", detection(scenario="http-probing"), NOW)
    assert isinstance(first.decision, Block) and first.decision.until == NOW + 900
    assert p.decide("new", detection(scenario="http-probing"), NOW + 5).kind == "already-blocked"
    full = p.decide("founder2", detection(scenario="http-probing"), NOW + 9).decision
    assert isinstance(full, Block) and full.until == NOW + 3600  # the quorum met: its duration
    invented = p.decide("founder", detection("45.13.8.1", scenario="made-up"), NOW)
    assert invented.kind == "quorum"  # a scenario the policy does not list still waits


def vet(p: Policy, member: str, hits: int, start: float = NOW) -> None:
    """``member`` reports ``hits`` addresses first, a founder corroborates each."""
    for i in range(hits):
        target = f"45.17.{hits}.{i}"
        assert p.decide(member, detection(target), start + i).kind == "probation"
        p.decide("founder", detection(target), start + i + 0.5)


def test_a_newcomer_with_a_corroborated_record_is_vetted_within_its_probation() -> None:
    p = policy()
    vet(p, "new", 5)
    assert p.trust.standing("new").hits == 5 and p.trust.vetted("new", NOW + 10)
    assert p.trust.why_not("new", NOW + 10) is None
    outcome = p.decide("new", detection("45.18.0.1"), NOW + 10)
    assert isinstance(outcome.decision, Block) and outcome.decision.until == NOW + 10 + 900


def test_a_newcomer_whose_reports_nobody_corroborates_is_not_vetted() -> None:
    p = policy()
    for i in range(40):  # lies: live sightings count against it before they age out
        assert p.decide("liar", detection(f"45.19.0.{i}"), NOW + i).kind == "probation"
    vet(p, "liar", 5, start=NOW + 50)  # then as many truths as would vet an honest newcomer
    assert not p.trust.vetted("liar", NOW + 70)
    why = p.trust.why_not("liar", NOW + 70) or ""
    assert "5 reports corroborated, 0 not, 40 open; its word counts from 5 at 25%" in why
    p.sweep(NOW + 3641)  # they aged out: misses now
    assert p.trust.standing("liar").misses == 40 and not p.trust.vetted("liar", NOW + 3700)


def test_reports_of_protected_addresses_count_against_a_newcomers_record() -> None:
    p = policy()
    vet(p, "liar", 5)
    for _ in range(20):
        assert p.decide("liar", detection("192.0.2.10"), NOW + 30).kind == "protected"
    assert p.trust.standing("liar").misses == 20 and not p.trust.vetted("liar", NOW + 30)


def test_the_vetting_record_is_not_rebuilt_so_a_restart_only_delays_a_newcomer() -> None:
    p = policy()
    vet(p, "new", 5)
    rebuilt = policy()
    rebuilt.restore(PolicyRows(decisions=[], charges=[], signals=[]), NOW + 10)
    assert not rebuilt.trust.vetted("new", NOW + 10)


def stored(cursor: int, target: str, until: float, members: list[str], charged: str,
           created: float) -> StoredDecision:
    evidence = [Contribution(m, "ssh-bruteforce", 1, created, created, created) for m in members]
    return StoredDecision(
        Decision(cursor=cursor, action="block", target=target, until=until,
                 scenario="ssh-bruteforce", origin=",".join(members), created=created),
        charged, msgspec.json.encode(evidence))


def test_provisional_blocks_and_their_extensions_are_rebuilt_from_the_decisions() -> None:
    rows = PolicyRows(decisions=[
        stored(1, ATTACKER, NOW + 900, ["founder"], "founder", NOW),
        stored(2, ATTACKER, NOW + HOURS4, ["founder", "founder2"], "", NOW + 30),
        stored(3, "45.13.7.10", NOW + 960, ["founder"], "founder", NOW + 60),
    ], charges=[], signals=[])
    p = policy()
    p.restore(rows, NOW + 100)
    assert p.offenses[ATTACKER][0] == 1 and p.active[ATTACKER].full == 0.0
    assert p.active[ATTACKER].deciders == {"founder", "founder2"}
    assert p.active["45.13.7.10"].full == HOURS4 and p.provisional == {"founder": {"45.13.7.10"}}
    assert p.trust.weight("founder") == approx(0.98)  # the open one costs; the other repaid
    extended = p.decide("founder2", detection("45.13.7.10"), NOW + 120).decision
    assert isinstance(extended, Block) and extended.until == NOW + 60 + HOURS4


def test_with_provisional_blocks_off_one_word_blocks_for_the_full_duration() -> None:
    p = policy(solo_duration=0.0, solo_penalty=0.0)
    outcome = p.decide("founder", detection(), NOW)
    assert isinstance(outcome.decision, Block) and outcome.decision.until == NOW + HOURS4
    assert p.trust.weight("founder") == 1.0 and not p.provisional


def test_newcomers_seeding_sightings_do_not_lift_a_members_cap_on_provisional_blocks() -> None:
    p = policy(solo_open=1)
    p.decide("turncoat", detection("45.20.0.1"), NOW)
    assert p.decide("liar", detection("45.20.0.2"), NOW + 1).kind == "probation"
    assert p.decide("turncoat", detection("45.20.0.2"), NOW + 2).kind == "unconfirmed"
    assert "45.20.0.2" not in p.active


def test_a_retracted_provisional_block_frees_its_slot_and_keeps_its_cost() -> None:
    p = policy()
    p.decide("founder", detection(), NOW)
    outcome = p.decide("founder", Signal(kind="retract", target=ATTACKER, scenario="x"), NOW + 5)
    assert outcome.kind == "lifted" and not p.provisional
    assert p.trust.standing("founder").solo == 0 and p.trust.weight("founder") == approx(0.98)


def test_a_newcomer_is_vetted_only_after_vet_after_and_under_vet_open_misses_an_hour() -> None:
    p = policy(vet_after=7200.0, vet_open=4.0)
    vet(p, "new", 5)  # a perfect record within its first minutes
    assert not p.trust.vetted("new", NOW + 10)  # joined 60 s before NOW: too soon
    assert p.trust.vetted("new", NOW + 7200)
    for i in range(9):  # 9 reports nobody corroborates, in its third hour of membership
        p.decide("new", detection(f"45.21.0.{i}"), NOW + 7200 + i)
    assert p.trust.standing("new").solo + p.trust.pending.get("new", 0) == 9
    assert not p.trust.vetted("new", NOW + 7210)  # 9 > 4 an hour over its 2 h record
    why = p.trust.why_not("new", NOW + 7210) or ""
    assert "at most 4 not an hour" in why


def test_a_rebuild_restarts_the_hour_count_of_the_vetting_record() -> None:
    p = policy(vet_open=4.0)
    p.restore(PolicyRows(decisions=[], charges=[], signals=[]), NOW)
    assert p.trust.recorded_from == NOW
