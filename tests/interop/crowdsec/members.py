"""An alliance for the interop tests: a real hub on loopback and members running real agents.

The agents enforce in memory: here the enforcement under test is the CrowdSec
client's (nftables inside a network namespace, or pycrowdsec).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.enforcers.memory import MemoryEnforcer


class RunningMember:
    """One member's agent (no log sources) and what it noted, with wall-clock times."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.notes: list[tuple[float, str, dict[str, Any]]] = []
        self.enforcer = MemoryEnforcer()

    def note(self, event: str, fields: dict[str, Any]) -> None:
        self.notes.append((time.time(), event, fields))

    def noted(self, event: str, target: str) -> float | None:
        """When ``event`` was first noted for ``target``."""
        return next((t for t, e, f in self.notes if e == event and f.get("target") == target),
                    None)

    def blocked(self) -> set[str]:
        return set(self.enforcer.current(time.time()))


@contextlib.asynccontextmanager
async def running(member: RunningMember) -> AsyncIterator[AgentRuntime]:
    config = AgentConfig(data_dir=member.data_dir, sources=(), backend="memory")
    runtime = AgentRuntime(config, enforcer=member.enforcer, notes=member.note)
    task = asyncio.create_task(runtime.run())
    try:
        yield runtime
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Wait (generously: the machine is shared) until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {what or condition}")
        await asyncio.sleep(0.02)
