"""Decision log fan-out on PostgreSQL, side by side with the SQLite ledger.

One writer appends decisions in groups (one transaction, one fsync and, on
PostgreSQL, one NOTIFY per group); N followers read every decision:

* PostgreSQL: the writer appends through ``decision_log.append_group`` under a leader
  epoch on a private cluster (Debian's initdb, fsync on, loopback); the followers are
  ``DecisionTail``s (LISTEN + catch-up reads) in a separate process, as on another
  replica.
* SQLite: the writer is ``SQLiteLedger.write`` (WAL, synchronous=FULL); followers in
  the same process read ``decisions_after`` on their own handle when the writer
  signals a commit, which is how the hub's feed wakes its streams.

Two phases per backend: *throughput* (the writer flat out, rows/s committed) and
*latency* (paced groups; latency = when a follower has the row minus when the
writer began its append, p50/p99/max over every row and follower). A third,
*signals*, writes signed-batch-shaped groups through ``Ledger.write`` on each
backend (no followers): durable signals per second.

Prints figures only; asserts nothing. Run: python bench/pg_fanout.py [--followers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The private cluster is the tests' (tests/integration/pg_cluster.py): one home for it.
sys.path.insert(0, str(ROOT))

from shieldwall.decisions.decision import Decision  # noqa: E402
from shieldwall.hub.ledger.postgres import decision_log  # noqa: E402
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger  # noqa: E402
from shieldwall.hub.ledger.postgres.schema import initialise  # noqa: E402
from shieldwall.hub.ledger.postgres.tail import DecisionTail  # noqa: E402
from shieldwall.hub.ledger.sqlite import SQLiteLedger  # noqa: E402
from shieldwall.hub.ledger.storage import (  # noqa: E402
    BatchRecord,
    DecisionRecord,
    Ledger,
    SignalRecord,
    WriteGroup,
)
from shieldwall.signals.signal import Signal  # noqa: E402


def record(n: int) -> DecisionRecord:
    """A decision whose ``created`` is the monotonic time its append began."""
    return DecisionRecord("block", f"45.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 2e9,
                          "bench", "bench", time.monotonic())


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    ordered = sorted(latencies)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max_ms": 1000 * ordered[-1],
    }


# -- follower process (PostgreSQL) ---------------------------------------------------

async def follow(dsn: str, followers: int, total: int) -> None:
    """Run ``followers`` tails until each has ``total`` rows; print their latencies."""
    latencies: list[float] = []
    done = [asyncio.Event() for _ in range(followers)]

    def deliver_to(i: int):  # type: ignore[no-untyped-def]
        async def deliver(found: list[Decision]) -> None:
            now = time.monotonic()
            latencies.extend(now - d.created for d in found)
            if found[-1].cursor >= total:
                done[i].set()
        return deliver

    tails = [DecisionTail(dsn, 0, deliver_to(i), catch_up=1.0) for i in range(followers)]
    tasks = [asyncio.create_task(t.run()) for t in tails]
    print("ready", flush=True)
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in done)), 600)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    gaps = sum(t.gaps for t in tails)
    print(json.dumps({**summary(latencies), "rows": len(latencies), "gaps": gaps}), flush=True)


# -- writers -----------------------------------------------------------------------------

async def pg_phase(dsn: str, followers: int, groups: int, size: int, pace: float) -> dict[str, float]:
    import asyncpg

    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--follower", dsn, str(followers), str(groups * size),
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    assert (await child.stdout.readline()).strip() == b"ready"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE decisions")
        epoch = int(await conn.fetchval("UPDATE leader_epoch SET epoch = epoch + 1 RETURNING epoch"))
        await asyncio.sleep(0.5)  # the tails are listening
        started = time.perf_counter()
        for g in range(groups):
            await decision_log.append_group(conn, epoch, [record(g * size + i) for i in range(size)])
            if pace:
                await asyncio.sleep(pace)
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    result = json.loads(await child.stdout.readline())
    await child.wait()
    assert result["rows"] == followers * groups * size
    return {"rows_per_s": groups * size / elapsed, **result}


async def sqlite_phase(folder: Path, followers: int, groups: int, size: int, pace: float) -> dict[str, float]:
    path = folder / f"bench-{time.monotonic_ns()}.db"
    writer = SQLiteLedger(path)
    await writer.open(create=True)
    readers = [SQLiteLedger(path) for _ in range(followers)]
    for reader in readers:
        await reader.open()
    committed = asyncio.Condition()
    head = 0
    total = groups * size
    latencies: list[float] = []

    async def follower(ledger: SQLiteLedger) -> None:
        cursor = 0
        while cursor < total:
            async with committed:
                await committed.wait_for(lambda seen=cursor: head > seen)
            for d in await ledger.decisions_after(cursor, 1000):
                latencies.append(time.monotonic() - d.created)
                cursor = d.cursor

    tasks = [asyncio.create_task(follower(r)) for r in readers]
    started = time.perf_counter()
    for g in range(groups):
        cursors = await writer.write(WriteGroup(decisions=[record(g * size + i) for i in range(size)]))
        async with committed:
            head = cursors[-1]
            committed.notify_all()
        await asyncio.sleep(pace)
    elapsed = time.perf_counter() - started
    await asyncio.wait_for(asyncio.gather(*tasks), 600)
    for ledger in (writer, *readers):
        await ledger.close()
    return {"rows_per_s": total / elapsed, **summary(latencies), "gaps": 0}


async def signals_phase(ledger: Ledger, groups: int, batches: int, size: int) -> float:
    """Signals/s written through ``Ledger.write``: groups of ``batches`` x ``size`` signals."""
    signal = Signal(kind="detection", target="45.13.7.1", scenario="ssh-bruteforce", count=1,
                    evidence=("sshd[1]: Failed password for root from 45.13.7.1 port 22 ssh2",))
    started = time.perf_counter()
    seq = 0
    for _ in range(groups):
        group = WriteGroup()
        for _ in range(batches):
            seq += 1
            group.batches.append(BatchRecord("bench", seq, f"d{seq}", time.time(), size))
            group.signals.extend(
                SignalRecord("bench", seq, signal, time.time(), "quorum", "1/2") for _ in range(size)
            )
        await ledger.write(group)
    return groups * batches * size / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    from tests.integration.pg_cluster import running_cluster

    phases = {
        "throughput": (args.groups, args.group_size, 0.0),
        "latency": (args.paced_groups, args.paced_size, 1.0 / args.rate),
    }
    print(f"1 writer, {args.followers} followers; PostgreSQL 15 private cluster (fsync on), "
          "SQLite WAL synchronous=FULL")
    with running_cluster(fsync=True) as cluster, tempfile.TemporaryDirectory() as folder:
        dsn = cluster.new_database()
        await initialise(dsn)
        print(f"{'phase':<11} {'groups x rows':>13} {'backend':<10} {'rows/s':>9} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'max ms':>8}  gaps")
        for phase, (groups, size, pace) in phases.items():
            pg = await pg_phase(dsn, args.followers, groups, size, pace)
            lite = await sqlite_phase(Path(folder), args.followers, groups, size, pace)
            for name, r in (("postgresql", pg), ("sqlite", lite)):
                print(f"{phase:<11} {f'{groups} x {size}':>13} {name:<10} {r['rows_per_s']:>9,.0f} "
                      f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f}  {r['gaps']:.0f}")
            print(f"{'':<11} {'':>13} {'pg/sqlite':<10} {pg['rows_per_s'] / lite['rows_per_s']:>9.2f}"
                  f" {pg['p50_ms'] / lite['p50_ms']:>8.2f} {pg['p99_ms'] / lite['p99_ms']:>8.2f}")
        shape = (args.signal_groups, 20, 100)
        rates = {}
        for name, ledger in (("postgresql", PostgresLedger(cluster.new_database())),
                             ("sqlite", SQLiteLedger(Path(folder) / "signals.db"))):
            await ledger.open(create=True)
            try:
                rates[name] = await signals_phase(ledger, *shape)
            finally:
                await ledger.close()
            print(f"{'signals':<11} {f'{shape[0]} x 2000':>13} {name:<10} {rates[name]:>9,.0f}"
                  "   (Ledger.write: groups of 20 batches x 100 signals)")
        print(f"{'':<11} {'':>13} {'pg/sqlite':<10} {rates['postgresql'] / rates['sqlite']:>9.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--follower":
        asyncio.run(follow(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=4)
    parser.add_argument("--groups", type=int, default=400, help="throughput phase: groups")
    parser.add_argument("--group-size", type=int, default=50, help="throughput phase: rows/group")
    parser.add_argument("--paced-groups", type=int, default=300, help="latency phase: groups")
    parser.add_argument("--paced-size", type=int, default=10, help="latency phase: rows/group")
    parser.add_argument("--rate", type=float, default=100.0, help="latency phase: groups/s")
    parser.add_argument("--signal-groups", type=int, default=25, help="signals phase: groups")
    asyncio.run(main(parser.parse_args()))
