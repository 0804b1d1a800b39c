"""Progress of long work on a terminal, and silence everywhere else.

A bar is drawn on standard error only when it is a terminal and ``--quiet`` was
not given, so piped output and logs stay clean. Drawing is click's progressbar;
this module only decides whether to draw and what the bar says beside itself.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click

quiet_option = click.option("--quiet", "-q", is_flag=True,
                            help="No progress bar (it is drawn only on a terminal anyway).")


def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
    """Whether to draw: not asked to be quiet, and standard error is a terminal."""
    stream = stream if stream is not None else sys.stderr
    return not quiet and stream.isatty()


def human_bytes(count: float) -> str:
    """``12.3 MB``-style text for a byte count."""
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"  # pragma: no cover - the loop always returns


class Progress:
    """Advances a bar (when one is drawn) and says ``done of total, rate`` beside it."""

    def __init__(self, bar: Any, total: int, unit: str, rate_unit: str) -> None:
        self._bar = bar
        self.total = total
        self.done = 0
        self.counted = 0
        self._unit = unit
        self._rate_unit = rate_unit
        self._started = time.monotonic()

    def advance(self, amount: int, counted: int = 0) -> None:
        """``amount`` more of the total done; ``counted`` more of what the rate counts."""
        self.done += amount
        self.counted += counted
        if self._bar is not None:
            self._bar.update(amount)

    def describe(self) -> str:
        """What the bar shows beside itself: progress in the unit, and the rate."""
        elapsed = max(time.monotonic() - self._started, 1e-6)
        if self._unit == "bytes":
            text = f"{human_bytes(self.done)} of {human_bytes(self.total)}"
        else:
            text = f"{self.done:,} of {self.total:,} {self._unit}"
        if self._rate_unit:
            text += f", {self.counted / elapsed:,.0f} {self._rate_unit}/s"
        return text


def counted_lines(lines: Iterable[str], bar: Progress) -> Iterator[str]:
    """``lines`` unchanged, advancing ``bar`` by each line's length (text read ~ bytes)."""
    for line in lines:
        bar.advance(len(line), 1)
        yield line


@contextmanager
def progress(label: str, total: int, *, unit: str = "bytes", rate_unit: str = "",
             quiet: bool = False) -> Iterator[Progress]:
    """A :class:`Progress` for work of size ``total``, drawn only when :func:`wanted`."""
    if not wanted(quiet) or total <= 0:
        yield Progress(None, total, unit, rate_unit)
        return
    holder: list[Progress] = []
    bar: Any
    with click.progressbar(
        length=total, label=label, file=sys.stderr, show_eta=True, show_percent=True,
        item_show_func=lambda _: holder[0].describe() if holder else None,
    ) as bar:
        holder.append(Progress(bar, total, unit, rate_unit))
        yield holder[0]


class Steps:
    """Names the step a long command is in, on a bar of ``len(names)`` steps."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self.seen: list[str] = []

    def __call__(self, name: str) -> None:
        """Enter step ``name`` (the bar fills as each one begins)."""
        self.seen.append(name)
        if self._bar is not None:
            self._bar.update(1, current_item=name)


@contextmanager
def steps(label: str, count: int, *, quiet: bool = False) -> Iterator[Steps]:
    """A :class:`Steps` for work in ``count`` named steps, drawn only when :func:`wanted`."""
    if not wanted(quiet):
        yield Steps(None)
        return
    with click.progressbar(length=count, label=label, file=sys.stderr, show_eta=False,
                           show_percent=False, show_pos=True,
                           item_show_func=lambda name: name) as bar:
        yield Steps(bar)
