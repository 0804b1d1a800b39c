import logging

import pytest

from shieldwall.decisions.decision import Decision
from shieldwall.enforcers.allowlist import Allowlist, parse_allowlist
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.desired import desired_blocks, merge_blocks

NOW = 5000.0
NONE = Allowlist()


def block(cursor: int, target: str, until: float) -> Decision:
    return Decision(cursor=cursor, action="block", target=target, until=until, origin="hub")


def lift(cursor: int, target: str) -> Decision:
    return Decision(cursor=cursor, action="lift", target=target, until=0.0)


def test_block_decisions_become_blocks_with_their_expiry() -> None:
    result = desired_blocks([block(1, "192.0.2.7", NOW + 60)], NONE, NOW)
    assert result.blocks == {"192.0.2.7": Block("192.0.2.7", NOW + 60, origin="hub")}


def test_lift_removes_an_earlier_block_whatever_the_arrival_order() -> None:
    decisions = [lift(2, "192.0.2.7"), block(1, "192.0.2.7", NOW + 60)]
    assert desired_blocks(decisions, NONE, NOW).blocks == {}


def test_later_block_replaces_earlier_expiry() -> None:
    decisions = [block(1, "192.0.2.7", NOW + 600), block(2, "192.0.2.7", NOW + 60)]
    assert desired_blocks(decisions, NONE, NOW).blocks["192.0.2.7"].until == NOW + 60


def test_expired_decisions_are_dropped() -> None:
    assert desired_blocks([block(1, "192.0.2.7", NOW)], NONE, NOW).blocks == {}


def test_targets_are_canonicalised() -> None:
    result = desired_blocks([block(1, "2001:DB8::1/128", NOW + 1)], NONE, NOW)
    assert list(result.blocks) == ["2001:db8::1"]


def test_local_allowlist_wins_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    allow = parse_allowlist("198.51.100.7  # our monitor\n", "never-block.txt")
    decisions = [block(1, "198.51.100.0/24", NOW + 60), block(2, "198.51.100.7", NOW + 60)]
    with caplog.at_level(logging.WARNING):
        result = desired_blocks(decisions, allow, NOW)
    assert result.blocks == {}
    assert [s.cursor for s in result.skipped] == [1, 2]
    assert "never-block.txt" in result.skipped[0].reason
    assert "198.51.100.0/24" in caplog.text


def test_garbage_target_is_skipped_not_raised() -> None:
    result = desired_blocks([block(1, "evil.example", NOW + 60)], NONE, NOW)
    assert result.blocks == {}
    assert result.skipped[0].reason == "not an address or CIDR"


def test_decisions_fold_onto_a_starting_state() -> None:
    start = {"192.0.2.1": Block("192.0.2.1", NOW + 60)}
    result = desired_blocks([lift(9, "192.0.2.1"), block(10, "192.0.2.2", NOW + 9)], NONE, NOW, start)
    assert list(result.blocks) == ["192.0.2.2"]


def test_merge_keeps_the_longest_lasting_block() -> None:
    a = {"192.0.2.1": Block("192.0.2.1", 10.0, origin="hub")}
    b = {"192.0.2.1": Block("192.0.2.1", 20.0, origin="operator")}
    assert merge_blocks(a, b)["192.0.2.1"].origin == "operator"
    assert merge_blocks(b, a)["192.0.2.1"].origin == "operator"
