"""Fan-out on every replica: LISTEN for new decisions, confirm by reading the log.

A notification only says "look now"; the log is the truth. The tail reads every
decision after its cursor when notified, right after (re)connecting, and every
``catch_up`` seconds regardless. NOTIFY is delivered only to sessions listening
at commit time and never replayed, so a notification lost while the listener was
down, or a connection that died silently, costs at most one ``catch_up`` interval
and never a decision. LISTEN is issued before the catch-up read, so nothing
committed in between is missed either.

It runs on one dedicated connection, never a pooled one (a pool's released
connection drops its listeners).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

import asyncpg

from shieldwall.decisions.decision import Decision
from shieldwall.hub.ledger.postgres import decision_log
from shieldwall.hub.ledger.postgres.elector import CONNECTION_ERRORS

log = logging.getLogger("shieldwall.hub")


class DecisionTail:
    """Delivers the decision log after ``cursor`` to ``deliver``, in order, forever."""

    def __init__(
        self,
        dsn: str,
        cursor: int,
        deliver: Callable[[list[Decision]], Awaitable[None]],
        catch_up: float = 1.0,
        batch: int = 1000,
        retry: float = 0.2,
        read_timeout: float = 10.0,
    ) -> None:
        self.dsn = dsn
        self.cursor = cursor
        self._deliver = deliver
        self.catch_up = catch_up
        self.batch = batch
        self.retry = retry
        self.read_timeout = read_timeout
        self._wake = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        #: Times the listener connection was (re)opened, and notifications received.
        self.connects = 0
        self.notifications = 0
        #: Rows whose seq was not the cursor's successor (a broken writer; should stay 0).
        self.gaps = 0

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listener connection (for operators and tests)."""
        return None if self._conn is None or self._conn.is_closed() else self._conn.get_server_pid()

    @contextlib.contextmanager
    def _bounded(self, conn: asyncpg.Connection) -> Iterator[None]:
        """Abort the connection if the block's query takes over ``read_timeout``.

        A server side that stopped answering (a peer gone without a TCP error,
        asyncpg#519) must fail the tail over to a new connection, not hang it. Closing
        the transport fails the pending query at once; cancelling it would wait for an
        answer from that same server.
        """
        timer = asyncio.get_running_loop().call_later(self.read_timeout, conn.terminate)
        try:
            yield
        finally:
            timer.cancel()

    def _notified(self, *_: object) -> None:
        self.notifications += 1
        self._wake.set()

    def _lost(self, *_: object) -> None:
        self._wake.set()

    async def drain(self, conn: asyncpg.Connection) -> int:
        """Deliver everything after the cursor; returns how many decisions."""
        total = 0
        while True:
            with self._bounded(conn):
                found = await decision_log.after(conn, self.cursor, self.batch)
            if not found:
                return total
            for decision in found:
                if decision.cursor != self.cursor + 1:
                    self.gaps += 1
                    log.error("decision log gap: %d follows %d", decision.cursor, self.cursor)
                self.cursor = decision.cursor
            await self._deliver(found)
            total += len(found)
            if len(found) < self.batch:
                return total

    async def _follow(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=5.0,
                                     server_settings={"application_name": "shieldwall-tail"})
        self._conn = conn
        self.connects += 1
        try:
            conn.add_termination_listener(self._lost)
            with self._bounded(conn):
                await conn.add_listener(decision_log.CHANNEL, self._notified)
            while not conn.is_closed():
                self._wake.clear()
                await self.drain(conn)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.catch_up)
        finally:
            self._conn = None
            conn.terminate()

    async def run(self) -> None:
        """Follow until cancelled, reconnecting after every connection failure."""
        while True:
            try:
                await self._follow()
            except CONNECTION_ERRORS as exc:
                log.warning("decision tail lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(self.retry)
