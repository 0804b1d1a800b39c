"""A PostgreSQL replica under a council: no writer of it decides before the council gates it.

Real parts: a private PostgreSQL cluster, one in-process replica (hub.replication) on a
hub attached to a council founded through the CLI, the real HubCouncil.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from shieldwall.hub.governance_council import HubCouncil
from shieldwall.hub.metrics import HubMetrics
from shieldwall.hub.replication import ReplicaDesk, replica_context
from tests.e2e.test_council import Alliance
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


async def settle(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_replica_under_a_council_leads_only_once_the_council_gates_its_writer(
        cluster: PgCluster, tmp_path: Path) -> None:
    alliance = await asyncio.to_thread(Alliance, tmp_path, "--database", cluster.new_database())
    config = alliance.config
    async with replica_context(config, HubMetrics(), time.time) as context:
        desk = context.writer
        assert isinstance(desk, ReplicaDesk)
        await settle(lambda: desk.ledger.epoch is not None)  # it won the election...
        for _ in range(25):  # ...and its leadership task ran many times over
            await asyncio.sleep(0.02)
        assert desk.writer is None  # but no writer runs ungated
        council = HubCouncil(config, context.ledger, context.feed, desk, context.clock,
                             lambda: desk.writer is not None)
        assert desk.governed is council
        await settle(lambda: desk.writer is not None)
        assert desk.writer is not None and desk.writer.governed is council
        assert council.problem() is not None  # closed until the council read its act log
        await council.start()
        try:
            assert council.problem() is None and council.version.startswith("v1:")
            assert (await desk.readiness()) is None
        finally:
            await council.stop()
