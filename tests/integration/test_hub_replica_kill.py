"""Real ``shieldwall hub serve`` replicas on one real PostgreSQL: kill -9 the leader in the
middle of a load from several members. Another replica leads within 5 s (the lease is
3 s, the retry 0.5 s); every member's stream is the whole log, 1..head, once each; every
acknowledged signal is in the ledger exactly once, and no target was decided twice."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import asyncpg
import pytest

from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import HubError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.create import invite
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.envelope import seal_envelope
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import free_port, init_hub
from tests.integration.hub_processes import replica_set, without_trust
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()

MEMBERS = 4
PER_MEMBER = 250  # 1,000 signals in all, one per envelope, each on its own target


async def send_all(state: MemberState, index: int, acked: list[tuple[str, int]]) -> None:
    async with HubClient(state, attempts=3) as client:
        for seq in range(1, PER_MEMBER + 1):
            target = f"45.{20 + index}.{seq // 200}.{seq % 200 + 1}"
            raw = seal_envelope(state.seed, state.key_id, seq, time.time(), [Signal(
                kind="detection", target=target, scenario="ssh-bruteforce", count=6)])
            while True:
                try:
                    await client.send_sealed(raw)
                except HubError:
                    await asyncio.sleep(0.2)  # the replica is down or no leader yet: again
                    continue
                acked.append((state.name, seq))
                break


async def stream(state: MemberState, got: list[int]) -> None:
    async with DecisionFollower(state, backoff=(0.1, 1.0)) as follower:
        async for decision in follower:
            got.append(decision.cursor)


@pytest.fixture
def config(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    return without_trust(
        init_hub(tmp_path / "hub", "--database", cluster.new_database(), "--allow-reserved"))


async def test_kill_9_of_the_leading_replica_during_a_load_loses_and_doubles_nothing(
    config: HubConfig, tmp_path: Path
) -> None:
    dsn = config.database
    listens = [config.listen, *(f"127.0.0.1:{free_port()}" for _ in range(2))]
    with replica_set(config, listens) as replicas:
        assert replicas.leader() is replicas.replicas[0]
        states = []
        for index in range(MEMBERS):
            token = await invite(config, f"m{index}", 3600.0, time.time())
            joined = await join(token, tmp_path / f"m{index}")
            home = listens[index % len(listens)]
            states.append(dataclasses.replace(
                joined, hub=home, replicas=tuple(a for a in listens if a != home)))
        streams: list[list[int]] = [[] for _ in states]
        followers = [asyncio.create_task(stream(s, g)) for s, g in zip(states, streams, strict=False)]
        acked: list[tuple[str, int]] = []
        senders = [asyncio.create_task(send_all(s, i, acked)) for i, s in enumerate(states)]
        while len(acked) < 300:
            await asyncio.sleep(0.01)
        killed_at = time.monotonic()
        replicas.replicas[0].kill()
        while await asyncio.to_thread(replicas.leader) is None:
            await asyncio.sleep(0.05)
        takeover = time.monotonic() - killed_at
        await asyncio.wait_for(asyncio.gather(*senders), 120)
        conn = await asyncpg.connect(dsn)
        try:
            head = int(await conn.fetchval("SELECT COALESCE(MAX(seq), 0) FROM decisions"))
            decided = int(await conn.fetchval("SELECT count(DISTINCT target) FROM decisions"))
            stored = {(r["member"], int(r["seq"])): int(r["n"]) for r in await conn.fetch(
                "SELECT member, seq, count(*) AS n FROM signals GROUP BY member, seq")}
            epochs = int(await conn.fetchval("SELECT count(DISTINCT epoch) FROM decisions"))
            outcomes = [tuple(r) for r in await conn.fetch(
                "SELECT outcome, count(*) FROM signals GROUP BY outcome")]
        finally:
            await conn.close()
        deadline = time.monotonic() + 60
        while any(len(g) < head for g in streams) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    assert takeover < 5.0, f"no replica led within 5 s of the kill ({takeover:.1f} s)"
    assert len(acked) == MEMBERS * PER_MEMBER
    assert all(stored.get(key) == 1 for key in acked)
    # Each signal names its own target: the policy decides each at most once (whatever
    # its trust rules make of a new member), and each decided signal has its decision.
    assert head == decided == dict(outcomes).get("decided") and head > 0, outcomes
    assert epochs == 2
    for got in streams:
        assert got == list(range(1, head + 1))
