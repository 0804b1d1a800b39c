"""Hub replicas on one real PostgreSQL, in this process: every replica takes signals,
one decides, every one streams; a replica that stops leading hands over."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import HubError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.create import invite
from shieldwall.hub.replication import ReplicaDesk
from shieldwall.hub.server import HubServer
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import free_port, hub_context, init_hub, running_hub
from tests.integration.hub_processes import without_trust
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


def brute(target: str) -> Signal:
    return Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6,
                  evidence=(f"Failed password for root from {target} port 22 ssh2",))


def desk_of(server: HubServer) -> ReplicaDesk:
    desk = hub_context(server).writer
    assert isinstance(desk, ReplicaDesk)
    return desk


async def until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def config(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    return without_trust(
        init_hub(tmp_path / "hub", "--database", cluster.new_database(), "--allow-reserved"))


@contextlib.asynccontextmanager
async def replicas(config: HubConfig, count: int) -> AsyncIterator[list[HubServer]]:
    async with contextlib.AsyncExitStack() as stack:
        servers = []
        for index in range(count):
            # The first listens where join tokens send members.
            own = config if index == 0 else dataclasses.replace(
                config, listen=f"127.0.0.1:{free_port()}")
            servers.append(await stack.enter_async_context(running_hub(own)))
        await until(lambda: sum(desk_of(s).writer is not None for s in servers) == 1)
        yield servers


def at(state: MemberState, server: HubServer) -> MemberState:
    """The member's state pointed at one replica."""
    return dataclasses.replace(state, hub=hub_context(server).config.listen, replicas=())


async def member(config: HubConfig, tmp_path: Path, name: str) -> MemberState:
    token = await invite(config, name, 3600.0, time.time())
    return await join(token, tmp_path / name)


async def first_decisions(state: MemberState, count: int) -> list[int]:
    got: list[int] = []
    async with DecisionFollower(state) as follower:
        async for decision in follower:
            got.append(decision.cursor)
            if len(got) == count:
                return got
    return got


async def test_a_follower_takes_signals_the_leader_decides_and_every_replica_streams(
    config: HubConfig, tmp_path: Path
) -> None:
    async with replicas(config, 2) as servers:
        leader, follower = sorted(servers, key=lambda s: desk_of(s).writer is None)
        alice = await member(config, tmp_path, "alice")
        streams = [asyncio.create_task(first_decisions(at(alice, s), 3)) for s in servers]
        async with HubClient(at(alice, follower)) as client:
            acks = [await client.send([brute(f"45.13.7.{i}")]) for i in range(1, 4)]
        got = await asyncio.wait_for(asyncio.gather(*streams), 10)
        async with httpx.AsyncClient(verify=alice.ssl_context()) as http:
            ready = [(await http.get(f"https://{hub_context(s).config.listen}/readyz")).json()
                     for s in (leader, follower)]
    assert [a.status for a in acks] == ["applied"] * 3
    assert [a.decisions for a in acks] == [(1,), (2,), (3,)]
    assert got == [[1, 2, 3], [1, 2, 3]]
    assert [r["role"] for r in ready] == ["leader", "follower"]
    assert all(r["schema"] >= 3 and r["head"] == 3 and r["lag"] == 0 for r in ready)
    # Both name the one leader and its epoch; only the leader holds that epoch itself.
    assert {(r["leader"], r["leader_epoch"]) for r in ready} == {(desk_of(leader).name,
                                                                  ready[0]["epoch"])}
    assert ready[0]["epoch"] >= 1 and ready[1]["epoch"] == 0


async def test_a_follower_serves_pages_and_the_cli_explains_and_lists_from_the_database(
    config: HubConfig, tmp_path: Path
) -> None:
    """What an operator or a member asks of any replica: a page of decisions from a
    follower, and `hub explain` and `hub members` on a machine with only hub.toml."""
    async with replicas(config, 2) as servers:
        leader, follower = sorted(servers, key=lambda s: desk_of(s).writer is None)
        alice = await member(config, tmp_path, "alice")
        async with HubClient(at(alice, leader)) as client:
            for i in (1, 2):
                await client.send([brute(f"45.13.11.{i}")])
        async with DecisionFollower(at(alice, follower)) as reader:
            page = await reader.page(0)
            rest = await reader.page(1, limit=1)

        def cli_run(*args: str) -> str:
            result = CliRunner().invoke(cli, [*args, "--data", str(config.data_dir)])
            assert result.exit_code == 0, result.output
            return result.output

        explained = await asyncio.to_thread(cli_run, "hub", "explain", "45.13.11.2")
        listed = await asyncio.to_thread(cli_run, "hub", "members", "--json")
    assert [(d.cursor, d.target) for d in page.decisions] == [(1, "45.13.11.1"), (2, "45.13.11.2")]
    assert page.head == 2 and not page.more
    assert [d.cursor for d in rest.decisions] == [2] and rest.more
    assert "45.13.11.2 is BLOCKED" in explained
    alice_row = json.loads(listed.splitlines()[0])
    assert alice_row["name"] == "alice" and alice_row["signals"] == 2


