"""The election's driver: the advisory session lock on its own connection.

:class:`Elector.run` is one long-lived coroutine (start it under the hub's
supervisor). It follows :mod:`.lease`: a follower calls ``pg_try_advisory_lock``
every ``retry`` seconds; on success it raises the epoch and leads; a leader runs
``SELECT 1`` on the lock connection every ``heartbeat`` seconds. The connection
sets ``idle_session_timeout`` to the lease, so a leader that stops (frozen,
partitioned) loses the lock on the server within the lease even when no TCP
error ever reaches it, and another replica takes over. Whenever this replica
stops leading, the lock connection is terminated, never kept: a live lock on a
connection nobody confirms would stall the election.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg

from shieldwall.hub.ledger.postgres import lease as election
from shieldwall.hub.ledger.postgres.decision_log import bump_epoch
from shieldwall.hub.ledger.postgres.lease import Lease, LeaseTimes, Role

log = logging.getLogger("shieldwall.hub")

#: pg_try_advisory_lock(key1, key2): Shieldwall's namespace, then "the decider".
LOCK_KEYS = (0x5357, 1)
#: What a dropped or refused connection raises through asyncpg. InternalClientError too:
#: a backend ended by pg_terminate_backend (or idle_session_timeout) sends its FATAL while
#: the connection is idle; asyncpg reads it and waits to consume the error, but has not
#: seen the socket close, so ``is_closed()`` is still false, and a query sent in that
#: window raises "cannot switch to state 12; another operation (2) is in progress". It
#: once ended a tail for good (the tail reconnects on everything in this tuple).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


class Elector:
    """One replica's candidacy for leader of the ledger at ``dsn``."""

    def __init__(
        self,
        dsn: str,
        name: str,
        times: LeaseTimes | None = None,
        on_change: Callable[[Lease], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dsn = dsn
        self.name = name
        self.times = times or LeaseTimes()
        self.lease = Lease()
        self._on_change = on_change
        self._clock = clock
        self._conn: asyncpg.Connection | None = None
        self.changed = asyncio.Event()

    def may_append(self) -> bool:
        """Whether this replica should append now (the epoch still fences a stale yes)."""
        return self.lease.may_append(self._clock(), self.times)

    @property
    def backend_pid(self) -> int | None:
        """The server process holding (or trying for) the lock, for operators and tests."""
        return None if self._conn is None or self._conn.is_closed() else self._conn.get_server_pid()

    def _set(self, lease: Lease) -> None:
        before, self.lease = self.lease, lease
        if before.role is not lease.role or before.epoch != lease.epoch:
            log.info("replica %s is now %s (epoch %d)", self.name, lease.role, lease.epoch)
            self.changed.set()
            if self._on_change is not None:
                self._on_change(lease)

    async def _connect(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            lease_ms = str(int(self.times.lease * 1000))
            self._conn = await asyncpg.connect(
                self.dsn, timeout=self.times.lease,
                server_settings={"idle_session_timeout": lease_ms,
                                 "application_name": f"shieldwall-elector {self.name}"},
            )
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def step(self) -> None:
        """Do what the lease says is due now: try the lock, or confirm it."""
        times = self.times
        try:
            if self.lease.role is Role.FOLLOWER:
                conn = await self._connect()
                got = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *LOCK_KEYS,
                                          timeout=times.heartbeat)
                if not got:
                    self._set(election.refused(self.lease, self._clock(), times))
                    return
                epoch = await bump_epoch(conn, self.name, time.time())
                self._set(election.acquired(self.lease, epoch, self._clock(), times))
            else:
                assert self._conn is not None
                await self._conn.fetchval("SELECT 1", timeout=times.heartbeat)
                renewed = election.confirmed(self.lease, self._clock(), times)
                if renewed.role is Role.FOLLOWER:
                    self._drop()
                self._set(renewed)
        except CONNECTION_ERRORS as exc:
            if self.lease.role is Role.LEADER:
                log.warning("replica %s lost the leader lock: %s", self.name, exc)
            self._drop()
            self._set(election.stepped_down(self.lease, self._clock(), times))
        except BaseException:
            # Anything else (no epoch row, a bug, cancellation): never keep a lock that
            # this replica will not confirm, or nobody could lead.
            self._drop()
            self._set(election.stepped_down(self.lease, self._clock(), times))
            raise

    async def run(self) -> None:
        """Stand for election until cancelled (then the lock is released)."""
        try:
            while True:
                await self.step()
                await asyncio.sleep(max(0.0, self.lease.due - self._clock()))
        finally:
            self._drop()
            if self.lease.role is Role.LEADER:
                self._set(election.stepped_down(self.lease, self._clock(), self.times))

    async def resign(self) -> None:
        """Give up the lock now (a clean shutdown: another replica need not wait)."""
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close(timeout=1.0)
        self._conn = None
        self._set(election.stepped_down(self.lease, self._clock(), self.times))
