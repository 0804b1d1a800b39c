"""Supervision: a failing task is logged, counted and restarted, never lost."""

from __future__ import annotations

import asyncio

from shieldwall.agent.supervise import Supervisor


async def test_a_failing_task_is_counted_and_restarted_until_it_succeeds() -> None:
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("boom")

    supervisor = Supervisor(backoff=(0.01, 0.02))
    supervisor.start("flaky", flaky)
    await asyncio.wait_for(supervisor.tasks["flaky"], 5)
    assert len(runs) == 3
    assert supervisor.failures["flaky"] == 2


async def test_stop_cancels_running_tasks() -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    supervisor = Supervisor()
    supervisor.start("forever", forever)
    await asyncio.sleep(0)
    await supervisor.stop()
    assert supervisor.tasks["forever"].cancelled()
