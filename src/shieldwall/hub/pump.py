"""The leader's side of the relay: envelopes other replicas took go through its writer.

While a replica leads, :meth:`Pump.run` takes every unanswered envelope from the
relay inbox (see :mod:`shieldwall.hub.ledger.postgres.inbox` for why "unanswered"
and never "ids above the last"), submits them all to the leader's
:class:`~shieldwall.hub.writer.Writer` at once (the writer makes them one group
commit, in order) and writes back each answer once the writer returned it, i.e.
once the batch is durable. Answers nobody collected are swept after a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg

from shieldwall.errors import HubError, SignalError
from shieldwall.hub.ledger.postgres import inbox
from shieldwall.hub.relay import decode_envelope, encode_answer
from shieldwall.hub.writer import Writer
from shieldwall.signals.envelope import Ack

log = logging.getLogger("shieldwall.hub")

#: Answers older than this that no replica collected are deleted.
UNCOLLECTED = 60.0


class Pump:
    """Feeds the relay inbox to ``writer`` while this replica leads."""

    def __init__(
        self, dsn: str, writer: Writer, clock: Callable[[], float] = time.time,
        poll: float = 0.5, batch: int = 1024,
    ) -> None:
        self.dsn = dsn
        self.writer = writer
        self.clock = clock
        self.poll = poll
        self.batch = batch
        self.pumped = 0
        self._swept = 0.0

    async def _outcome(self, body: bytes) -> Ack | Exception:
        try:
            opened = decode_envelope(body)
        except Exception as exc:  # a row no replica of this version wrote
            return SignalError("malformed", f"the relayed envelope cannot be read: {exc}")
        try:
            return await self.writer.submit(opened)
        except (SignalError, HubError) as exc:
            return exc

    async def round(self, conn: asyncpg.Connection) -> int:
        """Take, decide and answer one round of relayed envelopes; returns how many."""
        rows = await inbox.unanswered(conn, self.batch)
        if not rows:
            return 0
        outcomes = await asyncio.gather(*(self._outcome(r.body) for r in rows))
        await inbox.answer(
            conn, [(r.id, encode_answer(o)) for r, o in zip(rows, outcomes, strict=True)],
            self.clock(),
        )
        self.pumped += len(rows)
        return len(rows)

    async def run(self) -> None:
        """Pump until cancelled (the replica stopped leading)."""
        conn = await asyncpg.connect(self.dsn, timeout=5.0,
                                     server_settings={"application_name": "shieldwall-pump"})
        wake = asyncio.Event()
        try:
            # Woken by the followers' NOTIFY; the poll only bounds a lost notification.
            await conn.add_listener(inbox.INBOX_CHANNEL, lambda *_: wake.set())
            while True:
                wake.clear()
                if await self.round(conn) == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), self.poll)
                if time.monotonic() - self._swept > UNCOLLECTED / 4:
                    self._swept = time.monotonic()
                    with contextlib.suppress(asyncpg.PostgresError):
                        await inbox.sweep(conn, self.clock() - UNCOLLECTED)
        finally:
            conn.terminate()