async def test_readyz_says_503_while_the_database_refuses_connections_then_recovers(
    config: HubConfig, tmp_path: Path
) -> None:
    """A load balancer's view: no replica is ready while the ledger cannot be reached
    (here the database refuses every connection and its sessions are ended), and
    each is ready again, one of them leading, once it can."""
    async with replicas(config, 2) as servers:
        alice = await member(config, tmp_path, "alice")
        urls = [f"https://{hub_context(s).config.listen}/readyz" for s in servers]
        parts = urlsplit(config.database)
        name = parts.path.lstrip("/")
        # From the cluster's own database: a database cannot refuse its own session.
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))

        async def answers(http: httpx.AsyncClient) -> list[httpx.Response]:
            return [await http.get(url) for url in urls]

        async def wait_for(http: httpx.AsyncClient, status: int) -> list[httpx.Response]:
            deadline = time.monotonic() + 20
            while True:
                got = await answers(http)
                if all(r.status_code == status for r in got):
                    return got
                assert time.monotonic() < deadline, [(r.status_code, r.text) for r in got]
                await asyncio.sleep(0.2)

        try:
            async with httpx.AsyncClient(verify=alice.ssl_context()) as http:
                await wait_for(http, 200)
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1", name)
                down = await wait_for(http, 503)
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                up = await wait_for(http, 200)
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
        await until(lambda: sum(desk_of(s).writer is not None for s in servers) == 1, 20)
        async with HubClient(at(alice, servers[1])) as client:
            after = await client.send([brute("45.13.12.1")])
    assert all(r.json()["type"].endswith("not-ready") for r in down), [r.text for r in down]
    assert all("the ledger database" in r.json()["detail"] for r in down)
    assert sorted(r.json()["role"] for r in up) == ["follower", "leader"]
    assert after.status == "applied" and after.decisions == (1,)


async def test_a_retry_through_another_replica_is_a_duplicate_not_a_second_decision(
    config: HubConfig, tmp_path: Path
) -> None:
    from shieldwall.signals.envelope import seal_envelope

    async with replicas(config, 2) as servers:
        alice = await member(config, tmp_path, "alice")
        raw = seal_envelope(alice.seed, alice.key_id, 1, time.time(), [brute("45.13.8.1")])
        answers = []
        for server in servers:
            async with HubClient(at(alice, server)) as client:
                answers.append(await client.send_sealed(raw))
        head = await desk_of(servers[0]).ledger.head()
    assert [a.status for a in answers] == ["applied", "duplicate"]
    assert head == 1


async def test_when_the_leader_stops_another_replica_leads_and_decides(
    config: HubConfig, tmp_path: Path
) -> None:
    async with replicas(config, 2) as servers:
        alice = await member(config, tmp_path, "alice")
        leader, follower = sorted(servers, key=lambda s: desk_of(s).writer is None)
        async with HubClient(at(alice, follower)) as client:
            first = await client.send([brute("45.13.9.1")])
            desk_of(follower).discounted = lambda: frozenset({"ghost"})  # the roster's say
            await desk_of(leader).replica.elector.resign()  # as if its lock connection died
            await until(lambda: desk_of(follower).writer is not None)
            second = await client.send([brute("45.13.9.2")])
            new_writer = desk_of(follower).writer
        epochs = [desk_of(s).replica.elector.lease.epoch for s in servers]
    assert first.decisions == (1,) and second.decisions == (2,)
    assert max(epochs) == 2
    assert new_writer is not None and new_writer.discounted() == {"ghost"}


async def test_terminating_the_listeners_backends_during_a_load_loses_no_decision(
    config: HubConfig, tmp_path: Path
) -> None:
    async with replicas(config, 2) as servers:
        alice, bob = [await member(config, tmp_path, n) for n in ("alice", "bob")]
        follower = next(s for s in servers if desk_of(s).writer is None)
        streams: list[list[int]] = [[], []]

        async def follow(state: MemberState, got: list[int]) -> None:
            async with DecisionFollower(state) as stream:
                async for decision in stream:
                    got.append(decision.cursor)

        async def send(state: MemberState, net: int) -> None:
            for k, server in enumerate(servers):  # half through each replica
                async with HubClient(at(state, server)) as client:
                    for i in range(1, 61):
                        await client.send([brute(f"45.{net}.{k}.{i}")])

        terminated = 0

        async def terminate_listeners() -> None:
            nonlocal terminated
            conn = await asyncpg.connect(config.database)
            try:
                while True:
                    await asyncio.sleep(0.3)
                    for server in servers:
                        pid = desk_of(server).replica.tail.backend_pid
                        if pid is not None and await conn.fetchval(
                                "SELECT pg_terminate_backend($1)", pid):
                            terminated += 1
            finally:
                await conn.close()

        # Both streams on the follower: every decision they see came through its tail.
        tasks = [asyncio.create_task(follow(at(m, follower), g))
                 for m, g in zip((alice, bob), streams, strict=True)]
        killer = asyncio.create_task(terminate_listeners())
        await asyncio.gather(send(alice, 31), send(bob, 32))
        killer.cancel()
        head = await desk_of(servers[0]).ledger.head()
        await until(lambda: all(len(g) >= head for g in streams), 30)
        for task in [*tasks, killer]:
            task.cancel()
        await asyncio.gather(*tasks, killer, return_exceptions=True)
        reconnects = desk_of(follower).replica.tail.connects
    assert head == 240
    assert streams == [list(range(1, head + 1))] * 2
    assert terminated >= 3 and reconnects > 1


async def test_a_leader_deposed_behind_its_back_applies_no_batch(
    config: HubConfig, tmp_path: Path
) -> None:
    """The epoch moved on (another replica won) while this leader still believes it
    leads: its writer's group, batch and decision alike, is refused whole."""
    from shieldwall.hub.ledger.postgres.decision_log import bump_epoch

    async with replicas(config, 1) as (leader,):
        alice = await member(config, tmp_path, "alice")
        conn = await asyncpg.connect(config.database)
        try:
            await bump_epoch(conn, "usurper", time.time())
            async with HubClient(at(alice, leader), attempts=1) as client:
                with pytest.raises(HubError):
                    await client.send([brute("45.13.10.1")])
            written = await conn.fetchval(
                "SELECT (SELECT count(*) FROM batches) + (SELECT count(*) FROM signals)"
                " + (SELECT count(*) FROM decisions)")
        finally:
            await conn.close()
    assert written == 0
