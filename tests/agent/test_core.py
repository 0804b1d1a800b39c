"""Rules of the agent's pure core: what it does with log lines and decisions."""

from __future__ import annotations

from datetime import UTC, datetime

from shieldwall.addresses import parse_ranges
from shieldwall.agent.core import AgentCore, Enforce, Note, Remember, Report, SaveCursor
from shieldwall.decisions.decision import Decision
from shieldwall.detection.scenario import default_scenarios
from shieldwall.enforcers.block import Block
from shieldwall.events.packs import load_pack

NOW = 1_800_000_000.0


def failures(address: str, n: int, pid: int = 100) -> bytes:
    return b"".join(
        f"2027-01-15T10:00:{i:02d}+00:00 host sshd[{pid + i}]: Failed password for root "
        f"from {address} port {40000 + i} ssh2\n".encode()
        for i in range(n)
    )


def core(**kwargs: object) -> AgentCore:
    c = AgentCore(default_scenarios(), **kwargs)  # type: ignore[arg-type]
    c.add_source("auth", [load_pack("sshd")], 2027)
    return c


def of(kind: type, commands: list[object]) -> list[object]:
    return [c for c in commands if isinstance(c, kind)]


def test_fifth_failure_reports_a_signal_and_blocks_locally_at_once() -> None:
    agent = core()
    assert agent.lines("auth", failures("45.33.99.7", 4), NOW) == []
    commands = agent.lines("auth", failures("45.33.99.7", 1, pid=200), NOW)
    reports = of(Report, commands)
    assert len(reports) == 1
    (signal,) = reports[0].signals  # type: ignore[attr-defined]
    assert (signal.target, signal.scenario, signal.count) == ("45.33.99.7", "ssh-bruteforce", 5)
    (enforce,) = of(Enforce, commands)
    assert [b.target for b in enforce.plan.add] == ["45.33.99.7"]  # type: ignore[attr-defined]
    assert enforce.plan.add[0].until == NOW + 4 * 3600  # type: ignore[attr-defined]
    assert of(Remember, commands)


def test_without_local_first_the_member_waits_for_the_hub() -> None:
    agent = core(local_first=False)
    commands = agent.lines("auth", failures("45.33.99.7", 5), NOW)
    assert of(Report, commands)
    assert not of(Enforce, commands)


def test_unconfirmed_scenarios_are_reported_but_not_blocked_locally() -> None:
    agent = core()
    scans = b"".join(
        f"2027-01-15T10:00:{i:02d}+00:00 h sshd[{i}]: Did not receive identification string "
        f"from 45.33.99.8 port {i + 1000}\n".encode()
        for i in range(10)
    )
    commands = agent.lines("auth", scans, NOW)
    (report,) = of(Report, commands)
    assert report.signals[0].scenario == "ssh-scan"  # type: ignore[attr-defined]
    assert not of(Enforce, commands)


def test_a_hub_decision_becomes_a_block_and_moves_the_cursor() -> None:
    agent = core()
    decision = Decision(cursor=7, action="block", target="45.33.99.9", until=NOW + 60,
                        scenario="ssh-bruteforce", origin="m2")
    commands = agent.decision(decision, NOW)
    (enforce,) = of(Enforce, commands)
    assert enforce.plan.add[0].target == "45.33.99.9"  # type: ignore[attr-defined]
    assert of(SaveCursor, commands) == [SaveCursor(7)]
    assert agent.cursor == 7


def test_a_decision_already_handled_is_ignored() -> None:
    agent = core(cursor=7)
    decision = Decision(cursor=7, action="block", target="45.33.99.9", until=NOW + 60)
    assert agent.decision(decision, NOW) == []


def test_the_members_allowlist_always_wins_over_a_decision() -> None:
    agent = core(enforce_allow=parse_ranges("45.33.99.0/24 office\n", "local"))
    decision = Decision(cursor=1, action="block", target="45.33.99.9", until=NOW + 60)
    commands = agent.decision(decision, NOW)
    assert not of(Enforce, commands)
    skipped = [c for c in of(Note, commands) if c.event == "block.skipped"]  # type: ignore[attr-defined]
    assert skipped and "protected here" in skipped[0].fields["reason"]  # type: ignore[attr-defined]
    assert of(SaveCursor, commands) == [SaveCursor(1)]


def test_the_allowlist_also_stops_local_blocks_of_own_detections() -> None:
    agent = core(enforce_allow=parse_ranges("45.33.99.7\n", "local"))
    commands = agent.lines("auth", failures("45.33.99.7", 5), NOW)
    assert of(Report, commands)
    assert not of(Enforce, commands)


