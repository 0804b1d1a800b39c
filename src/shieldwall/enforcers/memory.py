"""An enforcer that keeps its blocks in memory (tests, and the agent's dry runs)."""

from __future__ import annotations

from collections.abc import Mapping

from shieldwall.addresses import is_range
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.plan import Plan, plan_changes


class MemoryEnforcer:
    """Holds target -> until like a firewall would, expiring lazily on read."""

    name = "memory"

    def __init__(self) -> None:
        self.elements: dict[str, float] = {}
        self.transactions = 0

    def current(self, now: float) -> dict[str, float]:
        """Active elements at ``now``."""
        return {t: until for t, until in self.elements.items() if until > now}

    def plan(self, desired: Mapping[str, Block], now: float) -> Plan:
        """The plan that makes memory match ``desired``."""
        return plan_changes(desired, self.current(now), now)

    def apply(self, plan: Plan, now: float) -> None:
        """Apply removals then additions, atomically (there is nothing to fail)."""
        if plan.rebuild:
            self.elements.clear()
        for target in plan.remove:
            self.elements.pop(target, None)
        if plan.ranges is not None:
            self.elements = {t: u for t, u in self.elements.items() if not is_range(t)}
            self.elements.update((b.target, b.until) for b in plan.ranges if b.until > now)
        for block in plan.add:
            if block.until > now:
                self.elements[block.target] = block.until
        self.transactions += 1

    def reconcile(self, desired: Mapping[str, Block], now: float) -> Plan:
        """Plan and apply."""
        plan = self.plan(desired, now)
        if plan:
            self.apply(plan, now)
        return plan

    def uninstall(self) -> None:
        """Forget everything."""
        self.elements.clear()
