"""``shieldwall lab trust``: the simulation's command line (the runs are tests/lab's)."""

from __future__ import annotations

from click.testing import CliRunner

from shieldwall.cli.main import cli


def test_lab_trust_refuses_sizes_it_cannot_simulate() -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["lab", "trust", "--sizes", "20,x"])
    assert bad.exit_code == 2 and "not a list of numbers" in bad.output
    small = runner.invoke(cli, ["lab", "trust", "--sizes", "3"])
    assert small.exit_code == 2 and "at least 5 members" in small.output


def test_lab_trust_runs_a_small_table() -> None:
    result = CliRunner().invoke(
        cli, ["lab", "trust", "--sizes", "20", "--seeds", "1", "--workers", "1", "--no-curves"])
    assert result.exit_code == 0, result.output
    assert "| 20 | 30% | 0 |" in result.output and "| turncoats | 20 | 30% |" in result.output
