"""Probes of the member's own files, on files the tests create."""

from __future__ import annotations

import math
from pathlib import Path

from shieldwall.agent.state import AgentState
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.store import STORE_NAME, BlockStore
from shieldwall.readiness.liveness import GapEstimate
from shieldwall.readiness.probe_state import (
    AGENT_DB,
    GAPS_FILE,
    free_bytes,
    load_gaps,
    read_outbox,
    read_store,
    save_gaps,
)
from shieldwall.signals.signal import Signal

NOW = 1_800_000_000.0


def test_the_outbox_probe_reads_the_backlog_and_the_saved_cursor(tmp_path: Path) -> None:
    state = AgentState.open(tmp_path)
    state.queue([Signal(kind="detection", target="192.0.2.1", scenario="ssh-bf")] * 3)
    state.set_cursor(42)
    state.close()
    view = read_outbox(tmp_path)
    assert (view.backlog, view.cursor, view.error) == (3, 42, None)
    assert view.free_bytes is not None and view.free_bytes > 0


def test_a_data_dir_where_no_agent_ran_is_reported_and_left_untouched(tmp_path: Path) -> None:
    view = read_outbox(tmp_path)
    assert view.error is not None and "has not run" in view.error
    assert not (tmp_path / AGENT_DB).exists()
    assert read_store(tmp_path, NOW) == {} and not (tmp_path / STORE_NAME).exists()


def test_a_damaged_agent_state_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / AGENT_DB).write_bytes(b"this is not a database" * 100)
    view = read_outbox(tmp_path)
    assert view.error is not None and view.backlog is None


def test_a_missing_data_dir_has_no_measurable_disk(tmp_path: Path) -> None:
    view = read_outbox(tmp_path / "absent")
    assert view.disk_error is not None and view.free_bytes is None


def test_the_store_probe_returns_only_active_blocks(tmp_path: Path) -> None:
    store = BlockStore.open(tmp_path)
    store.put([Block("192.0.2.1", math.inf), Block("192.0.2.2", NOW - 1)])
    store.close()
    assert list(read_store(tmp_path, NOW)) == ["192.0.2.1"]


def test_free_bytes_is_what_statvfs_says(tmp_path: Path) -> None:
    import os

    # Other processes write to the same disk meanwhile: read statvfs on both sides.
    before = os.statvfs(tmp_path)
    seen = free_bytes(tmp_path)
    after = os.statvfs(tmp_path)
    low, high = sorted((before.f_bavail * before.f_frsize, after.f_bavail * after.f_frsize))
    assert low - 64 * 2**20 <= seen <= high + 64 * 2**20


def test_gap_estimates_survive_a_round_trip_and_damage_means_none(tmp_path: Path) -> None:
    gaps = {"file:/var/log/auth.log": GapEstimate(typical=61.5, samples=4, last_seen=NOW)}
    assert save_gaps(tmp_path, gaps)
    assert load_gaps(tmp_path) == gaps
    (tmp_path / GAPS_FILE).write_text('{"x": {"typical": "soon"}}')
    assert load_gaps(tmp_path) == {}
    assert not save_gaps(tmp_path / "absent", gaps)
