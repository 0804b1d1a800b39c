"""A minimal decider replica for the tests, run as its own process: it stands for
election and, while it leads, appends one-row groups and prints each acknowledged
seq (``acked SEQ EPOCH``) on stdout. Tests kill it with SIGKILL.

Run: python -m tests.integration.pg_replica DSN NAME
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import asyncpg

from shieldwall.hub.ledger.postgres import decision_log
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.lease import LeaseTimes
from shieldwall.hub.ledger.storage import DecisionRecord

#: A long lease: in these tests only a kill ends a leadership, never a stalled machine.
TIMES = LeaseTimes(retry=0.2, heartbeat=0.3, lease=5.0)


async def decide(elector: Elector, dsn: str) -> None:
    """Append while leading; print what was acknowledged."""
    conn = await asyncpg.connect(dsn)
    n = 0
    try:
        while True:
            epoch = elector.lease.epoch
            if not elector.may_append():
                await asyncio.sleep(0.02)
                continue
            n += 1
            record = DecisionRecord("block", f"45.13.{n // 250}.{n % 250}", 2e9, "test",
                                    elector.name, 1.7e9)
            with contextlib.suppress(decision_log.FencedError):
                (seq,) = await decision_log.append_group(conn, epoch, [record])
                print(f"acked {seq} {epoch}", flush=True)
            await asyncio.sleep(0.005)
    finally:
        await conn.close()


async def main(dsn: str, name: str) -> None:
    elector = Elector(dsn, name, TIMES,
                      on_change=lambda lease: print(f"{lease.role} {lease.epoch}", flush=True))
    await asyncio.gather(elector.run(), decide(elector, dsn))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
