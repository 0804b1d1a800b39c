"""Drill decisions are read back from the firewall as they arrive, and given to their drill."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from shieldwall.decisions.decision import Decision
from shieldwall.drills.arrivals import MAX_DRILLS, Arrivals

pytestmark = pytest.mark.asyncio


def decision(action: str, cursor: int, drill: str = "drill-00aa11bb") -> Decision:
    return Decision(cursor=cursor, action=action, target="192.0.2.7", until=2e9,  # type: ignore[arg-type]
                    drill=drill)


async def test_a_block_and_its_lift_are_confirmed_by_what_the_firewall_holds() -> None:
    firewall = {"192.0.2.7"}
    arrivals = Arrivals(lambda target: target in firewall, time.time)
    reader = asyncio.ensure_future(arrivals.read_back())  # the member runs it supervised
    try:
        arrivals.add(decision("block", 1), time.time())
        block = await arrivals.wait("drill-00aa11bb", "block", time.time() + 5)
        assert block is not None and block.confirmed is True and block.read_at >= block.received
        # A lift the firewall did not carry out is not confirmed.
        arrivals.add(decision("lift", 2), time.time())
        lift = await arrivals.wait("drill-00aa11bb", "lift", time.time() + 5)
        assert lift is not None and lift.confirmed is False
        firewall.clear()
        arrivals.add(decision("block", 3, drill="drill-00aa11cc"), time.time(), repaired=True)
        missing = await arrivals.wait("drill-00aa11cc", "block", time.time() + 5)
        assert missing is not None and missing.confirmed is False and missing.repaired
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def test_waiting_ends_at_the_deadline_when_nothing_comes() -> None:
    arrivals = Arrivals(lambda target: True, time.time)
    assert await arrivals.wait("drill-00aa11bb", "block", time.time() + 0.05) is None


async def test_only_the_latest_drills_are_kept() -> None:
    arrivals = Arrivals(lambda target: True, time.time)
    for index in range(MAX_DRILLS + 5):
        arrivals.add(decision("block", index + 1, drill=f"drill-{index:08x}"), time.time())
    assert len(arrivals.boxes) == MAX_DRILLS and "drill-00000000" not in arrivals.boxes
