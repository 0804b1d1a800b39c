"""Batches and signals on PostgreSQL (real server): each batch's first_signal is its
first signal's id even after a refused group used up ids, which retention and the
policy's reads rely on to find old and recent signals without a time index."""

from __future__ import annotations

import asyncpg
import pytest

from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres import signals
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.storage import BatchRecord, SignalRecord, WriteGroup
from shieldwall.hub.policy_view import ViewQuery
from shieldwall.signals.signal import Signal
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()

NOW = 1_764_380_000.0


def batch(seq: int, when: float, n: int) -> WriteGroup:
    signal = Signal(kind="detection", target=f"45.13.7.{seq}", scenario="ssh-bruteforce")
    return WriteGroup(
        batches=[BatchRecord("alice", seq, f"d{seq}", when, n)],
        signals=[SignalRecord("alice", seq, signal, when, "quorum", "1/2") for _ in range(n)],
    )


async def test_first_signal_bounds_each_batch_and_retention_uses_it(cluster: PgCluster) -> None:
    dsn = cluster.new_database()
    ledger = PostgresLedger(dsn)
    await ledger.open(create=True)
    elector = Elector(dsn, "r1")  # only the leader applies batches
    await elector.step()
    ledger.on_lease(elector.lease)
    conn = await asyncpg.connect(dsn)
    try:
        await ledger.write(batch(1, NOW - 1000, 3))
        refused = batch(2, NOW - 500, 4)
        refused.batches.append(BatchRecord("alice", 1, "again", NOW, 0))  # a retried seq
        with pytest.raises(HubError, match="nothing was written"):
            await ledger.write(refused)
        await ledger.write(batch(3, NOW, 2))
        found = await conn.fetch(
            "SELECT b.seq, b.first_signal, min(s.id) AS low, max(s.id) AS high FROM batches b"
            " JOIN signals s ON s.seq = b.seq GROUP BY b.seq, b.first_signal ORDER BY b.seq"
        )
        assert [r["seq"] for r in found] == [1, 3]
        assert all(r["first_signal"] == r["low"] for r in found)
        assert found[1]["low"] > found[0]["high"]
        query = ViewQuery(now=NOW, horizon=10, signal_horizon=10, confirmed=())
        assert [s.signal.target for s in (await signals.policy_rows(conn, query)).signals] == [
            "45.13.7.3", "45.13.7.3",
        ]
        assert await ledger.expire(NOW - 1, 100) == 3
        assert [r["seq"] for r in await conn.fetch("SELECT DISTINCT seq FROM signals")] == [3]
        assert await signals.recent_volume(conn, NOW - 2000) == {"alice": 2}
    finally:
        await conn.close()
        await elector.resign()
        await ledger.close()
