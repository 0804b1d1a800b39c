"""The trust report prints the table and its limits; the plot is drawn when matplotlib is here."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.lab.trust_report import draw, report
from shieldwall.lab.trust_run import RunResult
from shieldwall.lab.trust_table import Job, Row


def test_the_report_prints_the_table_then_the_limits() -> None:
    lines: list[str] = []
    rows = report(lines.append, sizes=(20,), shares=(0.3,), seeds=1, workers=1, curves=False)
    assert len(rows) == 1 and rows[0].protected == 0
    table = [line for line in lines if "| 20 | 30% |" in line]
    assert len(table) == 3  # the row, then trust off and turncoats
    assert table[1].startswith("| trust off | 20 |")
    assert table[1].split("|")[10].strip() == "1000"  # trust off: the burst is banned


def test_the_curves_are_drawn_into_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plot needs the lab extra")
    result = RunResult(0, 3, 0, 10, 10, (1.0,), (0.0,), (5.0,), 1, 0, 5, 0)
    probation = [Row(Job(50, 0.3, 0, trust=(("probation", h * 3600.0),)), (result,))
                 for h in (0, 12)]
    canaries = [Row(Job(50, 0.3, 0, canaries=c), (result,)) for c in (0, 400)]
    swept = {name: [(Row(Job(n, 0.3, 0, trust=((name, v),)), (result,)),
                     Row(Job(n, 0.3, 0, turncoats=True, trust=((name, v),)), (result,)))
                    for v in (0.0, 900.0) for n in (20, 50)]
             for name in ("solo_duration", "vet_precision")}
    draw(tmp_path / "curves.png", probation, canaries, swept)
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
