"""An enforcer that applies nothing and says what it would have done (``dry_run = true``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.enforcers.plan import Plan


class DryRunEnforcer(MemoryEnforcer):
    """Keeps what *would* be enforced (so each plan is the next small change) and notes it."""

    name = "dry-run"

    def __init__(self, notes: Callable[[str, dict[str, Any]], None]) -> None:
        super().__init__()
        self.notes = notes

    def apply(self, plan: Plan, now: float) -> None:
        """Note the plan; touch nothing outside this process."""
        self.notes("dry-run", {"would": plan.summary()})
        super().apply(plan, now)
