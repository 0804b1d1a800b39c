"""Members fail over: an agent whose hub replica is killed moves to another, misses nothing.

Real parts: a private PostgreSQL cluster, two ``shieldwall hub serve`` replica
processes on one data folder (the first leads), the agent runtime with its follower
and sender, a second member sending signals through its own :class:`HubClient`.
The replica the agent follows (the leader, the hardest case) is killed with SIGKILL
by PID while signals keep coming. The agent enforces in memory here (nftables in
namespaces is covered by tests/e2e/test_alliance.py); what is checked is the
decision stream it applied and the blocks it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.core import Command
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.decisions.decision import Decision
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.errors import HubError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.create import invite
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import free_port, init_hub
from tests.integration.hub_processes import ReplicaSet, replica_set, without_trust
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()
SIGNALS = 24


def brute(target: str) -> Signal:
    return Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6,
                  evidence=(f"Failed password for root from {target} port 22 ssh2",))


async def until(condition: Callable[[], bool], timeout: float = 60.0,
                state: Callable[[], object] = lambda: None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in time: {state()}")
        await asyncio.sleep(0.02)


@pytest.fixture
def config(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    # Trust rules off: bob alone makes every decision (past the policy's solo_open cap).
    return without_trust(init_hub(tmp_path / "hub", "--database", cluster.new_database()))


async def member(config: HubConfig, folder: Path, name: str, addresses: list[str]
                 ) -> MemberState:
    token = await invite(config, name, 3600.0, time.time(), addresses=addresses)
    return await join(token, folder)


class Recorded:
    """An agent runtime whose every delivered decision is recorded (before the core's filter)."""

    def __init__(self, folder: Path) -> None:
        self.enforcer = MemoryEnforcer()
        self.notes: list[tuple[str, dict[str, object]]] = []
        self.runtime = AgentRuntime(AgentConfig(data_dir=folder, backend="memory"),
                                    enforcer=self.enforcer,
                                    notes=lambda e, f: self.notes.append((e, f)))
        self.cursors: list[int] = []
        core_decision = self.runtime.core.decision

        def decision(item: Decision, now: float) -> list[Command]:
            self.cursors.append(item.cursor)
            return core_decision(item, now)

        self.runtime.core.decision = decision  # type: ignore[method-assign,assignment]

    def blocked(self) -> set[str]:
        return set(self.enforcer.current(time.time()))


@contextlib.asynccontextmanager
async def running(agent: Recorded) -> AsyncIterator[None]:
    task = asyncio.create_task(agent.runtime.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def send_all(state: MemberState, targets: list[str], pace: float, statuses: list[str]
                   ) -> list[str]:
    """Send one signal per target like the agent's sender: a batch that fails is sent again."""
    async with HubClient(state) as client:
        for target in targets:
            while True:
                try:
                    statuses.append((await client.send([brute(target)])).status)
                    break
                except HubError:
                    await asyncio.sleep(0.2)  # all replicas failed lately: the outbox keeps it
            await asyncio.sleep(pace)
    return statuses


def head_of(replicas: ReplicaSet) -> int:
    for replica in replicas.replicas:
        if replica.process.poll() is None:
            ready = replicas.ready(replica)
            if ready is not None:
                return int(str(ready["head"]))
    raise AssertionError("no replica answers")


async def test_an_agent_whose_replica_is_killed_moves_to_another_and_misses_nothing(
    config: HubConfig, tmp_path: Path
) -> None:
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with replica_set(config, listens) as replicas:
        first, second = replicas.replicas
        assert replicas.leader() is first
        alice = await member(config, tmp_path / "alice", "alice", listens)
        bob = await member(config, tmp_path / "bob", "bob", listens)
        assert alice.addresses == tuple(listens)
        agent = Recorded(tmp_path / "alice")
        targets = [f"45.13.{20 + i // 200}.{1 + i % 200}" for i in range(SIGNALS)]
        async with running(agent):
            statuses: list[str] = []
            sending = asyncio.create_task(send_all(bob, targets, 0.05, statuses))

            def seen() -> object:  # what a failure message shows
                logs = [r.log.read_text()[-1500:] for r in replicas.replicas]
                follower = agent.runtime.follower
                link = None if follower is None else (
                    follower.connected, follower.cursor, follower.head, follower.rotation)
                return (len(statuses), agent.cursors, link, agent.notes[-3:], logs)

            await until(lambda: len(agent.cursors) >= SIGNALS // 4, state=seen)
            first.kill()  # the leader, and the replica the agent follows
            await asyncio.wait_for(sending, 90)
            head = await asyncio.to_thread(head_of, replicas)
            await until(lambda: agent.runtime.core.cursor >= head, state=seen)
            moved = agent.runtime.follower
            assert moved is not None and getattr(moved, "hub", None) == second.listen
    # The operator is told, in the agent's notes (JSON with --log-format json), where it went.
    said = [f for e, f in agent.notes if e == "stream.moved"]
    assert said and said[-1]["from"] == first.listen and said[-1]["to"] == second.listen
    assert isinstance(said[-1]["cursor"], int) and said[-1]["cursor"] >= SIGNALS // 4
    assert all(status in ("applied", "duplicate") for status in statuses)
    # No gap, no repeat: every cursor of the log reached the agent exactly once.
    assert agent.cursors == list(range(1, head + 1))
    assert head >= SIGNALS
    assert set(targets) <= agent.blocked()
