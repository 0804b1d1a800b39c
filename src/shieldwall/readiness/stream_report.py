"""The running agent's report of its decision stream, for ``shieldwall status`` (R1).

The agent writes ``<data dir>/stream.json`` once a second (a small atomic rewrite,
no fsync: losing one is harmless); a status command run by another process reads
it. An old report means no agent is running.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import msgspec

from shieldwall.readiness.link import StreamView

STREAM_FILE = "stream.json"


class _Report(msgspec.Struct, forbid_unknown_fields=True):
    connected: bool
    reported_at: float
    cursor: int = 0
    head: int = 0


def write_stream_report(data_dir: Path, view: StreamView) -> None:
    """Replace the report (raises ``OSError`` when the data directory is not writable)."""
    target = data_dir / STREAM_FILE
    temp = target.with_name(f".{STREAM_FILE}.{os.getpid()}.tmp")
    temp.write_bytes(msgspec.json.encode(_Report(view.connected, view.reported_at,
                                                 view.cursor, view.head)))
    os.replace(temp, target)


def read_stream_report(data_dir: Path) -> StreamView | None:
    """The last report; ``None`` when there is none or it is unreadable."""
    try:
        report = msgspec.json.decode((data_dir / STREAM_FILE).read_bytes(), type=_Report)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return StreamView(report.connected, report.reported_at, report.cursor, report.head)


class Following(Protocol):
    """What a :class:`~shieldwall.decisions.follow.DecisionFollower` shows of its stream."""

    connected: bool
    cursor: int
    head: int


def report_following(data_dir: Path, follower: Following, now: float) -> bool:
    """The agent's once-a-second report; ``False`` when it could not be written.

    A failed report costs the agent nothing it needs (its stores would fail louder);
    ``shieldwall status`` then sees an old report and says the agent is not running.
    """
    view = StreamView(follower.connected, now, follower.cursor, follower.head)
    try:
        write_stream_report(data_dir, view)
    except OSError:
        return False
    return True
