"""Drill decisions as the agent received them, and what the firewall showed right after.

The agent's follow loop hands each drill decision over (:meth:`Arrivals.add`) once it
has applied it; :meth:`Arrivals.read_back` reads each one back from the firewall at
once, apart from the member's order loop, so a block is timed by when the firewall
held it, whether or not the member has fetched the order yet; :meth:`Arrivals.wait`
gives a drill its block or lift once read back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from shieldwall.decisions.decision import Decision

#: Drills kept at most (the oldest go first: drills nobody here waits for, or over).
MAX_DRILLS = 64


@dataclass
class Arrival:
    """One drill decision on this member."""

    decision: Decision
    received: float
    #: Applying it failed and the agent rebuilt the table (the enforce stage fails).
    repaired: bool
    #: Whether the element is in the firewall (block) or gone (lift); ``None``: not read yet.
    confirmed: bool | None = None
    read_at: float = 0.0


@dataclass
class _Box:
    items: list[Arrival] = field(default_factory=list)
    event: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Arrivals:
    """Every drill decision this member received, by drill id."""

    holds: Callable[[str], bool]
    clock: Callable[[], float]
    boxes: dict[str, _Box] = field(default_factory=dict)
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, decision: Decision, received: float, repaired: bool = False) -> None:
        """The agent applied ``decision`` (received at ``received``)."""
        self.boxes.setdefault(decision.drill, _Box()).items.append(
            Arrival(decision, received, repaired))
        self._new.set()
        if len(self.boxes) > MAX_DRILLS:
            self.boxes.pop(next(iter(self.boxes)))

    async def read_back(self) -> None:
        """Read every new arrival back from the firewall (``holds``, in a thread); forever."""
        while True:
            await self._new.wait()
            self._new.clear()
            for box in list(self.boxes.values()):
                for item in box.items:
                    if item.confirmed is None:
                        held = await asyncio.to_thread(self.holds, item.decision.target)
                        item.read_at = self.clock()
                        item.confirmed = held if item.decision.action == "block" else not held
                        box.event.set()

    async def wait(self, drill: str, action: str, until: float) -> Arrival | None:
        """Drill ``drill``'s decision of ``action`` once read back (``None`` at ``until``)."""
        box = self.boxes.setdefault(drill, _Box())
        while True:
            for item in box.items:
                if item.decision.action == action and item.confirmed is not None:
                    return item
            remaining = until - self.clock()
            if remaining <= 0:
                return None
            box.event.clear()
            try:
                await asyncio.wait_for(box.event.wait(), remaining)
            except TimeoutError:
                return None
