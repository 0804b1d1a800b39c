"""Progress bars: drawn on a terminal only, never into pipes, logs or with --quiet."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.cli.progress import Progress, counted_lines, human_bytes, progress, steps, wanted


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_wanted_only_on_a_terminal_and_without_quiet() -> None:
    assert wanted(False, Terminal())
    assert not wanted(True, Terminal())
    assert not wanted(False, io.StringIO())


def test_without_a_terminal_progress_counts_but_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("replay", 2_000_000, rate_unit="lines") as bar:
        bar.advance(1_500_000, 300)
        assert bar.done == 1_500_000 and bar.counted == 300
        assert bar.describe().startswith("1.5 MB of 2.0 MB, ")
        assert bar.describe().endswith(" lines/s")
    assert capsys.readouterr().err == ""


def test_counted_units_are_shown_with_their_name() -> None:
    bar = Progress(None, 120_430, "addresses", "")
    bar.advance(60_000)
    assert bar.describe() == "60,000 of 120,430 addresses"


def test_byte_counts_read_like_a_person_writes_them() -> None:
    assert human_bytes(999) == "999 B"
    assert human_bytes(12_345) == "12.3 kB"
    assert human_bytes(67_564_800) == "67.6 MB"
    assert human_bytes(3.2e12) == "3200.0 GB"


def test_replay_piped_writes_no_bar_only_its_summary(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("Dec 10 06:55:46 host sshd[24200]: Invalid user admin from 203.0.113.9 port 4242\n" * 3)
    for extra in ([], ["--quiet"]):
        result = CliRunner().invoke(cli, ["replay", "--pack", "sshd", *extra, str(log)])
        assert result.exit_code == 0, result.output
        assert "#" not in result.stderr and "%" not in result.stderr
        assert result.stderr.startswith("shieldwall replay: 3 lines read")


def test_on_a_terminal_the_bar_shows_done_of_total_and_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    with progress("replay", 1000, unit="addresses", rate_unit="addresses") as bar:
        bar.advance(400, 400)
        bar.advance(600, 600)
    drawn = screen.getvalue()
    assert "replay" in drawn and "100%" in drawn
    assert "1,000 of 1,000 addresses" in drawn


def test_steps_name_each_step_on_a_terminal_and_only_record_them_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with steps("applying 3 blocks", 2) as step:
        step("reconciling")
        step("writing exports")
    assert step.seen == ["reconciling", "writing exports"]
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    with steps("applying 3 blocks", 2) as step:
        step("reconciling")
        step("writing exports")
    assert "applying 3 blocks" in screen.getvalue() and "writing exports" in screen.getvalue()


def test_counted_lines_pass_every_line_through_and_count_them() -> None:
    bar = Progress(None, 100, "bytes", "lines")
    assert list(counted_lines(["a\n", "bc\n"], bar)) == ["a\n", "bc\n"]
    assert (bar.done, bar.counted) == (5, 2)
