"""Rules of the agent's pure core: what it does with log lines and decisions."""

from __future__ import annotations

from shieldwall.agent.core import AgentCore, Enforce, Note, Remember, Report, SaveCursor
from shieldwall.decisions.decision import Decision
from shieldwall.detection.scenario import default_scenarios
from shieldwall.enforcers.allowlist import parse_allowlist
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
    agent = core(enforce_allow=parse_allowlist("45.33.99.0/24 office\n", "local"))
    decision = Decision(cursor=1, action="block", target="45.33.99.9", until=NOW + 60)
    commands = agent.decision(decision, NOW)
    assert not of(Enforce, commands)
    skipped = [c for c in of(Note, commands) if c.event == "block.skipped"]  # type: ignore[attr-defined]
    assert skipped and "protected here" in skipped[0].fields["reason"]  # type: ignore[attr-defined]
    assert of(SaveCursor, commands) == [SaveCursor(1)]


def test_the_allowlist_also_stops_local_blocks_of_own_detections() -> None:
    agent = core(enforce_allow=parse_allowlist("45.33.99.7\n", "local"))
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
