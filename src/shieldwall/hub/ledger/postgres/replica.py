"""One hub replica's PostgreSQL half: its ledger, its candidacy and its decision tail.

The hub's serving code needs three things from a replica on PostgreSQL: a
:class:`~.ledger.PostgresLedger` that appends decisions only while this replica
leads (the elector's lease sets the ledger's epoch), the two long-lived tasks
(the election and the fan-out tail) started under the process's supervisor, and a
status for ``/readyz``. This module wires them; the hub decides what to deliver
to (its feed) and what to do with leadership (run the policy or not).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shieldwall.agent.supervise import Supervisor
from shieldwall.decisions.decision import Decision
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.lease import Lease, LeaseTimes, Role
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.postgres.tail import DecisionTail


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    """What ``/readyz`` reports about a replica's database side."""

    name: str
    role: Role
    epoch: int
    #: The last decision this replica's tail delivered.
    cursor: int
    #: Listener connections opened so far (more than one: it reconnected).
    connects: int


class Replica:
    """The ledger, election and tail of one replica named ``name`` on ``url``."""

    def __init__(
        self,
        url: str,
        name: str,
        deliver: Callable[[list[Decision]], Awaitable[None]],
        cursor: int = 0,
        times: LeaseTimes | None = None,
        catch_up: float = 1.0,
        on_change: Callable[[Lease], None] | None = None,
    ) -> None:
        self.name = name
        self.ledger = PostgresLedger(url)
        self._on_change = on_change
        self.elector = Elector(url, name, times, on_change=self._lease_changed)
        self.tail = DecisionTail(url, cursor, deliver, catch_up=catch_up)

    def _lease_changed(self, lease: Lease) -> None:
        # The ledger first: by the time the hub hears "leader", appends carry the epoch.
        self.ledger.on_lease(lease)
        if self._on_change is not None:
            self._on_change(lease)

    async def open(self) -> None:
        """Connect the ledger (refusing a schema this Shieldwall does not ship)."""
        await self.ledger.open()

    def start(self, supervisor: Supervisor) -> None:
        """Stand for election and follow the log, as supervised tasks."""
        supervisor.start(f"elector {self.name}", self.elector.run)
        supervisor.start(f"decision tail {self.name}", self.tail.run)

    def status(self) -> ReplicaStatus:
        """Role, epoch and fan-out progress, as of now."""
        role = Role.LEADER if self.elector.may_append() else Role.FOLLOWER
        return ReplicaStatus(self.name, role, self.elector.lease.epoch, self.tail.cursor,
                             self.tail.connects)

    async def close(self) -> None:
        """Give up leadership at once and close the ledger (stop the supervisor first)."""
        await self.elector.resign()
        await self.ledger.close()
