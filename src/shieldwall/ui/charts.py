"""Charts as inline SVG, computed on the hub (pure): readable with JavaScript off.

A chart is a list of shapes with their coordinates; the template writes them out.
Keeping the geometry here means the pictures are tested like any other value.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Fixed colours per series, in order (colour-blind friendly palette).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999")


@dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle, with the text a reader sees on hover (``<title>``)."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    """An SVG chart: its size, bars, x-axis labels (x, text), legend and highest value."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]
    legend: tuple[tuple[str, str], ...]
    peak: int

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw."""
        return self.peak == 0


def stacked_bars(
    labels: Sequence[str], series: dict[str, list[int]], width: int = 720, height: int = 180,
    every: int = 3,
) -> Chart:
    """Columns per label, each stacked by series (attacks per hour per scenario).

    Every ``every``-th label is written under its column, so 24 hours stay legible.
    """
    slots = max(1, len(labels))
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(totals, default=0)
    plot = height - 20  # room for the labels
    step = width / slots
    bars: list[Bar] = []
    legend: list[tuple[str, str]] = []
    base = [0.0] * len(labels)
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        legend.append((name, colour))
        for i, value in enumerate(values):
            if not value or not peak:
                continue
            h = plot * value / peak
            base[i] += h
            bars.append(Bar(
                x=round(i * step + 1, 1), y=round(plot - base[i], 1), width=round(step - 2, 1),
                height=round(h, 1), colour=colour, title=f"{labels[i]} {name}: {value}",
            ))
    ticks = tuple(
        (round(i * step + step / 2, 1), label) for i, label in enumerate(labels) if i % every == 0
    )
    return Chart(width, height, tuple(bars), ticks, tuple(legend), peak)


def histogram(
    values: Sequence[float], edges: Sequence[float], unit: str = "ms", width: int = 720,
    height: int = 180,
) -> Chart:
    """Counts of ``values`` between consecutive ``edges`` (the last bin is open-ended):
    propagation latency, detection to block on all."""
    chart = histograms({"count": values}, edges, unit, width, height)
    return Chart(chart.width, chart.height, chart.bars, chart.labels, (), chart.peak)


def histograms(
    series: Mapping[str, Sequence[float]], edges: Sequence[float], unit: str = "ms",
    width: int = 720, height: int = 180,
) -> Chart:
    """One histogram of several series, stacked per bin with a legend (drills and real
    decisions); a value below the first edge counts in the first bin."""
    if len(edges) < 1:
        raise ValueError("a histogram needs at least one edge")
    counted: dict[str, list[int]] = {}
    for name, values in series.items():
        counts = counted[name] = [0] * len(edges)
        for v in values:
            counts[max(0, bisect.bisect_right(edges, v) - 1)] += 1
    names = [
        f"{edges[i]:g}-{edges[i + 1]:g} {unit}" if i + 1 < len(edges) else f"≥ {edges[i]:g} {unit}"
        for i in range(len(edges))
    ]
    return stacked_bars(names, counted, width, height, every=1)