def test_a_lift_removes_the_block() -> None:
    agent = core()
    agent.decision(Decision(cursor=1, action="block", target="45.33.99.9", until=NOW + 60), NOW)
    commands = agent.decision(Decision(cursor=2, action="lift", target="45.33.99.9", until=0), NOW)
    (enforce,) = of(Enforce, commands)
    assert enforce.plan.remove == ("45.33.99.9",)  # type: ignore[attr-defined]
    assert "45.33.99.9" not in agent.blocks


def test_an_expired_decision_is_not_applied() -> None:
    agent = core()
    commands = agent.decision(Decision(cursor=1, action="block", target="45.33.99.9",
                                       until=NOW - 1), NOW)
    assert not of(Enforce, commands)
    assert of(SaveCursor, commands)


def test_expired_blocks_are_forgotten() -> None:
    agent = core(blocks={"45.33.99.9": Block("45.33.99.9", until=NOW + 10)})
    assert agent.expire(NOW) == []
    commands = agent.expire(NOW + 11)
    assert of(Enforce, commands)[0].plan.remove == ("45.33.99.9",)  # type: ignore[attr-defined]
    assert agent.blocks == {}


def test_startup_reapplies_every_active_block_in_one_transaction() -> None:
    blocks = {
        "45.33.99.9": Block("45.33.99.9", until=NOW + 10),
        "45.33.99.10": Block("45.33.99.10", until=NOW - 10),
        "2001:db8:5::/64": Block("2001:db8:5::/64", until=NOW + 10),
    }
    commands = core(blocks=blocks).startup(NOW)
    enforces = of(Enforce, commands)
    assert len(enforces) == 1
    plan = enforces[0].plan  # type: ignore[attr-defined]
    assert plan.rebuild
    assert sorted(b.target for b in plan.add) == ["2001:db8:5::/64", "45.33.99.9"]
    assert of(Remember, commands)[0].forget == ("45.33.99.10",)  # type: ignore[attr-defined]


def test_ipv6_attackers_are_blocked_per_prefix() -> None:
    agent = core()
    lines = b"".join(
        f"2027-01-15T10:00:{i:02d}+00:00 h sshd[{i}]: Failed password for root from "
        f"2001:db8:7:1::{i + 1} port 22 ssh2\n".encode()
        for i in range(5)
    )
    commands = agent.lines("auth", lines, NOW)
    (enforce,) = of(Enforce, commands)
    ranges = enforce.plan.ranges  # type: ignore[attr-defined]
    assert [b.target for b in ranges] == ["2001:db8:7:1::/64"]


def test_a_longer_decision_for_a_blocked_address_replaces_its_element() -> None:
    # Re-adding an existing nftables element keeps its old timeout: remove it first.
    agent = core()
    agent.decision(Decision(cursor=1, action="block", target="45.33.99.9", until=NOW + 60), NOW)
    commands = agent.decision(
        Decision(cursor=2, action="block", target="45.33.99.9", until=NOW + 600), NOW
    )
    (enforce,) = of(Enforce, commands)
    plan = enforce.plan  # type: ignore[attr-defined]
    assert plan.remove == ("45.33.99.9",)
    assert [(b.target, b.until) for b in plan.add] == [("45.33.99.9", NOW + 600)]


def test_a_new_range_replaces_the_range_sets_whole() -> None:
    agent = core()
    agent.decision(Decision(cursor=1, action="block", target="45.33.0.0/16", until=NOW + 60), NOW)
    commands = agent.decision(
        Decision(cursor=2, action="block", target="45.34.0.0/24", until=NOW + 60), NOW
    )
    plan = of(Enforce, commands)[0].plan  # type: ignore[attr-defined]
    assert sorted(b.target for b in plan.ranges) == ["45.33.0.0/16", "45.34.0.0/24"]
    lift = agent.decision(Decision(cursor=3, action="lift", target="45.33.0.0/16", until=0), NOW)
    plan = of(Enforce, lift)[0].plan  # type: ignore[attr-defined]
    assert [b.target for b in plan.ranges] == ["45.34.0.0/24"]


