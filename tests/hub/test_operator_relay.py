"""Operator lifts on real PostgreSQL: the leader's lift desk does each request once, and
a request nobody leads for is kept and says so."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest

from shieldwall.errors import HubError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.storage import DecisionRecord, WriteGroup
from shieldwall.hub.operator_relay import DONE, LiftDesk, LiftDone, request_lift
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


async def test_the_leader_lifts_each_request_once_and_a_new_leader_resumes_after_it(
    cluster: PgCluster, tmp_path: Path
) -> None:
    dsn = cluster.new_database()
    ledger = PostgresLedger(dsn)
    await ledger.open(create=True)
    elector = Elector(dsn, "leader")
    await elector.step()
    ledger.on_lease(elector.lease)
    config = HubConfig(data_dir=tmp_path, database=dsn)
    now = time.time()  # the desk lifts as of its clock: the block must be recent
    try:
        await ledger.write(WriteGroup(decisions=[DecisionRecord(
            "block", "45.13.7.9", now + 3600, "ssh-bruteforce", "alice", now)]))
        with pytest.raises(HubError, match="no replica leads"):
            await request_lift(ledger, "45.13.7.9", now, patience=0.3)  # kept for later
        for _ in range(2):  # a leader, then the next one: the request is done once
            desk = asyncio.create_task(LiftDesk(config, elector.lease.epoch, poll=0.05).run())
            await asyncio.sleep(1.0)
            desk.cancel()
            await asyncio.gather(desk, return_exceptions=True)
        done = [msgspec.json.decode(e.body, type=LiftDone) for e in await ledger.journal(DONE)]
        log = await ledger.decisions_after(0, 10)
    finally:
        await elector.resign()
        await ledger.close()
    assert [(d.cursor, d.action) for d in log] == [(1, "block"), (2, "lift")]
    assert [(d.request, d.cursors) for d in done] == [(1, (2,))]


async def test_an_operator_ban_on_postgresql_is_written_by_the_leader_and_a_refused_one_says_why(
    cluster: PgCluster, tmp_path: Path
) -> None:
    from shieldwall.hub.operator_relay import operator_ban

    dsn = cluster.new_database()
    ledger = PostgresLedger(dsn)
    await ledger.open(create=True)
    elector = Elector(dsn, "leader")
    await elector.step()
    config = HubConfig(data_dir=tmp_path, database=dsn, allowlist=("198.51.100.0/24",))
    desk = asyncio.create_task(LiftDesk(config, elector.lease.epoch, poll=0.05).run())
    try:
        now = time.time()
        (banned,) = await operator_ban(ledger, config, "45.13.7.9", 7200.0, now)
        with pytest.raises(HubError, match="refused the ban"):
            await operator_ban(ledger, config, "198.51.100.7", 7200.0, now)  # allowlisted
        log = await ledger.decisions_after(0, 10)
    finally:
        desk.cancel()
        await asyncio.gather(desk, return_exceptions=True)
        await elector.resign()
        await ledger.close()
    assert [(d.target, d.action, d.origin) for d in log] == [("45.13.7.9", "block", "operator")]
    assert banned.cursor == 1 and abs(banned.until - (now + 7200)) < 60
