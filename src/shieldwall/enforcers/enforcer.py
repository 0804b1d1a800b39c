"""The protocol every enforcer follows, and how the agent drives it.

The agent keeps the desired block set (see :mod:`desired`). For each batch of
decisions it computes ``plan_between(old, new, now)`` and calls :meth:`apply`;
on start, and whenever an apply fails, it calls :meth:`reconcile` with the
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
