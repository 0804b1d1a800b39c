"""Drills on a hub run as PostgreSQL replicas: members on either replica, one complete report.

Real parts: a private PostgreSQL cluster, two ``shieldwall hub serve`` replica processes
on one data folder (the first leads and conducts), members joined with tokens naming
both replicas in either order (so their streams and their stage reports reach the
leader or the follower), real agent runtimes (in-memory enforcers: the nftables path of
drills is tests/e2e/test_drill.py), and ``shieldwall drill run`` as a process.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import msgspec
import pytest

from shieldwall.drills.report import DrillReport
from shieldwall.hub.config import HubConfig
from shieldwall.hub.create import invite
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.signals.client import join
from tests.integration.hub_harness import free_port, init_hub
from tests.integration.hub_processes import replica_set
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture
from tests.integration.test_agent_hub import Member, running, until

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()
SHIELDWALL = [sys.executable, "-m", "shieldwall.cli.main"]


@pytest.fixture
def config(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub", "--database", cluster.new_database())


async def member(config: HubConfig, root: Path, name: str, listens: list[str]) -> Member:
    token = await invite(config, name, 3600.0, time.time(), addresses=listens)
    await join(token, root / name)
    log = root / f"{name}-auth.log"
    log.write_text("")
    return Member(root / name, log)


async def drill_run(config: HubConfig, *args: str) -> tuple[int, DrillReport, str]:
    process = await asyncio.create_subprocess_exec(
        *SHIELDWALL, "drill", "run", "--data", str(config.data_dir), "--json", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 200)
    assert process.returncode in (0, 1), err.decode()
    return process.returncode, msgspec.json.decode(out, type=DrillReport), err.decode()


async def test_a_drill_on_two_replicas_passes_on_members_of_either_with_a_complete_report(
        config: HubConfig, tmp_path: Path) -> None:
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with replica_set(config, listens) as replicas:
        first, second = replicas.replicas
        assert replicas.leader() is first
        a = await member(config, tmp_path, "a", listens)
        b = await member(config, tmp_path, "b", listens[::-1])  # streams from, reports to, the follower
        c = await member(config, tmp_path, "c", listens[::-1])
        async with running(a) as on_leader, running(b) as on_follower, running(c):
            await until(lambda: getattr(on_follower.follower, "hub", None) == second.listen
                        and getattr(on_leader.follower, "hub", None) == first.listen, timeout=30)
            for target in ("192.0.2.71", "203.0.113.72"):  # twice: the desk keeps its place
                code, report, err = await drill_run(config, "--target", target)
                assert code == 0 and report.passed, (report, err)
                assert [row.member for row in report.members] == ["a", "b", "c"]
                for row in report.members:
                    assert row.passed and row.detect_to_block is not None, row
                    assert all(s.ok and s.latency is not None for s in row.stages), row
                assert report.p99 is not None and report.on_all is not None
                assert report.decision > 0 and report.lift > report.decision
                for m in (a, b, c):
                    assert target not in m.blocked()  # lifted everywhere
    ledger = PostgresLedger(config.database)
    await ledger.open()
    try:
        drills = [d for d in await ledger.decisions_after(0, 100) if d.drill]
        reports = await ledger.journal("drill.report")
    finally:
        await ledger.close()
    # One conductor for the alliance: one block and one lift per drill, one report each.
    assert [(d.action, d.target) for d in drills] == [
        ("block", "192.0.2.71"), ("lift", "192.0.2.71"),
        ("block", "203.0.113.72"), ("lift", "203.0.113.72")]
    assert len(reports) == 2
