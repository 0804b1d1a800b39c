"""The trust simulation, small (N = 20, 2 seeds): P1 and P8 hold exactly, and the
harness sees them fail when trust (or the canaries' protection) is taken away."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.lab.trust_model import (
    BURST,
    IPSUM_COUNTS,
    build_world,
    ipsum_entries,
    read_ipsum,
)
from shieldwall.lab.trust_table import Job, Row, measure, quantile, render, table_jobs


@pytest.fixture(scope="module")
def rows() -> dict[str, list[Row]]:
    table = measure(table_jobs([20], [0.3], 2), workers=1)
    off = measure(table_jobs([20], [0.3], 1, trusted=False), workers=1)
    return {"table": table, "off": off}


def test_p1_no_protected_address_or_canary_is_ever_banned(rows: dict[str, list[Row]]) -> None:
    [row] = rows["table"]
    assert row.protected == 0
    assert row.runs[0].colluders_quarantined > 0  # the canaries did catch liars


def test_p8_a_newcomers_burst_of_ten_thousand_bans_nothing_alliance_wide(
    rows: dict[str, list[Row]],
) -> None:
    [row] = rows["table"]
    assert row.burst == 0


def test_with_trust_off_the_harness_sees_p8_fail(rows: dict[str, list[Row]]) -> None:
    [row] = rows["off"]
    assert row.burst == 1000  # today: the member's hourly decision quota, all benign
    assert row.protected == 0  # canaries stay protected with trust off
    assert row.benign > 0


def test_the_table_renders_one_line_per_row(rows: dict[str, list[Row]]) -> None:
    lines = render(rows["table"])
    assert len(lines) == 3 and lines[2].startswith("| 20 | 30% | 0 |")


def test_the_world_follows_the_ipsum_counts_and_the_phases() -> None:
    entries = ipsum_entries(None)
    assert len(entries) == sum(IPSUM_COUNTS.values())
    world = build_world(entries, 20, 0.3, seed=1)
    assert len(world.colluders) == 6 and len(world.founders) == 3
    assert not world.founders & world.colluders
    burst = [r for r in world.reports if r.kind == "burst"]
    assert len(burst) == BURST and burst[-1].at - burst[0].at < 60
    lies = [r for r in world.reports if r.kind == "lie"]
    assert lies and min(r.at for r in lies) >= world.warmup
    assert all(world.joined[r.member] <= r.at for r in world.reports)
    wide = [a for a in world.attackers if a.count >= 5]
    narrow = [a for a in world.attackers if a.count == 1]
    assert sum(len(a.hits) for a in wide) / len(wide) > sum(
        len(a.hits) for a in narrow) / len(narrow)


def test_ipsum_is_read_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "ipsum.txt"
    path.write_text("# header\n#\n198.51.100.1\t3\n198.51.100.2\t1\n")
    assert read_ipsum(path) == [("198.51.100.1", 3), ("198.51.100.2", 1)]
    assert ipsum_entries(path) == read_ipsum(path)


def test_quantiles_use_the_nearest_rank() -> None:
    assert quantile([], 0.95) == 0.0
    assert quantile([float(i) for i in range(1, 101)], 0.95) == 95.0
    assert quantile([5.0], 0.5) == 5.0
    assert Job(20, 0.3, 0).canaries == 400
