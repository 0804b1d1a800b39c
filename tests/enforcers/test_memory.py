import math

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.memory import MemoryEnforcer


def test_reconcile_then_incremental_apply_then_expiry() -> None:
    enforcer = MemoryEnforcer()
    desired = {"192.0.2.1": Block("192.0.2.1", 100.0), "2001:db8::/32": Block("2001:db8::/32")}
    plan = enforcer.reconcile(desired, 0.0)
    assert plan.rebuild is False and len(plan.add) == 2
    assert not enforcer.reconcile(desired, 1.0)
    new = desired | {"192.0.2.2": Block("192.0.2.2", 50.0)}
    enforcer.apply(enforcer.plan(new, 2.0), 2.0)
    assert enforcer.current(2.0) == {
        "192.0.2.1": 100.0,
        "2001:db8::/32": math.inf,
        "192.0.2.2": 50.0,
    }
    assert set(enforcer.current(60.0)) == {"192.0.2.1", "2001:db8::/32"}
    enforcer.uninstall()
    assert enforcer.current(0.0) == {}


def test_range_replacement_swaps_every_range() -> None:
    enforcer = MemoryEnforcer()
    old = {"198.51.100.0/28": Block("198.51.100.0/28", 100.0), "192.0.2.1": Block("192.0.2.1")}
    enforcer.reconcile(old, 0.0)
    new = {"198.51.100.0/24": Block("198.51.100.0/24", 100.0), "192.0.2.1": Block("192.0.2.1")}
    enforcer.apply(enforcer.plan(new, 1.0), 1.0)
    assert set(enforcer.current(1.0)) == {"198.51.100.0/24", "192.0.2.1"}
