"""Two replicas on one database (real PostgreSQL): only the leader's ledger appends, both
tails deliver every decision in order, and when the leader shuts down the other one
takes over and the log goes on without a gap."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from shieldwall.agent.supervise import Supervisor
from shieldwall.decisions.decision import Decision
from shieldwall.hub.ledger.postgres.decision_log import FencedError
from shieldwall.hub.ledger.postgres.lease import LeaseTimes, Role
from shieldwall.hub.ledger.postgres.replica import Replica
from shieldwall.hub.ledger.postgres.schema import initialise
from shieldwall.hub.ledger.storage import DecisionRecord, WriteGroup
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()

TIMES = LeaseTimes(retry=0.2, heartbeat=0.3, lease=10.0)
PATIENCE = 30.0


def blocks(start: int, count: int) -> WriteGroup:
    return WriteGroup(decisions=[DecisionRecord("block", f"45.13.7.{n}", 2e9, "s", "o", 1.7e9)
                                 for n in range(start, start + count)])


async def until(check: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), PATIENCE)


async def test_two_replicas_one_decider_and_both_see_every_decision(cluster: PgCluster) -> None:
    dsn = cluster.new_database()
    await initialise(dsn)
    seen: dict[str, list[int]] = {"r1": [], "r2": []}
    roles: list[tuple[str, Role]] = []

    def replica(name: str) -> Replica:
        async def deliver(found: list[Decision]) -> None:
            seen[name].extend(d.cursor for d in found)

        return Replica(dsn, name, deliver, times=TIMES, catch_up=0.5,
                       on_change=lambda lease: roles.append((name, lease.role)))

    first, second = replica("r1"), replica("r2")
    supervisors = {"r1": Supervisor(), "r2": Supervisor()}
    await first.open()
    await second.open()
    try:
        first.start(supervisors["r1"])
        await until(lambda: first.status().role is Role.LEADER)
        second.start(supervisors["r2"])
        await until(lambda: second.tail.connects == 1)
        assert await first.ledger.write(blocks(0, 5)) == [1, 2, 3, 4, 5]
        with pytest.raises(FencedError):
            await second.ledger.write(blocks(5, 1))
        await until(lambda: len(seen["r1"]) == len(seen["r2"]) == 5)
        await supervisors["r1"].stop()
        await first.close()
        await until(lambda: second.status().role is Role.LEADER)
        assert await second.ledger.write(blocks(5, 3)) == [6, 7, 8]
        await until(lambda: len(seen["r2"]) == 8)
        assert seen["r2"] == list(range(1, 9)) and seen["r1"] == list(range(1, 6))
        status = second.status()
        assert (status.name, status.epoch, status.cursor) == ("r2", 2, 8)
        assert roles == [("r1", Role.LEADER), ("r1", Role.FOLLOWER), ("r2", Role.LEADER)]
        assert supervisors["r2"].failures == {}
    finally:
        for supervisor in supervisors.values():
            await supervisor.stop()
        await first.close()
        await second.close()
