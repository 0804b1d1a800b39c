"""Chart geometry: bars stack within the plot and their titles say the values."""

from __future__ import annotations

import pytest

from shieldwall.ui import charts


def test_stacked_bars_scale_to_the_highest_column_and_stack_series() -> None:
    chart = charts.stacked_bars(["00", "01", "02"], {"a": [1, 0, 2], "b": [1, 0, 0]}, width=300,
                                height=120, every=2)
    assert chart.peak == 2 and not chart.empty
    plot = 100  # height minus the label band
    col0 = [b for b in chart.bars if b.x < 100]
    assert sum(b.height for b in col0) == pytest.approx(plot)
    assert min(b.y for b in col0) == pytest.approx(0)
    assert {b.title for b in chart.bars} == {"00 a: 1", "02 a: 2", "00 b: 1"}
    assert [t for _, t in chart.labels] == ["00", "02"]
    assert [name for name, _ in chart.legend] == ["a", "b"]


def test_an_empty_chart_says_so() -> None:
    assert charts.stacked_bars(["00"], {}).empty
    assert charts.histogram([], [0, 100]).empty


def test_a_histogram_counts_each_value_in_its_bin_and_the_last_is_open() -> None:
    chart = charts.histogram([10, 60, 70, 5000, -1], [0, 50, 100])
    titles = sorted(b.title for b in chart.bars)
    assert titles == ["0-50 ms count: 2", "50-100 ms count: 2", "≥ 100 ms count: 1"]
    with pytest.raises(ValueError):
        charts.histogram([1], [])


def test_histograms_stack_their_series_per_bin_with_a_legend() -> None:
    chart = charts.histograms({"real decisions": [10, 60, 60], "drills": [70, 5000]},
                              [0, 50, 100])
    titles = sorted(b.title for b in chart.bars)
    assert titles == ["0-50 ms real decisions: 1", "50-100 ms drills: 1",
                      "50-100 ms real decisions: 2", "≥ 100 ms drills: 1"]
    assert [name for name, _ in chart.legend] == ["real decisions", "drills"]
    assert chart.peak == 3  # the 50-100 bin holds both series
    assert charts.histograms({"real decisions": [], "drills": []}, [0, 50]).empty