def test_blocks_another_process_stored_are_enforced_and_its_removals_lifted() -> None:
    own = Block("45.33.99.1", until=NOW + 600, origin="hub")
    agent = core(blocks={own.target: own})
    ban = Block("45.33.99.7", until=NOW + 3600, origin="operator")
    commands = agent.store_changed({own.target: own, ban.target: ban}, NOW)
    (enforce,) = of(Enforce, commands)
    assert [b.target for b in enforce.plan.add] == ["45.33.99.7"]  # type: ignore[attr-defined]
    assert not of(Remember, commands), "the store already holds it"
    assert set(agent.blocks) == {"45.33.99.1", "45.33.99.7"}
    # The operator unbans the hub's block: it is lifted here too.
    commands = agent.store_changed({ban.target: ban}, NOW)
    (enforce,) = of(Enforce, commands)
    assert enforce.plan.remove == ("45.33.99.1",)  # type: ignore[attr-defined]
    assert set(agent.blocks) == {"45.33.99.7"}
    assert agent.store_changed({ban.target: ban}, NOW) == []


def test_the_cores_own_stored_blocks_are_not_mistaken_for_an_unban() -> None:
    agent = core()
    agent.lines("auth", failures("45.33.99.7", 5), NOW)  # blocked at once, then remembered
    commands = agent.store_changed(dict(agent.blocks), NOW)
    assert commands == [] and set(agent.blocks) == {"45.33.99.7"}
    # Only a store that lost it afterwards means someone removed it.
    assert of(Enforce, agent.store_changed({}, NOW))
    assert agent.blocks == {}


def test_a_stored_block_this_host_protects_is_not_enforced() -> None:
    agent = core(enforce_allow=parse_ranges("45.33.99.0/24", "enforce.allow"))
    ban = Block("45.33.99.7", until=NOW + 3600, origin="operator")
    commands = agent.store_changed({ban.target: ban}, NOW)
    assert not of(Enforce, commands)
    assert [n.event for n in of(Note, commands)] == ["block.skipped"]  # type: ignore[attr-defined]


def test_a_stored_block_that_ran_out_is_left_to_expire() -> None:
    old = Block("45.33.99.1", until=NOW + 10, origin="operator")
    agent = core(blocks={old.target: old})
    assert agent.store_changed({}, NOW + 20) == []  # the firewall's own timeout removed it
    assert of(Enforce, agent.expire(NOW + 20))


