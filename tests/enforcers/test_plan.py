import math

from shieldwall.addresses import canonical_target
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.plan import Plan, firewall_blocks, plan_changes


def next_plan(old: dict[str, Block], new: dict[str, Block], now: float) -> Plan:
    """The agent's next change: the plan from what ``old`` put in the firewall to ``new``."""
    held = {t: b.until for t, b in firewall_blocks(old, now).items()}
    return plan_changes(new, held, now)


NOW = 1_000_000.0


def blocks(*items: tuple[str, float]) -> dict[str, Block]:
    return {t: Block(t, until) for t, until in items}


def test_missing_table_means_rebuild_with_every_active_block() -> None:
    desired = blocks(("192.0.2.1", NOW + 60), ("192.0.2.2", NOW - 1))
    plan = plan_changes(desired, None, NOW)
    assert plan.rebuild
    assert [b.target for b in plan.add] == ["192.0.2.1"]


def test_in_sync_table_needs_nothing() -> None:
    desired = blocks(("192.0.2.1", NOW + 60), ("2001:db8::1", math.inf))
    plan = plan_changes(desired, {"192.0.2.1": NOW + 59.2, "2001:db8::1": math.inf}, NOW)
    assert not plan
    assert plan == Plan()


def test_missing_elements_are_added_and_lifted_ones_removed() -> None:
    desired = blocks(("192.0.2.1", NOW + 60), ("192.0.2.3", NOW + 60))
    actual = {"192.0.2.1": NOW + 60, "192.0.2.2": NOW + 60}
    plan = plan_changes(desired, actual, NOW)
    assert [b.target for b in plan.add] == ["192.0.2.3"]
    assert plan.remove == ("192.0.2.2",)
    assert not plan.rebuild


def test_changed_expiry_is_removed_and_readded() -> None:
    desired = blocks(("192.0.2.1", NOW + 3600))
    plan = plan_changes(desired, {"192.0.2.1": NOW + 60}, NOW)
    assert plan.remove == ("192.0.2.1",)
    assert [b.target for b in plan.add] == ["192.0.2.1"]


def test_permanent_versus_timed_is_a_change() -> None:
    plan = plan_changes(blocks(("192.0.2.1", math.inf)), {"192.0.2.1": NOW + 60}, NOW)
    assert plan.remove == ("192.0.2.1",)


def test_expired_desired_block_is_removed_from_firewall() -> None:
    plan = plan_changes(blocks(("192.0.2.1", NOW)), {"192.0.2.1": NOW + 1}, NOW)
    assert plan.remove == ("192.0.2.1",)
    assert plan.add == ()


def test_nested_range_is_left_to_the_outer_range() -> None:
    desired = blocks(
        ("198.51.0.0/16", NOW + 60),
        ("198.51.100.0/24", NOW + 30),
        ("198.51.100.7", NOW + 30),
        ("2001:db8::/32", NOW + 60),
        ("2001:db8:1::/48", NOW + 60),
        ("203.0.113.0/24", NOW + 60),
    )
    kept = firewall_blocks(desired, NOW)
    assert set(kept) == {"198.51.0.0/16", "198.51.100.7", "2001:db8::/32", "203.0.113.0/24"}


def test_nested_range_returns_once_the_outer_one_expired() -> None:
    desired = blocks(("198.51.0.0/16", NOW + 10), ("198.51.100.0/24", NOW + 60))
    assert set(firewall_blocks(desired, NOW + 11)) == {"198.51.100.0/24"}


def test_the_next_plan_adds_one_new_decision_as_one_element() -> None:
    old = blocks(*((f"192.0.2.{i}", NOW + 60) for i in range(1, 50)))
    new = dict(old) | blocks(("203.0.113.9", NOW + 60))
    plan = next_plan(old, new, NOW)
    assert [b.target for b in plan.add] == ["203.0.113.9"]
    assert plan.remove == ()


def test_the_next_plan_removes_a_lift() -> None:
    old = blocks(("192.0.2.1", NOW + 60), ("192.0.2.2", NOW + 60))
    new = blocks(("192.0.2.1", NOW + 60))
    assert next_plan(old, new, NOW).remove == ("192.0.2.2",)


def test_summary_names_the_counts() -> None:
    assert plan_changes(blocks(("192.0.2.1", NOW + 9)), None, NOW).summary() == (
        "rebuild table, add 1, remove 0"
    )


def test_canonical_target_folds_host_networks_and_mapped_addresses() -> None:
    assert canonical_target("192.0.2.7/32") == "192.0.2.7"
    assert canonical_target("::ffff:192.0.2.7") == "192.0.2.7"
    assert canonical_target("2001:DB8::/32") == "2001:db8::/32"
    assert canonical_target("2001:db8::1/128") == "2001:db8::1"


def test_wider_range_arriving_replaces_the_nested_one_in_the_same_plan() -> None:
    # nft refuses "delete /28, add /24" in one batch; flush + re-add is accepted.
    old = blocks(("198.51.100.0/28", NOW + 60), ("192.0.2.1", NOW + 60))
    new = old | blocks(("198.51.100.0/24", NOW + 60), ("192.0.2.2", NOW + 60))
    plan = next_plan(old, new, NOW)
    assert plan.ranges is not None
    assert [b.target for b in plan.ranges] == ["198.51.100.0/24"]
    assert [b.target for b in plan.add] == ["192.0.2.2"]
    assert plan.remove == ()
    assert plan.summary() == "add 1, remove 0, replace ranges with 1"


def test_new_ranges_alone_are_plain_additions() -> None:
    old = blocks(("198.51.100.0/24", NOW + 60))
    new = old | blocks(("203.0.113.0/24", NOW + 60))
    plan = next_plan(old, new, NOW)
    assert plan.ranges is None
    assert [b.target for b in plan.add] == ["203.0.113.0/24"]


def test_changed_range_expiry_replaces_the_ranges() -> None:
    desired = blocks(("198.51.100.0/24", NOW + 600), ("203.0.113.0/24", NOW + 60))
    actual = {"198.51.100.0/24": NOW + 60, "203.0.113.0/24": NOW + 60, "192.0.2.9": NOW + 5}
    plan = plan_changes(desired, actual, NOW)
    assert plan.ranges is not None and len(plan.ranges) == 2
    assert plan.remove == ("192.0.2.9",) and plan.add == ()


def test_lifting_a_shadowed_range_touches_nothing() -> None:
    old = blocks(("198.51.0.0/16", NOW + 60), ("198.51.100.0/24", NOW + 60))
    new = blocks(("198.51.0.0/16", NOW + 60))
    assert not next_plan(old, new, NOW)
