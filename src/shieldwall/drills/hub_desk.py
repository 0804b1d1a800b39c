"""The hub's drill desk: runs a :class:`~.conduct.Conductor` per drill and carries out its actions.

One supervised task (:meth:`DrillDesk.run`) picks new orders out of the journal
(``shieldwall drill run`` writes them from another process), checks that each is
signed by this hub's identity key, and ticks every running drill; members' stage
reports arrive through :meth:`DrillDesk.stage` from the endpoint. Decide and lift
are appended to the real decision log (``drill`` set to the drill id) and published
to every stream at once; a finished drill's report goes to the journal.

Orders journaled before this process started are not resumed (their stage reports
were not kept in memory): their drill blocks end with their TTL on every member.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import msgspec

from shieldwall.addresses import Ranges, target_network
from shieldwall.decisions.feed import Feed
from shieldwall.drills.conduct import Action, Conductor, Decide, Finish
from shieldwall.drills.journal import ORDER, REPORT, read_order
from shieldwall.drills.order import DrillOrder, order_digest
from shieldwall.drills.stage import StageReport
from shieldwall.errors import AddressError, HubError
from shieldwall.governance.signatures import verifies
from shieldwall.hub.ledger.storage import DecisionRecord, JournalEntry, Ledger, WriteGroup
from shieldwall.signals.keys import key_id_of

log = logging.getLogger("shieldwall.drills")
TICK = 0.05


class DrillDesk:
    """Every running drill on this hub."""

    def __init__(self, ledger: Ledger, feed: Feed, hub_key: bytes, clock: Callable[[], float],
                 protections: Callable[[], Ranges] = Ranges) -> None:
        self.ledger = ledger
        self.feed = feed
        self.hub_key = hub_key
        self.clock = clock
        self.protections = protections
        self.running: dict[str, Conductor] = {}
        self.after = 0
        self.finished = 0
        #: Members' signed stage reports not yet journaled: written with the next decision,
        #: report or tick in one transaction (one fsync per stage would queue a drill's
        #: decision behind hundreds of them on the ledger's one writer).
        self.pending: list[JournalEntry] = []
        self._lock = asyncio.Lock()
        self._orders = asyncio.Event()

    async def start(self) -> None:
        """Skip orders journaled before this process (see the module docstring)."""
        newest = await self.ledger.journal(ORDER, limit=1, newest_first=True)
        self.after = newest[0].id if newest else 0

    def trusted(self, order: DrillOrder) -> bool:
        """Whether ``order`` is signed by this hub's identity key."""
        return (order.signature.key_id == key_id_of(self.hub_key)
                and verifies(self.hub_key.hex(), order_digest(order.body), order.signature.sig))

    async def run(self) -> None:
        """Pick up new orders and tick every drill, until cancelled."""
        try:
            while True:
                await self.poll()
                await asyncio.sleep(TICK)
        finally:
            await self.flush()

    async def wait_orders(self, timeout: float) -> None:
        """Return when a new order was picked up, or after ``timeout`` (members' long poll)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._orders.wait(), timeout)

    async def flush(self) -> None:
        """Journal the stage reports received so far."""
        if self.pending:
            entries, self.pending = self.pending, []
            await self.ledger.journal_append(entries)

    async def poll(self) -> None:
        """One round: new orders from the journal, then every drill's deadlines."""
        for entry in await self.ledger.journal(ORDER, after=self.after, limit=100):
            self.after = entry.id
            order = read_order(entry)
            if order is None or not self.trusted(order):
                log.warning("drill order %s ignored: not signed by this hub's key", entry.key)
                continue
            if order.body.id in self.running or await self.ledger.journal(REPORT, key=entry.key,
                                                                          limit=1):
                continue
            self.running[order.body.id] = Conductor(order.body, self.clock(),
                                                    self._protected(order.body.target))
            self._orders.set()  # wake the members' long polls
            self._orders = asyncio.Event()
        await self.flush()
        for drill, conductor in list(self.running.items()):
            async with self._lock:
                await self.execute(drill, conductor.tick(self.clock()))

    async def stage(self, report: StageReport, entry: JournalEntry) -> None:
        """A verified stage report from a member, and its journal entry (kept, then written)."""
        self.pending.append(entry)
        conductor = self.running.get(report.drill)
        if conductor is not None:
            async with self._lock:
                await self.execute(report.drill, conductor.stage(report, self.clock()))

    async def execute(self, drill: str, actions: list[Action]) -> None:
        """Carry out a conductor's actions (and whatever they lead to), in order."""
        conductor = self.running[drill]
        while actions:
            action = actions.pop(0)
            if isinstance(action, Finish):
                body = msgspec.json.encode(action.report)
                entries, self.pending = self.pending, []
                await self.ledger.journal_append(
                    [*entries, JournalEntry(REPORT, drill, self.clock(), body)])
                self.running.pop(drill, None)
                self.finished += 1
                continue
            now = self.clock()
            record = DecisionRecord(
                action="block" if isinstance(action, Decide) else "lift", target=action.target,
                until=action.until if isinstance(action, Decide) else now, scenario="drill",
                origin="drill", created=now, drill=drill,
            )
            entries, self.pending = self.pending, []
            try:
                group = WriteGroup(decisions=[record], journal=entries)
                cursor = (await self.ledger.write(group))[0]
            except HubError as exc:
                log.error("drill %s: could not write its %s: %s", drill, record.action, exc)
                actions += conductor.write_failed(f"the hub could not write the drill"
                                                  f" {record.action}: {exc}", self.clock())
                continue
            await self.feed.catch_up()  # publish at once, every member's stream
            after = self.clock()
            actions += (conductor.decided(cursor, after) if isinstance(action, Decide)
                        else conductor.lifted(cursor, after))

    def _protected(self, target: str) -> str | None:
        try:
            return self.protections().protecting(target_network(target))
        except AddressError:
            return None  # not an address at all: the conductor refuses it itself