def _day_of_attacks(day: int, attackers: int) -> list[tuple[float, bytes]]:
    """One simulated day: each hour, fresh addresses guess passwords (a new set every day)."""
    start = 1_800_000_000 + day * 86400
    chunks = []
    for hour in range(24):
        t = start + hour * 3600
        stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        lines = b"".join(
            f"{stamp} host sshd[{n}]: Failed password for user{i} from "
            f"45.{day}.{hour}.{n} port {40000 + i} ssh2\n".encode()
            for n in range(attackers // 24) for i in range(6)
        )
        chunks.append((float(t), lines))
    return chunks


def _sizes(agent: AgentCore) -> dict[str, int]:
    detector = agent.detector
    return {
        "windows": sum(len(s.windows) for s in detector.states),
        "users": sum(len(s.users) for s in detector.states),
        "active": sum(len(s.active) for s in detector.states),
        "blocks": len(agent.blocks),
        "stored": len(agent.stored),
    }


def test_thirty_simulated_days_of_attacks_leave_the_agents_memory_flat() -> None:
    """State is proportional to what is live in a window, never to history (fake clock: log time)."""
    agent = AgentCore(default_scenarios(), blocks={})
    agent.add_source("auth", [load_pack("sshd")], 2027)
    after_day: dict[int, dict[str, int]] = {}
    for day in range(30):
        for now, chunk in _day_of_attacks(day, attackers=240):
            agent.lines("auth", chunk, now)
            agent.expire(now)
        after_day[day] = _sizes(agent)
    assert agent.detector.detections is None, "the agent keeps no history of detections"
    # Each day brings 240 new attackers; what is held after day 30 is what day 2 held.
    assert after_day[29] == after_day[2]
    # Bounded by one day's attackers (24 h blocks), not by the 7,200 seen in the month.
    assert all(size <= 2 * 240 for size in after_day[29].values())


def test_a_decision_whose_target_is_not_an_address_is_skipped_but_moves_the_cursor() -> None:
    agent = core()
    decision = Decision(cursor=3, action="block", target="evil.example", until=NOW + 60,
                        scenario="x", origin="m2")
    commands = agent.decision(decision, NOW)
    assert [n.event for n in of(Note, commands)] == ["decision", "decision.skipped"]  # type: ignore[attr-defined]
    assert of(SaveCursor, commands) == [SaveCursor(3)] and not of(Enforce, commands)


def test_a_shorter_decision_for_a_blocked_address_changes_nothing() -> None:
    agent = core()
    agent.decision(Decision(cursor=1, action="block", target="45.33.99.9", until=NOW + 600,
                            scenario="s", origin="m2"), NOW)
    commands = agent.decision(Decision(cursor=2, action="block", target="45.33.99.9",
                                       until=NOW + 60, scenario="s", origin="m3"), NOW)
    assert not of(Enforce, commands) and agent.blocks["45.33.99.9"].until == NOW + 600


def test_a_stored_block_with_a_new_expiry_replaces_the_element() -> None:
    old = Block("45.33.99.7", until=NOW + 60, origin="operator")
    agent = core(blocks={old.target: old})
    longer = Block("45.33.99.7", until=NOW + 3600, origin="operator")
    (enforce,) = of(Enforce, agent.store_changed({longer.target: longer}, NOW))
    assert enforce.plan.remove == ("45.33.99.7",)  # type: ignore[attr-defined]
    assert [b.until for b in enforce.plan.add] == [NOW + 3600]  # type: ignore[attr-defined]


def test_startup_forgets_blocks_that_expired_while_the_agent_was_down() -> None:
    gone = Block("45.33.99.1", until=NOW - 1)
    kept = Block("45.33.99.2", until=NOW + 60)
    agent = core(blocks={gone.target: gone, kept.target: kept})
    commands = agent.startup(NOW)
    assert of(Remember, commands) == [Remember(forget=("45.33.99.1",))]
    assert set(agent.blocks) == set(agent.stored) == {"45.33.99.2"}


def test_a_drill_decision_is_applied_only_on_a_documentation_address() -> None:
    c = core()
    drill = Decision(cursor=1, action="block", target="192.0.2.7", until=2e9, drill="drill-0a0b0c0d")
    assert of(Enforce, c.decision(drill, 1e9)) and "192.0.2.7" in c.blocks
    hostile = Decision(cursor=2, action="block", target="8.8.8.8", until=2e9, drill="drill-0a0b0c0e")
    commands = c.decision(hostile, 1e9)
    assert not of(Enforce, commands) and "8.8.8.8" not in c.blocks
    assert any(isinstance(n, Note) and n.event == "decision.skipped" for n in commands)
    assert of(SaveCursor, commands)


def test_held_names_the_last_decision_whose_block_the_firewall_holds() -> None:
    agent = core(enforce_allow=parse_ranges(["10.0.0.0/8"], "enforce.allow"))
    agent.decision(Decision(cursor=1, action="block", target="45.33.99.9", until=NOW + 600), NOW)
    assert agent.held == 1
    # Already held for longer: still held, so it counts as applied here too.
    agent.decision(Decision(cursor=2, action="block", target="45.33.99.9", until=NOW + 60), NOW)
    assert agent.held == 2
    # Protected here, expired, a lift: none is held.
    agent.decision(Decision(cursor=3, action="block", target="10.1.2.3", until=NOW + 60), NOW)
    agent.decision(Decision(cursor=4, action="block", target="45.33.99.10", until=NOW - 1), NOW)
    agent.decision(Decision(cursor=5, action="lift", target="45.33.99.9", until=0), NOW)
    assert agent.held == 2


def test_a_detection_s_signal_and_local_block_name_the_shipped_rule_version() -> None:
    from shieldwall.detection.scenario import scenario_version

    agent = core()
    brute = next(s for s in default_scenarios() if s.name == "ssh-bruteforce")
    version = scenario_version(brute, [load_pack("sshd")])
    commands = agent.lines("auth", failures("45.33.99.7", 5), NOW)
    (report,) = of(Report, commands)
    assert [s.rule for s in report.signals] == [version]  # type: ignore[attr-defined]
    (enforce,) = of(Enforce, commands)
    assert enforce.plan.add[0].reason == f"5 events, rule {version}"  # type: ignore[attr-defined]


def test_a_hub_decision_s_block_names_the_rule_that_caused_it_even_without_a_council() -> None:
    agent = core()
    decision = Decision(cursor=1, action="block", target="45.33.99.9", until=NOW + 600,
                        scenario="ssh-bruteforce", origin="bob", rule="ssh-bruteforce@0123456789ab")
    (enforce,) = of(Enforce, agent.decision(decision, NOW))
    assert enforce.plan.add[0].reason == "no charter, rule ssh-bruteforce@0123456789ab"  # type: ignore[attr-defined]
