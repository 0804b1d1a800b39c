"""Agents and a real hub over HTTPS on loopback: an attack on one is answered by all.

Real parts: the hub (uvicorn, TLS; its ledger on SQLite, then on a database of the run's
private PostgreSQL cluster: every test runs on both), the members' signed envelopes
and decision streams, real files followed with inotify. The enforcers are the
in-memory ones (nftables in namespaces is covered by tests/e2e and
test_nftables_netns.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.hub.config import HubConfig
from shieldwall.sources import SourceSpec

from .hub_harness import backend_hub, new_member, running_hub
from .pg_cluster import pg_cluster_fixture

cluster = pg_cluster_fixture()

ATTACKER = "45.33.99.7"


def attack_lines(address: str, n: int, user: str = "root") -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return "".join(
        f"{stamp} a sshd[{1000 + i}]: Failed password for {user} from {address} port {5000 + i} ssh2\n"
        for i in range(n)
    )


class Member:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.log = log
        self.notes: list[tuple[str, dict[str, Any]]] = []
        self.enforcer = MemoryEnforcer()

    def config(self) -> AgentConfig:
        return AgentConfig(
            data_dir=self.data_dir,
            sources=(SourceSpec(kind="file", pack="sshd", path=str(self.log)),),
            backend="memory",
        )

    def runtime(self) -> AgentRuntime:
        return AgentRuntime(self.config(), enforcer=self.enforcer,
                            notes=lambda e, f: self.notes.append((e, f)))

    def blocked(self) -> set[str]:
        return set(self.enforcer.current(time.time()))


@contextlib.asynccontextmanager
async def running(member: Member) -> AsyncIterator[AgentRuntime]:
    runtime = member.runtime()
    task = asyncio.create_task(runtime.run())
    try:
        # Started once the file is watched and the follower is connected (or trying).
        await asyncio.sleep(0.3)
        yield runtime
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    # Synchronous: `hub init` runs its own event loop.
    return backend_hub(request, tmp_path / "hub")


async def members(tmp_path: Path, config: HubConfig, *names: str) -> list[Member]:
    out = []
    for name in names:
        data = tmp_path / name
        await new_member(config, data, name)
        log = tmp_path / f"{name}-auth.log"
        log.write_text("")
        out.append(Member(data, log))
    return out


async def test_an_attack_on_one_member_is_blocked_by_the_others(tmp_path: Path, config: HubConfig) -> None:
    async with running_hub(config):
        a, b, c = await members(tmp_path, config, "a", "b", "c")
        async with running(a), running(b), running(c):
            with a.log.open("a") as log:
                log.write(attack_lines(ATTACKER, 5))
            await until(lambda: ATTACKER in b.blocked() and ATTACKER in c.blocked())
            assert ATTACKER in a.blocked()
            events = [e for e, _ in b.notes]
            assert "decision" in events and "block.applied" in events


async def test_a_hostile_user_name_never_blocks_the_address_it_carries(
    tmp_path: Path, config: HubConfig
) -> None:
    victim = "45.33.99.200"
    async with running_hub(config):
        a, b = await members(tmp_path, config, "a", "b")
        async with running(a), running(b):
            with a.log.open("a") as log:
                log.write(attack_lines(ATTACKER, 5, user=f"x {victim} on"))
                log.write(attack_lines(ATTACKER, 5, user=f"root from {victim} port 22 ssh2"))
            await until(lambda: ATTACKER in b.blocked())
            await asyncio.sleep(0.3)
            assert victim not in b.blocked() and victim not in a.blocked()


async def test_signals_queue_while_the_hub_is_down_and_arrive_when_it_returns(
    tmp_path: Path, config: HubConfig
) -> None:
    async with running_hub(config):
        a, b = await members(tmp_path, config, "a", "b")
    # The hub is down: A still detects and blocks on its own, and queues its signal.
    async with running(a) as runtime_a:
        with a.log.open("a") as log:
            log.write(attack_lines(ATTACKER, 5))
        await until(lambda: ATTACKER in a.blocked())
        await until(lambda: runtime_a.state.backlog() == 1)
        async with running_hub(config), running(b):
            await until(lambda: ATTACKER in b.blocked(), timeout=30)
            await until(lambda: runtime_a.state.backlog() == 0, timeout=30)


async def test_a_restarted_agent_reapplies_its_blocks_and_misses_no_decision(
    tmp_path: Path, config: HubConfig
) -> None:
    async with running_hub(config):
        a, b = await members(tmp_path, config, "a", "b")
        async with running(a), running(b):
            with a.log.open("a") as log:
                log.write(attack_lines(ATTACKER, 5))
            await until(lambda: ATTACKER in b.blocked())
        # B is down while A sees a second attacker.
        second = "45.33.99.8"
        async with running(a):
            with a.log.open("a") as log:
                log.write(attack_lines(second, 5))
            await until(lambda: second in a.blocked())
            await asyncio.sleep(0.5)
        # B restarts with an empty firewall: its saved state and the hub's log refill it.
        b.enforcer = MemoryEnforcer()
        async with running(b):
            await until(lambda: {ATTACKER, second} <= b.blocked())
        # A restarted agent does not count the old lines again.
        detections = [f for e, f in a.notes if e == "detection"]
        assert [d["ip"] for d in detections] == [ATTACKER, second]


async def test_a_batch_the_hub_refuses_as_invalid_is_dropped_and_later_signals_flow(
    tmp_path: Path, config: HubConfig
) -> None:
    from shieldwall.agent.core import Report
    from shieldwall.signals.signal import Signal

    async with running_hub(config):
        a, b = await members(tmp_path, config, "a", "b")
        async with running(a) as runtime_a, running(b):
            poison = Signal(kind="detection", target="not-an-address", scenario="ssh-bruteforce")
            runtime_a.execute([Report((poison,))])
            await until(lambda: any(e == "signal.dropped" for e, _ in a.notes))
            with a.log.open("a") as log:
                log.write(attack_lines(ATTACKER, 5))
            await until(lambda: ATTACKER in b.blocked())
            assert runtime_a.state.backlog() == 0
