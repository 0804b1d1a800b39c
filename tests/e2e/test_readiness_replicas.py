"""One readiness roster across PostgreSQL replicas: a heartbeat to one shows on every one.

Real parts: a private PostgreSQL cluster, two ``shieldwall hub serve`` replica processes
on one data folder (the first leads), members joined with real tokens, heartbeats sent
as a member's agent sends them (signed requests over HTTPS) to the replica the test
picks, each replica's ``/metrics`` and ``shieldwall hub readiness`` read as an operator
reads them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from shieldwall.hub.config import HubConfig
from shieldwall.hub.create import invite
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.roster import JOURNAL_KIND, Transition
from shieldwall.readiness.heartbeat import CheckReport, Heartbeat, encode
from shieldwall.readiness.verdict import State
from shieldwall.signals.client import join
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from tests.integration.hub_harness import free_port, init_hub
from tests.integration.hub_processes import ReplicaSet, replica_set
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


@pytest.fixture
def config(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub", "--database", cluster.new_database())


async def beat(state: MemberState, listen: str, checked: State = "ok") -> None:
    body = encode(Heartbeat(member=state.name, at=time.time(), interval=1.0, checks=(
        CheckReport("R1", "hub link", "ok", "fine"),
        CheckReport("R3", "enforcer verified", checked, f"table is {checked}"))))
    headers = sign_request(state.seed, state.key_id, "POST", "/v1/heartbeat", time.time(), body)
    async with httpx.AsyncClient(base_url=f"https://{listen}", verify=state.ssl_context()) as http:
        answer = await http.post("/v1/heartbeat", content=body, headers=headers)
    assert answer.status_code == 200, answer.text


def ready_gauges(replicas: ReplicaSet, listen: str) -> dict[str, int]:
    text = httpx.get(f"https://{listen}/metrics", verify=replicas.context(), timeout=5.0).text
    found = {}
    for line in text.splitlines():
        if line.startswith("shieldwall_member_ready{"):
            name = line.split('member="', 1)[1].split('"', 1)[0]
            found[name] = int(line.rsplit(" ", 1)[1])
    return found


async def hub_readiness(config: HubConfig) -> dict[str, dict[str, object]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shieldwall.cli.main", "hub", "readiness", "--data",
        str(config.data_dir), "--json", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return {row["member"]: row for row in map(json.loads, out.decode().splitlines())}


async def eventually(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check() if callable(check) else check
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.1)


async def test_a_heartbeat_to_one_replica_shows_on_the_other_and_silence_fails_on_both(
        config: HubConfig, tmp_path: Path) -> None:
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with replica_set(config, listens) as replicas:
        leader, follower = (r.listen for r in replicas.replicas)
        assert replicas.leader() is replicas.replicas[0]
        states = {}
        for name in ("alice", "bob"):
            token = await invite(config, name, 3600.0, time.time(), addresses=listens)
            states[name] = await join(token, tmp_path / name)
        await beat(states["alice"], follower)  # to the replica that does not lead
        await beat(states["bob"], leader, "failing")
        for listen in (leader, follower):
            await eventually(lambda: ready_gauges(replicas, listen) == {"alice": 1, "bob": 0})  # noqa: B023

        async def readiness_shows(alice: str, bob: str) -> bool:
            rows = await hub_readiness(config)
            return (rows.get("alice", {}).get("state"), rows.get("bob", {}).get("state")) == (
                alice, bob)

        await eventually(lambda: readiness_shows("ok", "failing"))
        # Alice beats on, once a second, to each replica in turn: never silent on either.
        for i in range(5):
            await beat(states["alice"], listens[i % 2])
            await asyncio.sleep(1.0)
            for listen in (leader, follower):
                assert ready_gauges(replicas, listen)["alice"] == 1
        # Then silence on both: failing after three intervals, on every replica.
        for listen in (leader, follower):
            await eventually(lambda: ready_gauges(replicas, listen).get("alice") == 0)  # noqa: B023
        await eventually(lambda: readiness_shows("failing", "failing"))
        rows = await hub_readiness(config)
        assert "silent" in str(rows["alice"]["reason"])
    ledger = PostgresLedger(config.database)
    await ledger.open()
    try:
        moves = [msgspec.json.decode(e.body, type=Transition)
                 for e in await ledger.journal(JOURNAL_KIND, key="alice")]
    finally:
        await ledger.close()
    # Journaled once per change by the leader, not once per replica.
    assert [(t.before, t.after) for t in moves] == [("unknown", "ok"), ("ok", "failing")]
