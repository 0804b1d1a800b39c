"""The protocol every enforcer follows, and how the agent drives it.

The desired state is the member's block store; the agent's core turns each
change into a small :class:`~.plan.Plan` and the runtime calls :meth:`apply`.
On start, and whenever an apply fails, it calls :meth:`reconcile` with the
whole desired set, which reads what is really enforced and repairs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.plan import Plan


class Enforcer(Protocol):
    """A place where blocks take effect (a firewall table, an in-memory set...)."""

    name: str

    def current(self, now: float) -> dict[str, float]:
        """What is enforced now: canonical target -> until (``inf``: no expiry)."""
        ...

    def plan(self, desired: Mapping[str, Block], now: float) -> Plan:
        """What :meth:`reconcile` would do, without doing it (``--dry-run``)."""
        ...

    def apply(self, plan: Plan, now: float) -> None:
        """Carry out ``plan`` as one transaction; raises ``EnforcerError``."""
        ...

    def reconcile(self, desired: Mapping[str, Block], now: float) -> Plan:
        """Make what is enforced match ``desired`` in one transaction; return the plan."""
        ...

    def uninstall(self) -> None:
        """Remove everything this enforcer installed, and nothing else."""
        ...
