"""Supervision: a background task that fails is logged, counted and restarted.

Nothing is silently lost: every failure goes to the log with its traceback and
to :attr:`Supervisor.failures`; the task restarts after a backoff that doubles
up to a ceiling and resets once the task has run well for a while.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable

log = logging.getLogger("shieldwall.agent")

HEALTHY_AFTER = 60.0


class Supervisor:
    """Runs named tasks and restarts them with backoff when they fail."""

    def __init__(self, backoff: tuple[float, float] = (0.5, 30.0)) -> None:
        self.backoff = backoff
        self.failures: Counter[str] = Counter()
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run ``factory()`` under supervision as task ``name``."""
        self.tasks[name] = asyncio.create_task(self._run(name, factory), name=name)

    async def _run(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        delay = self.backoff[0]
        while True:
            started = time.monotonic()
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures[name] += 1
                log.exception("task %s failed (%d so far); restarting in %.1fs",
                              name, self.failures[name], delay)
            else:
                log.info("task %s finished", name)
                return
            if time.monotonic() - started > HEALTHY_AFTER:
                delay = self.backoff[0]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff[1])

    async def stop(self) -> None:
        """Cancel every task and wait for them."""
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
