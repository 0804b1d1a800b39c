"""R7: the signal outbox's backlog and the disk space it can still grow into."""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.readiness.verdict import Check, State, Thresholds, checker, plural, worst

_R7 = checker("R7", "outbox and disk")


@dataclass(frozen=True)
class OutboxView:
    """The agent's outbox and cursor as read from its state, and the disk under it."""

    data_dir: str = ""
    #: Signals waiting for the hub; ``None`` when the agent state could not be read.
    backlog: int | None = None
    cursor: int | None = None
    error: str | None = None
    free_bytes: int | None = None
    disk_error: str | None = None


def size(count: int) -> str:
    """Bytes for people: ``512 MiB``, ``3.2 GiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit == "GiB" else f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns at GiB


def check_outbox(view: OutboxView, limits: Thresholds) -> Check:
    """R7: the worse of the backlog and the free space."""
    parts: list[tuple[State, str]] = []
    if view.error is not None:
        parts.append(("failing", f"cannot read the agent state: {view.error}"))
    elif view.backlog is not None:
        waiting = f"{plural(view.backlog, 'signal')} waiting for the hub"
        if view.backlog >= limits.backlog_failing:
            parts.append(("failing", f"{waiting}: they are not getting through (see R1)"))
        elif view.backlog >= limits.backlog_degraded:
            parts.append(("degraded", f"{waiting}: sending lags (see R1)"))
        else:
            parts.append(("ok", waiting))
    if view.disk_error is not None:
        parts.append(("failing", f"cannot measure free space in {view.data_dir}: {view.disk_error}"))
    elif view.free_bytes is not None:
        free = f"{size(view.free_bytes)} free in {view.data_dir}"
        if view.free_bytes < limits.disk_failing:
            parts.append(("failing", f"{free}: the outbox and the stores cannot grow; free space"))
        elif view.free_bytes < limits.disk_degraded:
            parts.append(("degraded", f"{free}: free space before the outbox fills it"))
        else:
            parts.append(("ok", free))
    if not parts:
        return _R7("degraded", "not measured")
    state = worst([s for s, _ in parts])
    return _R7(state, "; ".join(text for s, text in parts if s == state or state == "ok"))
