"""Probes of the member's own files: agent state (outbox, cursor), block store, disk.

Each opens a store only if its file exists, so pointing ``shieldwall status`` at
the wrong data directory reports that instead of creating empty stores there.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import msgspec

from shieldwall.agent.state import AgentState
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.store import STORE_NAME, BlockStore
from shieldwall.errors import ShieldwallError
from shieldwall.readiness.liveness import GapEstimate
from shieldwall.readiness.outbox import OutboxView

AGENT_DB = "agent.db"
#: The per-source typical-gap estimates (R4), kept between evaluations.
GAPS_FILE = "readiness-gaps.json"


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on ``path``'s file system."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def read_outbox(data_dir: Path) -> OutboxView:
    """The outbox backlog and the saved decision cursor, and the free space under them."""
    shown = str(data_dir)
    try:
        free: int | None = free_bytes(data_dir)
        disk_error = None
    except OSError as exc:
        free, disk_error = None, exc.strerror or str(exc)
    if not (data_dir / AGENT_DB).exists():
        return OutboxView(shown, error=f"no agent state in {data_dir}: the agent has not run"
                          " here (or the configuration names another data_dir)",
                          free_bytes=free, disk_error=disk_error)
    try:
        state = AgentState.open(data_dir)
        try:
            backlog, cursor = state.backlog(), state.cursor()
        finally:
            state.close()
    except (ShieldwallError, OSError, ValueError, sqlite3.Error) as exc:
        return OutboxView(shown, error=str(exc), free_bytes=free, disk_error=disk_error)
    return OutboxView(shown, backlog=backlog, cursor=cursor, free_bytes=free,
                      disk_error=disk_error)


def read_store(data_dir: Path, now: float) -> dict[str, Block]:
    """The block store's active blocks (none when it was never created).

    Raises :class:`~shieldwall.errors.EnforcerError` or ``sqlite3.Error`` when it
    exists but cannot be read.
    """
    if not (data_dir / STORE_NAME).exists():
        return {}
    store = BlockStore.open(data_dir)
    try:
        return store.active(now)
    finally:
        store.close()


def load_gaps(data_dir: Path) -> dict[str, GapEstimate]:
    """The saved gap estimates; none when absent or unreadable (they are only estimates)."""
    try:
        return msgspec.json.decode((data_dir / GAPS_FILE).read_bytes(),
                                   type=dict[str, GapEstimate])
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return {}


def save_gaps(data_dir: Path, gaps: dict[str, GapEstimate]) -> bool:
    """Write the estimates atomically; ``False`` when this user cannot write there."""
    target = data_dir / GAPS_FILE
    temp = target.with_name(f".{GAPS_FILE}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(msgspec.json.encode(gaps))
        os.replace(temp, target)
    except OSError:
        temp.unlink(missing_ok=True)
        return False
    return True
