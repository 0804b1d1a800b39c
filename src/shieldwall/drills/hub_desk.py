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
import secrets
from collections.abc import Callable

import msgspec

from shieldwall.addresses import Ranges, target_network
from shieldwall.decisions.feed import Feed
from shieldwall.drills.conduct import Action, Conductor, Decide, Finish
from shieldwall.drills.journal import ORDER, REPORT, put_order, read_order
from shieldwall.drills.order import DrillOrder, order_digest, sign_order
from shieldwall.drills.schedule import due, scheduled_order
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
                 protections: Callable[[], Ranges] = Ranges, *, every: float = 0.0,
                 seed: bytes | None = None, policy: Callable[[], str] = lambda: "") -> None:
        self.ledger = ledger
        #: The policy version the hub decides under now (the council's; "" without one):
        #: members under a council refuse a decision that names none, drills' included.
        self.policy = policy
        #: hub.toml ``drill_every`` and the hub's identity seed that signs scheduled orders.
        self.every = every
        self.seed = seed
        self.last_order_at: float | None = None
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
        self._picking = asyncio.Lock()
        self._orders = asyncio.Event()
        #: Whether :meth:`run` conducts drills in this process.
        self.active = False

    async def start(self) -> None:
        """Skip orders journaled before this process (see the module docstring)."""
        newest = await self.ledger.journal(ORDER, limit=1, newest_first=True)
        self.after = newest[0].id if newest else 0
        # Never drilled: the first scheduled drill comes one period after this start.
        self.last_order_at = newest[0].at if newest else self.clock()

    def trusted(self, order: DrillOrder) -> bool:
        """Whether ``order`` is signed by this hub's identity key."""
        return (order.signature.key_id == key_id_of(self.hub_key)
                and verifies(self.hub_key.hex(), order_digest(order.body), order.signature.sig))

    async def run(self) -> None:
        """Pick up new orders and tick every drill, until cancelled."""
        self.active = True
        try:
            while True:
                await self.poll()
                await asyncio.sleep(TICK)
        finally:
            await self.flush()

    @property
    def orders_seen(self) -> asyncio.Event:
        """Set once the desk picks up its next order: take it *before* reading the journal,
        so an order picked up in between still wakes the reader."""
        return self._orders

    @staticmethod
    async def wait_orders(event: asyncio.Event, timeout: float) -> None:
        """Return when ``event`` (:attr:`orders_seen`) is set, or after ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def flush(self) -> None:
        """Journal the stage reports received so far."""
        if self.pending:
            entries, self.pending = self.pending, []
            await self.ledger.journal_append(entries)

    async def poll(self) -> None:
        """One round: new orders from the journal, then every drill's deadlines."""
        await self.pick_up()
        for drill, conductor in list(self.running.items()):
            async with self._lock:
                await self.execute(drill, conductor.tick(self.clock()))
        await self.schedule()

    async def pick_up(self) -> None:
        """Start a conductor for each new order in the journal (before a member can see it:
        the order endpoint and a stage for an unknown drill call this first)."""
        async with self._picking:
            await self._pick_up()

    async def _pick_up(self) -> None:
        for entry in await self.ledger.journal(ORDER, after=self.after, limit=100):
            self.after = entry.id
            self.last_order_at = entry.at
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

    async def schedule(self) -> None:
        """Order a drill on every active member when ``drill_every`` has passed since the last."""
        now = self.clock()
        if self.seed is None or self.running or not due(self.every, self.last_order_at, now):
            return
        self.last_order_at = now  # also when nobody is there to drill: ask again next period
        members = [m.name for m in await self.ledger.members() if m.active]
        body = scheduled_order(members, now, secrets.token_hex(6), secrets.randbelow(254))
        if body is not None:
            await put_order(self.ledger, sign_order(self.seed, body), now)
            log.info("scheduled drill %s ordered on %d members", body.id, len(members))

    async def stage(self, report: StageReport, entry: JournalEntry) -> None:
        """A verified stage report from a member, and its journal entry (kept, then written)."""
        self.pending.append(entry)
        if not self.active:  # no conductor here (a follower replica): keep the record only
            await self.flush()
            return
        conductor = self.running.get(report.drill)
        if conductor is None:
            await self.pick_up()  # an order the member read before this desk's next tick
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
                origin="drill", created=now, drill=drill, policy=self.policy(),
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
