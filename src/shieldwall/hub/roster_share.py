"""The roster shared by PostgreSQL replicas: heartbeats taken here go out, others' come in.

A heartbeat lands on whichever replica the member reaches, so no replica alone knows
the alliance's readiness. Each replica's :class:`RosterShare` (supervised) writes the
entries its keeper heard since the last round to the ledger's shared table in one
statement, and merges the rows other replicas wrote (:meth:`RosterKeeper.merge`).
A heartbeat costs its replica nothing more than a dict assignment on the request path;
the table sees one upsert of many rows and one read per round.

Rows are read by the time they were heard, again from :data:`MARGIN` seconds before the
newest one read: a row that commits late, or comes from a replica whose clock lags,
is not stepped over. Rows not newer than the entry held are skipped undecoded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec

from shieldwall.errors import HubError
from shieldwall.hub.roster import Entry
from shieldwall.hub.roster_keeper import RosterKeeper

log = logging.getLogger(__name__)

#: Seconds between rounds (a heartbeat shows on every replica within about this).
SHARE_EVERY = 0.5
MARGIN = 10.0
Row = tuple[str, float, bytes]
_entry = msgspec.json.Decoder(Entry)


@runtime_checkable
class SharedRoster(Protocol):
    """What the ledger offers (:class:`~shieldwall.hub.ledger.postgres.ledger.PostgresLedger`)."""

    async def roster_put(self, entries: Sequence[Row]) -> None: ...

    async def roster_since(self, seen: float) -> list[Row]: ...


class RosterShare:
    """One replica's part in the shared roster; see the module docstring."""

    def __init__(self, store: SharedRoster, keeper: RosterKeeper) -> None:
        self.store = store
        self.keeper = keeper
        keeper.outgoing = {}
        self.newest = 0.0

    async def start(self) -> None:
        """Take the whole shared roster once (at start: heartbeats other replicas hold)."""
        await self.pull(everything=True)
        await self.keeper.prune()  # rows of members that left since

    async def push(self) -> None:
        """Write the entries heard here since the last round (kept for the next on failure)."""
        outgoing = self.keeper.outgoing
        if not outgoing:
            return
        self.keeper.outgoing = {}
        rows = [(e.member, e.seen or 0.0, msgspec.json.encode(e)) for e in outgoing.values()]
        try:
            await self.store.roster_put(rows)
        except HubError:
            self.keeper.outgoing = {**outgoing, **(self.keeper.outgoing or {})}
            raise

    async def pull(self, everything: bool = False) -> int:
        """Merge rows other replicas wrote; returns how many changed this roster."""
        rows = await self.store.roster_since(-1.0 if everything else self.newest - MARGIN)
        fresh: list[Entry] = []
        roster = self.keeper.roster
        for member, seen, body in rows:
            self.newest = max(self.newest, seen)
            held = roster.get(member)
            if held is not None and held.seen is not None and seen <= held.seen:
                continue
            try:
                fresh.append(_entry.decode(body))
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("skipping an unreadable shared roster row for %s", member)
        if fresh:
            await self.keeper.merge(fresh, journal=not everything)
        return len(fresh)

    async def run(self) -> None:
        """A round every :data:`SHARE_EVERY` seconds, until cancelled (supervised)."""
        while True:
            await asyncio.sleep(SHARE_EVERY)
            try:
                await self.push()
                await self.pull()
            except HubError as exc:  # the database is away: the next round tries again
                log.warning("the shared roster could not be synchronised: %s", exc)
