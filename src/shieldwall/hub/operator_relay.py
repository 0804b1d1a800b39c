"""Operator lifts on PostgreSQL: the operator's process asks, the leader lifts.

On SQLite ``shieldwall hub lift`` writes its lift decisions itself. On PostgreSQL
only the leading replica may append (epoch fencing), so the command journals a
request (kind ``lift-request``, key = the address) and waits; the leader
(:meth:`LiftDesk.run`, supervised while it leads) lifts exactly as
:func:`shieldwall.hub.admin.lift` does, on a second ledger handle under its own
epoch (so its writer sees the change and rebuilds its policy), and journals the
outcome (kind ``lift-done``, key = the request id, body = the lift decisions'
cursors). A request is done once: a new leader resumes after the last request
a ``lift-done`` names.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Literal

import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.errors import HubError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.storage import JournalEntry, Ledger

REQUEST = "lift-request"
DONE = "lift-done"


class OperatorRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of a request: lift (the default, as older requests are ``{}``) or ban."""

    action: Literal["lift", "ban"] = "lift"
    duration: float = 0.0


class LiftDone(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the leader did with one lift request."""

    request: int
    cursors: tuple[int, ...]


class LiftDesk:
    """While this replica leads: carry out the operators' lift requests."""

    def __init__(self, config: HubConfig, epoch: int, clock: Callable[[], float] = time.time,
                 poll: float = 0.25) -> None:
        self.config = config
        self.epoch = epoch
        self.clock = clock
        self.poll = poll

    async def run(self) -> None:
        """Lift what was asked, until cancelled."""
        handle = PostgresLedger(self.config.database, pool_size=1)
        await handle.open()
        handle.epoch = self.epoch  # this replica's lease: a deposed leader's lift is refused
        try:
            done = await handle.journal(DONE, newest_first=True, limit=1)
            last = msgspec.json.decode(done[0].body, type=LiftDone).request if done else 0
            while True:
                for request in await handle.journal(REQUEST, after=last, limit=100):
                    written = await carry_out(handle, self.config, request.key, request.body,
                                              self.clock())
                    body = msgspec.json.encode(LiftDone(request.id,
                                                        tuple(d.cursor for d in written)))
                    await handle.journal_append([JournalEntry(DONE, str(request.id),
                                                              self.clock(), body)])
                    last = request.id
                await asyncio.sleep(self.poll)
        finally:
            await handle.close()


async def carry_out(ledger: Ledger, config: HubConfig, address: str, body: bytes,
                    now: float) -> list[Decision]:
    """One request, on the leader: a lift, or a ban (a ban the policy refuses writes
    nothing; the operator's process then reads no cursor and says so)."""
    from shieldwall.hub.admin import ban, lift

    try:
        request = msgspec.json.decode(body, type=OperatorRequest)
    except msgspec.DecodeError:
        return []
    if request.action == "ban":
        try:
            return await ban(ledger, config, address, request.duration, now)
        except HubError:
            return []
    return await lift(ledger, config, address, now)


async def request_lift(ledger: Ledger, address: str, now: float, patience: float = 15.0,
                       body: bytes = b"{}") -> tuple[int, ...]:
    """From the operator's process: ask the leader to lift (or, with ``body``, ban)
    ``address``; the cursors of the decisions it wrote."""
    (request,) = await ledger.journal_append([JournalEntry(REQUEST, address, now, body)])
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        for entry in await ledger.journal(DONE, key=str(request)):
            return msgspec.json.decode(entry.body, type=LiftDone).cursors
        await asyncio.sleep(0.1)
    raise HubError(f"no replica leads to carry out the request on {address} (request {request}"
                   " is kept: the next leader will); check `curl -k https://REPLICA/readyz`")


async def operator_lift(
    ledger: Ledger, config: HubConfig, address: str, now: float
) -> list[Decision]:
    """``shieldwall hub lift`` on either backend: written here on SQLite, by the leader on
    PostgreSQL; returns the lift decisions."""
    from shieldwall.hub.admin import lift

    if not isinstance(ledger, PostgresLedger):
        return await lift(ledger, config, address, now)
    cursors = await request_lift(ledger, address, now)
    return [d for c in cursors for d in await ledger.decisions_after(c - 1, 1)]


async def operator_ban(
    ledger: Ledger, config: HubConfig, address: str, duration: float, now: float
) -> list[Decision]:
    """An operator's ban (the dashboard's) on either backend, as :func:`operator_lift`."""
    from shieldwall.hub.admin import ban

    if not isinstance(ledger, PostgresLedger):
        return await ban(ledger, config, address, duration, now)
    body = msgspec.json.encode(OperatorRequest("ban", duration))
    cursors = await request_lift(ledger, address, now, body=body)
    if not cursors:
        raise HubError(f"{address} is not blocked: the policy refused the ban (protected,"
                       " a member's own range, or wider than the policy allows)")
    return [d for c in cursors for d in await ledger.decisions_after(c - 1, 1)]
