"""The running agent's stream report: written atomically, read by another process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shieldwall.readiness.link import StreamView
from shieldwall.readiness.stream_report import (
    STREAM_FILE,
    read_stream_report,
    report_following,
    write_stream_report,
)


def test_a_report_round_trips(tmp_path: Path) -> None:
    view = StreamView(connected=True, reported_at=1.5, cursor=7, head=9)
    write_stream_report(tmp_path, view)
    assert read_stream_report(tmp_path) == view
    assert [p.name for p in tmp_path.iterdir()] == [STREAM_FILE]


def test_no_report_or_a_damaged_one_is_none(tmp_path: Path) -> None:
    assert read_stream_report(tmp_path) is None
    (tmp_path / STREAM_FILE).write_text('{"connected": true, "reported_at": 1, "extra": 1}')
    assert read_stream_report(tmp_path) is None


@dataclass
class Follower:
    """The three attributes of DecisionFollower the report reads."""

    connected: bool
    cursor: int
    head: int


def test_the_agents_report_carries_its_followers_state_and_the_time(tmp_path: Path) -> None:
    assert report_following(tmp_path, Follower(False, 3, 8), 99.0)
    assert read_stream_report(tmp_path) == StreamView(False, 99.0, 3, 8)


def test_a_report_that_cannot_be_written_is_false_not_a_crash(tmp_path: Path) -> None:
    assert not report_following(tmp_path / "absent", Follower(True, 0, 0), 1.0)
