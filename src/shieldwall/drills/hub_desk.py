"""The hub's drill desk: runs a :class:`~.conduct.Conductor` per drill and carries out its actions.

One supervised task (:meth:`DrillDesk.run`) runs on every replica. Where it leads
(a single hub always does) it picks new orders out of the journal (``shieldwall drill
run`` writes them from another process), checks who signed each (:mod:`.authority`:
the hub's key, or the council's chair under a charter; a refused order is conducted
as refused, never decided, so members' refusals reach its report), and ticks every
running drill. Members' stage reports arrive through :meth:`DrillDesk.stage` from the
endpoint of whichever replica they reach; a replica that does not lead journals them
at once and the leader reads them from the journal. Decide and lift are appended to
the real decision log (``drill`` set to the drill id) and published to every stream
(the other replicas' feeds follow the log); a finished drill's report goes to the
journal. A replica that does not lead watches the journal for new orders, so that its
members' long polls answer at once too.

Orders journaled before this process started are not resumed (their stage reports
were not kept in memory): their drill blocks end with their TTL on every member.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import msgspec

from shieldwall.addresses import Ranges, target_network
from shieldwall.decisions.feed import Feed
from shieldwall.drills.authority import hub_refusal, issuer_of
from shieldwall.drills.conduct import Action, Conductor, Decide, Finish
from shieldwall.drills.hub_schedule import Schedule
from shieldwall.drills.journal import ORDER, REPORT, STAGE, read_order
from shieldwall.drills.order import DrillOrder
from shieldwall.drills.stage import StageReport, decode_stage, stage_verifies
from shieldwall.errors import AddressError, HubError
from shieldwall.governance.standing import Standing
from shieldwall.hub.ledger.storage import DecisionRecord, JournalEntry, Ledger, WriteGroup

log = logging.getLogger("shieldwall.drills")


@runtime_checkable
class Notes(Protocol):
    """A ledger that journals records which are no policy input without counting a change."""

    async def journal_note(self, entries: Sequence[JournalEntry]) -> list[int]: ...

TICK = 0.05
#: A replica that does not lead looks for new orders this often (one indexed query).
WATCH = 0.2
#: Stand-in for "the council's standing" on a hub without a council.
NoCouncil = None


class DrillDesk:
    """Every running drill on this hub."""

    def __init__(self, ledger: Ledger, feed: Feed, hub_key: bytes, clock: Callable[[], float],
                 protections: Callable[[], Ranges] = Ranges, *, every: float = 0.0,
                 seed: bytes | None = None, policy: Callable[[], str] = lambda: "",
                 council: Callable[[], Standing | None] | None = NoCouncil,
                 leading: Callable[[], bool] = lambda: True) -> None:
        self.ledger = ledger
        #: The council's verified standing now (``None`` inside: not read yet); the
        #: callable itself is ``None`` on a hub without a council.
        self.council = council
        #: Whether this replica conducts drills now (PostgreSQL: the leader; else always).
        self.leading = leading
        self.stages_after = 0
        #: The policy version the hub decides under now (the council's; "" without one):
        #: members under a council refuse a decision that names none, drills' included.
        self.policy = policy
        #: hub.toml ``drill_every`` and the hub's identity seed that signs scheduled orders.
        self.scheduled = Schedule(ledger, clock, every, seed, council)
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
        #: Set at hub shutdown: long polls answer at once instead of holding the exit.
        self.closed = False
        #: Whether :meth:`run` conducts drills in this process.
        self.active = False

    async def start(self) -> None:
        """Skip orders journaled before this process (see the module docstring)."""
        newest = await self.ledger.journal(ORDER, limit=1, newest_first=True)
        self.after = newest[0].id if newest else 0
        stages = await self.ledger.journal(STAGE, limit=1, newest_first=True)
        self.stages_after = stages[0].id if stages else 0
        # Never drilled: the first scheduled drill comes one period after this start.
        self.scheduled.last_order_at = newest[0].at if newest else self.clock()

    def refused(self, order: DrillOrder) -> str | None:
        """Why this hub will not conduct ``order`` as ordered (``None``: it will)."""
        if self.council is not None and self.council() is None:
            return "the hub has not verified the council's act log yet (see /readyz)"
        council = None if self.council is None else self.council()
        return hub_refusal(order, council, self.hub_key, self.clock())

    def trusted(self, order: DrillOrder) -> bool:
        """Whether ``order`` is signed by whoever may order drills on this hub now."""
        return self.refused(order) is None

    async def run(self) -> None:
        """Conduct drills while this replica leads, watch for orders while not; until cancelled."""
        try:
            while True:
                if self.leading():
                    self.active = True
                    await self.poll()
                    await asyncio.sleep(TICK)
                else:
                    self.active = False
                    self.running.clear()  # a replica that stops leading drops its drills
                    await self.watch()
                    await asyncio.sleep(WATCH)
        finally:
            await self.flush()

    async def watch(self) -> None:
        """Not leading: wake the members' long polls when an order comes."""
        entries = await self.ledger.journal(ORDER, after=self.after, limit=100)
        if entries:
            self.after = entries[-1].id
            self.scheduled.last_order_at = entries[-1].at
            self._orders.set()
            self._orders = asyncio.Event()

    @property
    def orders_seen(self) -> asyncio.Event:
        """Set once the desk picks up its next order: take it *before* reading the journal,
        so an order picked up in between still wakes the reader (already set once the
        desk is closed)."""
        if self.closed:
            done = asyncio.Event()
            done.set()
            return done
        return self._orders

    def close(self) -> None:
        """Hub shutdown: answer every waiting long poll now, and every later one at once
        (uvicorn would otherwise wait for them, then cancel them with a traceback)."""
        self.closed = True
        self._orders.set()

    @staticmethod
    async def wait_orders(event: asyncio.Event, timeout: float) -> None:
        """Return when ``event`` (:attr:`orders_seen`) is set, or after ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def flush(self) -> None:
        """Journal the stage reports received so far."""
        if self.pending:
            entries, self.pending = self.pending, []
            # On PostgreSQL not counted as a change: a replica that does not lead flushes
            # every stage at once, and the leader's writer would rebuild its policy for each.
            note = self.ledger.journal_note if isinstance(self.ledger, Notes) else None
            await (note or self.ledger.journal_append)(entries)

    async def poll(self) -> None:
        """One round: new orders from the journal, then every drill's deadlines."""
        await self.pick_up()
        if self.running:
            await self.journaled_stages()
        for drill, conductor in list(self.running.items()):
            async with self._lock:
                await self.execute(drill, conductor.tick(self.clock()))
        await self.schedule()

    async def journaled_stages(self) -> None:
        """Stage reports other replicas took (and journaled) reach their conductors here."""
        entries = await self.ledger.journal(STAGE, after=self.stages_after, limit=1000)
        if not entries:
            return
        self.stages_after = entries[-1].id
        keys = {m.name: m for m in await self.ledger.members()}
        for entry in entries:
            if entry.key not in self.running:
                continue
            try:
                signed = decode_stage(entry.body)
            except (msgspec.ValidationError, msgspec.DecodeError):
                continue
            member = keys.get(signed.report.member)
            # Checked again here: the journal is shared by every replica.
            if member is None or not stage_verifies(signed, {member.key_id: member.public_key}):
                log.warning("journaled drill stage %d ignored: not signed by its member", entry.id)
                continue
            conductor = self.running.get(signed.report.drill)
            if conductor is not None:
                async with self._lock:
                    await self.execute(signed.report.drill, conductor.stage(signed.report, entry.at))

    async def pick_up(self) -> None:
        """Start a conductor for each new order in the journal (before a member can see it:
        the order endpoint and a stage for an unknown drill call this first)."""
        async with self._picking:
            await self._pick_up()

    async def _pick_up(self) -> None:
        for entry in await self.ledger.journal(ORDER, after=self.after, limit=100):
            self.after = entry.id
            self.scheduled.last_order_at = entry.at
            order = read_order(entry)
            if order is None:
                log.warning("drill order %s ignored: it does not decode", entry.key)
                continue
            if order.body.id in self.running or await self.ledger.journal(REPORT, key=entry.key,
                                                                          limit=1):
                continue
            refused = self.refused(order)
            council = None if self.council is None else self.council()
            if refused is not None:
                log.warning("drill order %s refused: %s", entry.key, refused)
            self.running[order.body.id] = Conductor(order.body, self.clock(),
                                                    self._protected(order.body.target),
                                                    refused, issuer_of(order, council))
            self._orders.set()  # wake the members' long polls
            self._orders = asyncio.Event()
        await self.flush()

    async def schedule(self) -> None:
        """Order a scheduled drill when one is due (see :class:`~.hub_schedule.Schedule`)."""
        if not self.running:
            await self.scheduled.tick()

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
        conductor = self.running.get(drill)
        if conductor is None:
            return  # finished meanwhile (a stage from another path, under the lock)
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
