"""R7: outbox backlog and free disk space, each against its thresholds."""

from __future__ import annotations

import pytest

from shieldwall.readiness.outbox import OutboxView, check_outbox, size
from shieldwall.readiness.verdict import Thresholds

LIMITS = Thresholds()
GIB = 1024**3


@pytest.mark.parametrize(("backlog", "free", "state"), [
    (0, 10 * GIB, "ok"), (999, 10 * GIB, "ok"), (1000, 10 * GIB, "degraded"),
    (100_000, 10 * GIB, "failing"), (0, 100 * 1024**2, "degraded"), (0, 1024**2, "failing"),
    (5000, 1024**2, "failing"),
])
def test_the_worse_of_backlog_and_disk_decides(backlog: int, free: int, state: str) -> None:
    check = check_outbox(OutboxView("/d", backlog=backlog, cursor=0, free_bytes=free), LIMITS)
    assert (check.code, check.state) == ("R7", state)


def test_the_reason_names_the_backlog_and_the_space() -> None:
    check = check_outbox(OutboxView("/d", backlog=3, free_bytes=10 * GIB), LIMITS)
    assert check.reason == "3 signals waiting for the hub; 10.0 GiB free in /d"


def test_only_the_worst_part_is_in_the_reason() -> None:
    check = check_outbox(OutboxView("/d", backlog=3, free_bytes=1024), LIMITS)
    assert check.reason.startswith("1 KiB free in /d") and "signals" not in check.reason


def test_unreadable_agent_state_and_unmeasurable_disk_are_failing() -> None:
    check = check_outbox(OutboxView("/d", error="database is locked"), LIMITS)
    assert check.state == "failing" and "database is locked" in check.reason
    assert check_outbox(OutboxView("/d", disk_error="gone"), LIMITS).state == "failing"


def test_nothing_measured_is_degraded() -> None:
    assert check_outbox(OutboxView(), LIMITS).state == "degraded"


def test_sizes_read_like_people_write_them() -> None:
    assert [size(n) for n in (512, 2048, 5 * 1024**2, 3 * GIB)] == [
        "512 B", "2 KiB", "5 MiB", "3.0 GiB"]
