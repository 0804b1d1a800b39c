"""A PostgreSQL replica that becomes leader: what changed while its writer started reaches it.

Real parts: a private PostgreSQL cluster, a real hub (HTTPS on loopback) whose one replica
leads, real joins. The only change to the code under test: the leader's writer is held
after it read the ledger, so a join lands in the window that CI once hit by chance.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from shieldwall.hub import replication
from shieldwall.hub.replication import ReplicaDesk
from shieldwall.hub.writer import Writer
from shieldwall.signals.client import HubClient
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import hub_context, init_hub, new_member, running_hub
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


async def settle(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_member_who_joins_while_the_leaders_writer_starts_is_decided_for(
    cluster: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = await asyncio.to_thread(init_hub, tmp_path / "hub", "--database",
                                     cluster.new_database())
    policy = config.data_dir / "policy.toml"
    # A lone member's report decides only when the writer knows the member.
    policy.write_text(policy.read_text().replace("solo_quorum = true", "solo_quorum = false"))
    from shieldwall.hub.config import load_hub_config

    config = load_hub_config(config.data_dir)
    read, release = asyncio.Event(), asyncio.Event()

    class HeldWriter(Writer):
        async def start(self) -> None:
            await super().start()  # the ledger is read...
            read.set()
            await release.wait()  # ...and the writer is not the desk's yet

    monkeypatch.setattr(replication, "Writer", HeldWriter)
    async with running_hub(config) as server:
        desk = hub_context(server).writer
        assert isinstance(desk, ReplicaDesk)
        await asyncio.wait_for(read.wait(), 20)
        alice = await new_member(config, tmp_path / "a", "alice")  # in the window
        release.set()
        await settle(lambda: desk.writer is not None)
        async with HubClient(alice) as client:
            ack = await client.send([Signal(kind="ban", target="45.13.7.77",
                                             scenario="manual", duration=60.0)])
        assert ack.status == "applied" and len(ack.decisions) == 1
        await settle(lambda: hub_context(server).feed.head >= 1)
