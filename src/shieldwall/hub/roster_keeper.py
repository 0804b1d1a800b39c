"""The hub's roster driver: heartbeats in, transitions to the ledger, the quorum discount out.

The rules are :mod:`shieldwall.hub.roster` (pure); this keeps the current roster in
memory, journals every transition (kind ``"readiness"``) before the roster shows it,
sweeps for silent members once a second, and keeps :attr:`RosterKeeper.discounted`
(the members whose reports do not count toward a quorum) up to date for the writer.
One keeper per hub process. On PostgreSQL replicas the roster is the alliance's: each
keeper hands the entries of the heartbeats it took to :mod:`.roster_share` (through
:attr:`RosterKeeper.outgoing`), which writes them to the shared table and merges the
other replicas' (:meth:`RosterKeeper.merge`); every replica sweeps the same roster, and
only the one leading journals transitions (one record per change, not one per replica).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable

import msgspec

from shieldwall.hub.ledger.storage import JournalEntry, Ledger
from shieldwall.hub.roster import (
    DEFAULT_GRACE,
    JOURNAL_KIND,
    Entry,
    Transition,
    counts,
    discounted,
    drop_departed,
    heard,
    merged,
    restore,
    sweep,
)
from shieldwall.hub.roster_metrics import render_roster
from shieldwall.readiness.heartbeat import Heartbeat

log = logging.getLogger(__name__)

SWEEP_EVERY = 1.0
#: Sweeps between looks for members that left.
PRUNE_EVERY = 60
_PAGE = 1000
_transition = msgspec.json.Decoder(Transition)


class RosterKeeper:
    """Holds the roster; see the module docstring."""

    def __init__(self, ledger: Ledger, clock: Callable[[], float],
                 grace: float = DEFAULT_GRACE, leading: Callable[[], bool] = lambda: True) -> None:
        self.ledger = ledger
        #: Whether this process journals transitions (PostgreSQL: the leading replica).
        self.leading = leading
        #: Entries heard here for the shared roster (``None``: not shared, one hub).
        self.outgoing: dict[str, Entry] | None = None
        self.clock = clock
        self.grace = grace
        self.roster: dict[str, Entry] = {}
        #: Members whose reports do not count toward a quorum now (the policy's input).
        self.discounted: frozenset[str] = frozenset()
        #: Heartbeats accepted, and refused by reason (the API counts refusals here).
        self.accepted = 0
        self.refused: Counter[str] = Counter()
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Rebuild the roster from the journal (members that left are dropped)."""
        transitions: list[Transition] = []
        after = 0
        while True:
            page = await self.ledger.journal(JOURNAL_KIND, after=after, limit=_PAGE)
            for stored in page:
                try:
                    transitions.append(_transition.decode(stored.body))
                except (msgspec.DecodeError, msgspec.ValidationError):
                    log.warning("skipping an unreadable readiness record %d", stored.id)
            if len(page) < _PAGE:
                break
            after = page[-1].id
        active = [m.name for m in await self.ledger.members() if m.active]
        self.roster = drop_departed(restore(transitions), active)
        self._refresh(self.clock())

    def last_sent(self, member: str) -> float | None:
        """The member clock of the last heartbeat accepted from ``member`` (replays)."""
        entry = self.roster.get(member)
        return None if entry is None else entry.sent

    def counts(self, member: str) -> bool:
        """Whether ``member``'s reports count toward a quorum now."""
        return counts(self.roster.get(member), self.clock(), self.grace)

    async def heard(self, beat: Heartbeat) -> Entry:
        """Record an accepted heartbeat; its transition is durable before it shows."""
        async with self._lock:
            now = self.clock()
            entry, moved = heard(self.roster.get(beat.member), beat, now)
            if moved is not None and self.leading():
                await self._journal([moved])
            self.roster[beat.member] = entry
            if self.outgoing is not None:
                self.outgoing[beat.member] = entry
            self.accepted += 1
            self._refresh(now)
            return entry

    async def sweep_once(self) -> list[Transition]:
        """Make silent members failing (journaled first); returns the transitions."""
        async with self._lock:
            now = self.clock()
            roster, moved = sweep(self.roster, now)
            if moved and self.leading():
                await self._journal(moved)
            self.roster = roster
            self._refresh(now)
            return moved

    async def merge(self, entries: list[Entry], journal: bool = True) -> None:
        """Entries other replicas heard (newer than ours win); the leader journals changes."""
        async with self._lock:
            moved: list[Transition] = []
            for other in entries:
                entry, transition = merged(self.roster.get(other.member), other)
                self.roster[other.member] = entry
                if transition is not None:
                    moved.append(transition)
            if moved and journal and self.leading():
                await self._journal(moved)
            self._refresh(self.clock())

    def metrics_text(self) -> str:
        """The roster's Prometheus gauges (appended to ``/metrics``)."""
        return render_roster(self.roster, self.clock(), self.grace, self.accepted, self.refused)

    async def prune(self) -> None:
        """Members that left or were expelled leave the roster (and its gauges)."""
        active = [m.name for m in await self.ledger.members() if m.active]
        async with self._lock:
            self.roster = drop_departed(self.roster, active)
            self._refresh(self.clock())

    async def run(self) -> None:
        """Sweep once a second, prune once a minute, until cancelled (supervised)."""
        sweeps = 0
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            await self.sweep_once()
            sweeps += 1
            if sweeps % PRUNE_EVERY == 0:
                await self.prune()

    async def _journal(self, moved: list[Transition]) -> None:
        await self.ledger.journal_append([
            JournalEntry(JOURNAL_KIND, t.member, t.at, msgspec.json.encode(t)) for t in moved
        ])
        for t in moved:
            log.info("member %s readiness %s -> %s: %s", t.member, t.before, t.after, t.reason)

    def _refresh(self, now: float) -> None:
        self.discounted = discounted(self.roster, now, self.grace)
